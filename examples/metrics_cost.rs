//! Counts what observability adds to one request, under callgrind: one
//! [`Metrics::record`] (with the in-flight guard), or one access-log line in
//! the plain or the JSON format.
//!
//! ```text
//! cargo build --release --example metrics_cost
//! valgrind --tool=callgrind --toggle-collect='metrics_cost::measured' \
//!     target/release/examples/metrics_cost record 100000 >/dev/null
//! ```
//!
//! callgrind then reports the instructions spent inside `measured` alone;
//! subtract a run of 10000 from a run of 110000 and divide by 100000 (that
//! takes out the batch loop's start-up). The run first warms up (every
//! series created, the log buffer grown), so what is counted is the steady
//! state. `plain` and `json` install the binary's logging on stdout: send
//! it to a file and check that no line was dropped.
//!
//! Last measured (release, 2026-11-30): `record` ~364 instructions (route
//! lookup, record, in-flight guard); a plain line ~2,030 (~1,700 without a
//! request id); a JSON line ~2,130. A line's figure includes making and
//! dropping the [`LoggedBody`], as the request path does.

use std::{hint::black_box, process::ExitCode, time::Duration, time::Instant};

use greet_gateway::{
    access_log::{Entry, LoggedBody, TraceId},
    logging::{self, LogFormat},
    metrics::{KnownRoute, Metrics},
    protocol::Protocol,
};
use http::{HeaderValue, Method, StatusCode, Uri};
use tonic::Code;

const GREET: &str = "/greet.v1.GreetService/Greet";

#[derive(Clone, Copy)]
enum Work {
    Record,
    Line,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (work, format) = match args.get(1).map(String::as_str) {
        Some("record") => (Work::Record, None),
        Some("plain") => (Work::Line, Some(LogFormat::Plain)),
        Some("json") => (Work::Line, Some(LogFormat::Json)),
        _ => {
            eprintln!("usage: metrics_cost record|plain|json [COUNT]");
            return ExitCode::FAILURE;
        }
    };
    let count: u32 = match args.get(2).map(|n| n.parse()) {
        None => 100_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("COUNT must be a number");
            return ExitCode::FAILURE;
        }
    };
    let _flush = format
        .map(|format| logging::init_with_format("info".parse().expect("a valid filter"), format));
    let metrics = Metrics::new([KnownRoute::Rest("/greet"), KnownRoute::Grpc(GREET)]);
    let uri: Uri = GREET.parse().expect("a valid path");
    let request_id = HeaderValue::from_static("01JDQ3V9X5K8M2N4P6R8T0W2Y4");
    let trace_id = TraceId::from_hex(b"4bf92f3577b34da6a3ce929d0e0e4736");
    let one = || match work {
        Work::Record => {
            let in_flight = metrics.request_in_flight();
            let route = metrics.route(GREET);
            metrics.record(
                Protocol::GrpcWeb { text: false },
                route,
                StatusCode::OK,
                Some(Code::Ok),
                Duration::from_micros(180),
            );
            drop(in_flight);
        }
        Work::Line => drop(LoggedBody::new(
            tonic::body::Body::empty(),
            Entry {
                started: Instant::now(),
                method: Method::POST,
                uri: uri.clone(),
                protocol: Protocol::GrpcWeb { text: false },
                status: StatusCode::OK,
                grpc_status: Some(HeaderValue::from_static("0")),
                request_id: Some(request_id.clone()),
                trace_id,
            },
        )),
    };
    for _ in 0..1_000 {
        one();
    }
    // In batches the log writer drains between (a full buffer would drop
    // lines, which costs less than writing them and flatters the count).
    for batch in (0..count).step_by(BATCH as usize) {
        measured(BATCH.min(count - batch), &one);
        std::thread::sleep(Duration::from_millis(20));
    }
    ExitCode::SUCCESS
}

/// Lines per batch: well under the log buffer's limit.
const BATCH: u32 = 1_000;

/// The loop callgrind counts (`--toggle-collect`).
#[inline(never)]
fn measured(count: u32, one: &dyn Fn()) {
    for _ in 0..black_box(count) {
        one();
    }
}
