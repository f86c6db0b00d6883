//! Which face of the port a request is for, and how each face says "no".
//!
//! The content type decides (as in connect-go and Envoy's grpc_web filter):
//! `application/grpc-web*` is gRPC-Web, `application/grpc*` is native gRPC,
//! everything else is REST. Errors the server raises itself (timeouts, load
//! shedding) must reach each client in its own protocol, so
//! [`Protocol::refusal`] is the one place that shapes them.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, header};
use tonic::{Code, Status, body::Body};

use crate::{cors::CorsPolicy, status::ErrorReply};

/// gRPC's own headers as ready-made names: a lookup by `&str` first parses
/// and validates the name (~250 instructions each, `bench/profile`), and
/// every request looks one or two of these up.
pub static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
pub static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
pub static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// Which of the port's faces answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// A CORS preflight, answered by the policy alone.
    Preflight,
    /// JSON over HTTP, transcoded from `google.api.http`.
    Rest,
    /// gRPC-Web; `text` for the base64 (`-text`) variant.
    GrpcWeb { text: bool },
    /// Native gRPC over HTTP/2.
    Grpc,
}

impl Protocol {
    pub fn classify(method: &Method, headers: &HeaderMap) -> Protocol {
        if CorsPolicy::is_preflight(method, headers) {
            return Protocol::Preflight;
        }
        let Some(ct) = headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes) else {
            return Protocol::Rest;
        };
        if starts_with_ignore_case(ct, b"application/grpc-web-text") {
            Protocol::GrpcWeb { text: true }
        } else if starts_with_ignore_case(ct, b"application/grpc-web") {
            Protocol::GrpcWeb { text: false }
        } else if starts_with_ignore_case(ct, b"application/grpc") {
            Protocol::Grpc
        } else {
            Protocol::Rest
        }
    }

    /// The protocol's word in the access line and the metrics' `protocol`
    /// label.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Preflight => "preflight",
            Protocol::Rest => "rest",
            Protocol::GrpcWeb { text: false } => "grpc-web",
            Protocol::GrpcWeb { text: true } => "grpc-web-text",
            Protocol::Grpc => "grpc",
        }
    }

    /// An error raised by the server itself, in this protocol's own shape:
    /// `{"error"}` JSON with the mapped HTTP status for REST and preflights,
    /// a trailers-only response (HTTP 200, status in headers) for gRPC and
    /// gRPC-Web, exactly as tonic and tonic-web shape their own errors.
    pub fn refusal(self, code: Code, message: &str) -> Response<Body> {
        match self {
            Protocol::Rest | Protocol::Preflight => {
                ErrorReply::from_grpc(code, message).into_response()
            }
            Protocol::Grpc | Protocol::GrpcWeb { .. } => {
                let mut response = Status::new(code, message).into_http::<Body>();
                let content_type = match self {
                    Protocol::GrpcWeb { text: true } => "application/grpc-web-text+proto",
                    Protocol::GrpcWeb { text: false } => "application/grpc-web+proto",
                    _ => "application/grpc",
                };
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                response
            }
        }
    }
}

fn starts_with_ignore_case(value: &[u8], prefix: &[u8]) -> bool {
    value.len() >= prefix.len() && value[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The client's `grpc-timeout` (gRPC over HTTP/2 spec: up to 8 digits and a
/// unit of H, M, S, m, u or n), if present and well-formed.
pub fn grpc_timeout(headers: &HeaderMap) -> Option<std::time::Duration> {
    use std::time::Duration;
    let raw = headers.get(&GRPC_TIMEOUT)?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn content_type_picks_the_protocol() {
        let post = Method::POST;
        let ct = |v| with("content-type", v);
        assert_eq!(
            Protocol::classify(&post, &ct("application/json")),
            Protocol::Rest
        );
        assert_eq!(Protocol::classify(&post, &HeaderMap::new()), Protocol::Rest);
        assert_eq!(
            Protocol::classify(&post, &ct("application/grpc")),
            Protocol::Grpc
        );
        assert_eq!(
            Protocol::classify(&post, &ct("application/grpc+proto")),
            Protocol::Grpc
        );
        assert_eq!(
            Protocol::classify(&post, &ct("application/grpc-web+proto")),
            Protocol::GrpcWeb { text: false }
        );
        assert_eq!(
            Protocol::classify(&post, &ct("Application/GRPC-Web-Text")),
            Protocol::GrpcWeb { text: true }
        );
    }

    #[test]
    fn grpc_timeout_units() {
        let t = |v| grpc_timeout(&with("grpc-timeout", v));
        assert_eq!(t("5S"), Some(Duration::from_secs(5)));
        assert_eq!(t("100m"), Some(Duration::from_millis(100)));
        assert_eq!(t("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(t("7n"), Some(Duration::from_nanos(7)));
        assert_eq!(t("123456789S"), None);
        assert_eq!(t("S"), None);
        assert_eq!(t("5x"), None);
    }
}
