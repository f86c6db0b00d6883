//! The concurrency limit (`--max-concurrent-requests`): a request takes a
//! permit or is refused at once (REST 503, gRPC and gRPC-Web UNAVAILABLE),
//! never queued, so a flood costs the server a refusal, not memory.
//!
//! The permit moves into the response body and is given back when the body
//! yields its last frame (or is dropped), so a streaming answer (a health
//! `Watch`, reflection) holds its place for as long as it streams, and the
//! next request finds the place free by the time the client has seen the end.
//!
//! The permits are one atomic count ([`Permits`]), not tokio's `Semaphore`:
//! nothing ever waits for a permit here, and giving one back to a semaphore
//! takes its waiters' lock. A request costs one compare-and-swap to take its
//! place and one subtraction to give it back.
//!
//! Why not tower's `ConcurrencyLimit` and `LoadShed`: the first queues in
//! `poll_ready` and gives the permit back when the response *future* ends,
//! before a streaming body has started; the second turns a full limit into
//! an error (`Overloaded`), not an answer in the request's protocol.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::Either;
use pin_project_lite::pin_project;
use tonic::body::Body;
use tower::{Layer, Service};

use super::{Refusal, classify::Classified};
use crate::metrics::Metrics;

/// The places for requests in flight: how many are taken, of how many.
#[derive(Debug)]
pub struct Permits {
    taken: AtomicUsize,
    max: usize,
}

impl Permits {
    pub fn new(max: usize) -> Self {
        Permits {
            taken: AtomicUsize::new(0),
            max,
        }
    }

    /// A place, if one is free; it is given back when the permit drops.
    pub fn try_acquire(self: &Arc<Self>) -> Option<Permit> {
        self.taken
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |taken| {
                (taken < self.max).then_some(taken + 1)
            })
            .ok()
            .map(|_| Permit(Arc::clone(self)))
    }
}

/// One taken place of [`Permits`], held until it drops.
#[derive(Debug)]
pub struct Permit(Arc<Permits>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::Release);
    }
}

/// Lets at most `max_concurrent` requests in at once; see the module docs.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    permits: Arc<Permits>,
    metrics: Option<Arc<Metrics>>,
}

impl ShedLayer {
    pub fn new(max_concurrent: usize) -> Self {
        ShedLayer {
            permits: Arc::new(Permits::new(max_concurrent)),
            metrics: None,
        }
    }

    /// Counts each refusal in `greet_gateway_requests_shed_total`.
    pub fn counting(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            permits: Arc::clone(&self.permits),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of [`ShedLayer`].
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    permits: Arc<Permits>,
    metrics: Option<Arc<Metrics>>,
}

impl<S, B, ResBody> Service<Request<Classified<B>>> for Shed<S>
where
    S: Service<Request<Classified<B>>, Response = Response<ResBody>>,
{
    /// The inner answer holding its permit, or the refusal.
    type Response = Response<Either<PermitBody<ResBody>, Body>>;
    type Error = S::Error;
    type Future = ShedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Classified<B>>) -> Self::Future {
        match self.permits.try_acquire() {
            Some(permit) => ShedFuture::Admitted {
                future: self.inner.call(request),
                permit: Some(permit),
            },
            None => {
                if let Some(metrics) = &self.metrics {
                    metrics.shed();
                }
                ShedFuture::Refused {
                    answer: Some(Refusal::Overloaded.response(request.body().protocol())),
                }
            }
        }
    }
}

pin_project! {
    /// The future of [`Shed`].
    #[project = ShedProjection]
    pub enum ShedFuture<F> {
        Admitted {
            #[pin]
            future: F,
            permit: Option<Permit>,
        },
        Refused { answer: Option<Response<Body>> },
    }
}

impl<F, ResBody, E> Future for ShedFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<Either<PermitBody<ResBody>, Body>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ShedProjection::Admitted { future, permit } => {
                // An error drops the permit with this future.
                let response = ready!(future.poll(cx))?;
                let permit = permit.take();
                Poll::Ready(Ok(
                    response.map(|inner| Either::Left(PermitBody { inner, permit }))
                ))
            }
            ShedProjection::Refused { answer } => {
                let answer = answer
                    .take()
                    .expect("a future is not polled after it completed");
                Poll::Ready(Ok(answer.map(Either::Right)))
            }
        }
    }
}

pin_project! {
    /// A response body holding its request's permit until its last frame.
    #[derive(Debug)]
    pub struct PermitBody<B> {
        #[pin]
        inner: B,
        permit: Option<Permit>,
    }
}

impl<B> HttpBody for PermitBody<B>
where
    B: HttpBody<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        // Trailers are always the last frame; an error ends the body too.
        let last = match &polled {
            None | Some(Err(_)) => true,
            Some(Ok(frame)) => frame.is_trailers() || this.inner.is_end_stream(),
        };
        if last {
            *this.permit = None;
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::StatusCode;
    use http_body_util::{BodyExt, Full};
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::{
        layers::test_support::{Frames, Streamed, answering, stream},
        protocol::Protocol,
    };

    fn request(protocol: Protocol) -> Request<Classified<()>> {
        Request::post("/x")
            .body(Classified::new(protocol, ()))
            .expect("a valid request")
    }

    /// A request whose handler answers at once, with an empty body.
    async fn quick(
        layer: &ShedLayer,
        protocol: Protocol,
    ) -> Response<Either<PermitBody<Body>, Body>> {
        let handler = service_fn(|_: Request<Classified<()>>| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        layer
            .layer(handler)
            .oneshot(request(protocol))
            .await
            .expect("infallible")
    }

    /// A gRPC request whose answer streams what the test sends.
    async fn streaming(layer: &ShedLayer) -> (Frames, Either<PermitBody<Streamed>, Body>) {
        let (frames, body) = stream();
        let response = layer
            .layer(answering(body))
            .oneshot(request(Protocol::Grpc))
            .await
            .expect("infallible");
        (frames, response.into_body())
    }

    #[tokio::test]
    async fn a_streaming_answer_holds_its_place_until_its_last_frame() {
        let layer = ShedLayer::new(1);
        let (frames, mut body) = streaming(&layer).await;
        frames
            .send(Ok(Frame::data(Bytes::from_static(b"one"))))
            .await
            .expect("the body is alive");
        let first = body.frame().await.expect("a frame").expect("no error");
        assert_eq!(first.into_data().expect("data"), "one");

        // The only permit is taken while the body streams.
        let refused = quick(&layer, Protocol::Rest).await;
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        let text = refused.into_body().collect().await.expect("a full body");
        assert_eq!(
            text.to_bytes(),
            r#"{"error":"Server is at its concurrent request limit; retry shortly"}"#
        );
        let refused = quick(&layer, Protocol::Grpc).await;
        assert_eq!(refused.status(), StatusCode::OK);
        assert_eq!(refused.headers()["grpc-status"], "14");

        // The last frame gives the permit back, before the body is dropped.
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        frames
            .send(Ok(Frame::trailers(trailers)))
            .await
            .expect("the body is alive");
        let last = body.frame().await.expect("a frame").expect("no error");
        assert!(last.is_trailers());
        assert_eq!(quick(&layer, Protocol::Rest).await.status(), StatusCode::OK);
        drop(body);
    }

    #[tokio::test]
    async fn a_whole_answer_gives_its_place_back_with_its_only_frame() {
        let layer = ShedLayer::new(1);
        let handler = service_fn(|_: Request<Classified<()>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
        });
        let response = layer
            .layer(handler)
            .oneshot(request(Protocol::Rest))
            .await
            .expect("infallible");
        let mut body = response.into_body();
        let only = body.frame().await.expect("a frame").expect("no error");
        assert_eq!(only.into_data().expect("data"), "hello");
        assert_eq!(quick(&layer, Protocol::Rest).await.status(), StatusCode::OK);
        drop(body);
    }

    #[test]
    fn permits_let_in_at_most_their_number_and_free_a_place_on_drop() {
        let permits = Arc::new(Permits::new(2));
        let first = permits.try_acquire().expect("a free place");
        let second = permits.try_acquire().expect("a free place");
        assert!(permits.try_acquire().is_none(), "both places are taken");
        drop(first);
        let third = permits.try_acquire().expect("the freed place");
        assert!(permits.try_acquire().is_none());
        drop((second, third));
        assert_eq!(permits.taken.load(Ordering::Relaxed), 0);
        assert!(Arc::new(Permits::new(0)).try_acquire().is_none());
    }

    #[tokio::test]
    async fn a_dropped_answer_gives_its_place_back() {
        let layer = ShedLayer::new(1);
        let (_frames, body) = streaming(&layer).await;
        assert_eq!(
            quick(&layer, Protocol::Rest).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        drop(body);
        assert_eq!(quick(&layer, Protocol::Rest).await.status(), StatusCode::OK);
    }
}
