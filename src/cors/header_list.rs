//! The two configurable header lists: request headers a page may send
//! (`Access-Control-Allow-Headers`,
//! <https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Allow-Headers>)
//! and response headers its code may read (`Access-Control-Expose-Headers`,
//! <https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Access-Control-Expose-Headers>).
//!
//! Each is the built-in defaults plus what the operator adds, checked once:
//! a name that is not an HTTP token, or one the Fetch standard keeps out of
//! page code's hands, would be a grant that can never take effect, so it
//! stops start-up instead. The header value is joined here, once.

use http::{HeaderValue, header::HeaderName};

/// Which list a name was given for, written as the flag that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderListKind {
    Allow,
    Expose,
}

impl std::fmt::Display for HeaderListKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderListKind::Allow => "--allow-header",
            HeaderListKind::Expose => "--expose-header",
        })
    }
}

/// Why a configured header name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderNameError {
    #[error(
        "{flag} '{name}': not a header name (an HTTP token: letters, digits and !#$%&'*+-.^_`|~)"
    )]
    NotAToken { flag: HeaderListKind, name: String },
    #[error(
        "{flag} '*': a wildcard is not supported (browsers ignore it with credentials and it never covers authorization); name each header"
    )]
    Wildcard { flag: HeaderListKind },
    #[error(
        "{flag} '{name}': browsers never let page code set this header (a forbidden request header in the Fetch standard), so allowing it does nothing"
    )]
    ForbiddenRequestHeader { flag: HeaderListKind, name: String },
    #[error(
        "{flag} '{name}': browsers never let page code read this header (a forbidden response header name in the Fetch standard), so exposing it does nothing"
    )]
    ForbiddenResponseHeader { flag: HeaderListKind, name: String },
}

/// Request headers page code can never set
/// (<https://fetch.spec.whatwg.org/#forbidden-request-header>), besides every
/// name starting `proxy-` or `sec-`. `X-HTTP-Method(-Override)` and
/// `X-Method-Override` are forbidden only with certain values, so they are
/// not listed.
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// Response headers page code can never read
/// (<https://fetch.spec.whatwg.org/#forbidden-response-header-name>).
const FORBIDDEN_RESPONSE_HEADERS: &[&str] = &["set-cookie", "set-cookie2"];

/// A checked, lowercased, duplicate-free list of header names and the
/// header value that lists them.
#[derive(Debug, Clone)]
pub struct HeaderList {
    names: Box<[HeaderName]>,
    value: HeaderValue,
}

impl HeaderList {
    /// `defaults` followed by `extra`, in that order, each name once.
    pub fn new(
        kind: HeaderListKind,
        defaults: &[&str],
        extra: &[String],
    ) -> Result<Self, HeaderNameError> {
        let mut names: Vec<HeaderName> = Vec::new();
        for raw in defaults
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
        {
            let name = check(kind, raw.trim())?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let joined = names
            .iter()
            .map(HeaderName::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        // Leaked once per policy so that copying the value onto a response
        // copies a pointer: a shared reference count would be touched by
        // every core on every request.
        let value = HeaderValue::from_static(Box::leak(joined.into_boxed_str()));
        Ok(HeaderList {
            names: names.into_boxed_slice(),
            value,
        })
    }

    /// Whether `name` is listed, compared case-insensitively (header names
    /// are; browsers send them lowercase anyway).
    pub fn contains(&self, name: &[u8]) -> bool {
        self.names
            .iter()
            .any(|n| n.as_str().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The names joined with ", ", ready to send.
    pub fn value(&self) -> &HeaderValue {
        &self.value
    }
}

/// One configured name, lowercased, or why it cannot be granted.
fn check(kind: HeaderListKind, raw: &str) -> Result<HeaderName, HeaderNameError> {
    let name = raw.to_ascii_lowercase();
    if name == "*" {
        return Err(HeaderNameError::Wildcard { flag: kind });
    }
    let not_a_token = || HeaderNameError::NotAToken {
        flag: kind,
        name: raw.to_owned(),
    };
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(not_a_token());
    }
    let forbidden = match kind {
        HeaderListKind::Allow => {
            FORBIDDEN_REQUEST_HEADERS.contains(&name.as_str())
                || name.starts_with("proxy-")
                || name.starts_with("sec-")
        }
        HeaderListKind::Expose => FORBIDDEN_RESPONSE_HEADERS.contains(&name.as_str()),
    };
    if forbidden {
        let name = raw.to_owned();
        return Err(match kind {
            HeaderListKind::Allow => HeaderNameError::ForbiddenRequestHeader { flag: kind, name },
            HeaderListKind::Expose => HeaderNameError::ForbiddenResponseHeader { flag: kind, name },
        });
    }
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| not_a_token())
}

/// A `tchar` of RFC 9110 §5.6.2: the characters of a header name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(kind: HeaderListKind, defaults: &[&str], extra: &[&str]) -> HeaderList {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        HeaderList::new(kind, defaults, &extra).unwrap()
    }

    fn refusal(kind: HeaderListKind, name: &str) -> String {
        HeaderList::new(kind, &[], &[name.to_owned()])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn additions_follow_the_defaults_lowercased_and_once_each() {
        let l = list(
            HeaderListKind::Allow,
            &["content-type", "x-grpc-web"],
            &["X-Api-Key", " x-grpc-web ", "x-api-key", "Content-Type"],
        );
        assert_eq!(l.value(), "content-type, x-grpc-web, x-api-key");
    }

    #[test]
    fn membership_ignores_case() {
        let l = list(HeaderListKind::Allow, &["content-type"], &["x-api-key"]);
        assert!(l.contains(b"Content-Type"));
        assert!(l.contains(b"X-API-KEY"));
        assert!(!l.contains(b"x-api"));
        assert!(!l.contains(b""));
    }

    #[test]
    fn a_name_that_is_not_a_token_is_refused_naming_flag_and_name() {
        for bad in ["", "x api", "x:y", "x-ü", "(x)"] {
            assert_eq!(
                refusal(HeaderListKind::Allow, bad),
                format!(
                    "--allow-header '{bad}': not a header name (an HTTP token: letters, digits and !#$%&'*+-.^_`|~)"
                )
            );
        }
        assert!(refusal(HeaderListKind::Expose, "a,b").starts_with("--expose-header 'a,b': "));
        assert!(refusal(HeaderListKind::Allow, "*").starts_with("--allow-header '*': a wildcard"));
    }

    #[test]
    fn forbidden_request_headers_cannot_be_allowed() {
        for name in [
            "Host",
            "cookie",
            "origin",
            "connection",
            "content-length",
            "proxy-authorization",
            "Sec-Fetch-Mode",
            "access-control-request-headers",
        ] {
            assert_eq!(
                refusal(HeaderListKind::Allow, name),
                format!(
                    "--allow-header '{name}': browsers never let page code set this header (a forbidden request header in the Fetch standard), so allowing it does nothing"
                )
            );
        }
        // Forbidden to send is not forbidden to read.
        list(HeaderListKind::Expose, &[], &["date", "content-length"]);
    }

    #[test]
    fn forbidden_response_headers_cannot_be_exposed() {
        for name in ["set-cookie", "Set-Cookie2"] {
            assert_eq!(
                refusal(HeaderListKind::Expose, name),
                format!(
                    "--expose-header '{name}': browsers never let page code read this header (a forbidden response header name in the Fetch standard), so exposing it does nothing"
                )
            );
        }
    }
}
