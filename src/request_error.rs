//! What can be wrong with a request's body before any service sees it, as
//! types: the conditions are detected by our own code (the REST body reader,
//! [`crate::grpc`]'s frame checks and codec), never recognised afterwards by
//! the wording of someone else's error message.
//!
//! [`RequestError::table`] is the one place each condition gets its gRPC
//! code and HTTP status; the `#[error]` text is the wire message on every
//! protocol. [`read_body`] is the one reader of whole bodies (REST and
//! Connect), so the body limit is applied and worded alike on both.

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http_body::Body as _;
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
/// [`RequestError::PayloadTooLarge`]: at once when the body is known to be
/// longer (hyper's body knows its `Content-Length`: its size hint, with no
/// header lookup), else as soon as the bytes read pass it.
pub async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, RequestError>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    if body.size_hint().lower() > limit as u64 {
        return Err(RequestError::PayloadTooLarge);
    }
    // Frame by frame rather than `collect()`: a body that arrives in one
    // chunk (nearly every JSON body) is handed on as it came, where
    // `collect()` queues its chunks in a list it allocates per request.
    let mut body = std::pin::pin!(Limited::new(body, limit));
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                RequestError::PayloadTooLarge
            } else {
                RequestError::Unreadable(e.to_string())
            }
        })?;
        // Trailers of a request body carry nothing a unary call reads.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        match (&mut joined, first.take()) {
            (Some(joined), _) => joined.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(earlier)) => {
                let mut both = BytesMut::with_capacity(earlier.len() + data.len());
                both.extend_from_slice(&earlier);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
        }
        // A body that knows it is complete (all of its `Content-Length`
        // read) is not polled once more just to hear so.
        if body.is_end_stream() {
            break;
        }
    }
    Ok(joined.map(BytesMut::freeze).or(first).unwrap_or_default())
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

    /// A body that arrives in the given chunks.
    fn chunked(
        chunks: &[&'static str],
    ) -> http_body_util::StreamBody<
        impl futures_util::Stream<Item = Result<http_body::Frame<Bytes>, std::io::Error>>
        + Send
        + 'static,
    > {
        let frames: Vec<_> = chunks
            .iter()
            .map(|c| Ok(http_body::Frame::data(Bytes::from_static(c.as_bytes()))))
            .collect();
        http_body_util::StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_is_read_whole_from_any_number_of_chunks_up_to_the_limit() {
        for chunks in [&[][..], &["{}"], &["{\"na", "me\":", "\"A\"}"]] {
            let read = read_body(chunked(chunks), 64).await.unwrap();
            assert_eq!(read, chunks.concat().as_bytes(), "{chunks:?}");
        }
        let over = read_body(chunked(&["12345", "67890"]), 8).await;
        assert!(
            matches!(over, Err(RequestError::PayloadTooLarge)),
            "{over:?}"
        );
    }

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
