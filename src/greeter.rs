//! The greeting rules, free of any protocol.
//!
//! Every protocol reaches this module through the one `GreetService`
//! implementation in [`crate::grpc`] (gRPC and gRPC-Web through tonic, REST
//! and Connect through the service trait on their typed road), so the rules
//! and the four validation errors below are defined exactly once. The error texts are the wire messages of
//! the error table in `README.md` ("The contract"), checked in its order.

use std::{str::FromStr, time::SystemTime};

/// Why a greeting request was refused. The `Display` text is the exact message
/// every protocol sends back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GreetError {
    /// No field was set at all: no body, an empty body or `{}`.
    #[error("Missing request body")]
    MissingBody,
    /// `lang` was given but `name` was not.
    #[error("Missing required field: 'name'")]
    MissingName,
    /// `name` was given but holds nothing but white space.
    #[error("Field 'name' cannot be empty")]
    EmptyName,
    /// `lang` is not one we speak; holds the value lowercased, as echoed back.
    #[error("Invalid or unsupported language selection: '{0}'")]
    UnsupportedLang(String),
}

/// A language we can greet in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
    Fr,
}

impl Lang {
    /// The salutation that opens a greeting in this language.
    pub fn salutation(self) -> &'static str {
        match self {
            Lang::En => "Hello",
            Lang::Es => "Hola",
            Lang::Fr => "Bonjour",
        }
    }
}

impl FromStr for Lang {
    type Err = GreetError;

    /// Case-insensitive: `ES` and `es` are both Spanish. Compared without
    /// lowercasing first (no allocation on the way to a greeting): no
    /// character outside ASCII lowercases to a letter of `en`, `es` or `fr`,
    /// so this accepts exactly what comparing the lowercased text would.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [("en", Lang::En), ("es", Lang::Es), ("fr", Lang::Fr)]
            .into_iter()
            .find(|(code, _)| s.eq_ignore_ascii_case(code))
            .map(|(_, lang)| lang)
            .ok_or_else(|| GreetError::UnsupportedLang(s.to_lowercase()))
    }
}

/// A name that has been trimmed and is known not to be empty: a view of
/// the request's own text (the greeting is its only copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a>(&'a str);

impl<'a> Name<'a> {
    /// Trims white space; refuses a name with nothing left.
    pub fn parse(raw: &'a str) -> Result<Self, GreetError> {
        match raw.trim() {
            "" => Err(GreetError::EmptyName),
            trimmed => Ok(Name(trimmed)),
        }
    }

    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// A validated request: only [`greet`] can build one from raw input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreetRequest<'a> {
    pub name: Name<'a>,
    pub lang: Lang,
}

impl<'a> GreetRequest<'a> {
    /// Validates raw, presence-aware input in the contract's order: body,
    /// name present, name non-empty, language.
    pub fn parse(name: Option<&'a str>, lang: Option<&str>) -> Result<Self, GreetError> {
        let name = match (name, lang) {
            (None, None) => return Err(GreetError::MissingBody),
            (None, Some(_)) => return Err(GreetError::MissingName),
            (Some(name), _) => Name::parse(name)?,
        };
        let lang = lang.map(str::parse).transpose()?.unwrap_or_default();
        Ok(GreetRequest { name, lang })
    }
}

/// A greeting and the moment it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub text: String,
    pub at: SystemTime,
}

/// Greets `name` in `lang` (default English), or says why it cannot.
pub fn greet(name: Option<&str>, lang: Option<&str>) -> Result<Greeting, GreetError> {
    let request = GreetRequest::parse(name, lang)?;
    let (salutation, name) = (request.lang.salutation(), request.name.as_str());
    // "<salutation>, <name>!" by hand: `format!` costs ~1k instructions a
    // request, a sizeable share of a whole REST call (bench/profile).
    let mut text = String::with_capacity(salutation.len() + name.len() + 3);
    text.push_str(salutation);
    text.push_str(", ");
    text.push_str(name);
    text.push('!');
    Ok(Greeting {
        text,
        at: SystemTime::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: Option<&str>, lang: Option<&str>) -> Result<String, GreetError> {
        greet(name, lang).map(|g| g.text)
    }

    #[test]
    fn greets_in_each_language() {
        assert_eq!(text(Some("Alice"), None).unwrap(), "Hello, Alice!");
        assert_eq!(text(Some("Alice"), Some("en")).unwrap(), "Hello, Alice!");
        assert_eq!(text(Some("Alice"), Some("es")).unwrap(), "Hola, Alice!");
        assert_eq!(text(Some("Alice"), Some("fr")).unwrap(), "Bonjour, Alice!");
    }

    #[test]
    fn language_is_case_insensitive() {
        assert_eq!(text(Some("Alice"), Some("ES")).unwrap(), "Hola, Alice!");
        assert_eq!(text(Some("Alice"), Some("Fr")).unwrap(), "Bonjour, Alice!");
    }

    #[test]
    fn name_is_trimmed() {
        assert_eq!(text(Some("  Bob \t\n"), None).unwrap(), "Hello, Bob!");
    }

    #[test]
    fn nothing_set_is_a_missing_body() {
        assert_eq!(text(None, None), Err(GreetError::MissingBody));
        assert_eq!(GreetError::MissingBody.to_string(), "Missing request body");
    }

    #[test]
    fn lang_without_name_is_a_missing_name() {
        let err = text(None, Some("fr")).unwrap_err();
        assert_eq!(err, GreetError::MissingName);
        assert_eq!(err.to_string(), "Missing required field: 'name'");
    }

    #[test]
    fn blank_name_is_empty_even_with_a_bad_lang() {
        for blank in ["", " ", "\t\n "] {
            let err = text(Some(blank), Some("xx")).unwrap_err();
            assert_eq!(err, GreetError::EmptyName);
            assert_eq!(err.to_string(), "Field 'name' cannot be empty");
        }
    }

    #[test]
    fn unsupported_lang_is_echoed_lowercased() {
        let err = text(Some("Alice"), Some("FOO")).unwrap_err();
        assert_eq!(err, GreetError::UnsupportedLang("foo".into()));
        assert_eq!(
            err.to_string(),
            "Invalid or unsupported language selection: 'foo'"
        );
    }

    #[test]
    fn a_lang_outside_ascii_is_unsupported_and_echoed_lowercased() {
        let err = text(Some("Alice"), Some("ÉS")).unwrap_err();
        assert_eq!(err, GreetError::UnsupportedLang("és".into()));
    }

    #[test]
    fn empty_lang_is_unsupported_not_defaulted() {
        let err = text(Some("Alice"), Some("")).unwrap_err();
        assert_eq!(err, GreetError::UnsupportedLang(String::new()));
    }
}
