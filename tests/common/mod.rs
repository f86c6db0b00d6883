//! Test helpers: run the real gateway (in-process on port 0, or the built
//! binary) and talk to it the way its users do.
#![allow(dead_code)]

pub mod binary;
pub mod echo;
pub mod library;
pub mod tools;

use std::net::SocketAddr;

use clap::Parser as _;
use greet_gateway::{ApiBuilder, config::Args};
use reqwest::header::HeaderMap;
use tokio::{net::TcpListener, sync::oneshot};

pub const ALLOWED_ORIGIN: &str = "http://localhost:1234";

/// A gateway running in this test's runtime on a free loopback port; it
/// stops when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The gateway with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The gateway with extra command-line flags (as a user would pass them).
pub async fn spawn_app_with(flags: &[&str]) -> TestApp {
    spawn_with_builder(flags, |b| b).await
}

/// The gateway with extra flags and extra gRPC services.
pub async fn spawn_with_builder(
    flags: &[&str],
    extend: impl FnOnce(ApiBuilder) -> ApiBuilder,
) -> TestApp {
    let argv = [
        "greet-gateway",
        "--listen",
        "127.0.0.1:0",
        "--web-listen",
        "off",
    ]
    .into_iter()
    .chain(flags.iter().copied());
    let settings = Args::try_parse_from(argv)
        .expect("test flags parse")
        .validate()
        .expect("test settings are valid");
    let api = extend(ApiBuilder::from_settings(&settings))
        .build(settings.cors.clone())
        .await
        .expect("the API builds");
    // Bind before spawning: the port is ready before the test sends anything.
    let listener = TcpListener::bind(settings.listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(greet_gateway::run(
        listener,
        api,
        settings.transport,
        async {
            let _ = stopped.await;
        },
        None,
    ));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        stop: Some(stop),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /greet` with a JSON body, as httpie and the seed's page send it.
    pub async fn post_greet(&self, json: &str) -> reqwest::Response {
        self.http
            .post(self.url("/greet"))
            .header("content-type", "application/json")
            .body(json.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// A CORS preflight as a browser sends it.
    pub async fn preflight(
        &self,
        path: &str,
        origin: Option<&str>,
        method: &str,
        headers: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(reqwest::Method::OPTIONS, self.url(path))
            .header("access-control-request-method", method);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(headers) = headers {
            request = request.header("access-control-request-headers", headers);
        }
        request.send().await.unwrap()
    }

    /// `POST /greet` with a JSON body from a browser page on `origin`.
    pub async fn post_greet_from(&self, origin: &str, json: &str) -> reqwest::Response {
        self.http
            .post(self.url("/greet"))
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(json.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// An HTTP/2 (h2c, prior knowledge) channel for any tonic client.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.base.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// A generated tonic client over h2c.
    pub async fn grpc_client(
        &self,
    ) -> greet_gateway::pb::greet::v1::greet_service_client::GreetServiceClient<
        tonic::transport::Channel,
    > {
        greet_gateway::pb::greet::v1::greet_service_client::GreetServiceClient::new(
            self.channel().await,
        )
    }
}

/// A reqwest client speaking HTTP/2 with prior knowledge (h2c).
pub fn h2_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

/// A header's value as a string, or "" when absent.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

/// The JSON body of a response.
pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
