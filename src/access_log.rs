//! One structured log line per request, written when the response body ends
//! (or is dropped), so a gRPC call's `grpc-status` from its trailers and the
//! full latency are both known.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{Status, body::Body};

/// Which of the port's faces answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// A CORS preflight, answered by the policy alone.
    Preflight,
    /// JSON over HTTP, transcoded from `google.api.http`.
    Rest,
    /// gRPC-Web, binary or text.
    GrpcWeb,
    /// Native gRPC over HTTP/2.
    Grpc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Preflight => "preflight",
            Protocol::Rest => "rest",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::Grpc => "grpc",
        }
    }
}

/// What the log line says, gathered while the request is served.
#[derive(Debug)]
pub struct Entry {
    pub started: Instant,
    pub method: Method,
    pub uri: Uri,
    pub protocol: Protocol,
    pub status: StatusCode,
    /// From the response headers (trailers-only) or, later, the trailers.
    pub grpc_status: Option<HeaderValue>,
}

/// A response body that logs its [`Entry`] once, when it is finished.
#[derive(Debug)]
pub struct LoggedBody {
    inner: Body,
    entry: Option<Entry>,
}

impl LoggedBody {
    pub fn new(inner: Body, entry: Entry) -> Self {
        LoggedBody {
            inner,
            entry: Some(entry),
        }
    }

    fn finish(&mut self, outcome: &'static str) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let grpc_status = entry
            .grpc_status
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info!(
            target: "greet_gateway::access",
            protocol = entry.protocol.as_str(),
            method = %entry.method,
            path = entry.uri.path(),
            status = entry.status.as_u16(),
            grpc_status,
            latency_us = entry.started.elapsed().as_micros() as u64,
            outcome,
        );
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(entry)) = (frame.trailers_ref(), self.entry.as_mut())
                    && let Some(status) = trailers.get("grpc-status")
                {
                    entry.grpc_status = Some(status.clone());
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish("body error"),
            Poll::Ready(None) => self.finish("complete"),
            Poll::Pending => {}
        }
        if self.inner.is_end_stream() {
            self.finish("complete");
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        // Still unlogged here means the body was never read to its end: an
        // empty body hyper never polled, or a client that went away.
        let outcome = if self.inner.is_end_stream() {
            "complete"
        } else {
            "aborted"
        };
        self.finish(outcome);
    }
}
