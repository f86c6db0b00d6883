//! The API's Prometheus metrics: what every request, connection and shed
//! request adds, and the exposition a scrape of the admin port reads
//! ([`crate::admin`]).
//!
//! The names are a contract with dashboards and alerts:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `greet_gateway_requests_total` | counter | `protocol`, `route`, `status`, `grpc_status` |
//! | `greet_gateway_request_duration_seconds` | histogram | `protocol`, `route` |
//! | `greet_gateway_requests_in_flight` | gauge | |
//! | `greet_gateway_connections_open` | gauge | |
//! | `greet_gateway_requests_shed_total` | counter | |
//! | `greet_gateway_build_info` | gauge, always 1 | `version` |
//!
//! plus the standard `process_*` metrics ([`crate::process_metrics`]).
//! `protocol` is `rest`, `grpc-web`, `grpc-web-text`, `grpc`, `connect` or
//! `preflight`;
//! `route` is a REST route template (`/greet`) or a gRPC method path
//! (`/greet.v1.GreetService/Greet`), or `unmatched` for a path no route or
//! service knows, so a scanner's random paths add no series; `status` is
//! the HTTP status; `grpc_status` the gRPC code number (Connect's code, by
//! number), empty where there is none (REST, preflights).
//!
//! **Exported from start-up.** [`Metrics::new`] creates, at zero, for every
//! known route and each protocol that can reach it, the duration histogram
//! and the success series of the counter: a REST route gets `rest` 200 and
//! `preflight` 204; a gRPC method gets `grpc`, `grpc-web`, `grpc-web-text`
//! and `connect` 200 with `grpc_status="0"`, and `preflight` 204. Error
//! series and the `unmatched` route appear at their first request.
//!
//! **Why `prometheus-client`.** It is the Prometheus project's own Rust
//! client, and its types fit a per-request budget: a counter is one atomic,
//! a histogram a fixed set of buckets behind an uncontended mutex, and since
//! 0.26 it writes the classic text format (`text/plain; version=0.0.4`)
//! every scraper reads. `metrics` + `metrics-exporter-prometheus` records a
//! histogram sample by appending it to a lock-free list that is only folded
//! into buckets at scrape or upkeep time: an allocation every few dozen
//! requests and memory that grows between scrapes, and each labelled call
//! looks its key up in a registry unless the handle is kept.
//!
//! **Recording is cheap and allocation-free.** Handles are resolved once per
//! (protocol, route) pair: the histogram, and up to [`OUTCOME_SLOTS`]
//! counters for the (status, grpc-status) outcomes that pair has seen,
//! claimed first come, first served. A request then costs a table index, a
//! short scan, one atomic add and one histogram observation: no label is
//! hashed and nothing is allocated (`tests/metrics_alloc.rs` counts the
//! allocations). The first request with a new outcome creates its series
//! (an allocation, once); a pair with more distinct outcomes than slots
//! falls back to the label-keyed map, which hashes but still does not
//! allocate once the series exists. Measured under callgrind
//! (`examples/metrics_cost.rs`): [`Metrics::route`], [`Metrics::record`] and
//! an in-flight guard together cost ~360 instructions a request.

use std::{cmp::Ordering, collections::HashMap, fmt, sync::OnceLock, time::Duration};

use http::StatusCode;
use prometheus_client::{
    encoding::{EncodeLabelSet, prometheus_text},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram, info::Info},
    registry::Registry,
};
use tonic::Code;

use crate::{process_metrics::ProcessCollector, protocol::Protocol};

/// The `Content-Type` of [`Metrics::encode`]'s output: the Prometheus text
/// exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds of the duration buckets, in seconds. The gateway answers in
/// tens to hundreds of microseconds, so the low end is resolved finely; the
/// top reaches the default request timeout's neighbourhood (30 s lands in
/// `+Inf`, and is counted as a 504 / DEADLINE_EXCEEDED anyway).
pub const DURATION_BUCKETS: [f64; 18] = [
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Outcomes (status, grpc-status) per (protocol, route) pair whose counter
/// is kept at hand; more than this go through the label-keyed map. A route
/// sees a handful in practice: success, the validation error, 413, 503, 504.
pub const OUTCOME_SLOTS: usize = 8;

/// The `route` label of requests no route or service knows.
pub const UNMATCHED: &str = "unmatched";

/// Each protocol's label and the outcome counted as its success, in the
/// order [`protocol_index`] numbers them.
const PROTOCOLS: [ProtocolLabel; 6] = [
    ProtocolLabel::new("rest", 200, None),
    ProtocolLabel::new("grpc-web", 200, Some(0)),
    ProtocolLabel::new("grpc-web-text", 200, Some(0)),
    ProtocolLabel::new("grpc", 200, Some(0)),
    ProtocolLabel::new("preflight", 204, None),
    ProtocolLabel::new("connect", 200, Some(0)),
];

struct ProtocolLabel {
    label: &'static str,
    /// The (status, grpc-status) pre-created for every route it reaches.
    success: (u16, Option<u8>),
}

impl ProtocolLabel {
    const fn new(label: &'static str, status: u16, grpc_status: Option<u8>) -> ProtocolLabel {
        ProtocolLabel {
            label,
            success: (status, grpc_status),
        }
    }
}

/// Where a [`Protocol`] sits in [`PROTOCOLS`] and in each route's row of
/// [`Series`]. Exhaustive: a new protocol must be given its label here.
fn protocol_index(protocol: Protocol) -> usize {
    match protocol {
        Protocol::Rest => 0,
        Protocol::GrpcWeb { text: false } => 1,
        Protocol::GrpcWeb { text: true } => 2,
        Protocol::Grpc => 3,
        Protocol::Preflight => 4,
        Protocol::Connect => 5,
    }
}

/// A route the gateway serves, as [`Metrics::new`] learns it: which label it
/// gets and which protocols can reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownRoute<'a> {
    /// A REST route template from a `google.api.http` rule, e.g. `/greet`;
    /// reached by `rest` and `preflight`.
    Rest(&'a str),
    /// A gRPC method path, e.g. `/greet.v1.GreetService/Greet`; reached by
    /// `grpc`, `grpc-web`, `grpc-web-text`, `connect` and `preflight`.
    Grpc(&'a str),
}

/// A route's label, resolved once ([`Metrics::route`]); cheap to copy into
/// whatever carries a request to [`Metrics::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route(usize);

impl Route {
    /// The `unmatched` route: anything no route or service knows.
    pub const UNMATCHED: Route = Route(0);
}

/// `greet_gateway_requests_total`'s labels: all `Copy`, so a lookup builds
/// them on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    protocol: &'static str,
    route: &'static str,
    status: u16,
    /// `None` is written as the empty string.
    grpc_status: Option<u8>,
}

/// `greet_gateway_request_duration_seconds`'s labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    protocol: &'static str,
    route: &'static str,
}

impl RouteLabels {
    /// The counter labels of an outcome on this pair.
    fn outcome(self, status: u16, grpc_status: Option<u8>) -> RequestLabels {
        RequestLabels {
            protocol: self.protocol,
            route: self.route,
            status,
            grpc_status,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The handles of one (protocol, route) pair, resolved at start-up for the
/// pairs that can happen and on first use for the rest.
#[derive(Debug, Default)]
struct Series {
    duration: OnceLock<Histogram>,
    outcomes: [OnceLock<Outcome>; OUTCOME_SLOTS],
}

/// One counter of `greet_gateway_requests_total` and the labels it is for.
#[derive(Debug)]
struct Outcome {
    status: u16,
    grpc_status: Option<u8>,
    count: Counter,
}

/// The gateway's metrics. Build one at start-up, share it (`Arc`) between
/// the API's request path and the admin router.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    connections: Gauge,
    shed: Counter,
    /// Route labels by id; index 0 is [`UNMATCHED`].
    names: Vec<&'static str>,
    /// The known ids, sorted by [`by_length`] for [`Metrics::route`].
    ids: Box<[(&'static str, Route)]>,
    /// `names.len() × PROTOCOLS.len()`, row-major by route.
    series: Box<[Series]>,
}

impl Metrics {
    /// Registers every metric and pre-creates the series listed in the
    /// module doc for `routes` (the REST templates and gRPC method paths of
    /// every registered service). A route given twice, or as both REST and
    /// gRPC, is one label reached by the union of their protocols.
    ///
    /// Route labels live as long as the process (they are leaked once, a
    /// few bytes per route): one `Metrics` is made per process.
    pub fn new<'a>(routes: impl IntoIterator<Item = KnownRoute<'a>>) -> Metrics {
        let mut names = vec![UNMATCHED];
        let mut ids: HashMap<&'static str, Route> = HashMap::new();
        // Which protocols reach each route, by protocol index.
        let mut reached = vec![[false; PROTOCOLS.len()]];
        for route in routes {
            let (id, protocols): (&str, &[Protocol]) = match route {
                KnownRoute::Rest(id) => (id, &[Protocol::Rest, Protocol::Preflight]),
                KnownRoute::Grpc(id) => (
                    id,
                    &[
                        Protocol::Grpc,
                        Protocol::GrpcWeb { text: false },
                        Protocol::GrpcWeb { text: true },
                        Protocol::Connect,
                        Protocol::Preflight,
                    ],
                ),
            };
            let index = match ids.get(id) {
                Some(&Route(index)) => index,
                None => {
                    let name: &'static str = Box::leak(id.into());
                    names.push(name);
                    reached.push([false; PROTOCOLS.len()]);
                    ids.insert(name, Route(names.len() - 1));
                    names.len() - 1
                }
            };
            for &protocol in protocols {
                reached[index][protocol_index(protocol)] = true;
            }
        }

        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "greet_gateway_requests",
            "Requests answered, by protocol, route, HTTP status and gRPC status",
            requests.clone(),
        );
        let durations: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        registry.register(
            "greet_gateway_request_duration_seconds",
            "Time from a request's arrival to the end of its response body, in seconds",
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "greet_gateway_requests_in_flight",
            "Requests being served now",
            in_flight.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "greet_gateway_connections_open",
            "Client connections open now on the API port",
            connections.clone(),
        );
        let shed = Counter::default();
        registry.register(
            "greet_gateway_requests_shed",
            "Requests refused at once because the concurrent request limit was reached",
            shed.clone(),
        );
        registry.register(
            "greet_gateway_build",
            "The running build; always 1",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        registry.register_collector(Box::new(ProcessCollector::new()));

        let mut ids: Box<[_]> = ids.into_iter().collect();
        ids.sort_unstable_by(|(a, _), (b, _)| by_length(a, b));
        let series = (0..names.len() * PROTOCOLS.len())
            .map(|_| Series::default())
            .collect();
        let metrics = Metrics {
            registry,
            requests,
            durations,
            in_flight,
            connections,
            shed,
            names,
            ids,
            series,
        };
        for (index, reached) in reached.iter().enumerate() {
            for (protocol, _) in reached.iter().enumerate().filter(|(_, r)| **r) {
                let series = &metrics.series[index * PROTOCOLS.len() + protocol];
                let labels = metrics.route_labels(protocol, Route(index));
                let _ = series
                    .duration
                    .set(metrics.durations.get_or_create_owned(&labels));
                let (status, grpc_status) = PROTOCOLS[protocol].success;
                metrics.count(series, labels.outcome(status, grpc_status), 0);
            }
        }
        metrics
    }

    /// The route whose label is `id` (a REST template or gRPC method path
    /// given to [`Metrics::new`]), or [`Route::UNMATCHED`]. A REST layer
    /// passes the template its router matched, not the request path; a
    /// gRPC path is its own id. Look up once per request.
    pub fn route(&self, id: &str) -> Route {
        match self.ids.binary_search_by(|(known, _)| by_length(known, id)) {
            Ok(at) => self.ids[at].1,
            Err(_) => Route::UNMATCHED,
        }
    }

    /// Records one answered request: its outcome counter and its duration.
    /// `grpc_status` is the code from the response headers or trailers
    /// (`Code::from_bytes` on the `grpc-status` value), `None` for REST and
    /// preflights. Allocation-free once the outcome has been seen.
    pub fn record(
        &self,
        protocol: Protocol,
        route: Route,
        status: StatusCode,
        grpc_status: Option<Code>,
        elapsed: Duration,
    ) {
        let protocol = protocol_index(protocol);
        // A `Route` from another `Metrics` is out of range: count it as
        // unmatched rather than panic on the request path.
        let route = if route.0 < self.names.len() {
            route
        } else {
            Route::UNMATCHED
        };
        let series = &self.series[route.0 * PROTOCOLS.len() + protocol];
        let labels = self.route_labels(protocol, route);
        series
            .duration
            .get_or_init(|| self.durations.get_or_create_owned(&labels))
            .observe(elapsed.as_secs_f64());
        let grpc_status = grpc_status.map(|code| i32::from(code) as u8);
        self.count(series, labels.outcome(status.as_u16(), grpc_status), 1);
    }

    /// Adds `by` to the counter of `labels`, through the first slot of
    /// `series` that holds it or is free to take it.
    fn count(&self, series: &Series, labels: RequestLabels, by: u64) {
        for slot in &series.outcomes {
            let outcome = slot.get_or_init(|| Outcome {
                status: labels.status,
                grpc_status: labels.grpc_status,
                count: self.requests.get_or_create_owned(&labels),
            });
            if outcome.status == labels.status && outcome.grpc_status == labels.grpc_status {
                outcome.count.inc_by(by);
                return;
            }
        }
        self.requests.get_or_create(&labels).inc_by(by);
    }

    fn route_labels(&self, protocol: usize, route: Route) -> RouteLabels {
        RouteLabels {
            protocol: PROTOCOLS[protocol].label,
            route: self.names[route.0],
        }
    }

    /// Counts a request from now until the guard drops
    /// (`greet_gateway_requests_in_flight`). Hold it for the whole response,
    /// body included.
    pub fn request_in_flight(&self) -> GaugeGuard {
        GaugeGuard::hold(&self.in_flight)
    }

    /// A request enters `greet_gateway_requests_in_flight`, for the access
    /// log's [`crate::access_log::Counted`], which already holds the metrics
    /// and leaves on drop: the same as [`Metrics::request_in_flight`]
    /// without a second handle to hold.
    pub(crate) fn request_entered(&self) {
        self.in_flight.inc();
    }

    /// A request entered with [`Metrics::request_entered`] leaves.
    pub(crate) fn request_left(&self) {
        self.in_flight.dec();
    }

    /// Counts a connection from now until the guard drops
    /// (`greet_gateway_connections_open`).
    pub fn connection_open(&self) -> GaugeGuard {
        GaugeGuard::hold(&self.connections)
    }

    /// Counts one request refused by load shedding. It is also recorded, as
    /// its 503 / UNAVAILABLE, through [`Metrics::record`]; this counter
    /// tells shedding apart from other 503s.
    pub fn shed(&self) {
        self.shed.inc();
    }

    /// Writes the exposition: every metric above and the process metrics,
    /// in the Prometheus text format ([`CONTENT_TYPE`]).
    pub fn encode(&self, out: &mut String) -> fmt::Result {
        prometheus_text::encode(out, &self.registry)
    }
}

/// Orders ids by length first: a lookup then compares bytes only with ids
/// of the same length, and hashes nothing (SipHash over a gRPC method path
/// was half the cost of recording a request, `examples/metrics_cost.rs`).
fn by_length(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Keeps a gauge one higher while it lives. Owns a handle to the gauge (a
/// reference count, no allocation), so it can move into a response body.
#[derive(Debug)]
#[must_use = "the gauge goes back down when the guard drops"]
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn hold(gauge: &Gauge) -> GaugeGuard {
        gauge.inc();
        GaugeGuard(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GREET: &str = "/greet.v1.GreetService/Greet";

    fn metrics() -> Metrics {
        Metrics::new([KnownRoute::Rest("/greet"), KnownRoute::Grpc(GREET)])
    }

    fn exposition(metrics: &Metrics) -> String {
        let mut text = String::new();
        metrics.encode(&mut text).unwrap();
        text
    }

    /// The value of the one sample whose name and labels are exactly these
    /// (labels in the order they are written).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.parse().unwrap())
    }

    fn requests(protocol: &str, route: &str, status: u16, grpc: &str) -> String {
        format!(
            r#"greet_gateway_requests_total{{protocol="{protocol}",route="{route}",status="{status}",grpc_status="{grpc}"}}"#
        )
    }

    #[test]
    fn every_metric_is_described_from_start_up() {
        let text = exposition(&metrics());
        for (name, kind) in [
            ("greet_gateway_requests_total", "counter"),
            ("greet_gateway_request_duration_seconds", "histogram"),
            ("greet_gateway_requests_in_flight", "gauge"),
            ("greet_gateway_connections_open", "gauge"),
            ("greet_gateway_requests_shed_total", "counter"),
            ("greet_gateway_build_info", "gauge"),
            ("process_cpu_seconds_total", "counter"),
            ("process_resident_memory_bytes", "gauge"),
            ("process_open_fds", "gauge"),
            ("process_start_time_seconds", "gauge"),
        ] {
            assert!(
                text.contains(&format!("\n# TYPE {name} {kind}\n")),
                "{name} {kind} missing from\n{text}"
            );
        }
        assert_eq!(sample(&text, "greet_gateway_requests_in_flight"), Some(0.0));
        assert_eq!(sample(&text, "greet_gateway_connections_open"), Some(0.0));
        assert_eq!(
            sample(&text, "greet_gateway_requests_shed_total"),
            Some(0.0)
        );
        let build = format!(
            r#"greet_gateway_build_info{{version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(sample(&text, &build), Some(1.0));
    }

    #[test]
    fn each_known_route_starts_with_its_success_series_at_zero() {
        let text = exposition(&metrics());
        let mut created: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("greet_gateway_requests_total{"))
            .collect();
        created.sort_unstable();
        let mut expected = vec![
            requests("rest", "/greet", 200, ""),
            requests("preflight", "/greet", 204, ""),
            requests("grpc", GREET, 200, "0"),
            requests("grpc-web", GREET, 200, "0"),
            requests("grpc-web-text", GREET, 200, "0"),
            requests("connect", GREET, 200, "0"),
            requests("preflight", GREET, 204, ""),
        ]
        .into_iter()
        .map(|series| series + " 0")
        .collect::<Vec<_>>();
        expected.sort_unstable();
        assert_eq!(created, expected);

        let histograms: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("greet_gateway_request_duration_seconds_count{"))
            .collect();
        assert_eq!(histograms.len(), 7, "{histograms:#?}");
    }

    #[test]
    fn a_recorded_request_counts_once_and_lands_in_its_bucket() {
        let metrics = metrics();
        let greet = metrics.route(GREET);
        for (code, micros) in [(Code::InvalidArgument, 180), (Code::Ok, 40)] {
            let took = Duration::from_micros(micros);
            let text = Protocol::GrpcWeb { text: true };
            metrics.record(text, greet, StatusCode::OK, Some(code), took);
        }
        let text = exposition(&metrics);
        assert_eq!(
            sample(&text, &requests("grpc-web-text", GREET, 200, "3")),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, &requests("grpc-web-text", GREET, 200, "0")),
            Some(1.0)
        );
        let bucket = |le: &str| {
            let series = format!(
                r#"greet_gateway_request_duration_seconds_bucket{{protocol="grpc-web-text",route="{GREET}",le="{le}"}}"#
            );
            sample(&text, &series)
        };
        assert_eq!(bucket("2.5e-05"), Some(0.0));
        assert_eq!(bucket("5e-05"), Some(1.0));
        assert_eq!(bucket("0.0001"), Some(1.0));
        assert_eq!(bucket("0.00025"), Some(2.0));
        assert_eq!(bucket("+Inf"), Some(2.0));
        let sum = format!(
            r#"greet_gateway_request_duration_seconds_sum{{protocol="grpc-web-text",route="{GREET}"}}"#
        );
        assert!((sample(&text, &sum).unwrap() - 0.000_22).abs() < 1e-12);
    }

    #[test]
    fn unknown_paths_share_one_unmatched_series() {
        let metrics = metrics();
        for path in ["/wp-admin", "/.env", "/greet.v1.GreetService/Nope"] {
            let route = metrics.route(path);
            assert_eq!(route, Route::UNMATCHED);
            metrics.record(
                Protocol::Rest,
                route,
                StatusCode::NOT_FOUND,
                None,
                Duration::from_micros(30),
            );
        }
        let text = exposition(&metrics);
        assert_eq!(
            sample(&text, &requests("rest", "unmatched", 404, "")),
            Some(3.0)
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("greet_gateway_requests_total{")
                    && l.contains("status=\"404\""))
                .count(),
            1
        );
    }

    #[test]
    fn outcomes_beyond_the_slots_are_still_counted() {
        let metrics = metrics();
        let rest = metrics.route("/greet");
        let statuses = 400..400 + OUTCOME_SLOTS as u16 + 3;
        for status in statuses.clone() {
            for _ in 0..2 {
                metrics.record(
                    Protocol::Rest,
                    rest,
                    StatusCode::from_u16(status).unwrap(),
                    None,
                    Duration::ZERO,
                );
            }
        }
        let text = exposition(&metrics);
        for status in statuses {
            assert_eq!(
                sample(&text, &requests("rest", "/greet", status, "")),
                Some(2.0),
                "{status}"
            );
        }
    }

    #[test]
    fn a_route_given_as_rest_and_grpc_is_one_label_reached_by_both() {
        let metrics = Metrics::new([
            KnownRoute::Rest("/same"),
            KnownRoute::Grpc("/same"),
            KnownRoute::Rest("/same"),
        ]);
        assert_eq!(metrics.route("/same"), Route(1));
        assert_eq!(metrics.names, [UNMATCHED, "/same"]);
        let text = exposition(&metrics);
        assert_eq!(
            sample(&text, &requests("rest", "/same", 200, "")),
            Some(0.0)
        );
        assert_eq!(
            sample(&text, &requests("grpc", "/same", 200, "0")),
            Some(0.0)
        );
    }

    #[test]
    fn each_id_finds_its_own_route_among_ids_of_the_same_length() {
        let ids = ["/c", "/abc", "/a", "/b", "/greet", GREET];
        let metrics = Metrics::new(ids.map(KnownRoute::Rest));
        for id in ids {
            let route = metrics.route(id);
            assert_eq!(metrics.names[route.0], id);
        }
        for unknown in [
            "",
            "/",
            "/d",
            "/ab",
            "/abcd",
            "/greet.v1.GreetService/Greex",
        ] {
            assert_eq!(metrics.route(unknown), Route::UNMATCHED, "{unknown}");
        }
    }

    #[test]
    fn a_route_from_another_registry_counts_as_unmatched() {
        let metrics = Metrics::new([]);
        metrics.record(
            Protocol::Grpc,
            Route(7),
            StatusCode::OK,
            Some(Code::Unimplemented),
            Duration::ZERO,
        );
        let text = exposition(&metrics);
        assert_eq!(
            sample(&text, &requests("grpc", "unmatched", 200, "12")),
            Some(1.0)
        );
    }

    #[test]
    fn guards_hold_their_gauge_up_while_they_live_and_shed_counts() {
        let metrics = metrics();
        let gauges = |m: &Metrics| {
            let text = exposition(m);
            (
                sample(&text, "greet_gateway_requests_in_flight"),
                sample(&text, "greet_gateway_connections_open"),
                sample(&text, "greet_gateway_requests_shed_total"),
            )
        };
        let connection = metrics.connection_open();
        let first = metrics.request_in_flight();
        let second = metrics.request_in_flight();
        metrics.shed();
        assert_eq!(gauges(&metrics), (Some(2.0), Some(1.0), Some(1.0)));
        drop(first);
        drop(connection);
        assert_eq!(gauges(&metrics), (Some(1.0), Some(0.0), Some(1.0)));
        drop(second);
        assert_eq!(gauges(&metrics), (Some(0.0), Some(0.0), Some(1.0)));
    }
}
