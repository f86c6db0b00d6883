//! The one CORS policy, as browsers exercise it: preflights granted and
//! refused, origin echo on actual requests, exposed gRPC headers, `Vary` on
//! errors, 404s and 413s too, credentials and Private Network Access behind
//! flags, header lists the operator extends, and allowlist entries that no
//! browser could match rewritten or refused at start-up.

mod common;

use common::{
    ALLOWED_ORIGIN, TestApp,
    binary::{Gateway, refused_start},
    header, json, spawn_app, spawn_app_with,
};
use serde_json::json;

const GRPC_WEB_HEADERS: &str = "content-type,x-grpc-web,x-user-agent,grpc-timeout";

/// `Access-Control-Allow-Headers` with no `--allow-header`: what connect-web
/// and grpc-web send, plus `authorization` and the tracing headers.
const DEFAULT_ALLOW_HEADERS: &str = "content-type, connect-protocol-version, connect-timeout-ms, x-grpc-web, x-user-agent, grpc-timeout, authorization, x-request-id, traceparent";

/// `Access-Control-Expose-Headers` with no `--expose-header`.
const DEFAULT_EXPOSE_HEADERS: &str =
    "grpc-status, grpc-message, grpc-status-details-bin, x-request-id";

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
            DEFAULT_ALLOW_HEADERS
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
        DEFAULT_EXPOSE_HEADERS
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

/// A preflight for `POST /greet` from `origin`: the status, and the
/// `Access-Control-Allow-Origin` granted ("" when none).
async fn preflight_from(app: &TestApp, origin: &str) -> (u16, String) {
    let response = app.preflight("/greet", Some(origin), "POST", None).await;
    let granted = header(response.headers(), "access-control-allow-origin").to_owned();
    (response.status().as_u16(), granted)
}

#[tokio::test]
async fn wildcard_allows_any_origin_with_a_star() {
    let app = spawn_app_with(&["--allow-origin", "*"]).await;
    assert_eq!(
        preflight_from(&app, "https://any.example").await,
        (204, "*".to_owned())
    );
    assert_eq!(preflight_from(&app, "null").await, (403, String::new()));
}

#[tokio::test]
async fn private_network_access_is_granted_only_behind_the_flag() {
    let pna = |app: &TestApp, origin: &'static str| {
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

#[tokio::test]
async fn an_allowlist_entry_in_capitals_admits_the_origin_browsers_send() {
    let app = spawn_app_with(&["--allow-origin", "HTTP://LOCALHOST:1234"]).await;
    assert_eq!(
        preflight_from(&app, "http://localhost:1234").await,
        (204, "http://localhost:1234".to_owned())
    );
}

#[test]
fn the_gateway_logs_what_an_allowlist_entry_was_rewritten_to() {
    let gateway = Gateway::start(&[
        "--web-listen",
        "off",
        "--allow-origin",
        "HTTP://LOCALHOST:1234",
        "--allow-origin",
        "https://example.com:443",
    ]);
    for (written, matched) in [
        ("HTTP://LOCALHOST:1234", "http://localhost:1234"),
        ("https://example.com:443", "https://example.com"),
    ] {
        let line = format!(
            "allowed origin '{written}' is matched as '{matched}', the way browsers send it"
        );
        assert_eq!(gateway.log_lines_with(&[&line]).len(), 1, "{line}");
    }
}

#[test]
fn an_allowlist_entry_no_browser_can_send_stops_start_up() {
    let stderr = refused_start(&["--allow-origin", "http://user@localhost:1234"], &[]);
    assert!(
        stderr.contains(
            "'http://user@localhost:1234' is not an origin: it has user info before an '@', which an origin never carries"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_custom_request_header_needs_allow_header() {
    let default = spawn_app().await;
    let response = default
        .preflight("/greet", Some(ALLOWED_ORIGIN), "POST", Some("x-api-key"))
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        json(response).await,
        json!({"error": "CORS preflight refused: header 'x-api-key' is not allowed"})
    );

    let extended = spawn_app_with(&["--allow-header", "x-api-key"]).await;
    let response = extended
        .preflight(
            "/greet",
            Some(ALLOWED_ORIGIN),
            "POST",
            Some("content-type,x-api-key"),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(response.headers(), "access-control-allow-headers"),
        format!("{DEFAULT_ALLOW_HEADERS}, x-api-key")
    );
}

#[tokio::test]
async fn connect_web_headers_are_allowed_by_default() {
    let app = spawn_app().await;
    let response = app
        .preflight(
            "/greet.v1.GreetService/Greet",
            Some(ALLOWED_ORIGIN),
            "POST",
            Some(
                "connect-protocol-version,connect-timeout-ms,content-type,traceparent,x-request-id",
            ),
        )
        .await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn an_exposed_custom_header_is_listed_on_actual_responses() {
    let app = spawn_app_with(&[
        "--expose-header",
        "x-ratelimit-remaining",
        "--expose-header",
        "Grpc-Status",
    ])
    .await;
    let response = app
        .post_greet_from(ALLOWED_ORIGIN, r#"{"name":"Alice"}"#)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "access-control-expose-headers"),
        format!("{DEFAULT_EXPOSE_HEADERS}, x-ratelimit-remaining")
    );
}

#[test]
fn a_bad_or_forbidden_header_name_stops_start_up_naming_flag_and_header() {
    for (flags, env, reason) in [
        (
            &["--allow-header", "x api"][..],
            &[][..],
            "--allow-header 'x api': not a header name",
        ),
        (
            &["--allow-header", "Cookie"][..],
            &[][..],
            "--allow-header 'Cookie': browsers never let page code set this header",
        ),
        (
            &["--allow-header", "sec-fetch-site"][..],
            &[][..],
            "--allow-header 'sec-fetch-site': browsers never let page code set this header",
        ),
        (
            &["--expose-header", "set-cookie"][..],
            &[][..],
            "--expose-header 'set-cookie': browsers never let page code read this header",
        ),
        (
            &[][..],
            &[("GREET_ALLOW_HEADERS", "x-api-key,host")][..],
            "--allow-header 'host': browsers never let page code set this header",
        ),
        (
            &[][..],
            &[("GREET_EXPOSE_HEADERS", "x-a,set-cookie")][..],
            "--expose-header 'set-cookie': browsers never let page code read this header",
        ),
    ] {
        let stderr = refused_start(flags, env);
        assert!(stderr.contains(reason), "{flags:?} {env:?}: {stderr}");
    }
}
