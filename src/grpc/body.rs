//! The request body every gRPC service on the port reads: the client's body,
//! followed frame by frame ([`Frames`]) and, for gRPC-Web text, decoded from
//! base64 ([`Base64Text`]) on the way.
//!
//! A problem is reported as a body error holding a `tonic::Status` made from
//! a [`RequestError`]; tonic ends the call with that status unchanged
//! (tonic 0.14, `codec/decode.rs` maps a body error with
//! `Status::from_error`, which returns a `Status` as is). A unary call reads
//! its whole body before the handler runs, so these answers are
//! trailers-only, like tonic's own.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Frame, SizeHint};
use tonic::{Status, body::Body};

use super::{
    Arity,
    frames::{End, Frames, HEADER_LEN},
    text::Base64Text,
};
use crate::request_error::RequestError;

/// The frame of an empty, uncompressed message.
const EMPTY_MESSAGE: [u8; HEADER_LEN] = [0; HEADER_LEN];

/// A gRPC request body as the services receive it.
#[derive(Debug)]
pub struct RequestBody {
    inner: Body,
    frames: Frames,
    arity: Arity,
    /// Set for a gRPC-Web text body.
    text: Option<Base64Text>,
    /// The client's trailers, held back while the empty message goes first.
    trailers: Option<HeaderMap>,
    /// The end of the body has been judged.
    ended: bool,
    /// Nothing more to yield: after the end or an error.
    done: bool,
}

impl RequestBody {
    /// `inner` for an RPC of `arity`, with messages up to `limit` bytes.
    pub fn new(inner: Body, arity: Arity, limit: Option<usize>, text: bool) -> Self {
        RequestBody {
            inner,
            frames: Frames::new(limit),
            arity,
            text: text.then(Base64Text::default),
            trailers: None,
            ended: false,
            done: false,
        }
    }

    /// Follows the next bytes from the client; returns what the service reads.
    fn follow(&mut self, data: Bytes) -> Result<Bytes, RequestError> {
        let data = match &mut self.text {
            Some(text) => text.decode(&data)?,
            None => data,
        };
        self.frames.follow(&data)?;
        Ok(data)
    }

    /// The client's body ended (or its trailers came): is that a whole
    /// request? `Some` is a message the service should read first.
    fn end(&mut self) -> Result<Option<Bytes>, RequestError> {
        self.ended = true;
        if let Some(text) = &self.text {
            text.end()?;
        }
        match (self.frames.end(), self.arity) {
            (End::Inside, _) => Err(RequestError::Truncated),
            (End::Empty, Arity::Unary) => Err(RequestError::MissingMessage),
            (End::Empty, Arity::UnaryEmptyWhenAbsent) => {
                Ok(Some(Bytes::from_static(&EMPTY_MESSAGE)))
            }
            (End::Empty, Arity::Stream) | (End::Whole, _) => Ok(None),
        }
    }

    fn fail(&mut self, error: RequestError) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.done = true;
        Poll::Ready(Some(Err(error.into())))
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if let Some(trailers) = this.trailers.take() {
                return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
            }
            let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                // Past the judged end (trailers came): nothing left to check.
                Some(frame) if this.ended => return Poll::Ready(Some(frame)),
                Some(Ok(frame)) => frame,
                Some(Err(status)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(status)));
                }
                None if this.ended => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                None => {
                    return match this.end() {
                        Err(error) => this.fail(error),
                        Ok(first) => {
                            this.done = true;
                            Poll::Ready(first.map(|message| Ok(Frame::data(message))))
                        }
                    };
                }
            };
            match frame.into_data() {
                Ok(data) => match this.follow(data) {
                    Err(error) => return this.fail(error),
                    // Base64 still waiting for the rest of a quantum.
                    Ok(data) if data.is_empty() && this.text.is_some() => continue,
                    Ok(data) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                },
                // Trailers end the body as surely as its end does.
                Err(frame) => match this.end() {
                    Err(error) => return this.fail(error),
                    Ok(Some(message)) => {
                        this.trailers = frame.into_trailers().ok();
                        return Poll::Ready(Some(Ok(Frame::data(message))));
                    }
                    Ok(None) => return Poll::Ready(Some(Ok(frame))),
                },
            }
        }
    }

    /// Never ended before it says so: an empty body may still yield an
    /// error or the empty message.
    fn is_end_stream(&self) -> bool {
        self.done
    }

    /// Unknown: base64 and the empty message change the length.
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full, StreamBody};

    async fn read(body: RequestBody) -> Result<(Bytes, Option<HeaderMap>), Status> {
        let collected = body.collect().await?;
        let trailers = collected.trailers().cloned();
        Ok((collected.to_bytes(), trailers))
    }

    fn body(bytes: &'static [u8], arity: Arity, text: bool) -> RequestBody {
        RequestBody::new(
            Body::new(Full::new(Bytes::from_static(bytes))),
            arity,
            Some(8),
            text,
        )
    }

    fn error(result: Result<(Bytes, Option<HeaderMap>), Status>) -> (tonic::Code, String) {
        let status = result.expect_err("an error");
        (status.code(), status.message().to_owned())
    }

    #[tokio::test]
    async fn a_whole_message_passes_unchanged() {
        let frame = b"\0\0\0\0\x02hi";
        let (bytes, _) = read(body(frame, Arity::Unary, false)).await.unwrap();
        assert_eq!(bytes, &frame[..]);
    }

    #[tokio::test]
    async fn an_absent_message_is_missing_or_empty_as_the_rpc_declares() {
        assert_eq!(
            error(read(body(b"", Arity::Unary, false)).await),
            (
                tonic::Code::InvalidArgument,
                RequestError::MissingMessage.to_string()
            )
        );
        let (bytes, _) = read(body(b"", Arity::UnaryEmptyWhenAbsent, false))
            .await
            .unwrap();
        assert_eq!(bytes, &EMPTY_MESSAGE[..]);
        let (bytes, _) = read(body(b"", Arity::Stream, false)).await.unwrap();
        assert!(bytes.is_empty());
    }

    #[tokio::test]
    async fn the_empty_message_comes_before_the_clients_trailers() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-trailer", "yes".parse().unwrap());
        let frames =
            futures_util::stream::iter([Ok::<_, Status>(Frame::trailers(trailers.clone()))]);
        let body = RequestBody::new(
            Body::new(StreamBody::new(frames)),
            Arity::UnaryEmptyWhenAbsent,
            None,
            false,
        );
        let (bytes, received) = read(body).await.unwrap();
        assert_eq!(bytes, &EMPTY_MESSAGE[..]);
        assert_eq!(received, Some(trailers));
    }

    #[tokio::test]
    async fn a_body_ending_inside_a_frame_is_truncated() {
        assert_eq!(
            error(read(body(b"\0\0\0", Arity::Stream, false)).await),
            (
                tonic::Code::InvalidArgument,
                RequestError::Truncated.to_string()
            )
        );
    }

    #[tokio::test]
    async fn text_is_decoded_then_followed() {
        // base64 of the frame of "hi".
        let (bytes, _) = read(body(b"AAAAAAJoaQ==", Arity::Unary, true))
            .await
            .unwrap();
        assert_eq!(bytes, &b"\0\0\0\0\x02hi"[..]);
        assert_eq!(
            error(read(body(b"AAAA*AAA", Arity::Unary, true)).await),
            (
                tonic::Code::InvalidArgument,
                "Invalid base64 in the gRPC-Web text body: Invalid symbol 42, offset 4.".to_owned()
            )
        );
    }
}
