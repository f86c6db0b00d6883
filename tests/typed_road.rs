//! REST has two roads to the Greet RPC (`src/transcode/typed.rs`): the typed
//! one it is served on, and the dynamic one every annotated RPC can take.
//! A client must not be able to tell which one answered.
//!
//! - the same bodies sent to a gateway as served and to one forced onto the
//!   dynamic road give the same status, headers that matter, and body (the
//!   timestamp aside, which differs by the clock);
//! - for any JSON text, whatever the typed parser accepts the dynamic parser
//!   accepts as the same message: the typed road answers only then, and
//!   hands everything else to the dynamic road.

mod common;

use std::sync::OnceLock;

use common::{TestApp, header, spawn_app, spawn_with_builder};
use greet_gateway::{
    pb::{self, greet::v1::GreetRequest},
    transcode::{
        json,
        rules::{self, Binding},
    },
};
use http::Method;
use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::DescriptorPool;
use serde_json::Value;

/// Bodies covering success, the four validation errors, malformed and
/// wrongly typed JSON, and the parser's corners.
const BODIES: &[&str] = &[
    r#"{"name":"Alice"}"#,
    r#"{"name":"  Alice  ","lang":"ES"}"#,
    r#"{"lang":"fr","name":"Zoë"}"#,
    r#"{"name":"\u00e9\ud83d\ude00","lang":"en"}"#,
    r#" {"name" : "Bob" } "#,
    r#"{"name":"Bob","lang":null}"#,
    r#"{"name":null,"lang":"es"}"#,
    r#"{"name":null}"#,
    "",
    "   ",
    "{}",
    r#"{"name":""}"#,
    r#"{"name":"   "}"#,
    r#"{"name":"Alice","lang":"de"}"#,
    r#"{"name":"Alice","lang":""}"#,
    r#"{"name":"Alice","extra":1}"#,
    r#"{"name":"Alice","name":"Bob"}"#,
    r#"{"name":null,"name":"Bob"}"#,
    r#"{"name":"Bob","name":null}"#,
    r#"{"name":42}"#,
    r#"{"name":["Alice"]}"#,
    r#"{"name":{"first":"Alice"}}"#,
    r#"{"name":true}"#,
    r#"["Alice"]"#,
    r#""Alice""#,
    "null",
    "42",
    r#"{"name":"Alice"} trailing"#,
    r#"{"name":"Alice""#,
    r#"{"name":"Alice",}"#,
    r#"{"name":"\ud800"}"#,
    r#"{"Name":"Alice"}"#,
];

#[tokio::test]
async fn both_roads_answer_every_body_alike() {
    let typed = spawn_app().await;
    let dynamic = spawn_with_builder(&[], |b| b.dynamic_rest_only()).await;
    for body in BODIES {
        let (typed_answer, dynamic_answer) =
            (answer(&typed, body).await, answer(&dynamic, body).await);
        assert_eq!(typed_answer, dynamic_answer, "body {body:?}");
    }
}

#[tokio::test]
async fn the_typed_road_writes_the_spec_timestamp() {
    let app = spawn_app().await;
    let response = app.post_greet(r#"{"name":"Alice","lang":"es"}"#).await;
    assert_eq!(response.status(), 200);
    let body = common::json(response).await;
    assert_eq!(body["greeting"], "Hola, Alice!");
    let at = body["timestamp"].as_str().expect("a timestamp string");
    // 2025-10-22T13:05:27.121465Z: UTC, 0/3/6/9 fraction digits, `Z`.
    let (date_time, fraction) = at
        .strip_suffix('Z')
        .expect("ends in Z")
        .split_once('.')
        .unwrap_or((at.trim_end_matches('Z'), ""));
    assert_eq!(date_time.len(), 19, "{at}");
    assert!([0, 3, 6, 9].contains(&fraction.len()), "{at}");
    assert!(fraction.bytes().all(|b| b.is_ascii_digit()), "{at}");
}

/// Status, content type, `Vary`, and the body with its timestamp checked and
/// set aside.
async fn answer(app: &TestApp, body: &str) -> (u16, String, String, Value) {
    let response = app.post_greet(body).await;
    let status = response.status().as_u16();
    let content_type = header(response.headers(), "content-type").to_owned();
    let vary = header(response.headers(), "vary").to_owned();
    let mut json = common::json(response).await;
    if let Some(object) = json.as_object_mut()
        && let Some(at) = object.remove("timestamp")
    {
        assert!(at.as_str().is_some_and(|t| t.ends_with('Z')), "{at}");
    }
    (status, content_type, vary, json)
}

/// The `POST /greet` binding, as the transcoder reads it.
fn greet_binding() -> &'static Binding {
    static BINDING: OnceLock<Binding> = OnceLock::new();
    BINDING.get_or_init(|| {
        let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptors decode");
        rules::bindings(&pool)
            .expect("annotations are valid")
            .into_iter()
            .find(|b| b.method == Method::POST && b.template.matches("/greet").is_some())
            .expect("Greet is bound to POST /greet")
    })
}

/// JSON-ish text: objects whose keys are real, near-miss and unknown field
/// names and whose values are of every JSON type, plus raw junk.
fn json_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("name".to_owned()),
        Just("lang".to_owned()),
        Just("Name".to_owned()),
        Just("na\\u006de".to_owned()),
        "[a-z]{0,5}",
    ];
    let value = prop_oneof![
        "\"[a-zA-Z é\\\\\"]{0,6}\"",
        Just("null".to_owned()),
        Just("true".to_owned()),
        "-?[0-9]{1,3}(\\.[0-9])?",
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("[\"x\"]".to_owned()),
    ];
    let object = proptest::collection::vec((key, value), 0..4).prop_map(|members| {
        let members: Vec<String> = members
            .into_iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", members.join(","))
    });
    prop_oneof![8 => object, 1 => "[ -~]{0,12}"]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn what_the_typed_parser_accepts_the_dynamic_one_accepts_alike(text in json_text()) {
        if let Ok(typed) = serde_json::from_str::<GreetRequest>(&text) {
            let binding = greet_binding();
            let bound = binding.template.matches("/greet").expect("matches");
            let dynamic = json::request_message(binding, bound, None, text.as_bytes());
            let dynamic = dynamic.unwrap_or_else(|e| {
                panic!("typed accepted {text:?} as {typed:?}, dynamic refused: {e}")
            });
            prop_assert_eq!(dynamic.encode_to_vec(), typed.encode_to_vec(), "{}", text);
        }
    }
}
