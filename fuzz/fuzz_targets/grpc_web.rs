//! Any bytes as a gRPC-Web request body (the first byte picks binary or text
//! mode), through the whole API in-process: tonic-web, tonic's decoder, the
//! Greet service. The answer must be an HTTP 200 carrying a gRPC status,
//! never a panic or a 5xx.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use clap::Parser as _;
use greet_gateway::{Api, ApiBuilder, config::Args};
use http_body_util::{BodyExt as _, Full};
use libfuzzer_sys::fuzz_target;

struct World {
    runtime: tokio::runtime::Runtime,
    api: Api,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let settings = Args::try_parse_from(["greet-gateway", "--max-body-bytes", "4096"])
            .expect("fixed flags")
            .validate()
            .expect("valid settings");
        let api = runtime
            .block_on(ApiBuilder::from_settings(&settings).build(settings.cors.clone()))
            .expect("the API builds");
        World { runtime, api }
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, body)) = input.split_first() else {
        return;
    };
    let content_type = if mode & 1 == 0 {
        "application/grpc-web+proto"
    } else {
        "application/grpc-web-text"
    };
    let request = http::Request::post("/greet.v1.GreetService/Greet")
        .header("content-type", content_type)
        .header("x-grpc-web", "1")
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("a valid request");
    let world = world();
    world.runtime.block_on(async {
        let response = world.api.serve(request).await;
        assert_eq!(response.status(), 200, "{:?}", response.headers());
        let in_headers = response.headers().contains_key("grpc-status");
        let body = response
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        assert!(
            in_headers || !body.is_empty(),
            "neither a trailers-only status nor a body"
        );
    });
});
