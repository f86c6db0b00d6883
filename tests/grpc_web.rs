//! gRPC-Web as browser JavaScript speaks it: hand-built frames over HTTP/1.1
//! (and HTTP/2), binary and text modes, trailers in the body or, for a
//! trailers-only error, in the headers, with the CORS headers that let
//! browser code read them.

mod common;

use base64::Engine as _;
use common::{ALLOWED_ORIGIN, header, spawn_app};
use greet_gateway::pb::greet::v1::{GreetRequest, GreetResponse};
use prost::Message as _;

const BINARY: &str = "application/grpc-web+proto";
const TEXT: &str = "application/grpc-web-text";
const PATH: &str = "/greet.v1.GreetService/Greet";

/// A length-prefixed gRPC message frame.
fn frame(message: &GreetRequest) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// The frames of a gRPC-Web response body: (flag, payload).
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !body.is_empty() {
        assert!(body.len() >= 5, "truncated frame header: {body:?}");
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}

fn request(name: Option<&str>, lang: Option<&str>) -> GreetRequest {
    GreetRequest {
        name: name.map(str::to_owned),
        lang: lang.map(str::to_owned),
    }
}

async fn call(
    app: &common::TestApp,
    content_type: &str,
    body: Vec<u8>,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut builder = app
        .http
        .post(app.url(PATH))
        .header("content-type", content_type)
        // As grpc-web's JS client does: answer in the mode we speak.
        .header("accept", content_type)
        .header("x-grpc-web", "1")
        .header("x-user-agent", "grpc-web-javascript/0.1");
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(body).send().await.unwrap()
}

#[tokio::test]
async fn binary_mode_returns_a_data_frame_then_a_trailer_frame() {
    let app = spawn_app().await;
    let response = call(
        &app,
        BINARY,
        frame(&request(Some("Alice"), Some("es"))),
        Some(ALLOWED_ORIGIN),
    )
    .await;
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(header(&h, "content-type"), BINARY);
    assert_eq!(header(&h, "access-control-allow-origin"), ALLOWED_ORIGIN);
    assert_eq!(
        header(&h, "access-control-expose-headers"),
        "grpc-status, grpc-message, grpc-status-details-bin, x-request-id"
    );
    assert_eq!(header(&h, "vary"), "Origin");

    let body = response.bytes().await.unwrap();
    let frames = frames(&body);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[0].0, 0x00);
    let reply = GreetResponse::decode(frames[0].1.as_slice()).unwrap();
    assert_eq!(reply.greeting, "Hola, Alice!");
    assert!(reply.timestamp.is_some());
    assert_eq!(frames[1].0, 0x80, "trailer frame flag");
    assert_eq!(
        String::from_utf8(frames[1].1.clone()).unwrap(),
        "grpc-status:0\r\n"
    );
}

#[tokio::test]
async fn text_mode_is_base64_both_ways() {
    let app = spawn_app().await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64.encode(frame(&request(Some("Alice"), Some("fr"))));
    let response = call(&app, TEXT, body.into_bytes(), Some(ALLOWED_ORIGIN)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        "application/grpc-web-text+proto"
    );
    let text = response.text().await.unwrap();
    // tonic-web encodes each frame separately; decode each padded chunk.
    let mut decoded = Vec::new();
    for chunk in text
        .split_inclusive('=')
        .filter(|c| !c.trim_matches('=').is_empty())
    {
        decoded.extend(b64.decode(chunk).unwrap());
    }
    let frames = frames(&decoded);
    let reply = GreetResponse::decode(frames[0].1.as_slice()).unwrap();
    assert_eq!(reply.greeting, "Bonjour, Alice!");
    assert_eq!(frames[1], (0x80, b"grpc-status:0\r\n".to_vec()));
}

#[tokio::test]
async fn validation_error_is_trailers_only_with_status_in_readable_headers() {
    let app = spawn_app().await;
    let response = call(
        &app,
        BINARY,
        frame(&request(Some("Alice"), Some("foo"))),
        Some(ALLOWED_ORIGIN),
    )
    .await;
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(header(&h, "grpc-status"), "3");
    // grpc-message is percent-encoded on the wire.
    assert_eq!(
        header(&h, "grpc-message"),
        "Invalid%20or%20unsupported%20language%20selection:%20'foo'"
    );
    assert_eq!(header(&h, "access-control-allow-origin"), ALLOWED_ORIGIN);
    assert!(header(&h, "access-control-expose-headers").contains("grpc-status"));
    assert!(header(&h, "access-control-expose-headers").contains("grpc-message"));
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn each_invalid_argument_error_reaches_grpc_web_clients() {
    let app = spawn_app().await;
    for (req, message) in [
        (request(None, None), "Missing request body"),
        (request(None, Some("es")), "Missing required field: 'name'"),
        (request(Some(""), None), "Field 'name' cannot be empty"),
        (
            request(Some("Alice"), Some("Tlh")),
            "Invalid or unsupported language selection: 'tlh'",
        ),
    ] {
        let response = call(&app, BINARY, frame(&req), None).await;
        let status = tonic::Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status.message(), message);
    }
}

#[tokio::test]
async fn empty_body_is_a_missing_body_not_an_internal_error() {
    let app = spawn_app().await;
    let response = call(&app, BINARY, Vec::new(), None).await;
    let status = tonic::Status::from_header_map(response.headers()).unwrap();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "Missing request body");
}

#[tokio::test]
async fn message_over_the_limit_is_resource_exhausted() {
    let app = common::spawn_app_with(&["--max-body-bytes", "64"]).await;
    let response = call(
        &app,
        BINARY,
        frame(&request(Some(&"a".repeat(100)), None)),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(response.headers(), "grpc-status"), "8");
    assert_eq!(
        header(response.headers(), "grpc-message"),
        "Payload%20too%20large"
    );
}

#[tokio::test]
async fn disallowed_origin_is_served_but_gets_no_cors_headers() {
    let app = spawn_app().await;
    for origin in [
        "https://evil.example",
        "http://localhost:12345",
        "http://localhost:1234.evil.com",
        "null",
    ] {
        let response = call(
            &app,
            BINARY,
            frame(&request(Some("Alice"), None)),
            Some(origin),
        )
        .await;
        assert_eq!(response.status(), 200, "{origin}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
        assert!(
            response
                .headers()
                .get("access-control-expose-headers")
                .is_none(),
            "{origin}"
        );
        assert_eq!(header(response.headers(), "vary"), "Origin");
    }
}

#[tokio::test]
async fn grpc_web_works_over_http2_too() {
    let app = spawn_app().await;
    let client = common::h2_client();
    let response = client
        .post(app.url(PATH))
        .header("content-type", BINARY)
        .header("x-grpc-web", "1")
        .body(frame(&request(Some("Alice"), None)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let body = response.bytes().await.unwrap();
    let reply = GreetResponse::decode(frames(&body)[0].1.as_slice()).unwrap();
    assert_eq!(reply.greeting, "Hello, Alice!");
}
