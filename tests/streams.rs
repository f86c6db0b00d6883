//! Streaming answers are bounded as the flags promise: a health `Watch`
//! (a stream that never ends on its own) ends at `--request-timeout` with
//! DEADLINE_EXCEEDED on gRPC and gRPC-Web alike, and holds one place of
//! `--max-concurrent-requests` until it ends.

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, header, spawn_app_with};
use greet_gateway::pb::greet::v1::{GreetRequest, greet_service_client::GreetServiceClient};
use tonic::{Code, Streaming, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, HealthCheckResponse, health_check_response::ServingStatus,
    health_client::HealthClient,
};

/// A `Watch` of the whole server, its first answer (SERVING) already read.
async fn watch(channel: Channel) -> Streaming<HealthCheckResponse> {
    let mut stream = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the watch starts")
        .into_inner();
    let first = stream
        .message()
        .await
        .expect("a status, not an error")
        .expect("a status, not the end");
    assert_eq!(first.status(), ServingStatus::Serving);
    stream
}

/// How the stream ends, or a failure if it has not ended within 10 s.
async fn end_of(stream: &mut Streaming<HealthCheckResponse>) -> tonic::Status {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends within 10 s")
        .expect_err("the stream ends in an error")
}

async fn greet(client: &mut GreetServiceClient<Channel>) -> Result<String, tonic::Status> {
    let reply = client
        .greet(GreetRequest {
            name: Some("Alice".into()),
            lang: None,
        })
        .await?;
    Ok(reply.into_inner().greeting)
}

#[tokio::test]
async fn a_health_watch_ends_with_deadline_exceeded_at_the_request_timeout() {
    let app = spawn_app_with(&["--request-timeout", "1s"]).await;
    let started = Instant::now();
    let mut stream = watch(app.channel().await).await;
    let end = end_of(&mut stream).await;
    let elapsed = started.elapsed();
    assert_eq!(end.code(), Code::DeadlineExceeded);
    assert_eq!(end.message(), "Request timed out after 1000 ms");
    assert!(
        elapsed >= Duration::from_millis(1000) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

/// `Watch` over gRPC-Web, as a browser's client would send it.
async fn grpc_web_watch(app: &TestApp) -> reqwest::Response {
    app.http
        .post(app.url("/grpc.health.v1.Health/Watch"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        // An empty HealthCheckRequest, framed.
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .expect("the watch starts")
}

#[tokio::test]
async fn a_grpc_web_watch_ends_with_a_deadline_exceeded_trailer_frame() {
    let app = spawn_app_with(&["--request-timeout", "1s"]).await;
    let response = grpc_web_watch(&app).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        "application/grpc-web+proto"
    );
    let body = tokio::time::timeout(Duration::from_secs(10), response.bytes())
        .await
        .expect("the body ends within 10 s")
        .expect("the body ends cleanly");
    // A data frame holding HealthCheckResponse{status: SERVING}, then the
    // trailer frame tonic-web made of the deadline's trailers.
    let trailers = b"grpc-status:4\r\ngrpc-message:Request%20timed%20out%20after%201000%20ms\r\n";
    let mut expected = vec![0x00, 0, 0, 0, 2, 0x08, 0x01, 0x80, 0, 0, 0];
    expected.push(u8::try_from(trailers.len()).expect("a short trailer"));
    expected.extend_from_slice(trailers);
    assert_eq!(&body[..], &expected[..]);
}

#[tokio::test]
async fn an_open_watch_holds_its_place_until_it_ends() {
    let app = spawn_app_with(&["--max-concurrent-requests", "1", "--request-timeout", "1s"]).await;
    let channel = app.channel().await;
    let mut stream = watch(channel.clone()).await;
    let mut client = GreetServiceClient::new(channel);

    // The only place is the stream's.
    let refused = greet(&mut client).await.expect_err("no place left");
    assert_eq!(refused.code(), Code::Unavailable);
    assert_eq!(
        refused.message(),
        "Server is at its concurrent request limit; retry shortly"
    );
    let rest = app.post_greet(r#"{"name":"Alice"}"#).await;
    assert_eq!(rest.status(), 503);

    // The place is free by the time the client has seen the stream end.
    let end = end_of(&mut stream).await;
    assert_eq!(end.code(), Code::DeadlineExceeded);
    assert_eq!(greet(&mut client).await.expect("served"), "Hello, Alice!");
}
