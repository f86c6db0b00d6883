//! A handler that panics costs its request an error answer in the
//! request's own protocol, not a dropped connection, and the server goes
//! on serving on the same connection.

mod common;

use std::{
    convert::Infallible,
    future::Ready,
    task::{Context, Poll},
};

use common::{ALLOWED_ORIGIN, TestApp, header, json, spawn_with_builder};
use greet_gateway::{
    pb::greet::v1::{GreetRequest, GreetResponse},
    transcode::typed::TypedRpc,
};
use serde_json::json;
use tonic::{Code, Status, body::Body, server::NamedService};

/// A gRPC service whose every call panics.
#[derive(Clone)]
struct Panics;

impl NamedService for Panics {
    const NAME: &'static str = "test.v1.Panics";
}

impl<B> tower::Service<http::Request<B>> for Panics {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<B>) -> Self::Future {
        panic!("test.v1.Panics always panics");
    }
}

/// The Greet RPC's REST road, panicking.
async fn give_up(_request: GreetRequest) -> Result<GreetResponse, Status> {
    panic!("the REST handler gave up");
}

/// `test.v1.Panics/Boom`, taking and giving Greet's messages, with no REST
/// route: the gateway reads each added service's methods from its
/// descriptors.
fn panics_descriptor_set() -> &'static [u8] {
    use prost::Message as _;
    use prost_types::{
        FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    };
    let boom = MethodDescriptorProto {
        name: Some("Boom".into()),
        input_type: Some(".greet.v1.GreetRequest".into()),
        output_type: Some(".greet.v1.GreetResponse".into()),
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("test/v1/panics.proto".into()),
        package: Some("test.v1".into()),
        dependency: vec!["greet/v1/greet.proto".into()],
        service: vec![ServiceDescriptorProto {
            name: Some("Panics".into()),
            method: vec![boom],
            ..Default::default()
        }],
        syntax: Some("proto3".into()),
        ..Default::default()
    };
    let set = FileDescriptorSet { file: vec![file] }.encode_to_vec();
    Box::leak(set.into_boxed_slice())
}

/// The gateway with a panicking gRPC service and a panicking REST road for
/// Greet.
async fn spawn_panicking() -> TestApp {
    spawn_with_builder(&[], |builder| {
        builder
            .add_service(Panics, panics_descriptor_set())
            .dynamic_rest_only()
            .add_typed_rest(TypedRpc::new("/greet.v1.GreetService/Greet", give_up))
    })
    .await
}

#[tokio::test]
async fn a_panicking_rest_handler_answers_500_json_with_cors_headers() {
    let app = spawn_panicking().await;
    for _ in 0..2 {
        let response = app
            .post_greet_from(ALLOWED_ORIGIN, r#"{"name":"Alice"}"#)
            .await;
        assert_eq!(response.status(), 500);
        assert_eq!(
            header(response.headers(), "access-control-allow-origin"),
            ALLOWED_ORIGIN
        );
        assert_eq!(
            json(response).await,
            json!({"error": "Internal server error"})
        );
    }
}

#[tokio::test]
async fn a_panicking_grpc_service_answers_internal_and_the_connection_lives_on() {
    let app = spawn_panicking().await;
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    let path = http::uri::PathAndQuery::from_static("/test.v1.Panics/Boom");
    for _ in 0..2 {
        grpc.ready().await.expect("the connection lives");
        let status = grpc
            .unary::<GreetRequest, GreetResponse, _>(
                tonic::Request::new(GreetRequest::default()),
                path.clone(),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .expect_err("the call fails");
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "Internal server error");
    }
    let mut greet = app.grpc_client().await;
    let reply = greet
        .greet(GreetRequest {
            name: Some("Bob".into()),
            lang: None,
        })
        .await
        .expect("Greet is unharmed");
    assert_eq!(reply.into_inner().greeting, "Hello, Bob!");
}

#[tokio::test]
async fn a_panicking_grpc_web_call_answers_internal_in_readable_headers() {
    let app = spawn_panicking().await;
    let response = app
        .http
        .post(app.url("/test.v1.Panics/Boom"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", ALLOWED_ORIGIN)
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(
        header(headers, "content-type"),
        "application/grpc-web+proto"
    );
    assert_eq!(header(headers, "grpc-status"), "13");
    assert_eq!(header(headers, "grpc-message"), "Internal%20server%20error");
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        ALLOWED_ORIGIN
    );
    assert!(response.bytes().await.expect("a whole body").is_empty());
}
