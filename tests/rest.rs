//! REST/JSON as httpie, curl and the seed's page use it: every row of the
//! spec's error table, with exact statuses, headers and bodies.

mod common;

use std::str::FromStr as _;

use common::{header, json, spawn_app};
use serde_json::json;

#[tokio::test]
async fn greeting_in_spanish_has_an_rfc3339_utc_timestamp() {
    let app = spawn_app().await;
    let response = app.post_greet(r#"{"name": "Alice", "lang": "es"}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        "application/json"
    );
    let body = json(response).await;
    assert_eq!(body["greeting"], "Hola, Alice!");
    let ts = body["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && !ts.contains("+00:00"), "{ts}");
    let stamp = prost_types::Timestamp::from_str(ts).unwrap_or_else(|e| panic!("{ts}: {e}"));
    let made = std::time::SystemTime::try_from(stamp).unwrap();
    let age = std::time::SystemTime::now().duration_since(made).unwrap();
    assert!(age.as_secs() < 60, "{ts} is not now");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
}

#[tokio::test]
async fn each_language_and_the_default() {
    let app = spawn_app().await;
    for (body, greeting) in [
        (r#"{"name":"Alice"}"#, "Hello, Alice!"),
        (r#"{"name":"Alice","lang":"en"}"#, "Hello, Alice!"),
        (r#"{"name":"Alice","lang":"FR"}"#, "Bonjour, Alice!"),
        (r#"{"name":"  Bob  ","lang":"Es"}"#, "Hola, Bob!"),
    ] {
        let body = json(app.post_greet(body).await).await;
        assert_eq!(body["greeting"], greeting);
    }
}

#[tokio::test]
async fn spec_error_rows_one_to_four_have_exact_bodies() {
    let app = spawn_app().await;
    for (body, message) in [
        ("", "Missing request body"),
        ("{}", "Missing request body"),
        (r#"{"name": null}"#, "Missing request body"),
        (r#"{"lang":"fr"}"#, "Missing required field: 'name'"),
        (r#"{"name":""}"#, "Field 'name' cannot be empty"),
        (
            r#"{"name":"   ","lang":"xx"}"#,
            "Field 'name' cannot be empty",
        ),
        (
            r#"{"name":"Alice","lang":"FOO"}"#,
            "Invalid or unsupported language selection: 'foo'",
        ),
        (
            r#"{"name":"Alice","lang":""}"#,
            "Invalid or unsupported language selection: ''",
        ),
    ] {
        let response = app.post_greet(body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            header(response.headers(), "content-type"),
            "application/json"
        );
        assert_eq!(json(response).await, json!({ "error": message }), "{body}");
    }
}

#[tokio::test]
async fn no_body_at_all_is_a_missing_body() {
    let app = spawn_app().await;
    let response = app.http.post(app.url("/greet")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await,
        json!({"error": "Missing request body"})
    );
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let app = spawn_app_with_limit(64).await;
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(100));
    let response = app.post_greet(&big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(header(response.headers(), "vary"), "Origin");
    assert_eq!(json(response).await, json!({"error": "Payload too large"}));
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let app = spawn_app_with_limit(64).await;
    let mut pieces = vec!["{\"name\":\""];
    pieces.extend(std::iter::repeat_n("aaaaaaaaaa", 20));
    pieces.push("\"}");
    let chunks = pieces.into_iter().map(Ok::<_, std::io::Error>);
    let response = app
        .http
        .post(app.url("/greet"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(json(response).await, json!({"error": "Payload too large"}));
}

#[tokio::test]
async fn body_exactly_at_the_limit_is_accepted() {
    let body = r#"{"name":"Alice"}"#;
    let app = spawn_app_with_limit(body.len()).await;
    assert_eq!(app.post_greet(body).await.status(), 200);
    let one_more = r#"{"name":"Alice" }"#;
    assert_eq!(app.post_greet(one_more).await.status(), 413);
}

async fn spawn_app_with_limit(bytes: usize) -> common::TestApp {
    common::spawn_app_with(&["--max-body-bytes", &bytes.to_string()]).await
}

#[tokio::test]
async fn malformed_json_says_what_and_where() {
    let app = spawn_app().await;
    for (body, expected) in [
        (
            r#"{"name": "Alice""#,
            "Invalid JSON body: EOF while parsing an object at line 1 column 16",
        ),
        (
            r#"{"name": 5}"#,
            "Invalid JSON body: invalid type: integer `5`, expected a string at line 1 column 10",
        ),
        (
            r#"["Alice"]"#,
            "Invalid JSON body: invalid type: sequence, expected a map at line 1 column 0",
        ),
        (
            r#"{"name":"Alice"} trailing"#,
            "Invalid JSON body: trailing characters at line 1 column 18",
        ),
        (
            r#"{"nmae":"Alice"}"#,
            "Invalid JSON body: unrecognized field name 'nmae' at line 1 column 7",
        ),
    ] {
        let response = app.post_greet(body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(json(response).await, json!({ "error": expected }), "{body}");
    }
}

#[tokio::test]
async fn deeply_nested_json_is_refused_not_a_crash() {
    let app = spawn_app().await;
    let deep = format!(r#"{{"name":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let response = app.post_greet(&deep).await;
    assert_eq!(response.status(), 400);
    let body = json(response).await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON body: "),
        "{body}"
    );
    assert_eq!(app.post_greet(r#"{"name":"Alice"}"#).await.status(), 200);
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/greet"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(
        json(response).await,
        json!({"error": "Unsupported content type 'application/x-www-form-urlencoded': send the body as application/json"})
    );
}

#[tokio::test]
async fn json_with_charset_is_json() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/greet"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"name":"Alice"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let response = app.http.post(app.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(header(response.headers(), "vary"), "Origin");
    assert_eq!(
        json(response).await,
        json!({"error": "No route for POST /nope"})
    );

    let response = app.http.get(app.url("/greet")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(header(response.headers(), "allow"), "POST");
    assert_eq!(
        json(response).await,
        json!({"error": "Method GET is not allowed on /greet; use POST"})
    );
}

#[tokio::test]
async fn rest_works_over_http2_prior_knowledge_too() {
    let app = spawn_app().await;
    let client = common::h2_client();
    let response = client
        .post(app.url("/greet"))
        .header("content-type", "application/json")
        .body(r#"{"name":"Alice","lang":"fr"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(json(response).await["greeting"], "Bonjour, Alice!");
}

#[tokio::test]
async fn native_grpc_content_type_over_http1_gets_a_clear_400() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/greet.v1.GreetService/Greet"))
        .header("content-type", "application/grpc")
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await,
        json!({"error": "Native gRPC needs HTTP/2; over HTTP/1.1 use gRPC-Web (application/grpc-web+proto)"})
    );
}
