//! Limits and timeouts, each with a safe default and a flag: what a client
//! that is too big, too slow or one too many gets back.

mod common;

use std::time::{Duration, Instant};

use common::{binary::Gateway, header, json, spawn_app, spawn_app_with};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// What hyper writes when a request that sent `Expect: 100-continue` first
/// has its body read: the proof that the request is being served.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Writes `request` on a fresh connection and reads until the server closes
/// it or `wait` passes.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_100kb_header_gets_431() {
    let app = spawn_app().await;
    let request = format!(
        "POST /greet HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(100 * 1024)
    );
    let answer = raw_exchange(app.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert_eq!(app.post_greet(r#"{"name":"Alice"}"#).await.status(), 200);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let app = spawn_app_with(&["--max-body-bytes", "64"]).await;
    // The head promises 100,000 bytes and none follow: only the declared
    // length can have refused it.
    let request = b"POST /greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
    let answer = raw_exchange(app.addr, request, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(
        answer.ends_with(r#"{"error":"Payload too large"}"#),
        "{answer}"
    );
}

/// Sends half a request head and waits, at most 5 s, for the server to
/// close the connection: whether it did.
async fn half_a_head_is_cut_off(stream: &mut TcpStream) -> bool {
    stream
        .write_all(b"POST /greet HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_slow_loris_is_disconnected_after_the_header_read_timeout() {
    let app = spawn_app_with(&["--header-read-timeout", "300ms"]).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        half_a_head_is_cut_off(&mut stream).await,
        "the server kept a half-sent head open"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250),
        "closed too early: {elapsed:?}"
    );
    assert_eq!(app.post_greet(r#"{"name":"Alice"}"#).await.status(), 200);
}

/// The deadline is armed anew for every request head on a keep-alive
/// connection: a client that turns slow after a served request is cut off
/// as well, one timeout after it started the next head.
#[tokio::test]
async fn a_slow_loris_after_a_served_request_is_disconnected_too() {
    let app = spawn_app_with(&["--header-read-timeout", "300ms"]).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let body = r#"{"name":"Alice"}"#;
    let request = format!(
        "POST /greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("Hello, Alice!"), "{answer}");

    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    assert!(
        half_a_head_is_cut_off(&mut stream).await,
        "the server kept a half-sent second head open"
    );
    assert!(
        started.elapsed() < Duration::from_millis(290),
        "the deadline counts from the end of the first answer, not from the second head"
    );
}

#[tokio::test]
async fn a_stalled_rest_body_gets_504_json() {
    let app = spawn_app_with(&["--request-timeout", "300ms"]).await;
    let request = "POST /greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":";
    let answer = raw_exchange(app.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 504 "), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("vary: origin"),
        "{answer}"
    );
    assert!(
        answer.ends_with(r#"{"error":"Request timed out after 300 ms"}"#),
        "{answer}"
    );
}

/// A gRPC call whose body never ends, with the client's own deadline.
async fn stalled_grpc_call(app: &common::TestApp, grpc_timeout: &str) -> reqwest::Response {
    let (_keep_open, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let client = common::h2_client();
    let response = client
        .post(app.url("/greet.v1.GreetService/Greet"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", grpc_timeout)
        .body(body)
        .send()
        .await
        .unwrap();
    // Keep the request stream open until the answer is in.
    drop(_keep_open);
    response
}

#[tokio::test]
async fn grpc_timeout_from_the_client_is_honoured_as_deadline_exceeded() {
    let app = spawn_app().await;
    let started = Instant::now();
    let response = stalled_grpc_call(&app, "200m").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(response.status(), 200);
    assert_eq!(header(response.headers(), "grpc-status"), "4");
    assert_eq!(
        header(response.headers(), "grpc-message"),
        "Request%20timed%20out%20after%20200%20ms"
    );
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_shed_not_queued() {
    let app = spawn_app_with(&["--max-concurrent-requests", "1"]).await;
    // One request holds the only slot: its body never comes. The server's
    // 100 Continue says it has started reading it, so it holds the slot.
    let mut holder = TcpStream::connect(app.addr).await.unwrap();
    holder
        .write_all(b"POST /greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    let mut interim = [0; CONTINUE.len()];
    tokio::time::timeout(Duration::from_secs(5), holder.read_exact(&mut interim))
        .await
        .expect("the server reads the held request within 5 s")
        .unwrap();
    assert_eq!(interim, CONTINUE);

    let response = app.post_greet(r#"{"name":"Alice"}"#).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        header(response.headers(), "content-type"),
        "application/json"
    );
    assert_eq!(
        json(response).await,
        json!({"error": "Server is at its concurrent request limit; retry shortly"})
    );
    let status = app
        .grpc_client()
        .await
        .greet(greet_gateway::pb::greet::v1::GreetRequest {
            name: Some("Alice".into()),
            lang: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);

    // Once the slow client goes, the slot is free again. Nothing tells a
    // client when the server has noticed the hang-up, so ask until it has.
    drop(holder);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = app.post_greet(r#"{"name":"Alice"}"#).await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            Instant::now() < deadline,
            "the slot was not released within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn json_responses_say_nosniff_and_name_no_server() {
    let app = spawn_app().await;
    for body in [r#"{"name":"Alice"}"#, "{}"] {
        let response = app.post_greet(body).await;
        assert_eq!(
            header(response.headers(), "x-content-type-options"),
            "nosniff"
        );
        assert!(response.headers().get("server").is_none());
    }
}

#[test]
fn sigterm_finishes_in_flight_requests_refuses_new_ones_and_exits_zero() {
    use std::io::{Read, Write};
    let mut gateway = Gateway::start(&["--web-listen", "off"]);
    let api = gateway.api;
    // Three requests in flight: heads sent, bodies not yet complete, and
    // each one's 100 Continue read, so the server is serving them all.
    let body = br#"{"name":"Alice","lang":"fr"}"#;
    let mut in_flight: Vec<std::net::TcpStream> = (0..3)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(api).unwrap();
            write!(
                s,
                "POST /greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
                body.len()
            )
            .unwrap();
            s.write_all(&body[..5]).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut interim = [0; CONTINUE.len()];
            s.read_exact(&mut interim)
                .expect("the server reads each request within 5 s");
            assert_eq!(interim, CONTINUE);
            s
        })
        .collect();
    gateway.terminate();
    // New connections are refused once the listener is closed.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(api).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every in-flight request completes successfully.
    for stream in &mut in_flight {
        stream.write_all(&body[5..]).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.contains("Bonjour, Alice!"), "{answer}");
    }
    let status = gateway.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// Reads the server's first HTTP/2 SETTINGS frame after the client preface.
async fn server_h2_settings(addr: std::net::SocketAddr) -> Vec<(u16, u32)> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut header = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header[3], 0x4, "the first frame is SETTINGS");
    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.unwrap();
    payload
        .chunks(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect()
}

#[tokio::test]
async fn http2_advertises_its_stream_and_header_limits() {
    const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    let app = spawn_app().await;
    let settings = server_h2_settings(app.addr).await;
    assert!(
        settings.contains(&(MAX_CONCURRENT_STREAMS, 256)),
        "{settings:?}"
    );
    assert!(
        settings.contains(&(MAX_HEADER_LIST_SIZE, 16 * 1024)),
        "{settings:?}"
    );

    let app = spawn_app_with(&[
        "--http2-max-concurrent-streams",
        "8",
        "--max-header-bytes",
        "32768",
    ])
    .await;
    let settings = server_h2_settings(app.addr).await;
    assert!(
        settings.contains(&(MAX_CONCURRENT_STREAMS, 8)),
        "{settings:?}"
    );
    assert!(
        settings.contains(&(MAX_HEADER_LIST_SIZE, 32 * 1024)),
        "{settings:?}"
    );
}
