//! What can be wrong with a request's body before any service sees it, as
//! types: the conditions are detected by our own code (the REST body reader,
//! [`crate::grpc`]'s frame checks and codec), never recognised afterwards by
//! the wording of someone else's error message.
//!
//! [`RequestError::table`] is the one place each condition gets its gRPC
//! code and HTTP status; the `#[error]` text is the wire message on every
//! protocol. [`read_body`] is the one reader of whole bodies (REST and
//! Connect), so the body limit is applied and worded alike on both.

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use tonic::{Code, Status};

use crate::{grpc::Base64Error, status::ErrorReply};

/// A request refused for its body.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// More than `--max-body-bytes`: the REST body, or one gRPC message as
    /// announced by its frame header (spec, error row 5).
    #[error("Payload too large")]
    PayloadTooLarge,
    /// A unary call whose body holds no message at all, for an RPC that does
    /// not read an absent message as the empty one (Greet does; see
    /// [`crate::grpc::Arity`]).
    #[error("Missing request message: a unary call carries exactly one length-prefixed message")]
    MissingMessage,
    /// The body ended inside a frame: in its 5-byte header or its message.
    #[error("Truncated gRPC message: the body ended inside a length-prefixed frame")]
    Truncated,
    /// The message is not the protobuf the RPC expects; prost's text says
    /// which field and why.
    #[error("{0}")]
    Undecodable(#[from] prost::DecodeError),
    /// A gRPC-Web text body that is not base64.
    #[error("Invalid base64 in the gRPC-Web text body: {0}")]
    InvalidBase64(#[from] Base64Error),
    /// The body could not be read to its end (the client reset the stream,
    /// or sent broken chunked framing).
    #[error("Could not read the request body: {0}")]
    Unreadable(String),
}

impl RequestError {
    /// The one table: each condition's gRPC code and HTTP status. Every one
    /// is the client's doing, so none is a 5xx. The body limit is the one
    /// RESOURCE_EXHAUSTED that REST answers 413 rather than 429.
    pub fn table(&self) -> (Code, StatusCode) {
        match self {
            RequestError::PayloadTooLarge => {
                (Code::ResourceExhausted, StatusCode::PAYLOAD_TOO_LARGE)
            }
            RequestError::MissingMessage
            | RequestError::Truncated
            | RequestError::Undecodable(_)
            | RequestError::InvalidBase64(_)
            | RequestError::Unreadable(_) => (Code::InvalidArgument, StatusCode::BAD_REQUEST),
        }
    }
}

/// Reads a whole request body, refusing more than `limit` bytes as
/// [`RequestError::PayloadTooLarge`]: at once when `Content-Length` says
/// so, else as soon as the bytes read pass it.
pub async fn read_body<B>(headers: &HeaderMap, body: B, limit: usize) -> Result<Bytes, RequestError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(RequestError::PayloadTooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(RequestError::PayloadTooLarge),
        Err(e) => Err(RequestError::Unreadable(e.to_string())),
    }
}

/// The gRPC face. tonic uses a `Status` found in a request body's error as
/// the call's status unchanged (`Status::from_error`), which is how the
/// frame checks reach the client.
impl From<RequestError> for Status {
    fn from(error: RequestError) -> Self {
        Status::new(error.table().0, error.to_string())
    }
}

/// The REST face.
impl From<RequestError> for ErrorReply {
    fn from(error: RequestError) -> Self {
        ErrorReply::new(error.table().1, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_limit_is_resource_exhausted_and_413() {
        let error = RequestError::PayloadTooLarge;
        assert_eq!(
            error.table(),
            (Code::ResourceExhausted, StatusCode::PAYLOAD_TOO_LARGE)
        );
        let status = Status::from(RequestError::PayloadTooLarge);
        assert_eq!(
            (status.code(), status.message()),
            (Code::ResourceExhausted, "Payload too large")
        );
        assert_eq!(
            ErrorReply::from(RequestError::PayloadTooLarge),
            ErrorReply::new(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large")
        );
    }

    #[test]
    fn a_bad_frame_is_the_callers_fault() {
        let status = Status::from(RequestError::Truncated);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "Truncated gRPC message: the body ended inside a length-prefixed frame"
        );
    }
}
