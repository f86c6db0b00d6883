//! Connect's error (<https://connectrpc.com/docs/protocol#error-end-stream>):
//! a non-200 answer whose body is `{"code": "<name>", "message": "...",
//! "details": [...]}` in `application/json`.
//!
//! The HTTP status comes from the shared table in [`crate::status`] (which is
//! Connect's own code-to-HTTP table, connect-go's `connectCodeToHTTP`), or
//! from [`RequestError::table`] for a refused body: the body limit answers
//! 413 on every protocol that has an HTTP status (spec, error row 5), where
//! Connect's table would say 429, and 429 invites a retry that can never
//! succeed. A few refusals of the protocol itself have statuses the spec
//! names (415 with `Accept-Post` for a codec the method does not have, 405
//! with `Allow` for a GET the method does not allow).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use tonic::{Code, Status, body::Body};

use crate::{
    request_error::RequestError,
    status::{http_status, json_response},
};

/// A Connect error: what the client reads, and the HTTP status it arrives
/// with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub code: Code,
    pub status: StatusCode,
    pub message: String,
    /// `google.rpc.Status` details from the service, as Connect writes them.
    pub details: Vec<Detail>,
    /// Headers the answer carries besides the body's: `Allow`,
    /// `Accept-Post`, the service's metadata. Boxed: an error travels in
    /// `Result`s, which stay small.
    pub headers: Box<HeaderMap>,
}

/// One error detail: the message's full name and its protobuf bytes
/// (written unpadded base64, as the spec asks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub type_name: String,
    pub value: Bytes,
}

/// The code of a Connect error answer, for the access log and metrics (the
/// answer carries no `grpc-status`). Set only on errors: a Connect answer
/// without it is a 200, code 0, and costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub Code);

impl ConnectError {
    /// An error with the standard HTTP status of its code.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ConnectError {
            code,
            status: http_status(code),
            message: message.into(),
            details: Vec::new(),
            headers: Box::default(),
        }
    }

    /// The same error with a header on its answer.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The same error answered with another HTTP status (see the module docs).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The whole answer: the status, `application/json`, the error body.
    pub fn into_response(self) -> Response<Body> {
        let mut response = json_response(self.status, self.body());
        response.headers_mut().extend(*self.headers);
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }

    /// The JSON body.
    pub fn body(&self) -> Bytes {
        use base64::Engine as _;
        #[derive(serde::Serialize)]
        struct Wire<'a> {
            code: &'static str,
            #[serde(skip_serializing_if = "str::is_empty")]
            message: &'a str,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            details: Vec<WireDetail<'a>>,
        }
        #[derive(serde::Serialize)]
        struct WireDetail<'a> {
            #[serde(rename = "type")]
            type_name: &'a str,
            value: String,
        }
        let wire = Wire {
            code: code_name(self.code),
            message: &self.message,
            details: self
                .details
                .iter()
                .map(|d| WireDetail {
                    type_name: &d.type_name,
                    value: base64::engine::general_purpose::STANDARD_NO_PAD.encode(&d.value),
                })
                .collect(),
        };
        Bytes::from(serde_json::to_vec(&wire).expect("strings always serialize"))
    }
}

/// A service's status: its code, message and details.
impl From<&Status> for ConnectError {
    fn from(status: &Status) -> Self {
        let mut error = ConnectError::new(status.code(), status.message());
        error.details = details(status.details());
        error
    }
}

/// A refused body: the code and status of [`RequestError::table`].
impl From<RequestError> for ConnectError {
    fn from(error: RequestError) -> Self {
        let (code, status) = error.table();
        ConnectError::new(code, error.to_string()).with_status(status)
    }
}

/// Connect's name of a code (the gRPC name in lower snake case; CANCELLED
/// is spelled `canceled`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// A code's number as the `grpc_status` the access log and metrics show.
pub fn code_number(code: Code) -> HeaderValue {
    const NUMBERS: [&str; 17] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    ];
    HeaderValue::from_static(NUMBERS.get(code as usize).copied().unwrap_or("2"))
}

/// The details of a `grpc-status-details-bin` (an encoded `google.rpc.Status`),
/// or none when there are none or they do not decode.
fn details(encoded: &[u8]) -> Vec<Detail> {
    /// `google.rpc.Status`, just the field Connect needs.
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(message, repeated, tag = "3")]
        details: Vec<prost_types::Any>,
    }
    if encoded.is_empty() {
        return Vec::new();
    }
    let Ok(status) = <RpcStatus as prost::Message>::decode(encoded) else {
        return Vec::new();
    };
    status
        .details
        .into_iter()
        .map(|any| Detail {
            // `type.googleapis.com/google.rpc.RetryInfo` → `google.rpc.RetryInfo`
            type_name: any
                .type_url
                .rsplit_once('/')
                .map_or(any.type_url.as_str(), |(_, name)| name)
                .to_owned(),
            value: Bytes::from(any.value),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_code_name_and_the_message() {
        let error = ConnectError::new(Code::InvalidArgument, "Missing \"name\"");
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error.body(),
            r#"{"code":"invalid_argument","message":"Missing \"name\""}"#
        );
        assert_eq!(
            ConnectError::new(Code::Unavailable, "").body(),
            r#"{"code":"unavailable"}"#
        );
    }

    #[test]
    fn codes_map_to_connects_http_statuses() {
        for (code, name, status) in [
            (Code::Cancelled, "canceled", 499),
            (Code::Unknown, "unknown", 500),
            (Code::InvalidArgument, "invalid_argument", 400),
            (Code::DeadlineExceeded, "deadline_exceeded", 504),
            (Code::NotFound, "not_found", 404),
            (Code::AlreadyExists, "already_exists", 409),
            (Code::PermissionDenied, "permission_denied", 403),
            (Code::ResourceExhausted, "resource_exhausted", 429),
            (Code::FailedPrecondition, "failed_precondition", 400),
            (Code::Aborted, "aborted", 409),
            (Code::OutOfRange, "out_of_range", 400),
            (Code::Unimplemented, "unimplemented", 501),
            (Code::Internal, "internal", 500),
            (Code::Unavailable, "unavailable", 503),
            (Code::DataLoss, "data_loss", 500),
            (Code::Unauthenticated, "unauthenticated", 401),
        ] {
            let error = ConnectError::new(code, "m");
            assert_eq!((code_name(code), error.status.as_u16()), (name, status));
            assert_eq!(code_number(code), (code as i32).to_string());
        }
    }

    #[test]
    fn the_body_limit_is_resource_exhausted_with_413() {
        let error = ConnectError::from(RequestError::PayloadTooLarge);
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            error.body(),
            r#"{"code":"resource_exhausted","message":"Payload too large"}"#
        );
    }

    #[test]
    fn status_details_become_typed_unpadded_base64_details() {
        let any = prost_types::Any {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
            value: vec![0x0a, 0x02, 0x08, 0x3c],
        };
        let mut encoded = Vec::new();
        prost::encoding::message::encode(3, &any, &mut encoded);
        let status = Status::with_details(Code::Unavailable, "later", encoded.into());
        assert_eq!(
            ConnectError::from(&status).body(),
            r#"{"code":"unavailable","message":"later","details":[{"type":"google.rpc.RetryInfo","value":"CgIIPA"}]}"#
        );
    }
}
