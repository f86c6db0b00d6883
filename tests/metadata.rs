//! Headers to and from a service (tests/proto/echo/v1/echo.proto, whose
//! RPC echoes the metadata it received): REST forwards grpc-gateway's
//! defaults on both roads and returns the service's metadata as
//! `grpc-metadata-*`; gRPC and gRPC-Web pass headers natively, with the
//! request id checked.

mod common;

use common::{
    TestApp,
    echo::{
        Road,
        pb::{EchoReply, EchoRequest, echo_service_client::EchoServiceClient},
        spawn_echo,
    },
    header,
};
use prost::Message as _;
use tonic::Request;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A REST call with every kind of header: forwarded, prefixed, reserved
/// under the prefix, hop-by-hop and content-*.
async fn post_echo(app: &TestApp, request_id: &[u8], body: &str) -> reqwest::Response {
    app.http
        .post(app.url("/v1/echo"))
        .header("content-type", "application/json")
        .header("content-language", "en")
        .header("authorization", "Bearer abc")
        .header("x-request-id", request_id)
        .header("traceparent", TRACEPARENT)
        .header("grpc-metadata-tenant", "acme")
        .header("grpc-metadata-content-language", "fr")
        .header("grpc-metadata-connection", "close")
        .header("grpc-metadata-keep-alive", "1")
        .header("grpc-metadata-upgrade", "h2c")
        .header("grpc-metadata-proxy-authorization", "p")
        .header("grpc-metadata-grpc-timeout", "1S")
        .header("keep-alive", "timeout=5")
        .header("x-not-forwarded", "no")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

fn forwarded(request_id: &str) -> serde_json::Value {
    serde_json::json!({"metadata": [
        "authorization: Bearer abc",
        "tenant: acme",
        format!("traceparent: {TRACEPARENT}"),
        format!("x-request-id: {request_id}"),
    ]})
}

#[tokio::test]
async fn rest_forwards_the_default_headers_on_both_roads_and_returns_the_services() {
    for road in [Road::Typed, Road::Dynamic] {
        let app = spawn_echo(road).await;
        let response = post_echo(&app, b"req-1", "{}").await;
        assert_eq!(response.status(), 200, "{road:?}");
        let headers = response.headers().clone();
        assert_eq!(header(&headers, "x-request-id"), "req-1", "{road:?}");
        assert_eq!(header(&headers, "grpc-metadata-x-echo-header"), "seen");
        let mut prefixed: Vec<_> = headers
            .keys()
            .map(|n| n.as_str())
            .filter(|n| n.starts_with("grpc-"))
            .collect();
        prefixed.sort();
        assert_eq!(prefixed, ["grpc-metadata-x-echo-header"], "{road:?}");
        assert_eq!(common::json(response).await, forwarded("req-1"), "{road:?}");
    }
}

#[tokio::test]
async fn a_rest_error_carries_the_services_trailers_on_both_roads() {
    for road in [Road::Typed, Road::Dynamic] {
        let app = spawn_echo(road).await;
        let response = post_echo(&app, b"req-2", r#"{"fail":true}"#).await;
        assert_eq!(response.status(), 403, "{road:?}");
        let headers = response.headers().clone();
        assert_eq!(
            header(&headers, "grpc-metadata-x-echo-trailer"),
            "denied-here",
            "{road:?}"
        );
        assert_eq!(
            header(&headers, "grpc-metadata-grpc-status"),
            "",
            "{road:?}"
        );
        assert_eq!(
            header(&headers, "grpc-metadata-grpc-message"),
            "",
            "{road:?}"
        );
        assert_eq!(
            common::json(response).await,
            serde_json::json!({"error": "not you"}),
            "{road:?}"
        );
    }
}

#[tokio::test]
async fn rest_replaces_a_bad_request_id_and_never_forwards_it() {
    for road in [Road::Typed, Road::Dynamic] {
        let app = spawn_echo(road).await;
        let response = post_echo(&app, b"bad id", "{}").await;
        assert_eq!(response.status(), 200, "{road:?}");
        let id = header(response.headers(), "x-request-id").to_owned();
        assert_eq!(id.len(), 33, "{road:?}: {id}");
        assert_eq!(common::json(response).await, forwarded(&id), "{road:?}");
    }
}

#[tokio::test]
async fn grpc_passes_headers_natively_with_the_request_id_checked() {
    let app = spawn_echo(Road::Typed).await;
    let mut client = EchoServiceClient::new(app.channel().await);
    for (sent, kept) in [("req-3", true), ("bad\"id", false)] {
        let mut request = Request::new(EchoRequest { fail: false });
        let metadata = request.metadata_mut();
        metadata.insert("authorization", "Bearer abc".parse().unwrap());
        metadata.insert("x-request-id", sent.parse().unwrap());
        metadata.insert("traceparent", TRACEPARENT.parse().unwrap());
        metadata.insert("tenant", "acme".parse().unwrap());
        let response = client.echo(request).await.unwrap();
        let id = response
            .metadata()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if kept {
            assert_eq!(id, sent);
        } else {
            assert_eq!(id.len(), 33, "{id}");
        }
        assert_eq!(response.metadata().get("x-echo-header").unwrap(), "seen");
        assert_eq!(
            response.into_inner().metadata,
            [
                "authorization: Bearer abc".to_owned(),
                "tenant: acme".to_owned(),
                format!("traceparent: {TRACEPARENT}"),
                format!("x-request-id: {id}"),
            ]
        );
    }
}

#[tokio::test]
async fn grpc_web_passes_headers_natively_with_the_request_id_checked() {
    let app = spawn_echo(Road::Typed).await;
    let message = EchoRequest { fail: false }.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    for (sent, kept) in [("req-4", true), ("bad\\id", false)] {
        let response = app
            .http
            .post(app.url("/echo.v1.EchoService/Echo"))
            .header("content-type", "application/grpc-web+proto")
            .header("accept", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .header("authorization", "Bearer abc")
            .header("x-request-id", sent)
            .header("traceparent", TRACEPARENT)
            .header("tenant", "acme")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let id = header(response.headers(), "x-request-id").to_owned();
        if kept {
            assert_eq!(id, sent);
        } else {
            assert_eq!(id.len(), 33, "{id}");
        }
        assert_eq!(header(response.headers(), "x-echo-header"), "seen");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(bytes[0], 0, "a data frame first");
        let len = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
        let reply = EchoReply::decode(&bytes[5..5 + len]).unwrap();
        let mut seen: Vec<_> = reply
            .metadata
            .into_iter()
            .filter(|m| !m.starts_with("x-grpc-web") && !m.starts_with("accept"))
            .collect();
        seen.retain(|m| !m.starts_with("host") && !m.starts_with("content-length"));
        assert_eq!(
            seen,
            [
                "authorization: Bearer abc".to_owned(),
                "tenant: acme".to_owned(),
                format!("traceparent: {TRACEPARENT}"),
                format!("x-request-id: {id}"),
            ]
        );
    }
}
