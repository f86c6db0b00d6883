//! The hostile-input corpus (issue 6, part 2): malformed frames, bad base64,
//! invalid UTF-8, JSON that is wrong in every way we could think of, empty
//! bodies, bodies at and over the limit, request smuggling, h2 garbage.
//!
//! Each case asserts the exact error the client gets, then that the same
//! server still answers a normal request over REST, binary gRPC-Web and
//! native gRPC and that nothing panicked. Every network wait has a timeout,
//! so a hang fails the test instead of stalling it. Wire-level cases use a
//! raw `TcpStream`, with no client library to tidy the bytes up.

mod common;

use std::{
    sync::{Mutex, Once},
    time::Duration,
};

use base64::Engine as _;
use common::{TestApp, spawn_app, spawn_app_with};
use greet_gateway::pb::greet::v1::{GreetRequest, GreetResponse};
use prost::Message as _;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};
use tonic::Code;

const GRPC_WEB: &str = "application/grpc-web+proto";
const GRPC_WEB_TEXT: &str = "application/grpc-web-text";
const GRPC: &str = "application/grpc";
const PATH: &str = "/greet.v1.GreetService/Greet";
/// Longer than any healthy answer on loopback; a hang fails instead of stalling.
const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Panic watch: a panic in a connection task is caught by tokio and would only
// show as a dropped connection. Record every panic raised outside this test
// file (i.e. in the gateway or its libraries) and fail on it.

static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let from_a_test = info
                .location()
                .is_some_and(|l| l.file().starts_with("tests/"));
            if !from_a_test {
                PANICS.lock().unwrap().push(info.to_string());
            }
            default(info);
        }));
    });
}

async fn app() -> TestApp {
    watch_panics();
    spawn_app().await
}

async fn app_with(flags: &[&str]) -> TestApp {
    watch_panics();
    spawn_app_with(flags).await
}

/// After a hostile request: nothing panicked, and a fresh client is served on
/// REST, gRPC-Web and native gRPC.
async fn assert_still_serves(app: &TestApp) {
    assert!(
        PANICS.lock().unwrap().is_empty(),
        "the gateway panicked: {:?}",
        PANICS.lock().unwrap()
    );
    let rest = http1()
        .post(app.url("/greet"))
        .header("content-type", "application/json")
        .body(r#"{"name":"Alice","lang":"es"}"#)
        .send()
        .await
        .expect("REST still answers");
    assert_eq!(rest.status(), 200);
    assert_eq!(
        rest.json::<serde_json::Value>().await.unwrap()["greeting"],
        "Hola, Alice!"
    );

    let web = grpc_web(app, GRPC_WEB, frame(0, &request("Alice")), &[]).await;
    assert_eq!(web.status(), 200);
    let (frames, _) = web_frames(web).await;
    let reply = GreetResponse::decode(frames[0].1.as_slice()).unwrap();
    assert_eq!(reply.greeting, "Hello, Alice!");
    assert_eq!(frames[1], (0x80, b"grpc-status:0\r\n".to_vec()));

    let mut grpc = timeout(PATIENCE, app.grpc_client())
        .await
        .expect("gRPC connects in time");
    let reply = timeout(PATIENCE, grpc.greet(request("Alice")))
        .await
        .expect("gRPC answers in time")
        .expect("gRPC still answers");
    assert_eq!(reply.into_inner().greeting, "Hello, Alice!");
}

// ---------------------------------------------------------------------------
// Clients and frames.

fn http1() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

fn request(name: &str) -> GreetRequest {
    GreetRequest {
        name: Some(name.to_owned()),
        lang: None,
    }
}

/// One length-prefixed message: flag byte, big-endian length, payload.
fn frame(flag: u8, message: &GreetRequest) -> Vec<u8> {
    raw_frame(flag, &message.encode_to_vec())
}

fn raw_frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A `GreetRequest` whose `name` (field 1, length-delimited) is `bytes`,
/// valid UTF-8 or not.
fn name_field(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0a, bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

/// A gRPC-Web call over HTTP/1.1, as browser JavaScript sends it.
async fn grpc_web(
    app: &TestApp,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut builder = http1()
        .post(app.url(PATH))
        .header("content-type", content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).send().await.expect("gRPC-Web answers")
}

/// A native gRPC call over h2c with a hand-made body. Every error here comes
/// before the handler runs, so the status is in the headers (trailers-only).
async fn grpc_raw(app: &TestApp, body: Vec<u8>, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut builder = h2c()
        .post(app.url(PATH))
        .header("content-type", GRPC)
        .header("te", "trailers");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = builder.body(body).send().await.expect("gRPC answers");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    response
}

/// The gRPC status of a trailers-only answer, with an empty body.
async fn trailers_only(response: reqwest::Response) -> (Code, String) {
    assert_eq!(response.status(), 200, "gRPC errors travel in a 200");
    let status = tonic::Status::from_header_map(response.headers())
        .unwrap_or_else(|| panic!("no grpc-status in {:?}", response.headers()));
    let body = response.bytes().await.expect("the body ends");
    assert!(body.is_empty(), "trailers-only has no body: {body:?}");
    (status.code(), status.message().to_owned())
}

/// The frames of a gRPC-Web answer (text mode decoded) and its content type.
async fn web_frames(response: reqwest::Response) -> (Vec<(u8, Vec<u8>)>, String) {
    let content_type = common::header(response.headers(), "content-type").to_owned();
    let body = response.bytes().await.expect("the body ends");
    let mut bytes = body.to_vec();
    if content_type.starts_with(GRPC_WEB_TEXT) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let text = String::from_utf8(bytes).unwrap();
        bytes = Vec::new();
        for chunk in text
            .split_inclusive('=')
            .filter(|c| !c.trim_matches('=').is_empty())
        {
            bytes.extend(b64.decode(chunk).unwrap());
        }
    }
    let mut frames = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        assert!(rest.len() >= 5, "truncated response frame: {rest:?}");
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        frames.push((rest[0], rest[5..5 + len].to_vec()));
        rest = &rest[5 + len..];
    }
    (frames, content_type)
}

/// A REST `POST /greet` with any content type and body.
async fn rest(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let response = http1()
        .post(app.url("/greet"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("REST answers");
    let status = response.status().as_u16();
    assert_eq!(
        common::header(response.headers(), "content-type"),
        "application/json"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    let object = body.as_object().expect("a JSON object");
    let error = object["error"].as_str().expect("an \"error\" string");
    (status, error.to_owned())
}

/// Writes `bytes` on a fresh connection, then reads until the server closes
/// it. A server that neither answers nor closes within `PATIENCE` fails.
async fn raw_exchange(app: &TestApp, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    match timeout(PATIENCE, stream.read_to_end(&mut out)).await {
        Ok(Ok(_)) => {}
        // A reset after the answer is a close too.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(e)) => panic!("reading failed: {e}"),
        Err(_) => panic!(
            "the server kept the connection open for {PATIENCE:?}; got so far: {}",
            String::from_utf8_lossy(&out)
        ),
    }
    out
}

/// Status codes of the HTTP/1.1 responses in `raw`, in order.
fn status_lines(raw: &[u8]) -> Vec<u16> {
    String::from_utf8_lossy(raw)
        .match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| {
            let text = String::from_utf8_lossy(raw);
            text[at + 9..at + 12].parse().ok()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// gRPC-Web framing.

#[tokio::test]
async fn truncated_grpc_web_frame_header_is_invalid_argument() {
    let app = app().await;
    // Three of the five header bytes, then the body ends.
    let response = grpc_web(&app, GRPC_WEB, vec![0, 0, 0], &[]).await;
    assert_eq!(
        trailers_only(response).await,
        (
            Code::InvalidArgument,
            "Truncated gRPC message: the body ended inside a length-prefixed frame".to_owned()
        )
    );
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn truncated_grpc_web_message_is_invalid_argument() {
    let app = app().await;
    // A whole frame minus its last byte.
    let mut body = frame(0, &request("Alice"));
    body.pop();
    let response = grpc_web(&app, GRPC_WEB, body, &[]).await;
    assert_eq!(
        trailers_only(response).await,
        (
            Code::InvalidArgument,
            "Truncated gRPC message: the body ended inside a length-prefixed frame".to_owned()
        )
    );
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn frame_length_larger_than_the_body_is_invalid_argument() {
    let app = app().await;
    // The header promises 1000 bytes; 7 follow.
    let mut body = vec![0, 0, 0, 0x03, 0xe8];
    body.extend_from_slice(&request("Alice").encode_to_vec());
    let response = grpc_web(&app, GRPC_WEB, body, &[]).await;
    assert_eq!(
        trailers_only(response).await,
        (
            Code::InvalidArgument,
            "Truncated gRPC message: the body ended inside a length-prefixed frame".to_owned()
        )
    );
    assert_still_serves(&app).await;
}

/// The gRPC compression spec mandates INTERNAL for this one
/// (<https://github.com/grpc/grpc/blob/master/doc/compression.md>: "a
/// compressed message ... without grpc-encoding ... MUST fail with INTERNAL").
/// The HTTP status stays 200, as for every gRPC status.
#[tokio::test]
async fn compressed_flag_without_grpc_encoding_is_internal_as_the_grpc_spec_says() {
    let app = app().await;
    let expected = (
        Code::Internal,
        "protocol error: received message with compressed-flag but no grpc-encoding was specified"
            .to_owned(),
    );
    let response = grpc_web(&app, GRPC_WEB, frame(1, &request("Alice")), &[]).await;
    assert_eq!(trailers_only(response).await, expected);
    let response = grpc_raw(&app, frame(1, &request("Alice")), &[]).await;
    assert_eq!(trailers_only(response).await, expected);
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn unknown_grpc_encoding_is_unimplemented_and_lists_what_is_accepted() {
    let app = app().await;
    let expected = (
        Code::Unimplemented,
        "Content is compressed with `snappy` which isn't supported".to_owned(),
    );
    let response = grpc_web(
        &app,
        GRPC_WEB,
        frame(1, &request("Alice")),
        &[("grpc-encoding", "snappy")],
    )
    .await;
    assert_eq!(
        common::header(response.headers(), "grpc-accept-encoding"),
        "identity"
    );
    assert_eq!(trailers_only(response).await, expected);
    let response = grpc_raw(
        &app,
        frame(1, &request("Alice")),
        &[("grpc-encoding", "snappy")],
    )
    .await;
    assert_eq!(
        common::header(response.headers(), "grpc-accept-encoding"),
        "identity"
    );
    assert_eq!(trailers_only(response).await, expected);
    assert_still_serves(&app).await;
}

/// A client's bad base64 is the client's error: INVALID_ARGUMENT saying
/// base64, not tonic-web's INTERNAL (which blames the server).
#[tokio::test]
async fn invalid_base64_in_text_mode_is_invalid_argument() {
    let app = app().await;
    for (body, why) in [
        ("!!!!", "Invalid symbol 33, offset 0."),
        ("AAAA=AAHSgVBbGljZQ==", "Invalid symbol 61, offset 4."),
        // Valid symbols, but a length no base64 can have.
        ("AAAAAAdKBUFsaWNl*", "malformed base64 request"),
        ("AAAAAAdKBUFsaWNlX", "malformed base64 request"),
    ] {
        let response = grpc_web(&app, GRPC_WEB_TEXT, body.as_bytes().to_vec(), &[]).await;
        assert_eq!(
            trailers_only(response).await,
            (
                Code::InvalidArgument,
                format!("Invalid base64 in the gRPC-Web text body: {why}")
            ),
            "{body}"
        );
    }
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_string_field_is_invalid_argument_on_grpc_web_and_grpc() {
    let app = app().await;
    let expected = (
        Code::InvalidArgument,
        "failed to decode Protobuf message: GreetRequest.name: invalid string value: data is not UTF-8 encoded"
            .to_owned(),
    );
    let body = raw_frame(0, &name_field(&[0xff, 0xfe, b'A']));
    let response = grpc_web(&app, GRPC_WEB, body.clone(), &[]).await;
    assert_eq!(trailers_only(response).await, expected);
    let response = grpc_raw(&app, body, &[]).await;
    assert_eq!(trailers_only(response).await, expected);
    assert_still_serves(&app).await;
}

// ---------------------------------------------------------------------------
// Empty bodies, each content type.

#[tokio::test]
async fn empty_body_is_missing_request_body_with_every_content_type() {
    let app = app().await;
    assert_eq!(
        rest(&app, "application/json", "").await,
        (400, "Missing request body".to_owned())
    );
    let missing = (Code::InvalidArgument, "Missing request body".to_owned());
    for content_type in [GRPC_WEB, GRPC_WEB_TEXT] {
        let response = grpc_web(&app, content_type, Vec::new(), &[]).await;
        assert_eq!(trailers_only(response).await, missing, "{content_type}");
    }
    let response = grpc_raw(&app, Vec::new(), &[]).await;
    assert_eq!(trailers_only(response).await, missing);
    assert_still_serves(&app).await;
}

// ---------------------------------------------------------------------------
// JSON that is wrong in many ways.

#[tokio::test]
async fn json_with_wrong_types_says_which_field_and_what_was_expected() {
    let app = app().await;
    for (body, error) in [
        (
            r#"{"name": 5}"#,
            "Invalid JSON body: invalid type: integer `5`, expected a string at line 1 column 10",
        ),
        (
            r#"{"name": true}"#,
            "Invalid JSON body: invalid type: boolean `true`, expected a string at line 1 column 13",
        ),
        (
            r#"{"name": {"first": "Alice"}}"#,
            "Invalid JSON body: invalid type: map, expected a string at line 1 column 9",
        ),
        (
            r#"{"name": "Alice", "lang": 1.5}"#,
            "Invalid JSON body: invalid type: floating point `1.5`, expected a string at line 1 column 29",
        ),
        (
            r#""Alice""#,
            "Invalid JSON body: invalid type: string \"Alice\", expected a map at line 1 column 7",
        ),
        (
            "42",
            "Invalid JSON body: invalid type: integer `42`, expected a map at line 1 column 2",
        ),
    ] {
        assert_eq!(
            rest(&app, "application/json", body).await,
            (400, error.to_owned()),
            "{body}"
        );
    }
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn json_null_is_no_field_set_and_a_null_body_is_refused() {
    let app = app().await;
    for (body, error) in [
        // proto3 JSON: null means "field not set".
        (r#"{"name": null}"#, "Missing request body"),
        (
            r#"{"name": null, "lang": "es"}"#,
            "Missing required field: 'name'",
        ),
        (
            r#"{"name": "Alice", "lang": null}"#,
            "NOT AN ERROR: Hello, Alice!",
        ),
        (
            "null",
            "Invalid JSON body: invalid type: null, expected a map at line 1 column 4",
        ),
    ] {
        if let Some(greeting) = error.strip_prefix("NOT AN ERROR: ") {
            let response = timeout(PATIENCE, app.post_greet(body))
                .await
                .expect("REST answers in time");
            assert_eq!(response.status(), 200, "{body}");
            assert_eq!(common::json(response).await["greeting"], greeting);
            continue;
        }
        assert_eq!(
            rest(&app, "application/json", body).await,
            (400, error.to_owned()),
            "{body}"
        );
    }
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn json_arrays_are_refused_where_a_message_or_string_belongs() {
    let app = app().await;
    for (body, error) in [
        (
            "[]",
            "Invalid JSON body: invalid type: sequence, expected a map at line 1 column 0",
        ),
        (
            r#"[{"name": "Alice"}]"#,
            "Invalid JSON body: invalid type: sequence, expected a map at line 1 column 0",
        ),
        (
            r#"{"name": ["Alice"]}"#,
            "Invalid JSON body: invalid type: sequence, expected a string at line 1 column 9",
        ),
    ] {
        assert_eq!(
            rest(&app, "application/json", body).await,
            (400, error.to_owned()),
            "{body}"
        );
    }
    assert_still_serves(&app).await;
}

/// 10,000 levels would overflow a naive recursive parser's stack.
#[tokio::test]
async fn json_nested_ten_thousand_deep_is_a_400_not_a_stack_overflow() {
    let app = app().await;
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!(
        "{}\"Alice\"{}",
        r#"{"name":"#.repeat(depth),
        "}".repeat(depth)
    );
    let inside_a_field = format!(r#"{{"name":"Alice","lang":{arrays}}}"#);
    for (body, error) in [
        (
            arrays.as_str(),
            "Invalid JSON body: invalid type: sequence, expected a map at line 1 column 0",
        ),
        (
            objects.as_str(),
            "Invalid JSON body: invalid type: map, expected a string at line 1 column 8",
        ),
        (
            inside_a_field.as_str(),
            "Invalid JSON body: invalid type: sequence, expected a string at line 1 column 23",
        ),
    ] {
        assert_eq!(
            rest(&app, "application/json", body.to_owned()).await,
            (400, error.to_owned()),
            "{}…",
            &body[..40]
        );
    }
    assert_still_serves(&app).await;
}

/// RFC 8259 leaves duplicate names undefined; which `name` did the client
/// mean? Refused, never "the last one wins", and in the client's terms (not
/// as proto3's synthetic oneof `_name`).
#[tokio::test]
async fn json_with_duplicate_keys_is_refused_and_names_the_field() {
    let app = app().await;
    for (body, error) in [
        (
            r#"{"name": "Alice", "name": "Mallory"}"#,
            "Invalid JSON body: duplicate field 'name' at line 1 column 36",
        ),
        (
            r#"{"lang": "es", "name": "Alice", "lang": "fr"}"#,
            "Invalid JSON body: duplicate field 'lang' at line 1 column 45",
        ),
    ] {
        assert_eq!(
            rest(&app, "application/json", body).await,
            (400, error.to_owned()),
            "{body}"
        );
    }
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn json_with_unknown_fields_names_the_field() {
    let app = app().await;
    for (body, error) in [
        (
            r#"{"name": "Alice", "admin": true}"#,
            "Invalid JSON body: unrecognized field name 'admin' at line 1 column 25",
        ),
        (
            r#"{"Name": "Alice"}"#,
            "Invalid JSON body: unrecognized field name 'Name' at line 1 column 7",
        ),
        (
            r#"{"name": "Alice"} {"name": "Bob"}"#,
            "Invalid JSON body: trailing characters at line 1 column 19",
        ),
        (
            r#"{"name": "Alice""#,
            "Invalid JSON body: EOF while parsing an object at line 1 column 16",
        ),
    ] {
        assert_eq!(
            rest(&app, "application/json", body).await,
            (400, error.to_owned()),
            "{body}"
        );
    }
    assert_still_serves(&app).await;
}

#[tokio::test]
async fn json_body_that_is_not_utf8_is_a_400() {
    let app = app().await;
    let body = b"{\"name\": \"\xff\xfe\"}".to_vec();
    assert_eq!(
        rest(&app, "application/json", body).await,
        (
            400,
            "Invalid JSON body: invalid unicode code point at line 1 column 11".to_owned()
        )
    );
    assert_still_serves(&app).await;
}

// ---------------------------------------------------------------------------
// The body limit, to the byte.

#[tokio::test]
async fn rest_body_exactly_at_the_limit_is_served_and_one_byte_over_is_413() {
    let app = app_with(&["--max-body-bytes", "64"]).await;
    let body = |len: usize| {
        let frame = r#"{"name":""}"#;
        format!(r#"{{"name":"{}"}}"#, "a".repeat(len - frame.len()))
    };
    assert_eq!(body(64).len(), 64);
    let response = timeout(PATIENCE, app.post_greet(&body(64)))
        .await
        .expect("REST answers in time");
    assert_eq!(response.status(), 200);
    assert_eq!(
        common::json(response).await["greeting"],
        format!("Hello, {}!", "a".repeat(53))
    );
    assert_eq!(
        rest(&app, "application/json", body(65)).await,
        (413, "Payload too large".to_owned())
    );
    assert_still_serves(&app).await;
}

/// On gRPC the limit is the message's size (tonic's decoding limit); the
/// five-byte frame header does not count.
#[tokio::test]
async fn grpc_web_message_exactly_at_the_limit_is_served_and_one_byte_over_is_resource_exhausted() {
    let app = app_with(&["--max-body-bytes", "64"]).await;
    // Tag and length take two bytes; the name the rest.
    let at = request(&"b".repeat(62));
    assert_eq!(at.encoded_len(), 64);
    let response = grpc_web(&app, GRPC_WEB, frame(0, &at), &[]).await;
    let (frames, _) = web_frames(response).await;
    let reply = GreetResponse::decode(frames[0].1.as_slice()).unwrap();
    assert_eq!(reply.greeting, format!("Hello, {}!", "b".repeat(62)));

    let over = request(&"b".repeat(63));
    assert_eq!(over.encoded_len(), 65);
    let response = grpc_web(&app, GRPC_WEB, frame(0, &over), &[]).await;
    assert_eq!(
        trailers_only(response).await,
        (Code::ResourceExhausted, "Payload too large".to_owned())
    );
    assert_still_serves(&app).await;
}

// ---------------------------------------------------------------------------
// Wire level: smuggling, huge headers, h2 garbage.

/// RFC 9112 §6.3: with both headers, Transfer-Encoding frames the body and
/// the connection must be closed after the response (or the request refused
/// with 400). Either way the bytes after the chunked body must never be read
/// as a second request: that is how request smuggling works.
#[tokio::test]
async fn content_length_with_transfer_encoding_never_reads_a_smuggled_request() {
    let app = app().await;
    let json = r#"{"name":"Alice"}"#;
    let request = format!(
        "POST /greet HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
         {len:x}\r\n{json}\r\n0\r\n\r\n\
         GET /smuggled HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        addr = app.addr,
        len = json.len(),
    );
    let raw = raw_exchange(&app, request.as_bytes()).await;
    let text = String::from_utf8_lossy(&raw);
    let statuses = status_lines(&raw);
    match statuses.as_slice() {
        [400] => {}
        [200] => assert!(text.contains("Hello, Alice!"), "{text}"),
        _ => panic!("expected one answer (400, or 200 framed by chunked), got: {text}"),
    }
    assert!(!text.contains("smuggled"), "{text}");
    assert_still_serves(&app).await;
}

/// hyper's default read buffer (~400 KB) lets a 100 KB header through; a
/// gateway should refuse it with 431 as Envoy (60 KB) and nginx (8 KB) do.
#[tokio::test]
async fn hundred_kilobyte_header_is_431() {
    let app = app().await;
    let request = format!(
        "POST /greet HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         X-Filler: {}\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{{\"name\":\"Alice\"}}",
        app.addr,
        "a".repeat(100 * 1024),
    );
    let raw = raw_exchange(&app, request.as_bytes()).await;
    assert_eq!(
        status_lines(&raw),
        [431],
        "{}",
        String::from_utf8_lossy(&raw[..raw.len().min(400)])
    );
    assert_still_serves(&app).await;
}

/// The HTTP/2 connection preface, then bytes that are no HTTP/2 frame: the
/// server answers with a GOAWAY and closes the connection; other clients
/// never notice.
#[tokio::test]
async fn http2_preface_then_garbage_gets_goaway_and_a_closed_connection() {
    let app = app().await;
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&b"this is not an HTTP/2 frame\r\n".repeat(8));
    let raw = raw_exchange(&app, &bytes).await;
    // Walk the server's frames: 3-byte length, type, flags, 4-byte stream id.
    let mut types = Vec::new();
    let mut rest = raw.as_slice();
    while rest.len() >= 9 {
        let len = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        types.push(rest[3]);
        rest = &rest[(9 + len).min(rest.len())..];
    }
    const GOAWAY: u8 = 0x7;
    assert!(
        types.contains(&GOAWAY),
        "frame types {types:?} in {raw:?} have no GOAWAY"
    );
    assert_still_serves(&app).await;
}

/// Plain garbage on a fresh connection (neither HTTP/1.1 nor the h2 preface).
#[tokio::test]
async fn garbage_instead_of_a_request_line_is_a_400_and_a_close() {
    let app = app().await;
    let raw = raw_exchange(
        &app,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
    )
    .await;
    let statuses = status_lines(&raw);
    assert!(
        statuses.is_empty() || statuses == [400],
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_still_serves(&app).await;
}
