//! The one CORS policy, as browsers exercise it: preflights granted and
//! refused, origin echo on actual requests, exposed gRPC headers, `Vary` on
//! every answer, credentials and Private Network Access behind flags.

mod common;

use common::{ALLOWED_ORIGIN, header, json, spawn_app, spawn_app_with};
use serde_json::json;

const GRPC_WEB_HEADERS: &str = "content-type,x-grpc-web,x-user-agent,grpc-timeout";

#[tokio::test]
async fn preflight_from_the_demo_origin_is_granted() {
    let app = spawn_app().await;
    for origin in [ALLOWED_ORIGIN, "http://127.0.0.1:1234"] {
        let response = app
            .preflight("/greet", Some(origin), "POST", Some("content-type"))
            .await;
        assert_eq!(response.status(), 204);
        let h = response.headers();
        assert_eq!(header(h, "access-control-allow-origin"), origin);
        // POST for /greet and gRPC(-Web), GET for /openapi.json.
        assert_eq!(header(h, "access-control-allow-methods"), "GET, POST");
        assert_eq!(
            header(h, "access-control-allow-headers"),
            "content-type, x-grpc-web, x-user-agent, grpc-timeout, authorization"
        );
        assert_eq!(header(h, "access-control-max-age"), "60");
        assert_eq!(
            header(h, "vary"),
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        );
        assert!(h.get("access-control-allow-credentials").is_none());
        assert!(response.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn grpc_web_preflight_is_granted_on_the_rpc_path() {
    let app = spawn_app().await;
    let response = app
        .preflight(
            "/greet.v1.GreetService/Greet",
            Some(ALLOWED_ORIGIN),
            "POST",
            Some(GRPC_WEB_HEADERS),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        ALLOWED_ORIGIN
    );
}

#[tokio::test]
async fn preflight_from_unknown_or_look_alike_origins_is_forbidden() {
    let app = spawn_app().await;
    for origin in [
        "https://evil.example",
        "http://localhost:12345",
        "http://localhost:1234.evil.com",
        "http://localhost:1234/",
        "HTTP://LOCALHOST:1234",
        "https://localhost:1234",
        "http://localhost:1235",
        "http://localhost",
        "null",
    ] {
        let response = app
            .preflight("/greet", Some(origin), "POST", Some("content-type"))
            .await;
        assert_eq!(response.status(), 403, "{origin}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
        assert_eq!(
            header(response.headers(), "vary"),
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        );
        assert_eq!(
            json(response).await,
            json!({"error": format!("CORS preflight refused: origin '{origin}' is not allowed")})
        );
    }
}

#[tokio::test]
async fn preflight_without_origin_is_forbidden() {
    let app = spawn_app().await;
    let response = app.preflight("/greet", None, "POST", None).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        json(response).await,
        json!({"error": "CORS preflight refused: no Origin header"})
    );
}

#[tokio::test]
async fn preflight_for_an_unused_method_or_unknown_header_is_forbidden() {
    let app = spawn_app().await;
    let response = app
        .preflight("/greet", Some(ALLOWED_ORIGIN), "DELETE", None)
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        json(response).await,
        json!({"error": "CORS preflight refused: method 'DELETE' is not allowed"})
    );
    let response = app
        .preflight(
            "/greet",
            Some(ALLOWED_ORIGIN),
            "POST",
            Some("content-type, x-evil"),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(
        json(response).await,
        json!({"error": "CORS preflight refused: header 'x-evil' is not allowed"})
    );
}

#[tokio::test]
async fn actual_request_from_an_allowed_origin_echoes_it_and_exposes_grpc_headers() {
    let app = spawn_app().await;
    let response = app
        .post_greet_from(ALLOWED_ORIGIN, r#"{"name":"Alice"}"#)
        .await;
    assert_eq!(response.status(), 200);
    let h = response.headers();
    assert_eq!(header(h, "access-control-allow-origin"), ALLOWED_ORIGIN);
    assert_eq!(
        header(h, "access-control-expose-headers"),
        "grpc-status, grpc-message, grpc-status-details-bin"
    );
    assert_eq!(header(h, "vary"), "Origin");
    assert!(h.get("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn actual_request_from_another_origin_is_processed_without_cors_headers() {
    let app = spawn_app().await;
    let response = app
        .post_greet_from("https://evil.example", r#"{"name":"Alice"}"#)
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        response
            .headers()
            .get("access-control-expose-headers")
            .is_none()
    );
    assert_eq!(header(response.headers(), "vary"), "Origin");
}

#[tokio::test]
async fn errors_404s_and_413s_carry_vary_and_cors_headers_too() {
    let app = spawn_app_with(&["--max-body-bytes", "10"]).await;
    let with_origin = |path: &str, body: &'static str| {
        app.http
            .post(app.url(path))
            .header("origin", ALLOWED_ORIGIN)
            .header("content-type", "application/json")
            .body(body)
    };
    for (path, body, status) in [
        ("/greet", "{}", 400),
        ("/missing", "{}", 404),
        ("/greet", r#"{"name":"far too long"}"#, 413),
    ] {
        let response = with_origin(path, body).send().await.unwrap();
        assert_eq!(response.status(), status, "{path} {body}");
        assert_eq!(header(response.headers(), "vary"), "Origin");
        assert_eq!(
            header(response.headers(), "access-control-allow-origin"),
            ALLOWED_ORIGIN
        );
    }
}

#[tokio::test]
async fn credentials_mode_echoes_the_exact_origin_never_a_wildcard() {
    let app = spawn_app_with(&[
        "--allow-credentials",
        "--allow-origin",
        "https://app.example",
    ])
    .await;
    let response = app
        .preflight(
            "/greet",
            Some("https://app.example"),
            "POST",
            Some("content-type"),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        "https://app.example"
    );
    assert_eq!(
        header(response.headers(), "access-control-allow-credentials"),
        "true"
    );
    let response = app
        .post_greet_from("https://app.example", r#"{"name":"Alice"}"#)
        .await;
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        "https://app.example"
    );
    assert_eq!(
        header(response.headers(), "access-control-allow-credentials"),
        "true"
    );
    // The defaults are replaced by the flag, not added to.
    let response = app
        .preflight("/greet", Some(ALLOWED_ORIGIN), "POST", None)
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn max_age_comes_from_the_flag() {
    let app = spawn_app_with(&["--cors-max-age", "600"]).await;
    let response = app
        .preflight("/greet", Some(ALLOWED_ORIGIN), "POST", None)
        .await;
    assert_eq!(header(response.headers(), "access-control-max-age"), "600");
}

#[tokio::test]
async fn wildcard_allows_any_origin_with_a_star() {
    let app = spawn_app_with(&["--allow-origin", "*"]).await;
    let response = app
        .preflight("/greet", Some("https://any.example"), "POST", None)
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(response.headers(), "access-control-allow-origin"),
        "*"
    );
    let response = app.preflight("/greet", Some("null"), "POST", None).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn private_network_access_is_granted_only_behind_the_flag() {
    let pna = |app: &common::TestApp, origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/greet"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-private-network", "true")
            .send()
    };
    let off = spawn_app().await;
    let response = pna(&off, ALLOWED_ORIGIN).await.unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        response
            .headers()
            .get("access-control-allow-private-network")
            .is_none()
    );

    let on = spawn_app_with(&["--allow-private-network"]).await;
    let response = pna(&on, ALLOWED_ORIGIN).await.unwrap();
    assert_eq!(
        header(response.headers(), "access-control-allow-private-network"),
        "true"
    );
    let response = pna(&on, "https://evil.example").await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .headers()
            .get("access-control-allow-private-network")
            .is_none()
    );
}

#[tokio::test]
async fn plain_options_without_request_method_is_not_a_preflight() {
    let app = spawn_app().await;
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/greet"))
        .header("origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(header(response.headers(), "allow"), "POST");
}
