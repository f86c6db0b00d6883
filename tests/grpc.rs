//! Native gRPC as grpcurl and generated stubs use it: a generated tonic
//! client over h2c on the shared port, reflection (v1 and v1alpha) and health.

mod common;

use common::spawn_app;
use greet_gateway::pb::greet::v1::GreetRequest;
use tokio_stream::StreamExt;
use tonic::Code;

fn request(name: Option<&str>, lang: Option<&str>) -> GreetRequest {
    GreetRequest {
        name: name.map(str::to_owned),
        lang: lang.map(str::to_owned),
    }
}

#[tokio::test]
async fn tonic_client_gets_a_greeting_and_a_timestamp() {
    let app = spawn_app().await;
    let mut client = app.grpc_client().await;
    let reply = client
        .greet(request(Some("Alice"), Some("fr")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.greeting, "Bonjour, Alice!");
    let ts = reply.timestamp.expect("a timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts.seconds).abs() < 60);
}

#[tokio::test]
async fn every_validation_error_is_invalid_argument_with_the_spec_message() {
    let app = spawn_app().await;
    let mut client = app.grpc_client().await;
    for (req, message) in [
        (request(None, None), "Missing request body"),
        (request(None, Some("fr")), "Missing required field: 'name'"),
        (request(Some(" "), None), "Field 'name' cannot be empty"),
        (
            request(Some("Alice"), Some("Klingon")),
            "Invalid or unsupported language selection: 'klingon'",
        ),
    ] {
        let status = client.greet(req.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{req:?}");
        assert_eq!(status.message(), message, "{req:?}");
    }
}

#[tokio::test]
async fn message_over_the_body_limit_is_resource_exhausted() {
    let app = common::spawn_app_with(&["--max-body-bytes", "100"]).await;
    let mut client = app.grpc_client().await;
    let status = client
        .greet(request(Some(&"a".repeat(200)), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(status.message(), "Payload too large");
    // The connection and the server are fine afterwards.
    let reply = client.greet(request(Some("Alice"), None)).await.unwrap();
    assert_eq!(reply.into_inner().greeting, "Hello, Alice!");
}

#[tokio::test]
async fn unknown_method_or_service_is_unimplemented() {
    let app = spawn_app().await;
    let channel = app.channel().await;
    let mut grpc = tonic::client::Grpc::new(channel);
    for path in [
        "/greet.v1.GreetService/Nope",
        "/no.Such/Service",
        "/nonsense",
    ] {
        grpc.ready().await.unwrap();
        let status = grpc
            .unary::<GreetRequest, GreetRequest, _>(
                tonic::Request::new(request(Some("x"), None)),
                path.parse().unwrap(),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{path}");
    }
}

#[tokio::test]
async fn reflection_v1_lists_greet_health_and_reflection() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app().await;
    let channel = app.channel().await;
    let mut client = ServerReflectionClient::new(channel);
    let requests = tokio_stream::iter([
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "greet.v1.GreetService".into(),
            )),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "grpc.health.v1.Health".into(),
            )),
        },
    ]);
    let mut responses = client
        .server_reflection_info(requests)
        .await
        .unwrap()
        .into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "greet.v1.GreetService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
    for _ in 0..2 {
        let response = responses.next().await.unwrap().unwrap();
        assert!(
            matches!(
                response.message_response,
                Some(MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()
            ),
            "{response:?}"
        );
    }
}

#[tokio::test]
async fn reflection_v1alpha_answers_too() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app().await;
    let channel = app.channel().await;
    let mut client = ServerReflectionClient::new(channel);
    let requests = tokio_stream::iter([ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    }]);
    let mut responses = client
        .server_reflection_info(requests)
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "greet.v1.GreetService")
    );
}

#[tokio::test]
async fn health_reports_the_server_and_greet_service_serving() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let app = spawn_app().await;
    let channel = app.channel().await;
    let mut health = HealthClient::new(channel);
    for service in ["", "greet.v1.GreetService"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status(), ServingStatus::Serving, "{service:?}");
    }
    let status = health
        .check(HealthCheckRequest {
            service: "no.Such".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn grpc_responses_carry_vary_origin_and_no_cors_without_origin() {
    let app = spawn_app().await;
    let mut client = app.grpc_client().await;
    let response = client.greet(request(Some("Alice"), None)).await.unwrap();
    let headers = response.metadata().clone().into_headers();
    assert_eq!(headers.get("vary").unwrap(), "Origin");
    assert!(headers.get("access-control-allow-origin").is_none());
}
