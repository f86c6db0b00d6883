//! HTTPS on the same port: a certificate made at test time (rcgen), REST over
//! HTTP/1.1 and HTTP/2 picked by ALPN, and a tonic client over TLS.

mod common;

use common::{json, spawn_app_with};
use greet_gateway::pb::greet::v1::{GreetRequest, greet_service_client::GreetServiceClient};

struct Certificate {
    _dir: tempfile::TempDir,
    cert_path: String,
    key_path: String,
    pem: String,
}

fn self_signed() -> Certificate {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    Certificate {
        cert_path: cert_path.to_str().unwrap().to_owned(),
        key_path: key_path.to_str().unwrap().to_owned(),
        pem: cert.pem(),
        _dir: dir,
    }
}

fn https_client(cert: &Certificate, http2: bool) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(cert.pem.as_bytes()).unwrap();
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(root)
        .resolve("localhost", "127.0.0.1:0".parse().unwrap());
    // `resolve` with port 0 keeps the URL's port.
    let builder = if http2 { builder } else { builder.http1_only() };
    builder.build().unwrap()
}

#[tokio::test]
async fn rest_over_https_with_alpn_h2_and_http1() {
    let cert = self_signed();
    let app = spawn_app_with(&["--tls-cert", &cert.cert_path, "--tls-key", &cert.key_path]).await;
    let url = format!("https://localhost:{}/greet", app.addr.port());
    for (http2, version) in [
        (true, reqwest::Version::HTTP_2),
        (false, reqwest::Version::HTTP_11),
    ] {
        let response = https_client(&cert, http2)
            .post(&url)
            .header("content-type", "application/json")
            .body(r#"{"name":"Alice","lang":"es"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), version);
        assert_eq!(response.status(), 200);
        assert_eq!(json(response).await["greeting"], "Hola, Alice!");
    }
}

#[tokio::test]
async fn tonic_client_over_tls() {
    let cert = self_signed();
    let app = spawn_app_with(&["--tls-cert", &cert.cert_path, "--tls-key", &cert.key_path]).await;
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&cert.pem))
        .domain_name("localhost");
    let channel =
        tonic::transport::Endpoint::from_shared(format!("https://127.0.0.1:{}", app.addr.port()))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap();
    let reply = GreetServiceClient::new(channel)
        .greet(GreetRequest {
            name: Some("Alice".into()),
            lang: Some("fr".into()),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().greeting, "Bonjour, Alice!");
}

#[tokio::test]
async fn plain_http_to_a_tls_port_fails_cleanly_and_the_port_keeps_serving() {
    let cert = self_signed();
    let app = spawn_app_with(&["--tls-cert", &cert.cert_path, "--tls-key", &cert.key_path]).await;
    let plain = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/greet", app.addr.port()))
        .body("{}")
        .send()
        .await;
    assert!(plain.is_err(), "plaintext must not be served on a TLS port");
    let response = https_client(&cert, true)
        .post(format!("https://localhost:{}/greet", app.addr.port()))
        .header("content-type", "application/json")
        .body(r#"{"name":"Bob"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn unreadable_or_mismatched_tls_files_refuse_to_start() {
    let cert = self_signed();
    let other = self_signed();
    for (flags, reason) in [
        (
            vec![
                "--tls-cert",
                "/nonexistent.pem",
                "--tls-key",
                &cert.key_path,
            ],
            "cannot read certificate /nonexistent.pem",
        ),
        (
            vec!["--tls-cert", &cert.cert_path, "--tls-key", &other.key_path],
            "certificate and key do not fit together",
        ),
    ] {
        let stderr = common::binary::refused_start(&flags, &[]);
        assert!(stderr.contains(reason), "{flags:?}: {stderr}");
    }
}

#[test]
fn the_binary_announces_an_https_address() {
    let cert = self_signed();
    let gateway = common::binary::Gateway::start(&[
        "--tls-cert",
        &cert.cert_path,
        "--tls-key",
        &cert.key_path,
        "--web-listen",
        "off",
    ]);
    let lines = gateway.log_lines_with(&["API (REST, gRPC-Web, gRPC) on https://127.0.0.1:"]);
    assert_eq!(lines.len(), 1, "{:?}", gateway.log_lines_with(&[]));
}
