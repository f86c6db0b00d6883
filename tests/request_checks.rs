//! Every gRPC service on the port has its request bodies checked alike, by
//! the gateway's own code, before tonic decodes them: a message over the
//! limit is refused from its frame header alone, and a unary call without a
//! message is refused in words that fit any service. Only Greet reads an
//! absent message as the empty one, so it keeps the spec's "Missing request
//! body" (error row 1).
//!
//! Each case runs over native gRPC (h2c) and gRPC-Web, binary and text.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::library::{spawn_library, spawn_library_with};
use tokio::time::timeout;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

/// What health and an embedder's service say to a unary call without a message.
const NEUTRAL: &str =
    "Missing request message: a unary call carries exactly one length-prefixed message";
/// Longer than any healthy answer on loopback; a hang fails instead of stalling.
const PATIENCE: Duration = Duration::from_secs(10);

/// The ways a gRPC message reaches the port.
#[derive(Debug, Clone, Copy)]
enum Face {
    Grpc,
    GrpcWeb,
    GrpcWebText,
}

const FACES: [Face; 3] = [Face::Grpc, Face::GrpcWeb, Face::GrpcWebText];

impl Face {
    /// `body` as this face carries it: base64 for gRPC-Web text.
    fn encode(self, body: &[u8]) -> Vec<u8> {
        match self {
            Face::GrpcWebText => base64::engine::general_purpose::STANDARD
                .encode(body)
                .into_bytes(),
            Face::Grpc | Face::GrpcWeb => body.to_vec(),
        }
    }

    /// Calls `path` with `body`: native gRPC over h2c, gRPC-Web over
    /// HTTP/1.1 as browsers send it.
    async fn call(
        self,
        app: &common::TestApp,
        path: &str,
        body: reqwest::Body,
    ) -> reqwest::Response {
        let (client, content_type) = match self {
            Face::Grpc => (common::h2_client(), "application/grpc"),
            Face::GrpcWeb => (http1(), "application/grpc-web+proto"),
            Face::GrpcWebText => (http1(), "application/grpc-web-text"),
        };
        let request = client
            .post(app.url(path))
            .header("content-type", content_type)
            .header("accept", content_type)
            .header("te", "trailers")
            .header("x-grpc-web", "1")
            .body(body)
            .send();
        timeout(PATIENCE, request)
            .await
            .unwrap_or_else(|_| panic!("{self:?} {path}: no answer in {PATIENCE:?}"))
            .expect("the call is answered")
    }
}

fn http1() -> reqwest::Client {
    reqwest::Client::builder().http1_only().build().unwrap()
}

/// The status of a trailers-only answer: HTTP 200, status in the headers,
/// no body.
async fn trailers_only_status(response: reqwest::Response) -> (Code, String) {
    assert_eq!(response.status(), 200);
    let status = tonic::Status::from_header_map(response.headers())
        .unwrap_or_else(|| panic!("no grpc-status in {:?}", response.headers()));
    assert_eq!(
        response.bytes().await.unwrap(),
        "",
        "trailers-only has no body"
    );
    (status.code(), status.message().to_owned())
}

#[tokio::test]
async fn a_unary_call_without_a_message_gets_neutral_words_except_on_greet() {
    let app = spawn_library().await;
    for (path, message) in [
        ("/grpc.health.v1.Health/Check", NEUTRAL),
        // Server streaming: the request is still one message.
        ("/grpc.health.v1.Health/Watch", NEUTRAL),
        // A service added with `ApiBuilder::add_service`.
        ("/library.v1.LibraryService/Search", NEUTRAL),
        ("/greet.v1.GreetService/Greet", "Missing request body"),
    ] {
        for face in FACES {
            let response = face.call(&app, path, reqwest::Body::from("")).await;
            assert_eq!(
                trailers_only_status(response).await,
                (Code::InvalidArgument, message.to_owned()),
                "{face:?} {path}"
            );
        }
    }
}

/// Reflection is a bidirectional stream: no request at all is a stream of
/// none, answered with no response and OK.
#[tokio::test]
async fn reflection_without_requests_is_an_empty_stream_not_an_error() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    let app = spawn_library().await;
    let mut client = ServerReflectionClient::new(app.channel().await);
    let mut responses = client
        .server_reflection_info(tokio_stream::empty())
        .await
        .expect("the stream opens")
        .into_inner();
    assert_eq!(
        responses.message().await.expect("the stream ends with OK"),
        None
    );
}

/// The client sends a frame header announcing a message one byte over the
/// limit, then nothing more, keeping its stream open: the answer comes from
/// the header alone, on Greet and on an added service.
#[tokio::test]
async fn a_message_over_the_limit_is_refused_from_its_header_before_its_bytes_arrive() {
    let app = spawn_library_with(&["--max-body-bytes", "64"]).await;
    let header = [0, 0, 0, 0, 65];
    for path in [
        "/greet.v1.GreetService/Greet",
        "/library.v1.LibraryService/Search",
    ] {
        for face in FACES {
            let (sender, receiver) =
                tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
            sender.send(Ok(face.encode(&header))).await.unwrap();
            let body = reqwest::Body::wrap_stream(ReceiverStream::new(receiver));
            let response = face.call(&app, path, body).await;
            assert_eq!(
                trailers_only_status(response).await,
                (Code::ResourceExhausted, "Payload too large".to_owned()),
                "{face:?} {path}"
            );
            // Only now may the client's stream end.
            drop(sender);
        }
    }
}
