//! The one table from gRPC status codes to HTTP statuses, and the JSON error
//! body every REST error uses: `{"error": "<message>"}`.
//!
//! The mapping is the standard one (as in grpc-gateway, Envoy and connect-go),
//! with one exception the spec asks for: the request-body limit answers 413,
//! not RESOURCE_EXHAUSTED's usual 429.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tonic::Code;

/// The exact message of the request-body limit on every protocol.
pub const PAYLOAD_TOO_LARGE: &str = "Payload too large";

/// The HTTP status a REST client sees for a gRPC `code` carrying `message`.
pub fn http_status(code: Code, message: &str) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status code"),
        Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        // Our own body limit is a 413 everywhere; other exhaustion is a 429.
        Code::ResourceExhausted if message == PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::Aborted => StatusCode::CONFLICT,
        Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
    }
}

/// A REST error: the HTTP status and the message for the `"error"` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    pub status: StatusCode,
    pub message: String,
}

impl ErrorReply {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ErrorReply {
            status,
            message: message.into(),
        }
    }

    /// The REST face of a gRPC status: the table above, message unchanged.
    pub fn from_grpc(code: Code, message: &str) -> Self {
        ErrorReply::new(http_status(code, message), message)
    }

    pub fn payload_too_large() -> Self {
        ErrorReply::new(StatusCode::PAYLOAD_TOO_LARGE, PAYLOAD_TOO_LARGE)
    }

    /// `{"error": "<message>"}`, serialized.
    pub fn body(&self) -> Bytes {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            error: &'a str,
        }
        let body = Body {
            error: &self.message,
        };
        Bytes::from(serde_json::to_vec(&body).expect("a string field always serializes"))
    }

    /// The whole response: status, JSON content type, body.
    pub fn into_response(self) -> http::Response<tonic::body::Body> {
        json_response(self.status, self.body())
    }
}

/// A JSON response: the one place JSON answers get their content type and
/// `X-Content-Type-Options: nosniff` (no browser may read them as HTML).
pub fn json_response(status: StatusCode, body: Bytes) -> http::Response<tonic::body::Body> {
    let mut response = http::Response::new(tonic::body::Body::new(http_body_util::Full::new(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    // Room for these two and the CORS headers, without growing the map.
    headers.reserve(6);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The content type of every JSON response.
pub const JSON: &str = "application/json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limit_is_413_and_other_exhaustion_is_429() {
        assert_eq!(
            http_status(Code::ResourceExhausted, PAYLOAD_TOO_LARGE),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            http_status(Code::ResourceExhausted, "quota"),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn spec_rows_map_the_standard_way() {
        for (code, status) in [
            (Code::InvalidArgument, 400),
            (Code::NotFound, 404),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
            (Code::Internal, 500),
        ] {
            assert_eq!(http_status(code, "x").as_u16(), status, "{code:?}");
        }
    }

    #[test]
    fn error_body_is_escaped_json() {
        let reply = ErrorReply::new(StatusCode::BAD_REQUEST, "a \"quoted\" 'name'");
        assert_eq!(reply.body(), r#"{"error":"a \"quoted\" 'name'"}"#);
    }
}
