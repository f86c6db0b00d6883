//! The admin router, for operators and orchestrators rather than API
//! clients: served on its own listener, outside the API's CORS policy,
//! limits and access log.
//!
//! | request | answer |
//! |---|---|
//! | `GET /metrics` | 200, the Prometheus exposition ([`crate::metrics`]), `text/plain; version=0.0.4; charset=utf-8` |
//! | `GET /healthz` | 200 `ok`: the process is up (liveness) |
//! | `GET /readyz` | 200 `ready`, or 503 `draining` once [`Readiness::set_draining`] is called (readiness) |
//! | any other path | 404, a body naming the paths there are |
//! | another method on those paths | 405 with `Allow: GET, HEAD` |
//!
//! `HEAD` is answered wherever `GET` is. Every answer is `text/plain` and
//! `Cache-Control: no-store`: a health answer must never come from a cache.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};

use crate::metrics::{self, Metrics};

/// Whether the API should be sent new requests: ready from start-up until
/// shutdown begins, when [`Readiness::set_draining`] flips it for good, so a
/// load balancer polling `/readyz` stops routing here while in-flight
/// requests finish. Clones share the flag; checking it is one atomic load.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    /// Ready.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// From now on `/readyz` answers 503. There is no way back: a process
    /// that has begun to drain is on its way out.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        !self.draining.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct Admin {
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

/// The admin router; serve it with `axum::serve` on the admin listener.
pub fn router(metrics: Arc<Metrics>, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", only_get(get(scrape)))
        .route("/healthz", only_get(get(healthz)))
        .route("/readyz", only_get(get(readyz)))
        .fallback(not_found)
        .with_state(Admin { metrics, readiness })
}

/// `GET` (and so `HEAD`), and a 405 that says so for anything else.
fn only_get(route: MethodRouter<Admin>) -> MethodRouter<Admin> {
    route.fallback(|| async {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed: use GET\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        response
    })
}

async fn scrape(State(admin): State<Admin>) -> Response {
    let mut body = String::with_capacity(16 * 1024);
    match admin.metrics.encode(&mut body) {
        Ok(()) => {
            let mut response = text(StatusCode::OK, body);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
        // Only a collector can fail (writing to a String cannot).
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Encoding the metrics failed\n",
        ),
    }
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n")
}

async fn readyz(State(admin): State<Admin>) -> Response {
    if admin.readiness.is_ready() {
        text(StatusCode::OK, "ready\n")
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    }
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "Not found: the admin port serves /metrics, /healthz and /readyz\n",
    )
}

/// A `text/plain` answer that no cache keeps.
fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut response = (status, body.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
