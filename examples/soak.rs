//! The soak client that `scripts/soak` runs against a release gateway:
//! `--connections` concurrent connections (a third each REST over HTTP/1.1,
//! gRPC-Web over HTTP/1.1, native gRPC over h2c), each sending one request
//! after another for `--seconds`, every answer checked exactly.
//!
//! Prints progress every 10 s and a final `requests=… errors=…` line; exits
//! 1 if any request failed, answered wrongly or took longer than 10 s.
//!
//! ```text
//! cargo run --release --example soak -- 127.0.0.1:5000 --connections 1000 --seconds 60
//! ```

use std::{
    net::SocketAddr,
    process::ExitCode,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use common::{Call, PROTOCOLS, Protocol};
use greet_gateway::pb::greet::v1::greet_service_client::GreetServiceClient;

mod common;

#[derive(Default)]
struct Counters {
    ok: [AtomicU64; 3],
    errors: AtomicU64,
    /// The first few errors, verbatim.
    samples: Mutex<Vec<String>>,
}

impl Counters {
    fn fail(&self, protocol: Protocol, what: String) {
        self.errors.fetch_add(1, Relaxed);
        let mut samples = self.samples.lock().expect("no panics hold this lock");
        if samples.len() < 10 {
            samples.push(format!("{protocol:?}: {what}"));
        }
    }

    fn total(&self) -> u64 {
        self.ok.iter().map(|c| c.load(Relaxed)).sum::<u64>() + self.errors.load(Relaxed)
    }
}

struct Options {
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        addr: "127.0.0.1:5000".parse().expect("a literal address"),
        connections: 1000,
        seconds: 60,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--connections" => {
                options.connections = value()?.parse().map_err(|e| format!("{e}"))?
            }
            "--seconds" => options.seconds = value()?.parse().map_err(|e| format!("{e}"))?,
            addr => options.addr = addr.parse().map_err(|e| format!("'{addr}': {e}"))?,
        }
    }
    if !options.addr.ip().is_loopback() {
        return Err(format!("{} is not a loopback address", options.addr));
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(why) => {
            eprintln!("soak: {why}");
            return ExitCode::from(2);
        }
    };
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);

    let mut tasks = Vec::with_capacity(options.connections);
    for i in 0..options.connections {
        let protocol = PROTOCOLS[i % 3];
        let counters = Arc::clone(&counters);
        let addr = options.addr;
        tasks.push(tokio::spawn(async move {
            connection(protocol, addr, i, deadline, &counters).await;
        }));
    }

    let progress = {
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tick.tick().await;
                println!(
                    "t={:>3}s requests={} errors={}",
                    started.elapsed().as_secs(),
                    counters.total(),
                    counters.errors.load(Relaxed)
                );
            }
        })
    };
    for task in tasks {
        if let Err(panic) = task.await {
            counters.fail(Protocol::Rest, format!("a connection task failed: {panic}"));
        }
    }
    progress.abort();

    let elapsed = started.elapsed().as_secs_f64();
    let [rest, web, grpc] = &counters.ok;
    let errors = counters.errors.load(Relaxed);
    println!(
        "connections={} seconds={elapsed:.1} requests={} errors={errors} rest={} grpc_web={} grpc={} rate={:.0}/s",
        options.connections,
        counters.total(),
        rest.load(Relaxed),
        web.load(Relaxed),
        grpc.load(Relaxed),
        counters.total() as f64 / elapsed,
    );
    for sample in counters
        .samples
        .lock()
        .expect("no panics hold this lock")
        .iter()
    {
        println!("error: {sample}");
    }
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One connection, one request after another until the deadline.
async fn connection(
    protocol: Protocol,
    addr: SocketAddr,
    i: usize,
    deadline: Instant,
    counters: &Counters,
) {
    let call = Call::new(format!("soak-{i}"));
    let http1 = common::http1_client();
    let mut grpc = match protocol {
        Protocol::Grpc => match common::grpc_endpoint(addr).connect().await {
            Ok(channel) => Some(GreetServiceClient::new(channel)),
            Err(e) => {
                counters.fail(protocol, format!("connect: {e}"));
                return;
            }
        },
        _ => None,
    };

    while Instant::now() < deadline {
        let answer = match protocol {
            Protocol::Rest => common::rest(&http1, addr, &call).await,
            Protocol::GrpcWeb => common::grpc_web(&http1, addr, &call).await,
            Protocol::Grpc => {
                common::grpc(grpc.as_mut().expect("made above for gRPC"), &call).await
            }
        };
        match answer.result {
            Ok(()) => {
                counters.ok[protocol as usize].fetch_add(1, Relaxed);
            }
            Err(why) => counters.fail(protocol, why),
        }
    }
}
