//! Property tests (issue 6, part 3) for the two parsers a client controls:
//! the REST JSON→protobuf transcoder and the gRPC-Web frame codec, driven
//! through the real server in-process, so every layer in front of them
//! (content type, body limit, tonic-web, tonic's decoder) is in the loop.
//!
//! - any bytes or any JSON value as a REST body: 200 with a greeting, or
//!   400/413/415 with a JSON `{"error": ...}`, never a 5xx, a panic or a hang;
//! - names and langs from arbitrary Unicode: REST, gRPC-Web and gRPC give the
//!   very same greeting or the very same error, and it is the spec's;
//! - any `GreetRequest` framed as gRPC-Web (binary and text) round-trips: the
//!   greeting carries the trimmed name back;
//! - any bytes as a gRPC-Web or gRPC body: a gRPC status, never a 5xx.
//!
//! Case counts are modest (64 per property) so the file runs in seconds.

mod common;

use std::{sync::OnceLock, time::Duration};

use base64::Engine as _;
use common::{TestApp, spawn_app, spawn_app_with};
use greet_gateway::pb::greet::v1::{
    GreetRequest, GreetResponse, greet_service_client::GreetServiceClient,
};
use proptest::{collection::vec, prelude::*};
use prost::Message as _;
use serde_json::Value;
use tonic::{Code, transport::Channel};

const PATH: &str = "/greet.v1.GreetService/Greet";
const GRPC_WEB: &str = "application/grpc-web+proto";
const GRPC_WEB_TEXT: &str = "application/grpc-web-text";
/// The body limit of the app that takes junk, small enough to hit.
const SMALL_LIMIT: usize = 200;
/// A case that takes longer than this is a hang.
const PATIENCE: Duration = Duration::from_secs(10);

fn config() -> ProptestConfig {
    ProptestConfig {
        // `PROPTEST_CASES=5000 cargo test --test properties` digs deeper.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(64),
        // Failures print the minimal input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One runtime and two servers for the whole file: proptest cases are
/// synchronous, so each runs its requests with `block_on`.
struct World {
    runtime: tokio::runtime::Runtime,
    /// Default settings.
    app: TestApp,
    /// `--max-body-bytes 200`, for junk bodies.
    small: TestApp,
    grpc: GreetServiceClient<Channel>,
    http1: reqwest::Client,
    h2c: reqwest::Client,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (app, small, grpc) = runtime.block_on(async {
            let app = spawn_app().await;
            let small = spawn_app_with(&["--max-body-bytes", &SMALL_LIMIT.to_string()]).await;
            let grpc = app.grpc_client().await;
            (app, small, grpc)
        });
        World {
            runtime,
            app,
            small,
            grpc,
            http1: reqwest::Client::builder()
                .http1_only()
                .timeout(PATIENCE)
                .build()
                .unwrap(),
            h2c: reqwest::Client::builder()
                .http2_prior_knowledge()
                .timeout(PATIENCE)
                .build()
                .unwrap(),
        }
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    world().runtime.block_on(async {
        tokio::time::timeout(PATIENCE, future)
            .await
            .expect("the gateway answered in time")
    })
}

/// What a client learns from a call: the greeting, or the error's code and
/// exact message.
type Outcome = Result<String, (Code, String)>;

/// What the spec says a request deserves (its error table, rows 1–4, then
/// the greeting rules).
fn spec(name: Option<&str>, lang: Option<&str>) -> Outcome {
    let invalid = |message: String| Err((Code::InvalidArgument, message));
    let Some(name) = name else {
        return invalid(match lang {
            None => "Missing request body".to_owned(),
            Some(_) => "Missing required field: 'name'".to_owned(),
        });
    };
    let name = name.trim();
    if name.is_empty() {
        return invalid("Field 'name' cannot be empty".to_owned());
    }
    let lang = lang.unwrap_or("en").to_lowercase();
    let salutation = match lang.as_str() {
        "en" => "Hello",
        "es" => "Hola",
        "fr" => "Bonjour",
        _ => {
            return invalid(format!(
                "Invalid or unsupported language selection: '{lang}'"
            ));
        }
    };
    Ok(format!("{salutation}, {name}!"))
}

// ---------------------------------------------------------------------------
// The three protocols.

/// A REST call: status, content type and JSON body (or the raw text).
async fn rest_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, Result<Value, String>) {
    let mut request = world().http1.post(app.url("/greet"));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.body(body).send().await.expect("REST answers");
    let status = response.status().as_u16();
    let content_type = common::header(response.headers(), "content-type").to_owned();
    let text = response.text().await.expect("the body ends");
    let json = serde_json::from_str(&text).map_err(|_| text);
    (status, content_type, json)
}

async fn rest(name: Option<&str>, lang: Option<&str>) -> Outcome {
    let mut body = serde_json::Map::new();
    if let Some(name) = name {
        body.insert("name".into(), name.into());
    }
    if let Some(lang) = lang {
        body.insert("lang".into(), lang.into());
    }
    let body = serde_json::to_vec(&body).unwrap();
    let (status, _, json) = rest_raw(&world().app, Some("application/json"), body).await;
    let json = json.expect("a JSON body");
    match status {
        200 => Ok(json["greeting"].as_str().expect("a greeting").to_owned()),
        400 => Err((
            Code::InvalidArgument,
            json["error"].as_str().expect("an error").to_owned(),
        )),
        other => panic!("REST answered {other}: {json}"),
    }
}

async fn grpc(request: GreetRequest) -> Outcome {
    match world().grpc.clone().greet(request).await {
        Ok(reply) => Ok(reply.into_inner().greeting),
        Err(status) => Err((status.code(), status.message().to_owned())),
    }
}

/// A gRPC-Web call with any body; the answer's HTTP status, gRPC status and
/// data frames.
async fn grpc_web_raw(
    app: &TestApp,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Option<tonic::Status>, Vec<Vec<u8>>) {
    let response = world()
        .http1
        .post(app.url(PATH))
        .header("content-type", content_type)
        .header("x-grpc-web", "1")
        .body(body)
        .send()
        .await
        .expect("gRPC-Web answers");
    let status = response.status().as_u16();
    // Trailers-only: the status is in the headers and the body is empty.
    let in_headers = tonic::Status::from_header_map(response.headers());
    let text_mode = common::header(response.headers(), "content-type").starts_with(GRPC_WEB_TEXT);
    let body = response.bytes().await.expect("the body ends").to_vec();
    let body = if text_mode {
        let b64 = base64::engine::general_purpose::STANDARD;
        let text = String::from_utf8(body).expect("text mode is ASCII");
        text.split_inclusive('=')
            .filter(|c| !c.trim_matches('=').is_empty())
            .flat_map(|c| b64.decode(c).expect("the server's base64 is valid"))
            .collect()
    } else {
        body
    };
    let (mut data, mut in_trailers) = (Vec::new(), None);
    let mut rest = body.as_slice();
    while rest.len() >= 5 {
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let payload = rest[5..5 + len].to_vec();
        if rest[0] & 0x80 != 0 {
            let mut trailers = http::HeaderMap::new();
            for line in String::from_utf8(payload).unwrap().split("\r\n") {
                if let Some((name, value)) = line.split_once(':') {
                    trailers.insert(
                        http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                        value.trim().parse().unwrap(),
                    );
                }
            }
            in_trailers = tonic::Status::from_header_map(&trailers);
        } else {
            data.push(payload);
        }
        rest = &rest[5 + len..];
    }
    assert!(rest.is_empty(), "a truncated response frame: {rest:?}");
    (status, in_headers.or(in_trailers), data)
}

fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

async fn grpc_web(request: &GreetRequest, text: bool) -> Outcome {
    let mut body = frame(&request.encode_to_vec());
    let content_type = if text {
        body = base64::engine::general_purpose::STANDARD
            .encode(body)
            .into_bytes();
        GRPC_WEB_TEXT
    } else {
        GRPC_WEB
    };
    let (http, status, data) = grpc_web_raw(&world().app, content_type, body).await;
    assert_eq!(http, 200);
    let status = status.expect("a grpc-status");
    if status.code() != Code::Ok {
        return Err((status.code(), status.message().to_owned()));
    }
    assert_eq!(data.len(), 1, "one response message");
    let reply = GreetResponse::decode(data[0].as_slice()).expect("a GreetResponse");
    assert!(reply.timestamp.is_some());
    Ok(reply.greeting)
}

// ---------------------------------------------------------------------------
// Generators.

/// Arbitrary Unicode, biased towards what breaks naive code: ASCII, no-break,
/// ideographic and zero-width spaces, control characters, quotes, non-BMP
/// characters.
fn unicode() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            ' ', '\t', '\n', '\r', '\u{0}', '\u{a0}', '\u{3000}', '\u{200b}', '\u{feff}', '"',
            '\\', '\'', '%', 'é', 'ß', 'İ', '😀',
        ]),
        prop::char::range('a', 'z'),
    ];
    vec(tricky, 0..12).prop_map(String::from_iter)
}

fn lang() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["en", "es", "fr", "EN", "Es", "fR", " es", "es ", ""])
            .prop_map(str::to_owned),
        unicode(),
    ]
}

/// Any JSON value, objects biased towards our field names.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        unicode().prop_map(Value::String),
    ];
    let key = prop_oneof![Just("name".to_owned()), Just("lang".to_owned()), unicode()];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key.clone(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Bytes that are sometimes JSON, often nearly JSON, sometimes noise.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..400),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        // Valid JSON, cut short or with one byte overwritten.
        (json_value(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, byte)| {
            let mut bytes = serde_json::to_vec(&v).unwrap();
            let i = at.index(bytes.len());
            if byte % 2 == 0 {
                bytes.truncate(i);
            } else {
                bytes[i] = byte;
            }
            bytes
        }),
        // Over the small app's limit.
        vec(any::<u8>(), SMALL_LIMIT..SMALL_LIMIT * 2),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("application/problem+json"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ])
}

/// A REST answer to junk: 200 with a greeting, or 400/413/415 with a JSON
/// error, always as JSON.
fn assert_rest_answer(
    status: u16,
    content_type: &str,
    json: &Result<Value, String>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(content_type, "application/json");
    let json = json
        .as_ref()
        .map_err(|text| TestCaseError::fail(format!("not JSON: {text}")))?;
    match status {
        200 => {
            let greeting = json["greeting"].as_str().unwrap_or_default();
            prop_assert!(greeting.ends_with('!'), "{}", json);
            prop_assert!(json["timestamp"].is_string(), "{}", json);
        }
        400 | 413 | 415 => {
            let object = json.as_object().expect("an object");
            prop_assert!(object["error"].is_string(), "{}", json);
            prop_assert!(!object["error"].as_str().unwrap().is_empty());
        }
        other => prop_assert!(false, "status {} for junk: {}", other, json),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_as_a_rest_body_get_a_greeting_or_a_json_error(
        body in body_bytes(),
        content_type in content_type(),
    ) {
        let len = body.len();
        let (status, answered_as, json) =
            block_on(rest_raw(&world().small, content_type, body));
        assert_rest_answer(status, &answered_as, &json)?;
        if len > SMALL_LIMIT {
            prop_assert_eq!(status, 413);
        }
    }

    #[test]
    fn any_json_value_as_a_rest_body_gets_a_greeting_or_a_json_error(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        let (status, answered_as, json) =
            block_on(rest_raw(&world().app, Some("application/json"), body));
        assert_rest_answer(status, &answered_as, &json)?;
        // Only an object holding nothing but a string `name` and a string
        // `lang` (or nulls) can be a greeting.
        if status == 200 {
            let object = value.as_object().expect("a 200 needs an object");
            for (key, field) in object {
                prop_assert!(key == "name" || key == "lang", "{}", value);
                prop_assert!(field.is_string() || field.is_null(), "{}", value);
            }
        }
    }

    #[test]
    fn rest_grpc_and_grpc_web_agree_on_any_name_and_lang(
        name in prop::option::of(unicode()),
        lang in prop::option::of(lang()),
    ) {
        let request = GreetRequest { name: name.clone(), lang: lang.clone() };
        let expected = spec(name.as_deref(), lang.as_deref());
        let (by_rest, by_grpc, by_web, by_web_text) = block_on(async {
            (
                rest(name.as_deref(), lang.as_deref()).await,
                grpc(request.clone()).await,
                grpc_web(&request, false).await,
                grpc_web(&request, true).await,
            )
        });
        prop_assert_eq!(&by_rest, &expected, "REST");
        prop_assert_eq!(&by_grpc, &expected, "gRPC");
        prop_assert_eq!(&by_web, &expected, "gRPC-Web");
        prop_assert_eq!(&by_web_text, &expected, "gRPC-Web text");
    }

    /// encode (our frame) ∘ decode (tonic-web, tonic) ∘ encode (the reply)
    /// ∘ decode (ours): the trimmed name comes back intact.
    #[test]
    fn grpc_web_frames_round_trip_any_request(
        name in unicode().prop_filter("a name with something in it", |n| !n.trim().is_empty()),
        lang in prop::sample::select(vec![None, Some("en"), Some("ES"), Some("fr")]),
        text in any::<bool>(),
    ) {
        let request = GreetRequest { name: Some(name.clone()), lang: lang.map(str::to_owned) };
        prop_assert_eq!(
            GreetRequest::decode(request.encode_to_vec().as_slice()).unwrap(),
            request.clone()
        );
        let greeting = block_on(grpc_web(&request, text)).expect("a greeting");
        let salutation = match lang.map(str::to_lowercase).as_deref() {
            Some("es") => "Hola",
            Some("fr") => "Bonjour",
            _ => "Hello",
        };
        prop_assert_eq!(greeting, format!("{salutation}, {}!", name.trim()));
    }

    /// Any bytes where a gRPC-Web body belongs: HTTP 200 and a gRPC status;
    /// INTERNAL only for the flag byte the gRPC spec assigns it to (a
    /// compressed or unknown flag).
    #[test]
    fn any_bytes_as_a_grpc_web_body_get_a_grpc_status(
        body in prop_oneof![
            vec(any::<u8>(), 0..64),
            // A frame header with any flag and length, then some bytes.
            (any::<u8>(), 0u32..300, vec(any::<u8>(), 0..64)).prop_map(|(flag, len, tail)| {
                let mut out = vec![flag];
                out.extend_from_slice(&len.to_be_bytes());
                out.extend(tail);
                out
            }),
            vec(any::<u8>(), SMALL_LIMIT..SMALL_LIMIT * 2).prop_map(|m| frame(&m)),
        ],
        text in any::<bool>(),
    ) {
        let flag = body.first().copied();
        let (content_type, body) = if text {
            let b64 = base64::engine::general_purpose::STANDARD;
            (GRPC_WEB_TEXT, b64.encode(&body).into_bytes())
        } else {
            (GRPC_WEB, body)
        };
        let (http, status, _) = block_on(grpc_web_raw(&world().small, content_type, body));
        prop_assert_eq!(http, 200);
        let status = status.expect("a grpc-status");
        assert_grpc_code(&status, flag)?;
    }

    /// Any bytes as a native gRPC body over h2c, and any bytes as gRPC-Web
    /// text (base64 or not): never a 5xx, always a gRPC status.
    #[test]
    fn any_bytes_as_a_grpc_or_grpc_web_text_body_get_a_grpc_status(
        body in vec(any::<u8>(), 0..128),
    ) {
        let flag = body.first().copied();
        let (http, status) = block_on(async {
            let response = world()
                .h2c
                .post(world().small.url(PATH))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(body.clone())
                .send()
                .await
                .expect("gRPC answers");
            let status = tonic::Status::from_header_map(response.headers());
            (response.status().as_u16(), status)
        });
        prop_assert_eq!(http, 200);
        // Junk never reaches the handler, so the answer is trailers-only.
        let status = status.expect("a trailers-only grpc-status");
        assert_grpc_code(&status, flag)?;

        let (http, status, _) =
            block_on(grpc_web_raw(&world().small, GRPC_WEB_TEXT, body));
        prop_assert_eq!(http, 200);
        let status = status.expect("a grpc-status");
        // Mostly not base64 at all: INVALID_ARGUMENT, never INTERNAL.
        if status.code() == Code::InvalidArgument
            && status.message().starts_with("Invalid base64")
        {
            return Ok(());
        }
        assert_grpc_code(&status, None)?;
    }
}

/// The codes junk may get. `flag`: the first byte of a binary body.
fn assert_grpc_code(status: &tonic::Status, flag: Option<u8>) -> Result<(), TestCaseError> {
    match status.code() {
        Code::Ok | Code::InvalidArgument | Code::ResourceExhausted => {}
        // The gRPC spec: a compressed message without grpc-encoding, or an
        // unknown flag, is a protocol error reported as INTERNAL.
        Code::Internal if status.message().starts_with("protocol error:") => {
            prop_assert!(
                flag.is_some_and(|f| f != 0) || flag.is_none(),
                "INTERNAL for a body that starts with flag 0: {:?}",
                status
            );
        }
        _ => prop_assert!(false, "unexpected status for junk: {:?}", status),
    }
    Ok(())
}
