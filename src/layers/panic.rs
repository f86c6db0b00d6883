//! A handler that panics gets its request answered rather than its
//! connection dropped: REST 500 `{"error": "Internal server error"}`,
//! gRPC and gRPC-Web a trailers-only INTERNAL. What the panic said goes to
//! the server's log only.
//!
//! This is tower-http's `CatchPanicLayer` with a [`ResponseForPanic`] that
//! answers in the branch's protocol. It catches panics while the handler is
//! called and while its future is polled; a panic while the response body
//! streams still ends that one connection or stream (hyper's task unwinds),
//! never the process. tower-http boxes each response body it passes on
//! (`UnsyncBoxBody`): one allocation a request, which the API pays for by
//! having no boxed future of its own.

use std::any::Any;

use http::Response;
use tonic::body::Body;
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

use super::Refusal;
use crate::protocol::Protocol;

/// The layer for one protocol's branch.
pub fn catch_panic(protocol: Protocol) -> CatchPanicLayer<PanicRefusal> {
    CatchPanicLayer::custom(PanicRefusal { protocol })
}

/// Answers a panic with [`Refusal::Panicked`] in its protocol's shape.
#[derive(Debug, Clone, Copy)]
pub struct PanicRefusal {
    protocol: Protocol,
}

impl ResponseForPanic for PanicRefusal {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
        let said = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
            (Some(said), _) => said,
            (None, Some(said)) => said.as_str(),
            (None, None) => "(a value that is not text)",
        };
        tracing::error!(
            protocol = self.protocol.as_str(),
            panic = said,
            "a request handler panicked"
        );
        Refusal::Panicked.response(self.protocol)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::{Layer, ServiceExt, service_fn};

    use super::*;

    /// A handler that panics when its future is polled, or when it is
    /// called at all.
    async fn panicking(request: Request<()>) -> Result<Response<Body>, Infallible> {
        panic!("the handler gave up on {}", request.uri());
    }

    async fn answer(protocol: Protocol, early: bool) -> (Response<Bytes>, http::HeaderMap) {
        let request = Request::post("/boom").body(()).expect("a valid request");
        let response = if early {
            let handler = service_fn(
                |_: Request<()>| -> std::future::Ready<Result<Response<Body>, Infallible>> {
                    panic!("before any future")
                },
            );
            catch_panic(protocol).layer(handler).oneshot(request).await
        } else {
            catch_panic(protocol)
                .layer(service_fn(panicking))
                .oneshot(request)
                .await
        }
        .expect("infallible");
        let (parts, body) = response.into_parts();
        let headers = parts.headers.clone();
        let body = body.collect().await.expect("a full body").to_bytes();
        (Response::from_parts(parts, body), headers)
    }

    #[tokio::test]
    async fn a_panicking_rest_handler_answers_500_json() {
        for early in [false, true] {
            let (response, headers) = answer(Protocol::Rest, early).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(headers["content-type"], "application/json");
            assert_eq!(response.body(), r#"{"error":"Internal server error"}"#);
        }
    }

    #[tokio::test]
    async fn a_panicking_grpc_handler_answers_internal_trailers_only() {
        for early in [false, true] {
            let (response, headers) = answer(Protocol::Grpc, early).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(headers["content-type"], "application/grpc");
            assert_eq!(headers["grpc-status"], "13");
            assert_eq!(headers["grpc-message"], "Internal%20server%20error");
            assert!(response.body().is_empty());
        }
    }
}
