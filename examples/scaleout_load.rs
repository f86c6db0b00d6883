//! The load client of `scripts/scaleout`: REST and gRPC-Web over HTTP/1.1,
//! native gRPC over h2c, through a load balancer in front of several
//! gateway replicas, every answer checked exactly (as `examples/soak.rs`).
//!
//! What it adds to the soak client is attribution, so a script can say which
//! event a failure belongs to and which replica answered:
//! - **phases**: the script writes a phase name (`steady`, `rolling`, …) into
//!   `--phase-file`; the client reads it every 10 ms and counts each request
//!   in the phase that was current when the request *started*. The name
//!   `stop` ends the run: every connection finishes the request it is in,
//!   then stops, so no request is cut off by the end of the run.
//! - **replicas**: the load balancer names the server that answered in an
//!   `x-served-by` response header (HAProxy `http-response set-header`, which
//!   only applies to answers that came from a server, never to the ones
//!   HAProxy writes itself). Answers carrying it reached a gateway; they are
//!   counted per replica, in total and in 10 ms buckets of completion time.
//!
//! Prints one line a second (`t=… phase=… rest=ok/failed grpc_web=… grpc=…`,
//! counts of that second), then a line per phase and protocol, and writes
//! the whole tally as JSON to `--json`. Exits 1 if any request failed.
//!
//! `--h2c ADDR` sends gRPC to another address than `--http1 ADDR`, for a
//! load balancer that wants HTTP/2 on a port of its own (HAProxy does not:
//! it tells h2c by its preface).
//!
//! ```text
//! cargo run --release --example scaleout_load -- --http1 127.0.0.1:8080 \
//!     --connections 96 --seconds 60 --phase-file /tmp/phase --json /tmp/load.json
//! ```

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::{Answer, Call, PROTOCOLS, Protocol};
use greet_gateway::pb::greet::v1::greet_service_client::GreetServiceClient;

mod common;

/// Phases a run may have; more names than this share the last slot.
const MAX_PHASES: usize = 16;
/// Replicas the per-replica tallies have room for (`r1` … `r8`).
const MAX_REPLICAS: usize = 8;
/// Width of a bucket of the per-replica completion timeline.
const BUCKET: Duration = Duration::from_millis(10);
/// Failures kept verbatim, per phase.
const SAMPLES: usize = 8;

#[derive(Default)]
struct PhaseTally {
    ok: [AtomicU64; 3],
    failed: [AtomicU64; 3],
    samples: Mutex<Vec<String>>,
}

/// Everything counted; shared by all connections and the reporter.
struct Tally {
    started: Instant,
    started_unix_ms: u128,
    /// Phase names in order of appearance; the index of the current one.
    phase_names: Mutex<Vec<String>>,
    phase: AtomicUsize,
    stopping: AtomicBool,
    phases: [PhaseTally; MAX_PHASES],
    /// Answers that came from each replica, whatever their status.
    served: [AtomicU64; MAX_REPLICAS],
    /// Failed answers that nevertheless came from a replica.
    served_failed: [AtomicU64; MAX_REPLICAS],
    /// Answers from each replica per `BUCKET` of completion time.
    timeline: Vec<[AtomicU64; MAX_REPLICAS]>,
}

impl Tally {
    fn new(seconds: u64, first_phase: String) -> Self {
        let buckets = (seconds as u128 * 1000 / BUCKET.as_millis()) as usize + 1000;
        Tally {
            started: Instant::now(),
            started_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("the clock is after 1970")
                .as_millis(),
            phase_names: Mutex::new(vec![first_phase]),
            phase: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            phases: Default::default(),
            served: Default::default(),
            served_failed: Default::default(),
            timeline: (0..buckets).map(|_| Default::default()).collect(),
        }
    }

    /// Moves to the phase `name` (a new one, or back to a known one).
    fn enter(&self, name: &str) {
        let mut names = self.phase_names.lock().expect("no panics hold this lock");
        let index = match names.iter().position(|n| n == name) {
            Some(index) => index,
            None if names.len() < MAX_PHASES => {
                names.push(name.to_owned());
                names.len() - 1
            }
            None => MAX_PHASES - 1,
        };
        self.phase.store(index, Relaxed);
    }

    fn record(&self, phase: usize, protocol: Protocol, answer: Answer) {
        let tally = &self.phases[phase];
        let replica = replica(answer.served_by.as_ref());
        if let Some(replica) = replica {
            self.served[replica].fetch_add(1, Relaxed);
            let bucket = (self.started.elapsed().as_millis() / BUCKET.as_millis()) as usize;
            if let Some(slot) = self.timeline.get(bucket) {
                slot[replica].fetch_add(1, Relaxed);
            }
            if answer.result.is_err() {
                self.served_failed[replica].fetch_add(1, Relaxed);
            }
        }
        match answer.result {
            Ok(()) => {
                tally.ok[protocol as usize].fetch_add(1, Relaxed);
            }
            Err(why) => {
                tally.failed[protocol as usize].fetch_add(1, Relaxed);
                let mut samples = tally.samples.lock().expect("no panics hold this lock");
                if samples.len() < SAMPLES {
                    let from = match replica {
                        Some(r) => format!("r{}", r + 1),
                        None => "no replica".to_owned(),
                    };
                    samples.push(format!("{} ({from}): {why}", protocol.name()));
                }
            }
        }
    }

    /// Per protocol: (ok, failed), summed over every phase.
    fn totals(&self) -> [(u64, u64); 3] {
        PROTOCOLS.map(|p| {
            self.phases.iter().fold((0, 0), |(ok, failed), phase| {
                (
                    ok + phase.ok[p as usize].load(Relaxed),
                    failed + phase.failed[p as usize].load(Relaxed),
                )
            })
        })
    }
}

struct Options {
    http1: SocketAddr,
    h2c: SocketAddr,
    connections: usize,
    seconds: u64,
    phase_file: Option<PathBuf>,
    json: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut http1 = None;
    let mut h2c = None;
    let mut options = Options {
        http1: "127.0.0.1:8080".parse().expect("a literal address"),
        h2c: "127.0.0.1:8080".parse().expect("a literal address"),
        connections: 96,
        seconds: 60,
        phase_file: None,
        json: None,
    };
    let addr = |s: String| -> Result<SocketAddr, String> {
        let addr: SocketAddr = s.parse().map_err(|e| format!("'{s}': {e}"))?;
        if !addr.ip().is_loopback() {
            return Err(format!("{addr} is not a loopback address"));
        }
        Ok(addr)
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--http1" => http1 = Some(addr(value()?)?),
            "--h2c" => h2c = Some(addr(value()?)?),
            "--connections" => {
                options.connections = value()?.parse().map_err(|e| format!("{e}"))?
            }
            "--seconds" => options.seconds = value()?.parse().map_err(|e| format!("{e}"))?,
            "--phase-file" => options.phase_file = Some(value()?.into()),
            "--json" => options.json = Some(value()?.into()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    options.http1 = http1.ok_or("--http1 ADDR is required")?;
    options.h2c = h2c.unwrap_or(options.http1);
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(why) => {
            eprintln!("scaleout_load: {why}");
            return ExitCode::from(2);
        }
    };
    let first_phase = match &options.phase_file {
        Some(path) => read_phase(path).unwrap_or_else(|| "steady".to_owned()),
        None => "steady".to_owned(),
    };
    let tally = Arc::new(Tally::new(options.seconds, first_phase));
    let deadline = tally.started + Duration::from_secs(options.seconds);

    let mut tasks = Vec::with_capacity(options.connections);
    for i in 0..options.connections {
        let protocol = PROTOCOLS[i % 3];
        let tally = Arc::clone(&tally);
        let addr = match protocol {
            Protocol::Grpc => options.h2c,
            _ => options.http1,
        };
        tasks.push(tokio::spawn(async move {
            connection(protocol, addr, i, deadline, &tally).await;
        }));
    }

    let watcher = options.phase_file.clone().map(|path| {
        let tally = Arc::clone(&tally);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                tick.tick().await;
                match read_phase(&path).as_deref() {
                    Some("stop") => {
                        tally.stopping.store(true, Relaxed);
                        return;
                    }
                    Some(name) => tally.enter(name),
                    None => {}
                }
            }
        })
    });
    let reporter = {
        let tally = Arc::clone(&tally);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut last = tally.totals();
            loop {
                tick.tick().await;
                let now = tally.totals();
                let phase = {
                    let names = tally.phase_names.lock().expect("no panics hold this lock");
                    names[tally.phase.load(Relaxed)].clone()
                };
                let mut line = format!("t={:>3}s phase={phase}", tally.started.elapsed().as_secs());
                for p in PROTOCOLS {
                    let (ok, failed) = now[p as usize];
                    let (ok0, failed0) = last[p as usize];
                    line += &format!(" {}={}/{}", p.name(), ok - ok0, failed - failed0);
                }
                println!("{line}");
                last = now;
            }
        })
    };

    for task in tasks {
        if let Err(panic) = task.await {
            let phase = tally.phase.load(Relaxed);
            tally.record(
                phase,
                Protocol::Rest,
                Answer {
                    result: Err(format!("a connection task failed: {panic}")),
                    served_by: None,
                },
            );
        }
    }
    reporter.abort();
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    report(&tally, &options)
}

/// The phase the script asks for: the file's first line, if any.
fn read_phase(path: &PathBuf) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let name = text.lines().next()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

fn report(tally: &Tally, options: &Options) -> ExitCode {
    let elapsed = tally.started.elapsed().as_secs_f64();
    let names = tally
        .phase_names
        .lock()
        .expect("no panics hold this lock")
        .clone();
    let mut phases = Vec::new();
    let mut failed_total = 0;
    let mut requests_total = 0;
    for (index, name) in names.iter().enumerate() {
        let phase = &tally.phases[index];
        let mut line = format!("phase={name}");
        let mut json = serde_json::Map::new();
        json.insert("name".into(), name.clone().into());
        for p in PROTOCOLS {
            let ok = phase.ok[p as usize].load(Relaxed);
            let failed = phase.failed[p as usize].load(Relaxed);
            failed_total += failed;
            requests_total += ok + failed;
            line += &format!(" {}={ok}/{failed}", p.name());
            json.insert(
                p.name().into(),
                serde_json::json!({"ok": ok, "failed": failed}),
            );
        }
        let samples = phase
            .samples
            .lock()
            .expect("no panics hold this lock")
            .clone();
        println!("{line}");
        for sample in &samples {
            println!("  failed in {name}: {sample}");
        }
        json.insert("samples".into(), samples.into());
        phases.push(serde_json::Value::Object(json));
    }
    let mut served = BTreeMap::new();
    let mut timeline = BTreeMap::new();
    for r in 0..MAX_REPLICAS {
        let count = tally.served[r].load(Relaxed);
        if count == 0 {
            continue;
        }
        served.insert(
            format!("r{}", r + 1),
            serde_json::json!({"answers": count, "failed": tally.served_failed[r].load(Relaxed)}),
        );
        let buckets: Vec<[u64; 2]> = tally
            .timeline
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| {
                let n = slot[r].load(Relaxed);
                (n > 0).then_some([i as u64, n])
            })
            .collect();
        timeline.insert(format!("r{}", r + 1), buckets);
    }
    let answered: u64 = (0..MAX_REPLICAS)
        .map(|r| tally.served[r].load(Relaxed))
        .sum();
    println!(
        "connections={} seconds={elapsed:.1} requests={requests_total} failed={failed_total} \
         answered_by_replicas={answered} rate={:.0}/s",
        options.connections,
        requests_total as f64 / elapsed,
    );
    if let Some(path) = &options.json {
        let json = serde_json::json!({
            "connections": options.connections,
            "started_unix_ms": tally.started_unix_ms as u64,
            "seconds": elapsed,
            "requests": requests_total,
            "failed": failed_total,
            "answered_by_replicas": answered,
            "phases": phases,
            "served_by": served,
            "bucket_ms": BUCKET.as_millis() as u64,
            "timeline": timeline,
        });
        if let Err(e) = std::fs::write(path, json.to_string()) {
            eprintln!("scaleout_load: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if failed_total == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One connection, one request after another until the deadline or `stop`.
async fn connection(
    protocol: Protocol,
    addr: SocketAddr,
    i: usize,
    deadline: Instant,
    tally: &Tally,
) {
    let call = Call::new(format!("scaleout-{i}"));
    let http1 = common::http1_client();
    // A lazy channel connects (and reconnects) when a call needs it, so a
    // connect failure is a failed request like any other.
    let mut grpc = GreetServiceClient::new(common::grpc_endpoint(addr).connect_lazy());
    while Instant::now() < deadline && !tally.stopping.load(Relaxed) {
        let phase = tally.phase.load(Relaxed);
        let answer = match protocol {
            Protocol::Rest => common::rest(&http1, addr, &call).await,
            Protocol::GrpcWeb => common::grpc_web(&http1, addr, &call).await,
            Protocol::Grpc => common::grpc(&mut grpc, &call).await,
        };
        tally.record(phase, protocol, answer);
    }
}

/// `rN` → N - 1, from the load balancer's `x-served-by` header.
fn replica(served_by: Option<&http::HeaderValue>) -> Option<usize> {
    let n: usize = served_by?.to_str().ok()?.strip_prefix('r')?.parse().ok()?;
    (1..=MAX_REPLICAS).contains(&n).then(|| n - 1)
}
