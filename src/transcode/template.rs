//! `google.api.http` path templates: parsing and matching.
//!
//! The grammar (from `google/api/http.proto`):
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```
//! `{field}` is short for `{field=*}`. A single-segment variable is fully
//! percent-decoded; a multi-segment one keeps `%2F` encoded, as the spec says.

use std::fmt;

use smallvec::SmallVec;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `*`: exactly one segment.
    Single,
    /// `**`: zero or more segments; only last among the segments.
    Multi,
}

/// A variable: the field path it binds and the segments it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Dotted field path, e.g. `book.name`.
    pub field_path: String,
    start: usize,
    end: usize,
}

impl Variable {
    /// The indices in [`PathTemplate::segments`] this variable covers.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    source: String,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

/// Why a template in the proto could not be parsed (a start-up error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path template '{template}': {reason}")]
pub struct TemplateError {
    pub template: String,
    pub reason: &'static str,
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PathTemplate {
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let err = |reason| TemplateError {
            template: template.to_owned(),
            reason,
        };
        let rest = template
            .strip_prefix('/')
            .ok_or_else(|| err("must start with '/'"))?;
        // The verb is a ':' after the last '/' and after any closing '}'.
        let tail_start = rest.rfind(['/', '}']).map_or(0, |i| i + 1);
        let (body, verb) = match rest[tail_start..].find(':') {
            Some(i) => {
                let verb = &rest[tail_start + i + 1..];
                if verb.is_empty() {
                    return Err(err("empty verb after ':'"));
                }
                (&rest[..tail_start + i], Some(verb.to_owned()))
            }
            None => (rest, None),
        };

        let mut segments = Vec::new();
        let mut variables = Vec::new();
        let mut chars = body;
        loop {
            if let Some(inner) = chars.strip_prefix('{') {
                let close = inner.find('}').ok_or_else(|| err("unclosed '{'"))?;
                let (field_path, pattern) = match inner[..close].split_once('=') {
                    Some((field, pattern)) => (field, pattern),
                    None => (&inner[..close], "*"),
                };
                if !is_field_path(field_path) {
                    return Err(err("variable is not a field path"));
                }
                let start = segments.len();
                for part in pattern.split('/') {
                    if part.contains(['{', '}']) {
                        return Err(err("nested variable"));
                    }
                    segments.push(parse_segment(part).ok_or_else(|| err("empty segment"))?);
                }
                variables.push(Variable {
                    field_path: field_path.to_owned(),
                    start,
                    end: segments.len(),
                });
                chars = &inner[close + 1..];
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                let part = &chars[..end];
                if part.contains(['{', '}']) {
                    return Err(err("a variable must fill a whole segment"));
                }
                segments.push(parse_segment(part).ok_or_else(|| err("empty segment"))?);
                chars = &chars[end..];
            }
            match chars.strip_prefix('/') {
                Some(next) => chars = next,
                None if chars.is_empty() => break,
                None => return Err(err("a variable must fill a whole segment")),
            }
        }
        if let Some(i) = segments.iter().position(|s| *s == Segment::Multi)
            && i + 1 != segments.len()
        {
            return Err(err("'**' must be the last segment"));
        }
        Ok(PathTemplate {
            source: template.to_owned(),
            segments,
            variables,
            verb,
        })
    }

    /// Orders templates so the most specific is tried first when two could
    /// match one path: a `:verb` before none (`/shelves/{s}:search` before
    /// `/shelves/{s}`, whose `*` would take `s9:search` whole), no `**`
    /// before `**`, then more literal segments first.
    pub fn specificity(&self) -> (bool, bool, std::cmp::Reverse<usize>) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (
            self.verb.is_none(),
            self.segments.last() == Some(&Segment::Multi),
            std::cmp::Reverse(literals),
        )
    }

    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The segments, variables' included, in order (for describing the
    /// template, e.g. in the OpenAPI document).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The `:verb` after the last segment, without its colon.
    pub fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }

    /// Matches a request path; on success returns each variable's field path
    /// with its decoded value.
    pub fn matches<'t>(&'t self, path: &str) -> Option<Vec<(&'t str, String)>> {
        let path = path.strip_prefix('/')?;
        let path = match &self.verb {
            Some(verb) => {
                let stem = path.strip_suffix(verb.as_str())?.strip_suffix(':')?;
                // The verb must follow the last segment, not sit inside one.
                if stem.ends_with('/') {
                    return None;
                }
                stem
            }
            None => path,
        };
        // On the stack for paths of up to eight segments: this runs for
        // every REST request, and a `Vec` was an allocation each time.
        let parts: SmallVec<[&str; 8]> = split_segments(path).collect();
        let has_multi = self.segments.last() == Some(&Segment::Multi);
        let fixed = self.segments.len() - usize::from(has_multi);
        if parts.len() < fixed || (!has_multi && parts.len() != fixed) {
            return None;
        }
        for (segment, part) in self.segments[..fixed].iter().zip(&parts) {
            match segment {
                Segment::Literal(lit) if lit == part => {}
                Segment::Single if !part.is_empty() => {}
                _ => return None,
            }
        }
        let mut bound = Vec::with_capacity(self.variables.len());
        for var in &self.variables {
            let end = if var.end == self.segments.len() && has_multi {
                parts.len()
            } else {
                var.end
            };
            let value = if end - var.start == 1 && self.segments[var.start] != Segment::Multi {
                decode(parts[var.start], true)?
            } else {
                decode(&parts[var.start..end].join("/"), false)?
            };
            bound.push((var.field_path.as_str(), value));
        }
        Some(bound)
    }
}

/// `path` split at each `/`, as `str::split('/')` would, by a byte scan
/// (the generic char searcher costs more than the whole match on a path
/// like `/greet`). A `/` is ASCII, so every cut is on a char boundary.
fn split_segments(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(path);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|b| b == b'/') {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fn parse_segment(part: &str) -> Option<Segment> {
    match part {
        "" => None,
        "*" => Some(Segment::Single),
        "**" => Some(Segment::Multi),
        literal => Some(Segment::Literal(literal.to_owned())),
    }
}

fn is_field_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|ident| {
            ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Percent-decodes a path value; `%2F` stays encoded in multi-segment values.
fn decode(raw: &str, single_segment: bool) -> Option<String> {
    if single_segment {
        return percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned());
    }
    let mut out = String::with_capacity(raw.len());
    for (i, piece) in raw.split("%2F").enumerate() {
        for (j, inner) in piece.split("%2f").enumerate() {
            if i + j > 0 {
                out.push_str(if j > 0 { "%2f" } else { "%2F" });
            }
            out.push_str(
                &percent_encoding::percent_decode_str(inner)
                    .decode_utf8()
                    .ok()?,
            );
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_as_str_split_does() {
        for path in ["", "a", "a/b", "/a", "a/", "//", "a//b/", "é/ü/x"] {
            assert_eq!(
                split_segments(path).collect::<Vec<_>>(),
                path.split('/').collect::<Vec<_>>(),
                "{path:?}"
            );
        }
    }

    fn bind(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        let t = PathTemplate::parse(template).unwrap();
        t.matches(path)
            .map(|v| v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn literal_paths_match_exactly() {
        assert_eq!(bind("/greet", "/greet"), pairs(&[]));
        assert_eq!(bind("/greet", "/greet/"), None);
        assert_eq!(bind("/greet", "/greeting"), None);
    }

    #[test]
    fn single_variable_binds_and_decodes() {
        assert_eq!(
            bind("/v1/shelves/{shelf}", "/v1/shelves/a%20b"),
            pairs(&[("shelf", "a b")])
        );
        assert_eq!(bind("/v1/shelves/{shelf}", "/v1/shelves/"), None);
        assert_eq!(bind("/v1/shelves/{shelf}", "/v1/shelves/a/b"), None);
    }

    #[test]
    fn multi_segment_variable_with_pattern() {
        let t = "/v1/{book.name=shelves/*/books/*}";
        assert_eq!(
            bind(t, "/v1/shelves/s1/books/b2"),
            pairs(&[("book.name", "shelves/s1/books/b2")])
        );
        assert_eq!(bind(t, "/v1/shelves/s1/book/b2"), None);
    }

    #[test]
    fn double_star_takes_the_rest() {
        let t = "/v1/files/{path=**}";
        assert_eq!(
            bind(t, "/v1/files/a/b/c.txt"),
            pairs(&[("path", "a/b/c.txt")])
        );
        assert_eq!(bind(t, "/v1/files/a%2Fb"), pairs(&[("path", "a%2Fb")]));
    }

    #[test]
    fn verbs_are_matched_after_the_last_segment() {
        let t = "/v1/{name=shelves/*/books/*}:title";
        assert_eq!(
            bind(t, "/v1/shelves/s/books/b:title"),
            pairs(&[("name", "shelves/s/books/b")])
        );
        assert_eq!(bind(t, "/v1/shelves/s/books/b"), None);
        assert_eq!(
            bind("/v1/shelves/{shelf}:search", "/v1/shelves/x:search"),
            pairs(&[("shelf", "x")])
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "greet", "/a/{b", "/a/**/c", "/a/x{b}", "/a/{1b}", "/a//b", "/a:",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
