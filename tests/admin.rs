//! The admin router as an operator's tools see it: Prometheus scraping
//! `/metrics`, an orchestrator polling `/healthz` and `/readyz`. Each test
//! serves the router on a free loopback port and talks HTTP to it.

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use greet_gateway::{
    admin::{self, Readiness},
    metrics::{KnownRoute, Metrics},
    protocol::Protocol,
};
use http::StatusCode;
use prometheus_parse::{Sample, Scrape, Value};
use tokio::net::TcpListener;
use tonic::Code;

const GREET: &str = "/greet.v1.GreetService/Greet";

/// The admin router, serving on a free port until the test ends.
struct AdminApp {
    base: String,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

async fn spawn_admin() -> AdminApp {
    let metrics = Arc::new(Metrics::new([
        KnownRoute::Rest("/greet"),
        KnownRoute::Grpc(GREET),
    ]));
    let readiness = Readiness::new();
    // Bound before the server task starts: requests queue in the backlog.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router = admin::router(metrics.clone(), readiness.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    AdminApp {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        metrics,
        readiness,
    }
}

impl AdminApp {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, path).await
    }

    async fn send(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        let url = format!("{}{path}", self.base);
        self.http.request(method, url).send().await.unwrap()
    }

    /// Scrapes `/metrics` and parses it as Prometheus would.
    async fn scrape(&self) -> Vec<Sample> {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = response.text().await.unwrap();
        let lines = text.lines().map(|line| Ok(line.to_owned()));
        Scrape::parse(lines).unwrap().samples
    }
}

/// The one sample named `metric` whose labels are exactly `labels`.
fn find<'a>(samples: &'a [Sample], metric: &str, labels: &[(&str, &str)]) -> &'a Value {
    let wanted: HashMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.metric == metric && *s.labels == wanted)
        .collect();
    assert_eq!(found.len(), 1, "{metric} {labels:?} in {samples:#?}");
    &found[0].value
}

/// Requests in flight, connections open (gauges) and requests shed (a
/// counter), each checked for its type.
fn load(samples: &[Sample]) -> [f64; 3] {
    let gauge = |metric| match find(samples, metric, &[]) {
        Value::Gauge(v) => *v,
        other => panic!("{metric} is {other:?}"),
    };
    let shed = match find(samples, "greet_gateway_requests_shed_total", &[]) {
        Value::Counter(v) => *v,
        other => panic!("shed is {other:?}"),
    };
    [
        gauge("greet_gateway_requests_in_flight"),
        gauge("greet_gateway_connections_open"),
        shed,
    ]
}

fn requests(
    protocol: &'static str,
    route: &'static str,
    status: &'static str,
    grpc: &'static str,
) -> [(&'static str, &'static str); 4] {
    [
        ("protocol", protocol),
        ("route", route),
        ("status", status),
        ("grpc_status", grpc),
    ]
}

#[tokio::test]
async fn a_scrape_shows_every_metric_before_any_request() {
    let app = spawn_admin().await;
    let samples = app.scrape().await;
    let counter = |metric, labels: &[(&str, &str)]| find(&samples, metric, labels).clone();
    for (protocol, route, status, grpc) in [
        ("rest", "/greet", "200", ""),
        ("preflight", "/greet", "204", ""),
        ("grpc", GREET, "200", "0"),
        ("grpc-web", GREET, "200", "0"),
        ("grpc-web-text", GREET, "200", "0"),
        ("connect", GREET, "200", "0"),
        ("preflight", GREET, "204", ""),
    ] {
        assert_eq!(
            counter(
                "greet_gateway_requests_total",
                &requests(protocol, route, status, grpc)
            ),
            Value::Counter(0.0)
        );
    }
    assert_eq!(load(&samples), [0.0, 0.0, 0.0]);
    assert_eq!(
        counter(
            "greet_gateway_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Value::Gauge(1.0)
    );
    let Value::Histogram(buckets) = counter(
        "greet_gateway_request_duration_seconds",
        &[("protocol", "grpc-web"), ("route", GREET)],
    ) else {
        panic!("not a histogram");
    };
    assert_eq!(buckets.len(), 19);
    assert!(buckets.iter().all(|b| b.count == 0.0));
    assert_eq!(buckets[0].less_than, 0.000_025);
    assert_eq!(buckets[18].less_than, f64::INFINITY);

    for (metric, positive) in [
        ("process_resident_memory_bytes", true),
        ("process_virtual_memory_bytes", true),
        ("process_open_fds", true),
        ("process_max_fds", true),
        ("process_start_time_seconds", true),
        ("process_cpu_seconds_total", false),
    ] {
        let value = match counter(metric, &[]) {
            Value::Gauge(v) | Value::Counter(v) => v,
            other => panic!("{metric} is {other:?}"),
        };
        assert!(
            value > 0.0 || (!positive && value == 0.0),
            "{metric} {value}"
        );
    }
    assert!(matches!(
        counter("process_cpu_seconds_total", &[]),
        Value::Counter(_)
    ));
}

#[tokio::test]
async fn a_scrape_shows_what_was_recorded() {
    let app = spawn_admin().await;
    let metrics = &app.metrics;
    let greet = metrics.route(GREET);
    let rest = metrics.route("/greet");
    for micros in [80, 300, 2_000] {
        let took = Duration::from_micros(micros);
        metrics.record(Protocol::Rest, rest, StatusCode::OK, None, took);
    }
    let bad = StatusCode::BAD_REQUEST;
    metrics.record(Protocol::Rest, rest, bad, None, Duration::from_micros(60));
    let invalid = Some(Code::InvalidArgument);
    let web = Protocol::GrpcWeb { text: false };
    metrics.record(
        web,
        greet,
        StatusCode::OK,
        invalid,
        Duration::from_micros(90),
    );
    let scanner = metrics.route("/.git/config");
    let missing = StatusCode::NOT_FOUND;
    metrics.record(
        Protocol::Rest,
        scanner,
        missing,
        None,
        Duration::from_micros(20),
    );
    let _in_flight = metrics.request_in_flight();
    let _connections = [metrics.connection_open(), metrics.connection_open()];
    metrics.shed();

    let samples = app.scrape().await;
    let value = |metric, labels: &[(&str, &str)]| find(&samples, metric, labels).clone();
    let total = "greet_gateway_requests_total";
    assert_eq!(
        value(total, &requests("rest", "/greet", "200", "")),
        Value::Counter(3.0)
    );
    assert_eq!(
        value(total, &requests("rest", "/greet", "400", "")),
        Value::Counter(1.0)
    );
    assert_eq!(
        value(total, &requests("grpc-web", GREET, "200", "3")),
        Value::Counter(1.0)
    );
    assert_eq!(
        value(total, &requests("grpc-web", GREET, "200", "0")),
        Value::Counter(0.0)
    );
    assert_eq!(
        value(total, &requests("rest", "unmatched", "404", "")),
        Value::Counter(1.0)
    );
    assert_eq!(load(&samples), [1.0, 2.0, 1.0]);

    let Value::Histogram(buckets) = value(
        "greet_gateway_request_duration_seconds",
        &[("protocol", "rest"), ("route", "/greet")],
    ) else {
        panic!("not a histogram");
    };
    let cumulative: Vec<(f64, f64)> = buckets.iter().map(|b| (b.less_than, b.count)).collect();
    assert_eq!(
        cumulative,
        [
            (0.000_025, 0.0),
            (0.000_05, 0.0),
            (0.000_1, 2.0),
            (0.000_25, 2.0),
            (0.000_5, 3.0),
            (0.001, 3.0),
            (0.002_5, 4.0),
            (0.005, 4.0),
            (0.01, 4.0),
            (0.025, 4.0),
            (0.05, 4.0),
            (0.1, 4.0),
            (0.25, 4.0),
            (0.5, 4.0),
            (1.0, 4.0),
            (2.5, 4.0),
            (5.0, 4.0),
            (10.0, 4.0),
            (f64::INFINITY, 4.0),
        ]
    );
    let count = samples
        .iter()
        .find(|s| {
            s.metric == "greet_gateway_request_duration_seconds_count"
                && s.labels.get("protocol") == Some("rest")
                && s.labels.get("route") == Some("/greet")
        })
        .map(|s| s.value.clone());
    assert_eq!(count, Some(Value::Untyped(4.0)));
}

#[tokio::test]
async fn health_is_ok_and_readiness_flips_to_503_when_draining() {
    let app = spawn_admin().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.headers()["cache-control"], "no-store");
    assert_eq!(health.text().await.unwrap(), "ok\n");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready\n");

    app.readiness.set_draining();
    let draining = app.get("/readyz").await;
    assert_eq!(draining.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(draining.headers()["cache-control"], "no-store");
    assert_eq!(draining.text().await.unwrap(), "draining\n");
    // Liveness does not follow readiness: a draining process is alive.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_paths_are_404_and_other_methods_405() {
    let app = spawn_admin().await;
    for path in ["/", "/metric", "/greet", "/metrics/extra"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.text().await.unwrap(),
            "Not found: the admin port serves /metrics, /healthz and /readyz\n"
        );
    }
    for path in ["/metrics", "/healthz", "/readyz"] {
        let response = app.send(reqwest::Method::POST, path).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        assert_eq!(
            response.text().await.unwrap(),
            "Method not allowed: use GET\n"
        );
    }
    let head = app.send(reqwest::Method::HEAD, "/readyz").await;
    assert_eq!(head.status(), StatusCode::OK);
}
