//! The access-log layer: notes what the request was when it arrives, and
//! wraps the response body in a [`LoggedBody`], which writes the line
//! ([`crate::access_log`]) when the body ends, so the latency covers the
//! whole answer and a gRPC status from the trailers is known.
//!
//! The line names the request by the id the request-id layer above chose
//! ([`super::request_id`], handed down in the [`Classified`] body, the same
//! id it sets on the answer), and by the trace id of a valid incoming
//! `traceparent`.
//!
//! With [`AccessLogLayer::counting`] the same body also records the
//! request's metrics ([`crate::metrics`]) at that moment, from the same
//! observations: one body wrapper and one clock read serve both. The request
//! counts as in flight from its arrival until its body ends. Its `route`
//! label is the REST route the transcoder matched
//! ([`crate::transcode::matched`]), else the request path when it is a
//! known route (a gRPC method path; a REST request refused before the
//! transcoder ran, such as a shed one, on a literal route like `/greet`),
//! else `unmatched`.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Instant,
};

use http::{HeaderValue, Method, Request, Response, Uri};
use http_body::Body as HttpBody;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::{classify::Classified, request_id::trace_id};
use crate::{
    access_log::{Counted, Entry, LoggedBody, Recorder, TraceId},
    connect,
    metrics::Metrics,
    protocol::{GRPC_STATUS, Protocol},
    transcode::matched,
};

/// Logs one line per request, and counts it when given the metrics; see
/// the module docs.
#[derive(Debug, Clone, Default)]
pub struct AccessLogLayer {
    recorder: Option<Arc<Recorder>>,
}

impl AccessLogLayer {
    /// Logs only.
    pub fn new() -> Self {
        AccessLogLayer::default()
    }

    /// Also records every request in `metrics`; `rest_templates` are the
    /// transcoder's route templates in its order
    /// ([`crate::transcode::Transcoder::templates`]).
    pub fn counting(metrics: Arc<Metrics>, rest_templates: &[String]) -> Self {
        AccessLogLayer {
            recorder: Some(Arc::new(Recorder::new(metrics, rest_templates))),
        }
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> AccessLog<S> {
        AccessLog {
            inner,
            recorder: self.recorder.clone(),
        }
    }
}

/// The service of [`AccessLogLayer`].
#[derive(Debug, Clone)]
pub struct AccessLog<S> {
    inner: S,
    recorder: Option<Arc<Recorder>>,
}

impl<S, B, ResBody> Service<Request<Classified<B>>> for AccessLog<S>
where
    S: Service<Request<Classified<B>>, Response = Response<ResBody>>,
    ResBody: HttpBody,
{
    type Response = Response<LoggedBody<ResBody>>;
    type Error = S::Error;
    type Future = AccessLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Classified<B>>) -> Self::Future {
        let arrival = Arrival {
            request_id: request.body_mut().take_request_id(),
            started: Instant::now(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            protocol: request.body().protocol(),
            trace_id: trace_id(request.headers()),
        };
        let counted = self.recorder.as_ref().map(Recorder::arrived);
        AccessLogFuture {
            future: self.inner.call(request),
            arrival: Some(arrival),
            counted,
        }
    }
}

/// What is known of a request before its answer.
#[derive(Debug)]
struct Arrival {
    started: Instant,
    method: Method,
    uri: Uri,
    protocol: Protocol,
    request_id: Option<HeaderValue>,
    trace_id: Option<TraceId>,
}

pin_project! {
    /// The future of [`AccessLog`]: the inner answer, its body logged.
    pub struct AccessLogFuture<F> {
        #[pin]
        future: F,
        arrival: Option<Arrival>,
        counted: Option<Counted>,
    }
}

impl<F, ResBody, E> Future for AccessLogFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: HttpBody,
{
    type Output = Result<Response<LoggedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let future = this.future;
        let polled = match this.counted {
            Some(counted) if !counted.knows_rest_route() && is_rest(this.arrival) => {
                let (polled, matched) = matched::during(|| future.poll(cx));
                counted.set_rest_route(matched);
                polled
            }
            _ => future.poll(cx),
        };
        let response = ready!(polled)?;
        let arrival = this
            .arrival
            .take()
            .expect("a future is not polled after it completed");
        let counted = this.counted.take();
        let entry = Entry {
            started: arrival.started,
            method: arrival.method,
            uri: arrival.uri,
            protocol: arrival.protocol,
            status: response.status(),
            // A trailers-only gRPC answer has it here; otherwise the body
            // finds it in the trailers. A Connect answer has none: its code
            // rides in the answer's extensions (errors only). REST answers
            // and preflights carry none ([`crate::transcode::forward`]
            // keeps `grpc-*` off REST answers).
            grpc_status: match arrival.protocol {
                Protocol::Connect => connect::outcome(&response),
                Protocol::Rest | Protocol::Preflight => None,
                Protocol::Grpc | Protocol::GrpcWeb { .. } => {
                    response.headers().get(&GRPC_STATUS).cloned()
                }
            },
            request_id: arrival.request_id,
            trace_id: arrival.trace_id,
        };
        Poll::Ready(Ok(response.map(|body| {
            let logged = LoggedBody::new(body, entry);
            match counted {
                Some(counted) => logged.counted(counted),
                None => logged,
            }
        })))
    }
}

fn is_rest(arrival: &Option<Arrival>) -> bool {
    matches!(
        arrival,
        Some(Arrival {
            protocol: Protocol::Rest,
            ..
        })
    )
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::StatusCode;
    use http_body_util::{BodyExt, Full};
    use tower::{ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn the_answer_passes_through_whole() {
        let service = AccessLogLayer::new().layer(service_fn(|_: Request<Classified<()>>| async {
            let mut response = Response::new(Full::new(Bytes::from_static(b"hello")));
            *response.status_mut() = StatusCode::ACCEPTED;
            response
                .headers_mut()
                .insert("x-answer", http::HeaderValue::from_static("yes"));
            Ok::<_, Infallible>(response)
        }));
        let request = Request::post("/greet")
            .body(Classified::new(Protocol::Rest, ()))
            .expect("a valid request");
        let response = service.oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["x-answer"], "yes");
        let body = response.into_body().collect().await.expect("a full body");
        assert_eq!(body.to_bytes(), "hello");
    }

    #[tokio::test]
    async fn the_entry_names_the_requests_id_and_trace() {
        let service = AccessLogLayer::new().layer(service_fn(|_: Request<Classified<()>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        }));
        let mut body = Classified::new(Protocol::Rest, ());
        body.set_request_id(http::HeaderValue::from_static("req-7"));
        let request = Request::post("/greet")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(body)
            .expect("a valid request");
        let response = service.oneshot(request).await.expect("infallible");
        let entry = response.body().entry().expect("not written yet");
        assert_eq!(entry.request_id.as_ref().unwrap(), "req-7");
        assert_eq!(
            entry.trace_id.as_ref().map(TraceId::as_str),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }
}
