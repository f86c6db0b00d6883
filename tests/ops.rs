//! Operations, through the built binary: the admin port's metrics after a
//! known mix of requests on every protocol, its health endpoints, the drain
//! on SIGTERM with a request in flight, and JSON log lines.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::Command,
    time::Duration,
};

use base64::Engine as _;
use common::{ALLOWED_ORIGIN, binary::Gateway};
use greet_gateway::pb::greet::v1::{GreetRequest, greet_service_client::GreetServiceClient};
use prometheus_parse::{Scrape, Value};
use prost::Message as _;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const GREET: &str = "/greet.v1.GreetService/Greet";

fn greet_request(name: &str, lang: Option<&str>) -> GreetRequest {
    GreetRequest {
        name: Some(name.into()),
        lang: lang.map(str::to_owned),
    }
}

/// One gRPC-Web data frame holding `message`.
fn grpc_web_frame(message: &GreetRequest) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// An HTTP/2 (h2c) connection to the API.
async fn channel(api: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(api.to_owned())
        .unwrap()
        .connect()
        .await
        .expect("h2c connects")
}

async fn scrape(gateway: &Gateway) -> Scrape {
    let text = reqwest::get(format!("{}/metrics", gateway.admin_url()))
        .await
        .expect("the admin port answers")
        .text()
        .await
        .expect("a body");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text")
}

/// The value of the one sample of `metric` with exactly these labels
/// (histograms: their count), or `None` when there is no such series.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| {
            s.labels.len() == labels.len() && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v))
        })
        .collect();
    assert!(found.len() <= 1, "{metric} {labels:?}: {found:?}");
    found.first().map(|s| match &s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => {
            buckets
                .iter()
                .find(|b| b.less_than == f64::INFINITY)
                .expect("a +Inf bucket")
                .count
        }
        Value::Summary(_) => panic!("no summaries here"),
    })
}

fn requests(scrape: &Scrape, protocol: &str, route: &str, status: &str, grpc: &str) -> f64 {
    let labels = [
        ("protocol", protocol),
        ("route", route),
        ("status", status),
        ("grpc_status", grpc),
    ];
    value(scrape, "greet_gateway_requests_total", &labels)
        .unwrap_or_else(|| panic!("no series {labels:?}"))
}

fn durations(scrape: &Scrape, protocol: &str, route: &str) -> f64 {
    let labels = [("protocol", protocol), ("route", route)];
    value(scrape, "greet_gateway_request_duration_seconds", &labels)
        .unwrap_or_else(|| panic!("no histogram {labels:?}"))
}

#[tokio::test]
async fn every_metric_is_there_from_start_up_and_unknown_admin_paths_are_404() {
    let gateway = Gateway::start(&["--web-listen", "off"]);
    let scrape = scrape(&gateway).await;
    for (protocol, route, status, grpc) in [
        ("rest", "/greet", "200", ""),
        ("preflight", "/greet", "204", ""),
        ("grpc", GREET, "200", "0"),
        ("grpc-web", GREET, "200", "0"),
        ("grpc-web-text", GREET, "200", "0"),
        ("connect", GREET, "200", "0"),
        ("preflight", GREET, "204", ""),
    ] {
        assert_eq!(requests(&scrape, protocol, route, status, grpc), 0.0);
        assert_eq!(durations(&scrape, protocol, route), 0.0);
    }
    for gauge in [
        "greet_gateway_requests_in_flight",
        "greet_gateway_connections_open",
        "greet_gateway_requests_shed_total",
    ] {
        assert_eq!(value(&scrape, gauge, &[]), Some(0.0), "{gauge}");
    }
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        value(&scrape, "greet_gateway_build_info", &[("version", version)]),
        Some(1.0)
    );
    for process in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        assert!(value(&scrape, process, &[]).is_some(), "{process}");
    }

    let response = reqwest::get(format!("{}/nope", gateway.admin_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    for path in ["/healthz", "/readyz"] {
        let response = reqwest::get(format!("{}{path}", gateway.admin_url()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    // Admin requests are not the API's.
    let scrape = self::scrape(&gateway).await;
    let counted: f64 = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "greet_gateway_requests_total")
        .map(|s| match s.value {
            Value::Counter(v) => v,
            _ => panic!("a counter"),
        })
        .sum();
    assert_eq!(counted, 0.0);
}

#[tokio::test]
async fn metrics_count_a_known_mix_of_requests_on_every_protocol() {
    let gateway = Gateway::start(&["--web-listen", "off", "--max-concurrent-requests", "1"]);
    let api = gateway.api_url();
    let http = reqwest::Client::new();
    let rest = |body: &'static str| {
        http.post(format!("{api}/greet"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(rest(r#"{"name":"Alice"}"#).await.unwrap().status(), 200);
    assert_eq!(rest(r#"{"name":" "}"#).await.unwrap().status(), 400);

    let mut grpc = GreetServiceClient::new(channel(&api).await);
    grpc.greet(greet_request("Alice", None)).await.unwrap();
    let status = grpc
        .greet(greet_request("Alice", Some("xx")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    let frame = grpc_web_frame(&greet_request("Alice", None));
    let text = base64::engine::general_purpose::STANDARD.encode(&frame);
    for (content_type, body) in [
        ("application/grpc-web+proto", frame),
        ("application/grpc-web-text", text.into_bytes()),
    ] {
        // As grpc-web clients do: without it the answer to text is binary.
        let response = http
            .post(format!("{api}{GREET}"))
            .header("content-type", content_type)
            .header("accept", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{content_type}");
        response.bytes().await.unwrap();
    }

    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{api}/greet"))
        .header("origin", ALLOWED_ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let scanned = http
        .get(format!("{api}/wp-admin/x.php"))
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.status(), 404);

    // A health Watch holds the only place while it streams: the next
    // request is shed.
    let mut health = HealthClient::new(channel(&api).await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().expect("the current status");
    assert_eq!(first.status(), ServingStatus::Serving);
    assert_eq!(rest(r#"{"name":"Alice"}"#).await.unwrap().status(), 503);

    // Every request above but the Watch has ended and been logged (the
    // line is written after the request is counted).
    let lines = gateway.wait_for_log_lines(&["greet_gateway::access"], 9);
    assert_eq!(lines.len(), 9, "{}", lines.join("\n"));

    let scrape = scrape(&gateway).await;
    for (protocol, route, status, grpc, count) in [
        ("rest", "/greet", "200", "", 1.0),
        ("rest", "/greet", "400", "", 1.0),
        ("rest", "/greet", "503", "", 1.0),
        ("grpc", GREET, "200", "0", 1.0),
        ("grpc", GREET, "200", "3", 1.0),
        ("grpc-web", GREET, "200", "0", 1.0),
        ("grpc-web-text", GREET, "200", "0", 1.0),
        ("preflight", "/greet", "204", "", 1.0),
        ("rest", "unmatched", "404", "", 1.0),
    ] {
        assert_eq!(
            requests(&scrape, protocol, route, status, grpc),
            count,
            "{protocol} {route} {status} {grpc}; counted: {:#?}",
            scrape
                .samples
                .iter()
                .filter(|s| s.metric == "greet_gateway_requests_total"
                    && matches!(s.value, Value::Counter(v) if v > 0.0))
                .map(|s| (&s.labels, &s.value))
                .collect::<Vec<_>>()
        );
    }
    for (protocol, route, count) in [
        ("rest", "/greet", 3.0),
        ("grpc", GREET, 2.0),
        ("grpc-web", GREET, 1.0),
        ("grpc-web-text", GREET, 1.0),
        ("preflight", "/greet", 1.0),
        ("rest", "unmatched", 1.0),
    ] {
        assert_eq!(
            durations(&scrape, protocol, route),
            count,
            "{protocol} {route}"
        );
    }
    assert_eq!(
        value(&scrape, "greet_gateway_requests_shed_total", &[]),
        Some(1.0)
    );
    // The Watch, still streaming.
    assert_eq!(
        value(&scrape, "greet_gateway_requests_in_flight", &[]),
        Some(1.0)
    );
    let connections = value(&scrape, "greet_gateway_connections_open", &[]).unwrap();
    assert!(connections >= 1.0, "{connections}");
    // The access line names the gRPC-Web text form as the metrics do.
    assert_eq!(
        gateway
            .log_lines_with(&[r#"protocol="grpc-web-text""#])
            .len(),
        1
    );
    drop(watch);
}

#[test]
fn an_admin_port_equal_to_the_api_port_is_refused() {
    for flags in [
        &[
            "--listen",
            "127.0.0.1:5999",
            "--admin-listen",
            "127.0.0.1:5999",
        ][..],
        &[
            "--web-listen",
            "127.0.0.1:5998",
            "--admin-listen",
            "127.0.0.1:5998",
        ][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_greet-gateway"))
            .args(flags)
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("error: --admin-listen is 127.0.0.1:59"),
            "{stderr}"
        );
        assert!(stderr.contains("a port of its own"), "{stderr}");
    }
}

/// Reads an HTTP/1.1 response to its end (the server closes the
/// connection after it).
fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the answer, then the close");
    answer
}

// Multi-threaded: the test blocks waiting for log lines while its HTTP/2
// client must still answer the server's GOAWAY and PING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_keeps_serving_for_the_delay_and_exits_0() {
    let mut gateway = Gateway::start(&["--web-listen", "off", "--drain-delay", "2s"]);
    let api = gateway.api_url();

    // A REST request in flight: its head and half its body sent.
    let body = br#"{"name":"Alice"}"#;
    let mut slow = TcpStream::connect(gateway.api).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    write!(
        slow,
        "POST /greet HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    slow.write_all(&body[..5]).unwrap();
    // An open HTTP/2 connection for the health service.
    let mut health = HealthClient::new(channel(&api).await);
    // And an idle HTTP/2 connection read frame by frame, to see the GOAWAY.
    let idle_h2 = RawH2::open(gateway.api);

    gateway.terminate();
    gateway.expect_log(&["SIGTERM: not ready"], 1);

    let readyz = reqwest::get(format!("{}/readyz", gateway.admin_url()))
        .await
        .unwrap();
    assert_eq!(readyz.status(), 503);
    for service in ["", "greet.v1.GreetService"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status(), ServingStatus::NotServing, "{service:?}");
    }
    // New requests are still served, on a new connection too.
    let fresh = reqwest::Client::new()
        .post(format!("{api}/greet"))
        .header("content-type", "application/json")
        .body(r#"{"name":"Bob"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);

    // After the delay the listener closes; the request in flight still
    // finishes, told to close its connection.
    // Both listeners, the API's and the admin port's.
    gateway.expect_log(&["shutting down: no new connections"], 2);
    assert!(TcpStream::connect(gateway.api).is_err(), "still accepting");
    slow.write_all(&body[5..]).unwrap();
    let answer = read_to_close(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Hello, Alice!"), "{answer}");

    drop(health);
    gateway.expect_log(&["INFO greet_gateway: stopped"], 1);
    let status = gateway.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // The idle HTTP/2 client was told to go away (NO_ERROR), then closed.
    let goaways = idle_h2.goaways();
    assert!(!goaways.is_empty(), "no GOAWAY before the close");
    assert!(goaways.iter().all(|&code| code == 0), "{goaways:?}");
}

/// An HTTP/2 client with no streams, spoken frame by frame: it sends the
/// preface, acknowledges the server's SETTINGS and PINGs (as any client
/// does; hyper's graceful shutdown waits for the PING's answer), and
/// records the error code of every GOAWAY until the server closes.
struct RawH2 {
    reader: std::thread::JoinHandle<Vec<u32>>,
}

impl RawH2 {
    const SETTINGS: u8 = 0x4;
    const PING: u8 = 0x6;
    const GOAWAY: u8 = 0x7;
    const ACK: u8 = 0x1;

    fn open(address: std::net::SocketAddr) -> RawH2 {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(40)))
            .unwrap();
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .unwrap();
        Self::write_frame(&mut stream, Self::SETTINGS, 0, &[]);
        let reader = std::thread::spawn(move || {
            let mut goaways = Vec::new();
            let mut head = [0u8; 9];
            while stream.read_exact(&mut head).is_ok() {
                let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
                let mut payload = vec![0; len];
                stream.read_exact(&mut payload).expect("a whole frame");
                let (kind, flags) = (head[3], head[4]);
                match kind {
                    Self::SETTINGS if flags & Self::ACK == 0 => {
                        Self::write_frame(&mut stream, Self::SETTINGS, Self::ACK, &[]);
                    }
                    Self::PING if flags & Self::ACK == 0 => {
                        Self::write_frame(&mut stream, Self::PING, Self::ACK, &payload);
                    }
                    Self::GOAWAY => goaways.push(u32::from_be_bytes(
                        payload[4..8].try_into().expect("a GOAWAY's error code"),
                    )),
                    _ => {}
                }
            }
            goaways
        });
        RawH2 { reader }
    }

    fn write_frame(stream: &mut TcpStream, kind: u8, flags: u8, payload: &[u8]) {
        let len = (payload.len() as u32).to_be_bytes();
        let head = [len[1], len[2], len[3], kind, flags, 0, 0, 0, 0];
        // The server may already have closed; the reader reports what came.
        let _ = stream
            .write_all(&head)
            .and_then(|()| stream.write_all(payload));
    }

    /// The error codes of the GOAWAYs received, once the server closed.
    fn goaways(self) -> Vec<u32> {
        self.reader.join().expect("the reader thread")
    }
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_the_access_line_included() {
    let mut gateway = Gateway::start(&["--web-listen", "off", "--log-format", "json"]);
    let response = reqwest::Client::new()
        .post(format!("{}/greet", gateway.api_url()))
        .header("content-type", "application/json")
        .body(r#"{"name":"Alice"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    gateway.expect_log(&["greet_gateway::access"], 1);
    gateway.terminate();
    gateway.expect_log(&["stopped"], 1);
    assert!(gateway.child.wait().unwrap().success());

    let lines = gateway.log_lines_with(&[]);
    assert!(lines.len() >= 4, "{}", lines.join("\n"));
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for object in &parsed {
        assert!(object["timestamp"].is_string(), "{object}");
        assert!(object["level"].is_string(), "{object}");
    }
    let access: Vec<_> = parsed
        .iter()
        .filter(|o| o["target"] == "greet_gateway::access")
        .collect();
    assert_eq!(access.len(), 1);
    let fields = &access[0]["fields"];
    assert_eq!(fields["protocol"], "rest");
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["path"], "/greet");
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["grpc_status"], serde_json::Value::Null);
    assert_eq!(fields["outcome"], "complete");
    assert!(fields["latency_us"].is_u64(), "{fields}");
    assert!(
        fields.as_object().unwrap().contains_key("request_id"),
        "{fields}"
    );
}
