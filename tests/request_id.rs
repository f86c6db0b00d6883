//! Request ids as clients see them: every answer over every protocol
//! carries an `x-request-id`, the client's own when acceptable, a fresh one
//! otherwise; browsers may read it; the access line names it.

mod common;

use common::{ALLOWED_ORIGIN, binary::Gateway, header, spawn_app};
use greet_gateway::pb::greet::v1::GreetRequest;
use prost::Message as _;

/// A fresh id: 16 hex digits, a dash, 16 hex digits.
fn assert_fresh(id: &str) {
    let (prefix, counter) = id.split_once('-').unwrap_or_else(|| panic!("{id}"));
    for part in [prefix, counter] {
        assert!(
            part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
    }
}

async fn rest_id(app: &common::TestApp, sent: Option<&[u8]>) -> String {
    let mut request = app
        .http
        .post(app.url("/greet"))
        .header("content-type", "application/json")
        .body(r#"{"name":"Alice"}"#);
    if let Some(sent) = sent {
        request = request.header("x-request-id", sent);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    header(response.headers(), "x-request-id").to_owned()
}

#[tokio::test]
async fn rest_answers_carry_a_fresh_id_that_differs_per_request() {
    let app = spawn_app().await;
    let first = rest_id(&app, None).await;
    let second = rest_id(&app, None).await;
    assert_fresh(&first);
    assert_fresh(&second);
    assert_ne!(first, second);
    // Same process, same prefix.
    assert_eq!(first[..16], second[..16]);
}

#[tokio::test]
async fn an_acceptable_id_is_kept_exactly() {
    let app = spawn_app().await;
    let longest = "a".repeat(128);
    for id in [
        "req-42",
        "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "~!#$%&'()*+,./:;<=>?@[]^_`{|}",
        &longest,
    ] {
        assert_eq!(rest_id(&app, Some(id.as_bytes())).await, id);
    }
}

#[tokio::test]
async fn an_unacceptable_id_is_replaced_never_echoed() {
    let app = spawn_app().await;
    let too_long = "a".repeat(129);
    for bad in [
        too_long.as_bytes(),
        b"with space",
        b"with\"quote",
        b"with\\backslash",
        "caf\u{e9}".as_bytes(),
        b"\xff\xfe",
    ] {
        let id = rest_id(&app, Some(bad)).await;
        assert_fresh(&id);
    }
}

#[tokio::test]
async fn grpc_answers_carry_the_id_in_their_metadata() {
    let app = spawn_app().await;
    let mut client = app.grpc_client().await;
    let request = || GreetRequest {
        name: Some("Alice".into()),
        lang: None,
    };
    let response = client.greet(request()).await.unwrap();
    assert_fresh(
        response
            .metadata()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap(),
    );

    let mut with_id = tonic::Request::new(request());
    with_id
        .metadata_mut()
        .insert("x-request-id", "grpc-req-1".parse().unwrap());
    let response = client.greet(with_id).await.unwrap();
    assert_eq!(
        response.metadata().get("x-request-id").unwrap(),
        "grpc-req-1"
    );

    // An error answer (trailers-only) carries it too.
    let mut bad = tonic::Request::new(GreetRequest::default());
    bad.metadata_mut()
        .insert("x-request-id", "grpc-req-2".parse().unwrap());
    let status = client.greet(bad).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.metadata().get("x-request-id").unwrap(), "grpc-req-2");
}

#[tokio::test]
async fn grpc_web_answers_carry_the_id_and_browsers_may_read_it() {
    let app = spawn_app().await;
    let message = GreetRequest {
        name: Some("Alice".into()),
        lang: None,
    }
    .encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    let response = app
        .http
        .post(app.url("/greet.v1.GreetService/Greet"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", ALLOWED_ORIGIN)
        .header("x-request-id", "web-req-1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "x-request-id"), "web-req-1");
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        ALLOWED_ORIGIN
    );
    assert_exposes_the_id(headers);
}

#[tokio::test]
async fn rest_answers_to_a_browser_expose_the_id() {
    let app = spawn_app().await;
    let response = app
        .post_greet_from(ALLOWED_ORIGIN, r#"{"name":"Alice"}"#)
        .await;
    let headers = response.headers();
    assert_fresh(header(headers, "x-request-id"));
    assert_exposes_the_id(headers);
}

#[tokio::test]
async fn preflights_and_refusals_carry_an_id_too() {
    let app = spawn_app().await;
    let allowed = app
        .preflight("/greet", Some(ALLOWED_ORIGIN), "POST", Some("x-request-id"))
        .await;
    assert_eq!(allowed.status(), 204);
    assert_fresh(header(allowed.headers(), "x-request-id"));
    let forbidden = app
        .preflight("/greet", Some("http://evil.example"), "POST", None)
        .await;
    assert_eq!(forbidden.status(), 403);
    assert_fresh(header(forbidden.headers(), "x-request-id"));
    let missing = app.http.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_fresh(header(missing.headers(), "x-request-id"));
}

#[tokio::test]
async fn an_overloaded_refusal_carries_the_id() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = common::spawn_app_with(&["--max-concurrent-requests", "1"]).await;
    // One request holds the only slot (as in tests/limits.rs): its body never
    // comes, and the server's 100 Continue says it has started reading it.
    let mut holder = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    holder
        .write_all(b"POST /greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    let mut interim = [0; 25];
    holder.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    let response = app
        .http
        .post(app.url("/greet"))
        .header("content-type", "application/json")
        .header("x-request-id", "shed-1")
        .body(r#"{"name":"Alice"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(header(response.headers(), "x-request-id"), "shed-1");
}

/// A greeting sent to the binary with an id and a `traceparent`.
fn greet_with_id(gateway: &Gateway, id: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/greet", gateway.api_url()))
            .header("content-type", "application/json")
            .header("x-request-id", id)
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(r#"{"name":"Alice"}"#)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
}

#[test]
fn the_access_line_names_the_request() {
    let gateway = Gateway::start(&["--web-listen", "off"]);
    greet_with_id(&gateway, "logged-req-1");
    gateway.expect_log(
        &["greet_gateway::access", r#" request_id="logged-req-1""#],
        1,
    );
}

/// The CORS answer lets browser code read `x-request-id`.
fn assert_exposes_the_id(headers: &reqwest::header::HeaderMap) {
    let exposed: Vec<_> = header(headers, "access-control-expose-headers")
        .split(',')
        .map(str::trim)
        .collect();
    assert!(exposed.contains(&"x-request-id"), "{exposed:?}");
}
