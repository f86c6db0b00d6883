//! The CORS layer: puts the one [`CorsPolicy`] in front of everything below
//! it. A preflight is answered here, by the policy alone (204 or 403), and
//! goes no further; every other answer from below, the server's own
//! refusals included, gets the policy's response headers and `Vary: Origin`.
//!
//! Why not tower-http's `CorsLayer` (0.6): it treats every `OPTIONS` as a
//! preflight, answers a refused preflight `200` with no CORS headers where
//! the spec wants `403` and a reason, and checks its configuration with
//! assertions when the first request arrives rather than at start-up; it
//! also builds a fresh `HeaderMap` for every request.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use http::{Request, Response};
use http_body_util::Either;
use pin_project_lite::pin_project;
use tonic::body::Body;
use tower::{Layer, Service};

use super::classify::Classified;
use crate::{
    cors::{CorsPolicy, Grant},
    protocol::Protocol,
};

/// Applies a [`CorsPolicy`]; see the module docs.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    policy: Arc<CorsPolicy>,
}

impl CorsLayer {
    pub fn new(policy: CorsPolicy) -> Self {
        CorsLayer {
            policy: Arc::new(policy),
        }
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

/// The service of [`CorsLayer`].
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    policy: Arc<CorsPolicy>,
}

impl<S, B, ResBody> Service<Request<Classified<B>>> for Cors<S>
where
    S: Service<Request<Classified<B>>, Response = Response<ResBody>>,
{
    /// The inner answer, or the preflight's.
    type Response = Response<Either<ResBody, Body>>;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Classified<B>>) -> Self::Future {
        if request.body().protocol() == Protocol::Preflight {
            return CorsFuture::Preflight {
                answer: Some(self.policy.preflight(request.headers())),
            };
        }
        let grant = self.policy.grant(request.headers());
        CorsFuture::Actual {
            future: self.inner.call(request),
            grant: Some(grant),
        }
    }
}

pin_project! {
    /// The future of [`Cors`].
    #[project = CorsProjection]
    pub enum CorsFuture<F> {
        Preflight { answer: Option<Response<Body>> },
        Actual {
            #[pin]
            future: F,
            // What the policy said of the request's `Origin`.
            grant: Option<Grant>,
        },
    }
}

impl<F, ResBody, E> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<Either<ResBody, Body>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CorsProjection::Preflight { answer } => {
                let answer = answer
                    .take()
                    .expect("a future is not polled after it completed");
                Poll::Ready(Ok(answer.map(Either::Right)))
            }
            CorsProjection::Actual { future, grant } => {
                let mut response = ready!(future.poll(cx))?;
                grant
                    .take()
                    .expect("a future is not polled after it completed")
                    .add_to(response.headers_mut());
                Poll::Ready(Ok(response.map(Either::Left)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{HeaderMap, StatusCode, header};
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::{cors::CorsSettings, layers::Refusal};

    const ORIGIN: &str = "http://localhost:1234";

    fn layer() -> CorsLayer {
        CorsLayer::new(
            CorsPolicy::new(&CorsSettings {
                origins: vec![ORIGIN.to_owned()],
                allow_credentials: false,
                allow_private_network: false,
                max_age_secs: 60,
                allow_headers: Vec::new(),
                expose_headers: Vec::new(),
            })
            .expect("a valid policy"),
        )
    }

    /// Answers as the server does when it is full, so the test sees that the
    /// server's own refusals are decorated too.
    async fn overloaded(request: Request<Classified<()>>) -> Result<Response<Body>, Infallible> {
        Ok(Refusal::Overloaded.response(request.body().protocol()))
    }

    async fn send(protocol: Protocol, headers: &[(&str, &str)]) -> Response<Either<Body, Body>> {
        let method = match protocol {
            Protocol::Preflight => http::Method::OPTIONS,
            _ => http::Method::POST,
        };
        let mut request = Request::builder().method(method).uri("/greet");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Classified::new(protocol, ()))
            .expect("a valid request");
        layer()
            .layer(service_fn(overloaded))
            .oneshot(request)
            .await
            .expect("infallible")
    }

    fn names(headers: &HeaderMap) -> Vec<&str> {
        let mut names: Vec<&str> = headers.keys().map(|n| n.as_str()).collect();
        names.sort_unstable();
        names
    }

    #[tokio::test]
    async fn an_answer_to_an_allowed_origin_is_readable_by_it() {
        let response = send(Protocol::Rest, &[("origin", ORIGIN)]).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let headers = response.headers();
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);
        assert_eq!(
            headers[header::ACCESS_CONTROL_EXPOSE_HEADERS],
            "grpc-status, grpc-message, grpc-status-details-bin, x-request-id"
        );
        assert_eq!(headers[header::VARY], "Origin");
        let body = response.into_body().collect().await.expect("a full body");
        assert_eq!(
            body.to_bytes(),
            r#"{"error":"Server is at its concurrent request limit; retry shortly"}"#
        );
    }

    #[tokio::test]
    async fn an_answer_to_another_origin_only_varies() {
        let response = send(Protocol::Grpc, &[("origin", "http://localhost:12345")]).await;
        assert_eq!(
            names(response.headers()),
            ["content-type", "grpc-message", "grpc-status", "vary"]
        );
        assert_eq!(response.headers()[header::VARY], "Origin");
    }

    #[tokio::test]
    async fn a_preflight_is_answered_without_the_inner_service() {
        let response = send(
            Protocol::Preflight,
            &[
                ("origin", ORIGIN),
                ("access-control-request-method", "POST"),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            ORIGIN
        );
        assert!(matches!(response.body(), Either::Right(_)));

        let refused = send(
            Protocol::Preflight,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
        )
        .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(
            !refused
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
    }
}
