//! The tower layers every API request passes through, one concern each.
//!
//! Each layer is a `Layer` + `Service` pair with a concrete future (no boxed
//! future per layer) and is tested alone in its file around a trivial inner
//! service. The order they are stacked in is written down once, with the
//! reason for each place, in [`crate::app`]:
//!
//! - [`classify`]: which protocol the request speaks, decided once;
//! - [`request_id`]: an `x-request-id` for every request and its answer;
//! - [`access_log`]: one log line per request, when its body ends;
//! - [`cors`]: preflights answered, every other answer decorated;
//! - [`shed`]: a concurrency limit that refuses at once, held until the
//!   response body ends;
//! - [`timeout`]: a deadline from the head of the request to the end of its
//!   response body;
//! - [`panic`](mod@panic): a handler's panic answered in its protocol's shape.
//!
//! The answers the layers give of their own accord are the [`Refusal`]s.
//!
//! Not a layer: the request-body limit. tower-http's `RequestBodyLimitLayer`
//! answers an over-long `content-length` with a 413 of its own
//! (`text/plain`, "length limit exceeded"), which is neither REST's
//! `{"error": "Payload too large"}` nor gRPC's trailers-only
//! RESOURCE_EXHAUSTED, and a chunked body that grows too long only as an
//! opaque body error. So each face applies the limit where it can answer in
//! its own shape: the REST transcoder while it reads the body, the gRPC
//! services from each frame's header before the message arrives
//! ([`crate::grpc`]), both as [`crate::request_error::RequestError`].

pub mod access_log;
pub mod classify;
pub mod cors;
pub mod panic;
pub mod request_id;
pub mod shed;
pub mod timeout;

use std::time::Duration;

use http::{HeaderMap, Response};
use tonic::{Code, Status, body::Body};

use crate::protocol::Protocol;

/// An answer the server gives of its own accord rather than the handler's:
/// its wording, its gRPC code, and (the one place that asks for them) its
/// shape in each protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Every permit of `--max-concurrent-requests` is taken.
    #[error("Server is at its concurrent request limit; retry shortly")]
    Overloaded,
    /// The deadline (`--request-timeout`, or a shorter `grpc-timeout`) passed.
    #[error("Request timed out after {} ms", .0.as_millis())]
    TimedOut(Duration),
    /// The handler panicked; what it said stays in the server's log.
    #[error("Internal server error")]
    Panicked,
}

impl Refusal {
    pub fn code(self) -> Code {
        match self {
            Refusal::Overloaded => Code::Unavailable,
            Refusal::TimedOut(_) => Code::DeadlineExceeded,
            Refusal::Panicked => Code::Internal,
        }
    }

    /// The whole answer, before any of the response was sent: REST JSON
    /// with the mapped status, or a trailers-only gRPC / gRPC-Web response.
    pub fn response(self, protocol: Protocol) -> Response<Body> {
        protocol.refusal(self.code(), &self.to_string())
    }

    /// The trailers that end a gRPC response cut short after its head was
    /// sent, the way tonic writes a status.
    pub fn trailers(self) -> HeaderMap {
        let mut trailers = HeaderMap::new();
        Status::new(self.code(), self.to_string())
            .add_header(&mut trailers)
            .expect("a percent-encoded message is a valid header value");
        trailers
    }
}

/// What the layers' unit tests share: a response body the test streams.
#[cfg(test)]
pub(crate) mod test_support {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::Response;
    use http_body::Frame;
    use http_body_util::StreamBody;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;
    use tower::{Service, service_fn};

    /// The test's end of a [`Streamed`] body.
    pub type Frames = mpsc::Sender<Result<Frame<Bytes>, Infallible>>;
    /// A body that yields what the test sends, and waits in between.
    pub type Streamed = StreamBody<ReceiverStream<Result<Frame<Bytes>, Infallible>>>;

    pub fn stream() -> (Frames, Streamed) {
        let (frames, rx) = mpsc::channel(4);
        (frames, StreamBody::new(ReceiverStream::new(rx)))
    }

    /// A handler whose one answer has the given body.
    pub fn answering<R>(
        body: Streamed,
    ) -> impl Service<R, Response = Response<Streamed>, Error = Infallible> {
        let mut body = Some(body);
        service_fn(move |_: R| {
            let body = body.take().expect("one request");
            async move { Ok(Response::new(body)) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_happened_in_the_specs_words() {
        assert_eq!(
            Refusal::Overloaded.to_string(),
            "Server is at its concurrent request limit; retry shortly"
        );
        assert_eq!(
            Refusal::TimedOut(Duration::from_millis(1500)).to_string(),
            "Request timed out after 1500 ms"
        );
        assert_eq!(Refusal::Panicked.to_string(), "Internal server error");
    }

    #[test]
    fn trailers_carry_the_code_and_the_encoded_message() {
        let trailers = Refusal::TimedOut(Duration::from_secs(1)).trailers();
        assert_eq!(trailers["grpc-status"], "4");
        assert_eq!(
            trailers["grpc-message"],
            "Request%20timed%20out%20after%201000%20ms"
        );
    }
}
