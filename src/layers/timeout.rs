//! The request deadline: `--request-timeout`, or the client's `grpc-timeout`
//! (`connect-timeout-ms` on the Connect face) when that is shorter, from the
//! moment the request is let in to the end of its response body, so a
//! streaming answer is bounded as the flag promises.
//!
//! - Before the head of the answer: the answer is the refusal instead, REST
//!   504 `{"error"}`, Connect 504 `deadline_exceeded` or a trailers-only
//!   DEADLINE_EXCEEDED.
//! - While the body streams: a gRPC body ends with DEADLINE_EXCEEDED
//!   trailers; a REST or Connect body is cut (the client sees the connection
//!   or stream end early), since its status was already sent.
//!
//! Each protocol's branch of the dispatch has its own `Timeout`, told at
//! start-up which protocol it answers in. gRPC-Web's sits *inside*
//! tonic-web, where a gRPC-Web call is a gRPC call: tonic-web turns the
//! trailers this layer writes into gRPC-Web's trailer frame (and its
//! trailers-only refusal into a gRPC-Web one), so browsers see
//! `grpc-status: 4` with no gRPC-Web framing written here.
//!
//! The deadline costs nothing until something waits: the timer is made
//! (and allocated) only when the inner future or body is not ready. A unary
//! call's handler usually answers at its first poll, and its answer's body
//! never waits once the head is out; tokio's `timeout_at` would make a
//! `Sleep` for each request all the same (the runtime's handle fetched and
//! its reference count raised and lowered). A body that never waits is
//! never cut.
//!
//! Why not tower-http's timeouts (0.6): `Timeout` answers an empty body with
//! one fixed status (408 by default) in every protocol, reads no
//! `grpc-timeout`, and stops at the response head; `ResponseBodyTimeout`
//! limits the pause between two frames, not the whole answer, and ends a
//! body with an error, never gRPC trailers.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::Either;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tonic::body::Body;
use tower::{BoxError, Layer, Service};

use super::Refusal;
use crate::protocol::{Protocol, connect_timeout, grpc_timeout};

/// Stands in for "no deadline" when `now + limit` does not fit an
/// `Instant` (a limit of centuries), as tokio's own timeouts do.
const FOREVER: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Bounds each request by `limit` (or its shorter `grpc-timeout`),
/// answering in `protocol`'s shape; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    limit: Duration,
    protocol: Protocol,
}

impl TimeoutLayer {
    pub fn new(limit: Duration, protocol: Protocol) -> Self {
        TimeoutLayer { limit, protocol }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            limit: self.limit,
            protocol: self.protocol,
        }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
    protocol: Protocol,
}

impl<S, B, ResBody> Service<Request<B>> for Timeout<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    /// The inner answer under the deadline, or the refusal.
    type Response = Response<Either<DeadlineBody<ResBody>, Body>>;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let asked = match self.protocol {
            Protocol::Connect => connect_timeout(request.headers()),
            _ => grpc_timeout(request.headers()),
        };
        let limit = match asked {
            Some(asked) => asked.min(self.limit),
            None => self.limit,
        };
        let now = Instant::now();
        let deadline = now.checked_add(limit).unwrap_or(now + FOREVER);
        TimeoutFuture {
            future: self.inner.call(request),
            timer: None,
            deadline,
            refusal: Refusal::TimedOut(limit),
            protocol: self.protocol,
        }
    }
}

pin_project! {
    /// The future of [`Timeout`].
    pub struct TimeoutFuture<F> {
        #[pin]
        future: F,
        // Made the first time the inner future waits.
        timer: Option<Pin<Box<Sleep>>>,
        deadline: Instant,
        refusal: Refusal,
        protocol: Protocol,
    }
}

impl<F, ResBody, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<Either<DeadlineBody<ResBody>, Body>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = match this.future.poll(cx) {
            Poll::Ready(answer) => answer?,
            Poll::Pending => {
                ready!(wait_until(this.timer, *this.deadline, cx));
                let refusal = this.refusal.response(*this.protocol);
                return Poll::Ready(Ok(refusal.map(Either::Right)));
            }
        };
        let (deadline, refusal, protocol) = (*this.deadline, *this.refusal, *this.protocol);
        // A timer made while the handler waited goes on with the body.
        let timer = this.timer.take();
        Poll::Ready(Ok(answer.map(|inner| {
            Either::Left(DeadlineBody {
                inner,
                deadline,
                timer,
                refusal,
                protocol,
                expired: false,
            })
        })))
    }
}

/// Polls the deadline's timer, making it first if this is the first wait.
fn wait_until(
    timer: &mut Option<Pin<Box<Sleep>>>,
    deadline: Instant,
    cx: &mut Context<'_>,
) -> Poll<()> {
    timer
        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)))
        .as_mut()
        .poll(cx)
}

pin_project! {
    /// A response body that ends at the request's deadline; see the module
    /// docs.
    #[derive(Debug)]
    pub struct DeadlineBody<B> {
        #[pin]
        inner: B,
        deadline: Instant,
        // Made the first time the inner body waits.
        timer: Option<Pin<Box<Sleep>>>,
        refusal: Refusal,
        protocol: Protocol,
        expired: bool,
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if *this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        ready!(wait_until(this.timer, *this.deadline, cx));
        *this.expired = true;
        Poll::Ready(Some(match this.protocol {
            Protocol::Grpc | Protocol::GrpcWeb { .. } => {
                Ok(Frame::trailers(this.refusal.trailers()))
            }
            Protocol::Rest | Protocol::Preflight | Protocol::Connect => Err((*this.refusal).into()),
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.expired {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::StatusCode;
    use http_body_util::{BodyExt, Full};
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::layers::test_support::{Frames, Streamed, answering, stream};

    const LIMIT: Duration = Duration::from_millis(50);

    /// A handler that never answers.
    fn stuck() -> impl Service<Request<()>, Response = Response<Full<Bytes>>, Error = Infallible> {
        service_fn(|_: Request<()>| std::future::pending())
    }

    fn request(grpc_timeout: Option<&str>) -> Request<()> {
        let mut request = Request::post("/x");
        if let Some(value) = grpc_timeout {
            request = request.header("grpc-timeout", value);
        }
        request.body(()).expect("a valid request")
    }

    /// A request whose answer streams what the test sends, under `LIMIT`.
    async fn streamed(protocol: Protocol) -> (Frames, Either<DeadlineBody<Streamed>, Body>) {
        let (frames, body) = stream();
        let response = TimeoutLayer::new(LIMIT, protocol)
            .layer(answering(body))
            .oneshot(request(None))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        (frames, response.into_body())
    }

    /// The answer of a handler that never answers, under `limit`, in
    /// `protocol`'s JSON shape: its status and body.
    async fn timed_out(
        limit: Duration,
        protocol: Protocol,
        request: Request<()>,
    ) -> (StatusCode, Bytes) {
        let response = TimeoutLayer::new(limit, protocol)
            .layer(stuck())
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.headers()["content-type"], "application/json");
        let status = response.status();
        let body = response.into_body().collect().await.expect("a full body");
        (status, body.to_bytes())
    }

    #[tokio::test]
    async fn a_rest_request_without_an_answer_gets_504_json() {
        assert_eq!(
            timed_out(LIMIT, Protocol::Rest, request(None)).await,
            (
                StatusCode::GATEWAY_TIMEOUT,
                Bytes::from_static(br#"{"error":"Request timed out after 50 ms"}"#)
            )
        );
    }

    #[tokio::test]
    async fn a_shorter_connect_timeout_wins_on_the_connect_face_only() {
        let request = Request::post("/x")
            .header("connect-timeout-ms", "20")
            .header("grpc-timeout", "1m")
            .body(())
            .expect("a valid request");
        assert_eq!(
            timed_out(Duration::from_secs(30), Protocol::Connect, request).await,
            (
                StatusCode::GATEWAY_TIMEOUT,
                Bytes::from_static(
                    br#"{"code":"deadline_exceeded","message":"Request timed out after 20 ms"}"#
                )
            )
        );
    }

    #[tokio::test]
    async fn a_shorter_grpc_timeout_wins_and_answers_deadline_exceeded() {
        let response = TimeoutLayer::new(Duration::from_secs(30), Protocol::Grpc)
            .layer(stuck())
            .oneshot(request(Some("20m")))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/grpc");
        assert_eq!(response.headers()["grpc-status"], "4");
        assert_eq!(
            response.headers()["grpc-message"],
            "Request%20timed%20out%20after%2020%20ms"
        );
    }

    #[tokio::test]
    async fn a_grpc_stream_ends_with_deadline_exceeded_trailers() {
        let (frames, mut body) = streamed(Protocol::Grpc).await;
        frames
            .send(Ok(Frame::data(Bytes::from_static(b"first"))))
            .await
            .expect("the body is alive");
        let first = body.frame().await.expect("a frame").expect("no error");
        assert_eq!(first.into_data().expect("data"), "first");
        // Nothing more comes: the deadline ends the stream.
        let last = body.frame().await.expect("a frame").expect("no error");
        let trailers = last.into_trailers().expect("trailers");
        assert_eq!(trailers["grpc-status"], "4");
        assert_eq!(
            trailers["grpc-message"],
            "Request%20timed%20out%20after%2050%20ms"
        );
        assert!(body.frame().await.is_none());
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn a_rest_body_still_streaming_at_the_deadline_is_cut() {
        let (_frames, body) = streamed(Protocol::Rest).await;
        let error = body.collect().await.expect_err("the body is cut");
        assert_eq!(error.to_string(), "Request timed out after 50 ms");
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_that_waited_leaves_its_body_the_rest_of_the_same_deadline() {
        let (_frames, body) = stream();
        let mut body = Some(body);
        let slow = service_fn(move |_: Request<()>| {
            let body = body.take().expect("one request");
            async move {
                tokio::time::sleep(LIMIT / 2).await;
                Ok::<_, Infallible>(Response::new(body))
            }
        });
        let start = Instant::now();
        let response = TimeoutLayer::new(LIMIT, Protocol::Rest)
            .layer(slow)
            .oneshot(request(None))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let error = response
            .into_body()
            .collect()
            .await
            .expect_err("the body is cut");
        assert_eq!(error.to_string(), "Request timed out after 50 ms");
        assert_eq!(
            start.elapsed(),
            LIMIT,
            "one deadline from the request's arrival"
        );
    }

    #[tokio::test]
    async fn an_answer_in_time_passes_whole() {
        let (frames, body) = streamed(Protocol::Grpc).await;
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        frames
            .send(Ok(Frame::data(Bytes::from_static(b"all"))))
            .await
            .expect("the body is alive");
        frames
            .send(Ok(Frame::trailers(trailers)))
            .await
            .expect("the body is alive");
        drop(frames);
        let whole = body.collect().await.expect("a full body");
        assert_eq!(whole.trailers().expect("trailers")["grpc-status"], "0");
        assert_eq!(whole.to_bytes(), "all");
    }
}
