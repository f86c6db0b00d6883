//! One unary call to the services, made in-process: how REST's dynamic road
//! and Connect reach an RPC through the very tonic services native clients
//! reach, with the request's forwarded metadata, and get back the message,
//! the status and the service's headers and trailers apart.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, header, uri::PathAndQuery};
use http_body_util::{BodyExt, Full};
use tonic::{Status, body::Body};
use tower::ServiceExt;

use super::GrpcService;
use crate::{protocol::GRPC_STATUS, request_error::RequestError};

/// What an in-process unary call came back with.
#[derive(Debug)]
pub struct Unary {
    /// The response headers: the service's custom metadata among gRPC's
    /// own. In a trailers-only answer (an error before any message) these
    /// are also its trailers, the status included.
    pub headers: HeaderMap,
    /// The trailers that ended the body, when there were any.
    pub trailers: Option<HeaderMap>,
    /// The response message (unframed), or the call's status when it is
    /// not OK.
    pub message: Result<Bytes, Status>,
}

/// A message as one uncompressed gRPC frame: flag 0, its length (4 bytes,
/// big-endian), its bytes, written by `write`.
pub fn frame(len: usize, write: impl FnOnce(&mut BytesMut)) -> Result<Bytes, RequestError> {
    let prefix = u32::try_from(len).map_err(|_| RequestError::PayloadTooLarge)?;
    let mut framed = BytesMut::with_capacity(len + 5);
    framed.put_u8(0);
    framed.put_u32(prefix);
    write(&mut framed);
    Ok(framed.freeze())
}

impl GrpcService {
    /// Calls the unary RPC at `path` with one `framed` message ([`frame`])
    /// and `metadata` as the request's headers (none of them gRPC's own).
    pub async fn unary(&self, path: PathAndQuery, framed: Bytes, metadata: HeaderMap) -> Unary {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .version(http::Version::HTTP_2)
            .body(Body::new(Full::new(framed)))
            .expect("a path and a method form a valid request");
        *request.headers_mut() = metadata;
        let headers = request.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        let response = self
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});

        let (head, mut body) = response.into_parts();
        let headers = head.headers;
        // A trailers-only answer carries the status in the headers.
        if let Some(status) = error_in(&headers) {
            return Unary {
                headers,
                trailers: None,
                message: Err(status),
            };
        }
        let mut data = Bytes::new();
        let mut trailers = None;
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(status) => {
                    return Unary {
                        headers,
                        trailers,
                        message: Err(status),
                    };
                }
            };
            match frame.into_data() {
                // A unary answer is one data frame in practice: kept as it is.
                Ok(chunk) if data.is_empty() => data = chunk,
                Ok(chunk) => {
                    let mut joined = BytesMut::from(&data[..]);
                    joined.extend_from_slice(&chunk);
                    data = joined.freeze();
                }
                Err(frame) => trailers = frame.into_trailers().ok(),
            }
        }
        let message = match trailers.as_ref().and_then(error_in) {
            Some(status) => Err(status),
            None => unframe(data),
        };
        Unary {
            headers,
            trailers,
            message,
        }
    }
}

/// The one message of a unary answer's body.
fn unframe(mut data: Bytes) -> Result<Bytes, Status> {
    if data.len() < 5 || data[0] != 0 {
        return Err(Status::internal("The service sent no response message"));
    }
    let _ = data.split_to(5);
    Ok(data)
}

/// The error a `grpc-status` other than 0 stands for, if any. The status is
/// parsed (and its message percent-decoded) only when it is an error.
fn error_in(headers: &HeaderMap) -> Option<Status> {
    match headers.get(&GRPC_STATUS) {
        None => None,
        Some(code) if code == "0" => None,
        Some(_) => Status::from_header_map(headers),
    }
}
