//! Which protocol a request speaks, decided once at the top of the stack
//! ([`Protocol::classify`]: preflight, REST, gRPC-Web, gRPC or Connect), so
//! the layers below read it instead of looking at headers again.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderValue, Request};
use tower::{Layer, Service};

use crate::{connect::Procedures, protocol::Protocol};

/// A request body labelled with the protocol its request speaks.
///
/// The label rides in the body's type rather than in the request's
/// extensions: `http::Extensions` allocates a map, its table and a box on
/// the first insert (three allocations a request), while a field costs
/// nothing. And a layer that reads the label takes `Request<Classified<B>>`,
/// so it cannot be stacked outside [`Classify`]: that would not compile.
/// The body itself is handed on untouched by [`Classified::into_inner`]
/// where the request leaves the stack for its protocol's handler.
///
/// The request id ([`super::request_id`]) rides here too, for the access
/// log below it: a field read instead of a header looked up again.
#[derive(Debug)]
pub struct Classified<B> {
    protocol: Protocol,
    request_id: Option<HeaderValue>,
    body: B,
}

impl<B> Classified<B> {
    pub fn new(protocol: Protocol, body: B) -> Self {
        Classified {
            protocol,
            request_id: None,
            body,
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Takes the id [`super::request_id`] chose for the request, once it
    /// has.
    pub fn take_request_id(&mut self) -> Option<HeaderValue> {
        self.request_id.take()
    }

    pub fn set_request_id(&mut self, id: HeaderValue) {
        self.request_id = Some(id);
    }

    pub fn into_inner(self) -> B {
        self.body
    }
}

/// Labels every request with its protocol; see [`Classified`]. The
/// default knows no Connect procedure.
#[derive(Debug, Clone, Default)]
pub struct ClassifyLayer {
    procedures: Arc<Procedures>,
}

impl ClassifyLayer {
    /// Classifies with `procedures` as the methods Connect serves.
    pub fn new(procedures: Arc<Procedures>) -> Self {
        ClassifyLayer { procedures }
    }
}

impl<S> Layer<S> for ClassifyLayer {
    type Service = Classify<S>;

    fn layer(&self, inner: S) -> Classify<S> {
        Classify {
            inner,
            procedures: Arc::clone(&self.procedures),
        }
    }
}

/// The service of [`ClassifyLayer`].
#[derive(Debug, Clone)]
pub struct Classify<S> {
    inner: S,
    procedures: Arc<Procedures>,
}

impl<S, B> Service<Request<B>> for Classify<S>
where
    S: Service<Request<Classified<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        let protocol = Protocol::classify(
            request.method(),
            request.uri(),
            request.headers(),
            &self.procedures,
        );
        self.inner
            .call(request.map(|body| Classified::new(protocol, body)))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{Method, Response};
    use tower::{ServiceExt, service_fn};

    use super::*;

    /// Answers with the label the request arrived with.
    async fn label(request: Request<Classified<()>>) -> Result<Response<&'static str>, Infallible> {
        Ok(Response::new(request.body().protocol().as_str()))
    }

    async fn classify(method: Method, headers: &[(&str, &str)]) -> &'static str {
        let mut request = Request::builder().method(method).uri("/x");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(()).expect("a valid request");
        let response = ClassifyLayer::default()
            .layer(service_fn(label))
            .oneshot(request)
            .await
            .expect("infallible");
        response.into_body()
    }

    #[tokio::test]
    async fn each_request_arrives_labelled_with_its_protocol() {
        assert_eq!(
            classify(Method::POST, &[("content-type", "application/json")]).await,
            "rest"
        );
        assert_eq!(classify(Method::GET, &[]).await, "rest");
        assert_eq!(
            classify(Method::POST, &[("content-type", "application/grpc")]).await,
            "grpc"
        );
        assert_eq!(
            classify(
                Method::POST,
                &[("content-type", "application/grpc-web-text")]
            )
            .await,
            "grpc-web-text"
        );
        assert_eq!(
            classify(
                Method::OPTIONS,
                &[
                    ("origin", "http://localhost:1234"),
                    ("access-control-request-method", "POST")
                ]
            )
            .await,
            "preflight"
        );
        // A plain OPTIONS is an ordinary request.
        assert_eq!(classify(Method::OPTIONS, &[]).await, "rest");
    }
}
