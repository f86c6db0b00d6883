//! Which face of the port a request is for, and how each face says "no".
//!
//! The content type decides (as in connect-go and Envoy's grpc_web filter):
//! `application/grpc-web*` is gRPC-Web, `application/grpc*` is native gRPC;
//! then Connect takes what is unmistakably its own ([`crate::connect`]: a
//! POST with another `application/*` type to a served method's path, or a
//! GET there with Connect's query parameters), and everything else is REST.
//! Errors the server raises itself (timeouts, load shedding) must reach each
//! client in its own protocol, so [`Protocol::refusal`] is the one place
//! that shapes them.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, Uri, header};
use tonic::{Code, Status, body::Body};

use crate::{
    connect::{self, Procedures, procedures::is_method_shaped, request::has_get_parameters},
    cors::CorsPolicy,
    status::ErrorReply,
};

/// gRPC's own headers as ready-made names: a lookup by `&str` first parses
/// and validates the name (~250 instructions each, `bench/profile`), and
/// every request looks one or two of these up.
pub static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
pub static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
pub static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
/// Connect's own headers, likewise.
pub static CONNECT_PROTOCOL_VERSION: HeaderName =
    HeaderName::from_static("connect-protocol-version");
pub static CONNECT_TIMEOUT: HeaderName = HeaderName::from_static("connect-timeout-ms");

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
    /// Connect's unary protocol ([`crate::connect`]).
    Connect,
}

impl Protocol {
    /// Which face answers; `procedures` are the methods Connect serves. REST
    /// pays for the Connect check only when its path has a gRPC method's
    /// shape (`/greet` has not): then one lookup, no allocation.
    pub fn classify(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        procedures: &Procedures,
    ) -> Protocol {
        if CorsPolicy::is_preflight(method, headers) {
            return Protocol::Preflight;
        }
        let ct = headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes);
        if let Some(ct) = ct {
            if starts_with_ignore_case(ct, b"application/grpc-web-text") {
                return Protocol::GrpcWeb { text: true };
            } else if starts_with_ignore_case(ct, b"application/grpc-web") {
                return Protocol::GrpcWeb { text: false };
            } else if starts_with_ignore_case(ct, b"application/grpc") {
                return Protocol::Grpc;
            }
        }
        let connect = match (method, ct) {
            (&Method::POST, Some(ct)) if starts_with_ignore_case(ct, b"application/") => {
                let path = uri.path();
                is_method_shaped(path)
                    && (procedures.find(path).is_some()
                        || headers.contains_key(&CONNECT_PROTOCOL_VERSION))
            }
            (&Method::GET, _) => uri.query().is_some_and(|query| {
                is_method_shaped(uri.path())
                    && has_get_parameters(query)
                    && procedures.find(uri.path()).is_some()
            }),
            _ => false,
        };
        if connect {
            Protocol::Connect
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
            Protocol::Connect => "connect",
        }
    }

    /// An error raised by the server itself, in this protocol's own shape:
    /// `{"error"}` JSON with the mapped HTTP status for REST and preflights,
    /// Connect's `{"code", "message"}` JSON with the same status, a
    /// trailers-only response (HTTP 200, status in headers) for gRPC and
    /// gRPC-Web, exactly as tonic and tonic-web shape their own errors.
    pub fn refusal(self, code: Code, message: &str) -> Response<Body> {
        match self {
            Protocol::Rest | Protocol::Preflight => {
                ErrorReply::from_grpc(code, message).into_response()
            }
            Protocol::Connect => connect::refusal(code, message),
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

/// The client's `connect-timeout-ms` (Connect spec: a positive integer of
/// at most 10 digits), if present and well-formed.
pub fn connect_timeout(headers: &HeaderMap) -> Option<std::time::Duration> {
    let raw = headers.get(&CONNECT_TIMEOUT)?.as_bytes();
    if raw.is_empty() || raw.len() > 10 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let millis = raw
        .iter()
        .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
    Some(std::time::Duration::from_millis(millis))
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

    const GREET: &str = "/greet.v1.GreetService/Greet";

    fn greet_procedures() -> Procedures {
        let pool = prost_reflect::DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET).unwrap();
        Procedures::new(&pool, &[])
    }

    fn classify(method: Method, uri: &str, headers: &HeaderMap) -> Protocol {
        let uri: Uri = uri.parse().unwrap();
        Protocol::classify(&method, &uri, headers, &greet_procedures())
    }

    #[test]
    fn content_type_picks_the_protocol() {
        let ct = |v| with("content-type", v);
        let post = |headers: &HeaderMap| classify(Method::POST, GREET, headers);
        assert_eq!(post(&HeaderMap::new()), Protocol::Rest);
        assert_eq!(post(&ct("application/grpc")), Protocol::Grpc);
        assert_eq!(post(&ct("application/grpc+proto")), Protocol::Grpc);
        assert_eq!(
            post(&ct("application/grpc-web+proto")),
            Protocol::GrpcWeb { text: false }
        );
        assert_eq!(
            post(&ct("Application/GRPC-Web-Text")),
            Protocol::GrpcWeb { text: true }
        );
        assert_eq!(post(&ct("application/json")), Protocol::Connect);
        assert_eq!(post(&ct("application/proto")), Protocol::Connect);
        assert_eq!(post(&ct("text/plain")), Protocol::Rest);
    }

    #[test]
    fn connect_takes_only_method_paths_it_serves_or_that_say_connect() {
        let json = with("content-type", "application/json");
        assert_eq!(classify(Method::POST, "/greet", &json), Protocol::Rest);
        assert_eq!(classify(Method::PUT, GREET, &json), Protocol::Rest);
        let unknown = "/greet.v1.GreetService/Nope";
        assert_eq!(classify(Method::POST, unknown, &json), Protocol::Rest);
        let mut connect = json.clone();
        connect.insert(&CONNECT_PROTOCOL_VERSION, HeaderValue::from_static("1"));
        assert_eq!(classify(Method::POST, unknown, &connect), Protocol::Connect);
        assert_eq!(classify(Method::POST, "/greet", &connect), Protocol::Rest);
    }

    #[test]
    fn a_get_is_connect_only_with_connects_query_on_a_served_path() {
        let none = HeaderMap::new();
        let get = |uri: &str| classify(Method::GET, uri, &none);
        assert_eq!(
            get(&format!("{GREET}?encoding=json&message=%7B%7D")),
            Protocol::Connect
        );
        assert_eq!(get(GREET), Protocol::Rest);
        assert_eq!(get(&format!("{GREET}?shelf=1")), Protocol::Rest);
        assert_eq!(get("/v1/search?encoding=json"), Protocol::Rest);
        assert_eq!(
            get("/greet.v1.GreetService/Nope?encoding=json"),
            Protocol::Rest
        );
    }

    #[test]
    fn connect_timeout_is_milliseconds_of_at_most_ten_digits() {
        let t = |v| connect_timeout(&with("connect-timeout-ms", v));
        assert_eq!(t("1500"), Some(Duration::from_millis(1500)));
        assert_eq!(t("0"), Some(Duration::ZERO));
        assert_eq!(t("9999999999"), Some(Duration::from_millis(9_999_999_999)));
        assert_eq!(t("12345678901"), None);
        assert_eq!(t(""), None);
        assert_eq!(t("-5"), None);
        assert_eq!(t("1s"), None);
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
