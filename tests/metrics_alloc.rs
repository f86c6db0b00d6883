//! Recording a request's metrics allocates nothing once its series exist:
//! a global allocator that counts, in a test binary of its own so no other
//! test's allocations are counted.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::Duration,
};

use greet_gateway::{
    metrics::{KnownRoute, Metrics},
    protocol::Protocol,
};
use http::StatusCode;
use tonic::Code;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers every call to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `work`. One test in this binary, so no other thread
/// of the harness allocates while it counts.
fn allocations(work: impl FnOnce()) -> usize {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    work();
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst)
}

const GREET: &str = "/greet.v1.GreetService/Greet";

/// Every kind of request the gateway records: the pre-created successes,
/// errors (first seen during warm-up), the unmatched route, and more
/// outcomes on one pair than it has slots (the label-keyed fallback).
fn record_everything(metrics: &Metrics) {
    let greet = metrics.route(GREET);
    let rest = metrics.route("/greet");
    let unmatched = metrics.route("/wp-login.php");
    let took = Duration::from_micros(120);
    metrics.record(Protocol::Rest, rest, StatusCode::OK, None, took);
    metrics.record(Protocol::Rest, rest, StatusCode::BAD_REQUEST, None, took);
    metrics.record(Protocol::Grpc, greet, StatusCode::OK, Some(Code::Ok), took);
    let web = Protocol::GrpcWeb { text: false };
    let invalid = Some(Code::InvalidArgument);
    metrics.record(web, greet, StatusCode::OK, invalid, took);
    metrics.record(
        Protocol::Preflight,
        greet,
        StatusCode::NO_CONTENT,
        None,
        took,
    );
    metrics.record(Protocol::Rest, unmatched, StatusCode::NOT_FOUND, None, took);
    for status in 500..520 {
        let status = StatusCode::from_u16(status).expect("a valid status");
        metrics.record(Protocol::Grpc, unmatched, status, None, took);
    }
    let _in_flight = metrics.request_in_flight();
    let _connection = metrics.connection_open();
    metrics.shed();
}

#[test]
fn recording_allocates_nothing_once_each_series_exists() {
    let metrics = Metrics::new([KnownRoute::Rest("/greet"), KnownRoute::Grpc(GREET)]);
    // Warm-up creates the series the successes did not have yet.
    let first = allocations(|| record_everything(&metrics));
    assert!(
        first > 0,
        "the counter saw no allocation at all: is it installed?"
    );
    let after = allocations(|| {
        for _ in 0..1000 {
            record_everything(&metrics);
        }
    });
    assert_eq!(after, 0);
}
