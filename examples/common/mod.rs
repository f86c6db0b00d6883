//! What the load clients `soak` and `scaleout_load` share: one Greet call
//! per protocol over a connection the caller keeps, its answer checked
//! exactly (status, greeting, and for gRPC-Web the trailer frame).

// Each example compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use greet_gateway::pb::greet::v1::{
    GreetRequest, GreetResponse, greet_service_client::GreetServiceClient,
};
use http::HeaderValue;
use prost::Message as _;
use tonic::transport::Channel;

const PATH: &str = "/greet.v1.GreetService/Greet";
/// How long one request may take before it counts as failed.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// The response header a load balancer names the server that answered in
/// (HAProxy: `http-response set-header x-served-by %s`).
pub const SERVED_BY: &str = "x-served-by";

#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    Rest,
    GrpcWeb,
    Grpc,
}

/// Every protocol, in the order connections are given them (`i % 3`).
pub const PROTOCOLS: [Protocol; 3] = [Protocol::Rest, Protocol::GrpcWeb, Protocol::Grpc];

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Rest => "rest",
            Protocol::GrpcWeb => "grpc_web",
            Protocol::Grpc => "grpc",
        }
    }
}

/// One connection's request, ready in each protocol's encoding, and the
/// greeting it must get back.
pub struct Call {
    request: GreetRequest,
    expected: String,
    rest_body: String,
    frame: Vec<u8>,
}

impl Call {
    /// Greets `name` in Spanish.
    pub fn new(name: String) -> Self {
        let expected = format!("Hola, {name}!");
        let request = GreetRequest {
            name: Some(name),
            lang: Some("es".to_owned()),
        };
        let rest_body = serde_json::json!({"name": request.name, "lang": request.lang}).to_string();
        let mut frame = vec![0];
        frame.extend_from_slice(&(request.encoded_len() as u32).to_be_bytes());
        request.encode(&mut frame).expect("a Vec grows as needed");
        Call {
            request,
            expected,
            rest_body,
            frame,
        }
    }

    fn check(&self, greeting: &str) -> Result<(), String> {
        if greeting == self.expected {
            Ok(())
        } else {
            Err(format!("wrong greeting {greeting:?}"))
        }
    }
}

/// What came back: success, or why not; and the `x-served-by` header when
/// a response carried one (never on a transport error).
pub struct Answer {
    pub result: Result<(), String>,
    pub served_by: Option<HeaderValue>,
}

impl Answer {
    fn failed(why: String) -> Self {
        Answer {
            result: Err(why),
            served_by: None,
        }
    }
}

/// An HTTP/1.1 client with at most one idle connection: serial requests
/// keep reusing one TCP connection while it lives.
pub fn http1_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(1)
        .timeout(PATIENCE)
        .build()
        .expect("a plain HTTP client builds")
}

/// A gRPC endpoint over h2c with the same patience for connecting and for
/// each call; `connect()` it, or `connect_lazy()` to connect on first use.
pub fn grpc_endpoint(addr: SocketAddr) -> tonic::transport::Endpoint {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid URI")
        .timeout(PATIENCE)
        .connect_timeout(PATIENCE)
}

/// REST: `POST /greet`, JSON both ways, 200 and the greeting.
pub async fn rest(client: &reqwest::Client, addr: SocketAddr, call: &Call) -> Answer {
    let response = match client
        .post(format!("http://{addr}/greet"))
        .header("content-type", "application/json")
        .body(call.rest_body.clone())
        .send()
        .await
    {
        Ok(response) => response,
        Err(e) => return Answer::failed(format!("{e:?}")),
    };
    let served_by = response.headers().get(SERVED_BY).cloned();
    let status = response.status();
    let result = async {
        let text = response.text().await.map_err(|e| format!("{e:?}"))?;
        if status != 200 {
            return Err(format!("{status}: {text}"));
        }
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{e}"))?;
        call.check(
            json["greeting"]
                .as_str()
                .ok_or(format!("no greeting in {text}"))?,
        )
    }
    .await;
    Answer { result, served_by }
}

/// gRPC-Web binary over HTTP/1.1: a data frame with the greeting, then the
/// trailer frame with `grpc-status:0`.
pub async fn grpc_web(client: &reqwest::Client, addr: SocketAddr, call: &Call) -> Answer {
    let response = match client
        .post(format!("http://{addr}{PATH}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(call.frame.clone())
        .send()
        .await
    {
        Ok(response) => response,
        Err(e) => return Answer::failed(format!("{e:?}")),
    };
    let served_by = response.headers().get(SERVED_BY).cloned();
    let result = async {
        let status = response.status();
        if let Some(grpc_status) = response.headers().get("grpc-status") {
            return Err(format!(
                "{status}, grpc-status {grpc_status:?} in the headers"
            ));
        }
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        let body = response.bytes().await.map_err(|e| format!("{e:?}"))?;
        let len = |at: usize| {
            body.get(at + 1..at + 5)
                .map(|b| u32::from_be_bytes(b.try_into().expect("four bytes")) as usize)
        };
        let data_len = len(0).ok_or("no data frame")?;
        let reply = body.get(5..5 + data_len).ok_or("truncated data frame")?;
        let trailer = body.get(5 + data_len..).unwrap_or_default();
        if trailer.get(5..) != Some(&b"grpc-status:0\r\n"[..]) {
            return Err(format!("trailer frame {trailer:?}"));
        }
        let greeting = GreetResponse::decode(reply)
            .map(|r| r.greeting)
            .map_err(|e| e.to_string())?;
        call.check(&greeting)
    }
    .await;
    Answer { result, served_by }
}

/// Native gRPC over the caller's channel: status OK and the greeting.
pub async fn grpc(client: &mut GreetServiceClient<Channel>, call: &Call) -> Answer {
    let served_by = |metadata: &tonic::metadata::MetadataMap| {
        metadata
            .get(SERVED_BY)
            .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
    };
    match client.greet(call.request.clone()).await {
        Ok(reply) => Answer {
            served_by: served_by(reply.metadata()),
            result: call.check(&reply.into_inner().greeting),
        },
        Err(status) => Answer {
            served_by: served_by(status.metadata()),
            result: Err(format!("{:?}: {}", status.code(), status.message())),
        },
    }
}
