//! Micro-benchmarks of the per-request hot paths, through the public API:
//!
//! - `json/*`: REST route match, JSON → request message, response message →
//!   JSON (the transcoder's two conversions), on the dynamic road
//!   (`DynamicMessage`) and on the typed road (generated serde impls);
//! - `cors/*`: the origin decision of an actual request and a whole preflight;
//! - `api/*`: one whole request through [`Api::serve`] in-process, body read
//!   to its end, for each protocol: REST, gRPC-Web binary (frame decode and
//!   encode by tonic-web), gRPC-Web text (plus base64) and native gRPC;
//!   REST both on its typed road (as served) and forced onto the dynamic one.
//!
//! No tracing subscriber is installed here, so the access log line costs only
//! its disabled-callsite check: the log's cost shows in `bench/run`, not here.
//!
//! `cargo bench --bench hot_paths` (add `-- --quick` for a fast look).

use std::hint::black_box;

use base64::Engine as _;
use bytes::Bytes;
use clap::Parser as _;
use criterion::{Criterion, criterion_group, criterion_main};
use greet_gateway::{
    Api, ApiBuilder,
    config::Args,
    cors::CorsPolicy,
    pb::{
        self,
        greet::v1::{GreetRequest, GreetResponse},
    },
    transcode::{
        json,
        rules::{self, Binding},
    },
};
use http::{HeaderMap, HeaderValue, Method, Request, header};
use http_body_util::{BodyExt as _, Full};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};

const ORIGIN: &str = "http://localhost:1234";
const REST_BODY: &[u8] = br#"{"name":"Alice","lang":"es"}"#;

/// The binary's default settings (the default CORS allowlist).
fn default_cors() -> CorsPolicy {
    Args::try_parse_from(["greet-gateway", "--web-listen", "off"])
        .expect("default flags parse")
        .validate()
        .expect("default settings are valid")
        .cors
}

/// The `POST /greet` binding, read from the crate's descriptor set.
fn greet_binding() -> Binding {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
    rules::bindings(&pool)
        .expect("the annotations are valid")
        .into_iter()
        .find(|b| b.method == Method::POST && b.template.matches("/greet").is_some())
        .expect("Greet is bound to POST /greet")
}

fn framed(message: &impl prost::Message) -> Vec<u8> {
    let encoded = message.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    out.extend_from_slice(&encoded);
    out
}

fn json_paths(c: &mut Criterion) {
    let binding = greet_binding();
    let response = GreetResponse {
        greeting: "Hola, Alice!".to_owned(),
        timestamp: Some(pb::Timestamp {
            seconds: 1_761_138_327,
            nanos: 121_465_000,
        }),
    };
    let dynamic = DynamicMessage::decode(binding.rpc.output.clone(), &*response.encode_to_vec())
        .expect("a GreetResponse decodes");

    let mut group = c.benchmark_group("json");
    group.bench_function("route_match", |b| {
        b.iter(|| black_box(binding.template.matches(black_box("/greet"))))
    });
    group.bench_function("request_message", |b| {
        b.iter(|| {
            let bound = binding.template.matches("/greet").expect("matches");
            black_box(json::request_message(&binding, bound, None, black_box(REST_BODY)).unwrap())
        })
    });
    group.bench_function("response_json", |b| {
        b.iter(|| black_box(json::response_json(&binding, black_box(&dynamic)).unwrap()))
    });
    group.bench_function("typed_request", |b| {
        b.iter(|| black_box(serde_json::from_slice::<GreetRequest>(black_box(REST_BODY)).unwrap()))
    });
    group.bench_function("typed_response", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&response)).unwrap()))
    });
    group.finish();
}

fn cors_paths(c: &mut Criterion) {
    let policy = default_cors();
    let mut allowed = HeaderMap::new();
    allowed.insert(header::ORIGIN, HeaderValue::from_static(ORIGIN));
    let mut unknown = HeaderMap::new();
    unknown.insert(
        header::ORIGIN,
        HeaderValue::from_static("http://localhost:12345"),
    );
    let mut preflight = allowed.clone();
    preflight.insert(
        header::ACCESS_CONTROL_REQUEST_METHOD,
        HeaderValue::from_static("POST"),
    );
    preflight.insert(
        header::ACCESS_CONTROL_REQUEST_HEADERS,
        HeaderValue::from_static("content-type,x-grpc-web,x-user-agent"),
    );

    let mut group = c.benchmark_group("cors");
    group.bench_function("allowed_origin_hit", |b| {
        b.iter(|| black_box(policy.allowed_origin(black_box(&allowed))))
    });
    group.bench_function("allowed_origin_miss", |b| {
        b.iter(|| black_box(policy.allowed_origin(black_box(&unknown))))
    });
    group.bench_function("preflight_204", |b| {
        b.iter(|| black_box(policy.preflight(black_box(&preflight))))
    });
    group.finish();
}

/// One request through the whole in-process API, its body read to the end.
async fn round_trip(api: &Api, request: Request<Full<Bytes>>) -> Bytes {
    let response = api.serve(request).await;
    assert!(response.status().is_success(), "{:?}", response.status());
    response
        .into_body()
        .collect()
        .await
        .expect("the body reads")
        .to_bytes()
}

fn api_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime builds");
    let api = rt
        .block_on(ApiBuilder::new(1 << 20).build(default_cors()))
        .expect("the API builds");
    let dynamic_api = rt
        .block_on(
            ApiBuilder::new(1 << 20)
                .dynamic_rest_only()
                .build(default_cors()),
        )
        .expect("the API builds");
    let message = framed(&GreetRequest {
        name: Some("Alice".to_owned()),
        lang: Some("es".to_owned()),
    });
    let message = Bytes::from(message);
    let text = Bytes::from(base64::engine::general_purpose::STANDARD.encode(&message));

    let rest = || {
        Request::post("/greet")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, ORIGIN)
            .body(Full::new(Bytes::from_static(REST_BODY)))
            .expect("a valid request")
    };
    let grpc_web = |content_type: &'static str, body: &Bytes| {
        Request::post("/greet.v1.GreetService/Greet")
            .header(header::CONTENT_TYPE, content_type)
            .header("x-grpc-web", "1")
            .header(header::ORIGIN, ORIGIN)
            .body(Full::new(body.clone()))
            .expect("a valid request")
    };
    let grpc = |body: &Bytes| {
        Request::post("/greet.v1.GreetService/Greet")
            .version(http::Version::HTTP_2)
            .header(header::CONTENT_TYPE, "application/grpc")
            .header(header::TE, "trailers")
            .body(Full::new(body.clone()))
            .expect("a valid request")
    };
    let preflight = || {
        Request::options("/greet")
            .header(header::ORIGIN, ORIGIN)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Full::new(Bytes::new()))
            .expect("a valid request")
    };

    let mut group = c.benchmark_group("api");
    group.bench_function("rest", |b| {
        b.to_async(&rt).iter(|| round_trip(&api, rest()))
    });
    group.bench_function("rest_dynamic_road", |b| {
        b.to_async(&rt).iter(|| round_trip(&dynamic_api, rest()))
    });
    group.bench_function("grpc_web_binary", |b| {
        b.to_async(&rt)
            .iter(|| round_trip(&api, grpc_web("application/grpc-web+proto", &message)))
    });
    group.bench_function("grpc_web_text", |b| {
        b.to_async(&rt)
            .iter(|| round_trip(&api, grpc_web("application/grpc-web-text", &text)))
    });
    group.bench_function("grpc", |b| {
        b.to_async(&rt).iter(|| round_trip(&api, grpc(&message)))
    });
    group.bench_function("preflight", |b| {
        b.to_async(&rt).iter(|| round_trip(&api, preflight()))
    });
    group.finish();
}

criterion_group!(benches, json_paths, cors_paths, api_paths);
criterion_main!(benches);
