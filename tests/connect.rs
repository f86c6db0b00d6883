//! The Connect protocol, unary, on the wire (reqwest as the client): JSON
//! and proto POSTs on both roads, GET on the test-only Library service, every
//! refusal of bad input, the timeout, the body limit, CORS, headers as
//! metadata, and the access line and metrics. Real Connect clients
//! (connect-web in Node and Chromium, buf curl) are in `tests/interop.rs`.

mod common;

use std::time::Duration;

use common::{
    ALLOWED_ORIGIN, TestApp, binary::Gateway, header, json, library, spawn_app, spawn_app_with,
    spawn_with_builder,
};
use greet_gateway::pb::greet::v1::{GreetRequest, GreetResponse};
use prost::Message as _;
use serde_json::{Value, json};

const GREET: &str = "/greet.v1.GreetService/Greet";
const GET_SHELF: &str = "/library.v1.LibraryService/GetShelf";

/// The spec's four INVALID_ARGUMENT rows: a request and its exact message.
const INVALID_ARGUMENT_CASES: [(&str, &str); 5] = [
    ("", "Missing request body"),
    ("{}", "Missing request body"),
    (r#"{"lang":"en"}"#, "Missing required field: 'name'"),
    (r#"{"name":" \t "}"#, "Field 'name' cannot be empty"),
    (
        r#"{"name":"Alice","lang":"FOO"}"#,
        "Invalid or unsupported language selection: 'foo'",
    ),
];

/// A Connect unary POST as connect-web sends it.
async fn post(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("content-type", content_type)
        .header("connect-protocol-version", "1")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post_json(app: &TestApp, body: &str) -> reqwest::Response {
    post(app, GREET, "application/json", body.as_bytes().to_vec()).await
}

/// The whole answer of a Connect error: status, content type, JSON body.
async fn error_of(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let content_type = header(response.headers(), "content-type").to_owned();
    (status, content_type, json(response).await)
}

fn connect_error(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message})
}

fn assert_greeting(body: &Value, greeting: &str) {
    let timestamp = body["timestamp"].as_str().unwrap_or_default();
    assert!(timestamp.ends_with('Z'), "{body}");
    assert_eq!(body, &json!({"greeting": greeting, "timestamp": timestamp}));
}

/// The gateway as built by default (Greet's typed road), and with every
/// JSON body on the dynamic road.
async fn both_roads() -> [(&'static str, TestApp); 2] {
    [
        ("typed", spawn_app().await),
        (
            "dynamic",
            spawn_with_builder(&[], |b| b.dynamic_rest_only()).await,
        ),
    ]
}

#[tokio::test]
async fn a_json_post_greets_and_answers_every_invalid_argument_on_both_roads() {
    for (road, app) in both_roads().await {
        let response = post_json(&app, r#"{"name":"Alice","lang":"es"}"#).await;
        assert_eq!(response.status(), 200, "{road}");
        assert_eq!(
            header(response.headers(), "content-type"),
            "application/json"
        );
        assert_greeting(&json(response).await, "Hola, Alice!");

        for (body, message) in INVALID_ARGUMENT_CASES {
            assert_eq!(
                error_of(post_json(&app, body).await).await,
                (
                    400,
                    "application/json".to_owned(),
                    connect_error("invalid_argument", message)
                ),
                "{road} {body:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_proto_post_greets_and_answers_invalid_argument_in_json() {
    let app = spawn_app().await;
    let request = GreetRequest {
        name: Some("Alice".into()),
        lang: Some("fr".into()),
    };
    let response = post(&app, GREET, "application/proto", request.encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        "application/proto"
    );
    let reply = GreetResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(reply.greeting, "Bonjour, Alice!");
    assert!(reply.timestamp.is_some());

    for (request, message) in [
        (GreetRequest::default(), "Missing request body"),
        (
            GreetRequest {
                name: None,
                lang: Some("en".into()),
            },
            "Missing required field: 'name'",
        ),
        (
            GreetRequest {
                name: Some(" ".into()),
                lang: None,
            },
            "Field 'name' cannot be empty",
        ),
        (
            GreetRequest {
                name: Some("Alice".into()),
                lang: Some("FOO".into()),
            },
            "Invalid or unsupported language selection: 'foo'",
        ),
    ] {
        let response = post(&app, GREET, "application/proto", request.encode_to_vec()).await;
        assert_eq!(
            error_of(response).await,
            (
                400,
                "application/json".to_owned(),
                connect_error("invalid_argument", message)
            )
        );
    }
}

#[tokio::test]
async fn malformed_bodies_are_invalid_argument_in_the_words_rest_and_grpc_use() {
    for (road, app) in both_roads().await {
        for body in [r#"{"name":"#, r#"{"name":1}"#, r#"{"nam":"x"}"#, "[]"] {
            let rest = json(app.post_greet(body).await).await;
            let words = rest["error"].as_str().unwrap();
            assert!(words.starts_with("Invalid JSON body: "), "{words}");
            assert_eq!(
                error_of(post_json(&app, body).await).await,
                (
                    400,
                    "application/json".to_owned(),
                    connect_error("invalid_argument", words)
                ),
                "{road} {body}"
            );
        }
    }
    let app = spawn_app().await;
    // A length-delimited field that claims more bytes than follow.
    let broken = vec![0x0a, 0x05, b'A'];
    let words = GreetRequest::decode(&broken[..]).unwrap_err().to_string();
    assert!(words.starts_with("failed to decode Protobuf message"));
    assert_eq!(
        error_of(post(&app, GREET, "application/proto", broken).await).await,
        (
            400,
            "application/json".to_owned(),
            connect_error("invalid_argument", &words)
        )
    );
}

#[tokio::test]
async fn the_protocols_own_refusals_have_their_codes_and_never_a_5xx_for_bad_input() {
    let app = spawn_app().await;
    let greet = || {
        app.http
            .post(app.url(GREET))
            .body(r#"{"name":"Alice"}"#)
            .header("content-type", "application/json")
    };
    let refused = async |name: &str, value: &str| {
        error_of(greet().header(name, value).send().await.unwrap()).await
    };
    assert_eq!(
        refused("connect-protocol-version", "2").await,
        (
            400,
            "application/json".to_owned(),
            connect_error(
                "invalid_argument",
                "connect-protocol-version must be \"1\": got \"2\""
            )
        )
    );
    assert_eq!(
        refused("connect-timeout-ms", "12345678901").await.2,
        connect_error(
            "invalid_argument",
            "connect-timeout-ms must be a number of milliseconds of 1 to 10 digits: got \"12345678901\""
        )
    );
    // Without the version header a JSON POST to a method is Connect all
    // the same (the header is optional in the spec).
    let plain = greet().send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert_greeting(&json(plain).await, "Hello, Alice!");

    // A codec the method does not have: 415, with what it takes.
    let xml = post(&app, GREET, "application/xml", b"<name/>".to_vec()).await;
    assert_eq!(xml.status(), 415);
    assert_eq!(
        header(xml.headers(), "accept-post"),
        "application/json, application/proto"
    );
    assert_eq!(
        json(xml).await,
        connect_error(
            "unimplemented",
            "Unsupported content type 'application/xml': /greet.v1.GreetService/Greet takes application/json or application/proto"
        )
    );
    // Compression the gateway does not have: unimplemented, naming what it has.
    assert_eq!(
        refused("content-encoding", "gzip").await,
        (
            501,
            "application/json".to_owned(),
            connect_error(
                "unimplemented",
                "content-encoding \"gzip\" is not supported: the server accepts identity only"
            )
        )
    );
    // GET on a method not marked NO_SIDE_EFFECTS.
    let get = app
        .http
        .get(app.url(&format!("{GREET}?encoding=json&message=%7B%7D")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(header(get.headers(), "allow"), "POST");
    assert_eq!(
        json(get).await,
        connect_error(
            "unimplemented",
            "GET is not allowed on /greet.v1.GreetService/Greet: the RPC is not marked idempotency_level = NO_SIDE_EFFECTS; use POST"
        )
    );
}

#[tokio::test]
async fn methods_connect_does_not_serve_are_unimplemented_and_rest_stays_rest() {
    let app = spawn_app().await;
    let watch = post(
        &app,
        "/grpc.health.v1.Health/Watch",
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(
        error_of(watch).await,
        (
            501,
            "application/json".to_owned(),
            connect_error(
                "unimplemented",
                "/grpc.health.v1.Health/Watch is a streaming RPC: Connect is served for unary RPCs only; call it over gRPC or gRPC-Web"
            )
        )
    );
    let unknown = post(
        &app,
        "/greet.v1.GreetService/Nope",
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    // A wrong address, not a missing feature: 404, as connect-go's mux.
    let (status, _, body) = error_of(unknown).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        connect_error(
            "unimplemented",
            "/greet.v1.GreetService/Nope is not a method served here"
        )
    );
    // Not Connect without its header: REST's 404.
    let rest = app
        .http
        .post(app.url("/greet.v1.GreetService/Nope"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 404);
    assert_eq!(
        json(rest).await,
        json!({"error": "No route for POST /greet.v1.GreetService/Nope"})
    );
    // `POST /greet` stays REST, whatever its headers say.
    let greet = app
        .http
        .post(app.url("/greet"))
        .header("content-type", "application/json")
        .header("connect-protocol-version", "1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json(greet).await, json!({"error": "Missing request body"}));
    // Unary health over Connect, on the dynamic road.
    let check = post(
        &app,
        "/grpc.health.v1.Health/Check",
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(check.status(), 200);
    assert_eq!(json(check).await, json!({"status": "SERVING"}));
}

/// A Connect GET of the Library's `GetShelf` with `query`.
async fn get_shelf(app: &TestApp, query: String) -> reqwest::Response {
    let url = app.url(&format!("{GET_SHELF}?{query}"));
    app.http.get(url).send().await.unwrap()
}

/// The Library's echo of `GetShelf`, as JSON.
fn shelf_echo(shelf: &str) -> Value {
    json!({"method": "GetShelf", "request": {"shelf": shelf}})
}

#[tokio::test]
async fn get_serves_a_method_marked_no_side_effects_in_json_and_proto() {
    let app = library::spawn_library().await;
    let get = |query: String| get_shelf(&app, query);
    let response =
        get("connect=v1&encoding=json&message=%7B%22shelf%22%3A%22s1%22%7D".into()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        "application/json"
    );
    assert_eq!(json(response).await, shelf_echo("s1"));
    // Parameters in any order, unknown ones alongside, `+` as a space.
    let response = get("x=1&message=%7B%22shelf%22:%22a+b%22%7D&encoding=json".into()).await;
    assert_eq!(json(response).await, shelf_echo("a b"));

    use base64::Engine as _;
    let message = library::pb::BookRequest {
        shelf: "s2".into(),
        ..Default::default()
    }
    .encode_to_vec();
    for engine in [
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        let encoded = engine.encode(&message).replace('=', "%3D");
        let response = get(format!("encoding=proto&base64=1&message={encoded}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(response.headers(), "content-type"),
            "application/proto"
        );
        let reply = library::pb::BookReply::decode(response.bytes().await.unwrap()).unwrap();
        assert_eq!(reply.method, "GetShelf");
        assert_eq!(reply.request.unwrap().shelf, "s2");
    }

    // The same method's REST route and POST are untouched.
    let rest = app
        .http
        .get(app.url("/v1/shelves/s3"))
        .send()
        .await
        .unwrap();
    assert_eq!(json(rest).await, shelf_echo("s3"));
    let posted = post(
        &app,
        GET_SHELF,
        "application/json",
        br#"{"shelf":"s4"}"#.to_vec(),
    )
    .await;
    assert_eq!(json(posted).await, shelf_echo("s4"));
}

#[tokio::test]
async fn a_bad_get_is_refused_with_its_code() {
    let app = library::spawn_library().await;
    let get = async |query: &str| error_of(get_shelf(&app, query.to_owned()).await).await;
    let json_type = || "application/json".to_owned();
    assert_eq!(
        get("encoding=json").await,
        (
            400,
            json_type(),
            connect_error("invalid_argument", "missing message parameter")
        )
    );
    assert_eq!(
        get("message=%7B%7D").await,
        (
            400,
            json_type(),
            connect_error("invalid_argument", "missing encoding parameter")
        )
    );
    assert_eq!(
        get("connect=v2&encoding=json&message=%7B%7D").await,
        (
            400,
            json_type(),
            connect_error("invalid_argument", "connect must be \"v1\": got \"v2\"")
        )
    );
    let (status, _, body) = get("encoding=xml&message=x").await;
    assert_eq!(
        (status, body),
        (
            415,
            connect_error(
                "unimplemented",
                "Unsupported encoding 'xml': use encoding=json or encoding=proto"
            )
        )
    );
    let (status, _, body) = get("encoding=proto&base64=1&message=not*base64").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_argument");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid base64 in the message parameter: "),
        "{body}"
    );
    assert_eq!(
        get("encoding=json&message=%7B%22shelf%22%3A").await.2["code"],
        "invalid_argument"
    );
    assert_eq!(
        get("encoding=json&compression=gzip&message=%7B%7D").await,
        (
            501,
            json_type(),
            connect_error(
                "unimplemented",
                "compression \"gzip\" is not supported: the server accepts identity only"
            )
        )
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_resource_exhausted_413() {
    let app = spawn_app_with(&["--max-body-bytes", "64"]).await;
    let big = json!({"name": "a".repeat(100)}).to_string();
    for content_type in ["application/json", "application/proto"] {
        assert_eq!(
            error_of(post(&app, GREET, content_type, big.clone().into_bytes()).await).await,
            (
                413,
                "application/json".to_owned(),
                connect_error("resource_exhausted", "Payload too large")
            ),
            "{content_type}"
        );
    }
    // At the limit, served.
    let name = "a".repeat(64 - r#"{"name":""}"#.len());
    let at = json!({ "name": name }).to_string();
    assert_eq!(at.len(), 64);
    assert_eq!(post_json(&app, &at).await.status(), 200);
}

#[tokio::test]
async fn connect_timeout_ms_bounds_a_call_as_deadline_exceeded() {
    let app = spawn_app().await;
    let (_keep_open, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let started = std::time::Instant::now();
    let response = app
        .http
        .post(app.url(GREET))
        .header("content-type", "application/json")
        .header("connect-protocol-version", "1")
        .header("connect-timeout-ms", "200")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        error_of(response).await,
        (
            504,
            "application/json".to_owned(),
            connect_error("deadline_exceeded", "Request timed out after 200 ms")
        )
    );
}

#[tokio::test]
async fn cors_lets_the_allowed_origin_call_connect_and_no_other() {
    let app = library::spawn_library().await;
    let preflight = app
        .preflight(
            GREET,
            Some(ALLOWED_ORIGIN),
            "POST",
            Some("content-type,connect-protocol-version,connect-timeout-ms"),
        )
        .await;
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(preflight.headers(), "access-control-allow-origin"),
        ALLOWED_ORIGIN
    );
    // GET is allowed because the Library has a NO_SIDE_EFFECTS method.
    let get = app
        .preflight(GET_SHELF, Some(ALLOWED_ORIGIN), "GET", None)
        .await;
    assert_eq!(get.status(), 204);
    let refused = app
        .preflight(
            GREET,
            Some("https://evil.example"),
            "POST",
            Some("content-type"),
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(header(refused.headers(), "access-control-allow-origin"), "");

    for (origin, allowed) in [(ALLOWED_ORIGIN, true), ("https://evil.example", false)] {
        for body in [r#"{"name":"Alice"}"#, "{}"] {
            let response = app
                .http
                .post(app.url(GREET))
                .header("origin", origin)
                .header("content-type", "application/json")
                .header("connect-protocol-version", "1")
                .body(body)
                .send()
                .await
                .unwrap();
            let headers = response.headers();
            assert_eq!(header(headers, "vary"), "Origin", "{origin} {body}");
            assert_eq!(
                header(headers, "access-control-allow-origin"),
                if allowed { origin } else { "" },
                "{origin} {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_server_refuses_in_connects_shape_when_it_is_full() {
    let app = spawn_app_with(&["--max-concurrent-requests", "1"]).await;
    // A health Watch holds the only place while it streams.
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel().await);
    let mut watch = health
        .watch(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    watch.message().await.unwrap().expect("the current status");
    assert_eq!(
        error_of(post_json(&app, r#"{"name":"Alice"}"#).await).await,
        (
            503,
            "application/json".to_owned(),
            connect_error(
                "unavailable",
                "Server is at its concurrent request limit; retry shortly"
            )
        )
    );
    drop(watch);
}

#[tokio::test]
async fn the_access_line_and_metrics_say_connect_with_the_code() {
    let gateway = Gateway::start(&["--web-listen", "off"]);
    let api = gateway.api_url();
    let http = reqwest::Client::new();
    let send = |path: &'static str, body: &'static str| {
        http.post(format!("{api}{path}"))
            .header("content-type", "application/json")
            .header("connect-protocol-version", "1")
            .body(body)
            .send()
    };
    assert_eq!(
        send(GREET, r#"{"name":"Alice"}"#).await.unwrap().status(),
        200
    );
    assert_eq!(send(GREET, r#"{"name":" "}"#).await.unwrap().status(), 400);
    assert_eq!(
        send("/greet.v1.GreetService/Nope", "{}")
            .await
            .unwrap()
            .status(),
        404
    );
    let connect = r#"protocol="connect" method=POST"#;
    let greet = format!(r#"path="{GREET}""#);
    gateway.expect_log(&[connect, &greet, r#"status=200 grpc_status="0""#], 1);
    gateway.expect_log(&[connect, &greet, r#"status=400 grpc_status="3""#], 1);
    gateway.expect_log(&[connect, r#"status=404 grpc_status="12""#], 1);

    let text = reqwest::get(format!("{}/metrics", gateway.admin_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (route, status, grpc) in [(GREET, 200, 0), (GREET, 400, 3), ("unmatched", 404, 12)] {
        let series = format!(
            r#"greet_gateway_requests_total{{protocol="connect",route="{route}",status="{status}",grpc_status="{grpc}"}} 1"#
        );
        assert!(text.lines().any(|l| l == series), "{series} in\n{text}");
    }
}

mod metadata {
    //! Headers over Connect, with the echo service of tests/metadata.rs:
    //! in as REST forwards them, out as headers and `trailer-` headers.
    use super::*;
    use common::echo::{Road, pb::EchoReply, spawn_echo};

    const ECHO: &str = "/echo.v1.EchoService/Echo";
    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    async fn call(app: &TestApp, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        app.http
            .post(app.url(ECHO))
            .header("content-type", content_type)
            .header("connect-protocol-version", "1")
            .header("content-language", "en")
            .header("authorization", "Bearer abc")
            .header("x-request-id", "req-c")
            .header("traceparent", TRACEPARENT)
            .header("grpc-metadata-tenant", "acme")
            .header("grpc-metadata-content-language", "fr")
            .header("grpc-metadata-grpc-timeout", "1S")
            .header("keep-alive", "timeout=5")
            .header("x-not-forwarded", "no")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    fn forwarded() -> Vec<String> {
        vec![
            "authorization: Bearer abc".to_owned(),
            "tenant: acme".to_owned(),
            format!("traceparent: {TRACEPARENT}"),
            "x-request-id: req-c".to_owned(),
        ]
    }

    #[tokio::test]
    async fn connect_forwards_rest_headers_and_returns_the_services_as_headers() {
        for road in [Road::Typed, Road::Dynamic] {
            let app = spawn_echo(road).await;
            let response = call(&app, "application/json", b"{}".to_vec()).await;
            assert_eq!(response.status(), 200, "{road:?}");
            assert_eq!(header(response.headers(), "x-echo-header"), "seen");
            assert_eq!(header(response.headers(), "x-request-id"), "req-c");
            assert!(
                !response
                    .headers()
                    .keys()
                    .any(|n| n.as_str().starts_with("grpc-")),
                "{:?}",
                response.headers()
            );
            assert_eq!(
                json(response).await,
                json!({ "metadata": forwarded() }),
                "{road:?}"
            );

            let failed = call(&app, "application/json", br#"{"fail":true}"#.to_vec()).await;
            assert_eq!(failed.status(), 403);
            assert_eq!(header(failed.headers(), "x-echo-trailer"), "denied-here");
            assert_eq!(header(failed.headers(), "grpc-status"), "");
            assert_eq!(
                json(failed).await,
                connect_error("permission_denied", "not you")
            );
        }
        let app = spawn_echo(Road::Typed).await;
        let proto = call(&app, "application/proto", Vec::new()).await;
        assert_eq!(header(proto.headers(), "x-echo-header"), "seen");
        let reply = EchoReply::decode(proto.bytes().await.unwrap()).unwrap();
        assert_eq!(reply.metadata, forwarded());
    }
}
