//! The one table from gRPC status codes to HTTP statuses, and the JSON error
//! body every REST error uses: `{"error": "<message>"}`.
//!
//! The mapping is the standard one (as in grpc-gateway, Envoy and connect-go)
//! and keys on the code alone. The one exception the spec asks for, the
//! request-body limit answering 413 rather than RESOURCE_EXHAUSTED's 429, is
//! not a code: it is [`crate::request_error::RequestError::PayloadTooLarge`],
//! which carries its own status.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tonic::Code;

/// The HTTP status a REST client sees for a gRPC `code`.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status code"),
        Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
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
        ErrorReply::new(http_status(code), message)
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

    /// Whatever its message says: the body limit's 413 is a type's
    /// (`RequestError::PayloadTooLarge`), never a code's.
    #[test]
    fn resource_exhausted_is_429() {
        assert_eq!(
            ErrorReply::from_grpc(Code::ResourceExhausted, "Payload too large").status,
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
            assert_eq!(http_status(code).as_u16(), status, "{code:?}");
        }
    }

    #[test]
    fn error_body_is_escaped_json() {
        let reply = ErrorReply::new(StatusCode::BAD_REQUEST, "a \"quoted\" 'name'");
        assert_eq!(reply.body(), r#"{"error":"a \"quoted\" 'name'"}"#);
    }
}
