//! Helper of `bench/run`: checks that a system under test answers a path
//! correctly, and measures start-up time to the first served request.
//!
//! ```text
//! bench_probe check   rest|grpc-web|grpc|connect URL
//! bench_probe startup rest|grpc-web|grpc|connect URL -- COMMAND [ARGS...]
//! ```
//!
//! `check` sends one request exactly like the load generators do (REST,
//! gRPC-Web and Connect with `Origin: http://localhost:1234`) and exits
//! non-zero, saying
//! why, unless it is answered 200 with the greeting and, for gRPC and
//! gRPC-Web, `grpc-status: 0`. `startup` spawns COMMAND (its stdout and
//! stderr discarded), retries the check every millisecond, prints the time
//! from spawn to the first correct answer in milliseconds, then kills it.

use std::{
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use greet_gateway::pb::greet::v1::{
    GreetRequest, GreetResponse, greet_service_client::GreetServiceClient,
};
use prost::Message as _;

/// The origin the benchmark's browser-like requests come from.
const ORIGIN: &str = "http://localhost:1234";
/// The name every benchmark request greets.
const NAME: &str = "Bench";

#[derive(Clone, Copy)]
enum Kind {
    Rest,
    GrpcWeb,
    Grpc,
    Connect,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "rest" => Some(Kind::Rest),
            "grpc-web" => Some(Kind::GrpcWeb),
            "grpc" => Some(Kind::Grpc),
            "connect" => Some(Kind::Connect),
            _ => None,
        }
    }
}

/// The request body of the gRPC paths: one uncompressed length-prefixed
/// message, as `bench/run` also writes it for h2load and wrk.
fn framed_request() -> Vec<u8> {
    let message = GreetRequest {
        name: Some(NAME.to_owned()),
        lang: None,
    }
    .encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    framed
}

async fn check(http: &reqwest::Client, kind: Kind, url: &str) -> Result<(), String> {
    let expected = format!("Hello, {NAME}!");
    match kind {
        // The same JSON both ways; Connect on the RPC's path, with its header.
        Kind::Rest | Kind::Connect => {
            let (path, name) = match kind {
                Kind::Rest => ("/greet", "REST"),
                _ => ("/greet.v1.GreetService/Greet", "Connect"),
            };
            let mut request = http
                .post(format!("{url}{path}"))
                .header("content-type", "application/json")
                .header("origin", ORIGIN);
            if let Kind::Connect = kind {
                request = request.header("connect-protocol-version", "1");
            }
            let response = request
                .body(format!(r#"{{"name":"{NAME}"}}"#))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response.text().await.map_err(|e| e.to_string())?;
            let json: serde_json::Value =
                serde_json::from_str(&body).map_err(|e| format!("{status} {body}: {e}"))?;
            if status != 200 || json["greeting"] != expected {
                return Err(format!("{name} answered {status} {body}"));
            }
        }
        Kind::GrpcWeb => {
            let response = http
                .post(format!("{url}/greet.v1.GreetService/Greet"))
                .header("content-type", "application/grpc-web+proto")
                .header("x-grpc-web", "1")
                .header("origin", ORIGIN)
                .body(framed_request())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let header_status = response
                .headers()
                .get("grpc-status")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            let (message, trailers) = grpc_web_frames(&body)?;
            let greeting = GreetResponse::decode(message.as_slice())
                .map_err(|e| e.to_string())?
                .greeting;
            let ok_status = header_status.as_deref() == Some("0")
                || trailers
                    .lines()
                    .any(|l| l.trim().eq_ignore_ascii_case("grpc-status:0"));
            if status != 200 || !ok_status || greeting != expected {
                return Err(format!(
                    "gRPC-Web answered {status}, grpc-status header {header_status:?}, trailers {trailers:?}, greeting {greeting:?}"
                ));
            }
        }
        Kind::Grpc => {
            let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
                .map_err(|e| e.to_string())?
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            let mut client = GreetServiceClient::new(channel);
            let reply = client
                .greet(GreetRequest {
                    name: Some(NAME.to_owned()),
                    lang: None,
                })
                .await
                .map_err(|status| format!("gRPC answered {status:?}"))?;
            if reply.get_ref().greeting != expected {
                return Err(format!("gRPC answered {:?}", reply.get_ref()));
            }
        }
    }
    Ok(())
}

/// Splits a gRPC-Web response body into its message and its trailer text.
fn grpc_web_frames(mut body: &[u8]) -> Result<(Vec<u8>, String), String> {
    let mut message = Vec::new();
    let mut trailers = String::new();
    while !body.is_empty() {
        if body.len() < 5 {
            return Err(format!("truncated gRPC-Web frame: {body:?}"));
        }
        let flags = body[0];
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let payload = body
            .get(5..5 + len)
            .ok_or_else(|| format!("truncated gRPC-Web frame of {len} bytes"))?;
        if flags & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(payload));
        } else {
            message = payload.to_vec();
        }
        body = &body[5 + len..];
    }
    Ok((message, trailers))
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: bench_probe check rest|grpc-web|grpc|connect URL\n       bench_probe startup rest|grpc-web|grpc|connect URL -- COMMAND [ARGS...]"
    );
    ExitCode::from(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(kind), Some(url)) = (
        args.first(),
        args.get(1).and_then(|k| Kind::parse(k)),
        args.get(2),
    ) else {
        return usage();
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a default client builds");
    match mode.as_str() {
        "check" => match check(&http, kind, url).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("{url}: {why}");
                ExitCode::FAILURE
            }
        },
        "startup" => {
            let Some(command) = args.get(4).filter(|_| args[3] == "--") else {
                return usage();
            };
            let started = Instant::now();
            let mut child = match Command::new(command)
                .args(&args[5..])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                Ok(child) => child,
                Err(e) => {
                    eprintln!("cannot start {command}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let mut last = String::new();
            let served = loop {
                match check(&http, kind, url).await {
                    Ok(()) => break Some(started.elapsed()),
                    Err(why) => last = why,
                }
                if started.elapsed() > Duration::from_secs(20)
                    || matches!(child.try_wait(), Ok(Some(_)))
                {
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            };
            let _ = child.kill();
            let _ = child.wait();
            match served {
                Some(elapsed) => {
                    println!("{:.1}", elapsed.as_secs_f64() * 1e3);
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("{command} served no correct answer: {last}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => usage(),
    }
}
