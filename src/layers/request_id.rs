//! Request ids: every request gets one `x-request-id`, and every answer
//! (preflights, refusals, panics and timeouts of the layers below included)
//! returns it.
//!
//! - An incoming `x-request-id` is kept, exactly, when it is 1 to 128 bytes
//!   of visible ASCII without quotes or backslashes ([`is_acceptable`]): it
//!   can then be logged, quoted and forwarded as it is. Anything else is
//!   replaced by a fresh id: never truncated, never echoed.
//! - A fresh id is this process's random prefix and a counter
//!   (`<16 hex>-<16 hex>`, [`IdMaker`]): unique within the process by the
//!   counter, across restarts and replicas by the prefix.
//! - The request goes on with the chosen id in its `x-request-id` header, so
//!   gRPC services see it and REST forwards it as metadata
//!   ([`crate::transcode::forward`]), and in its [`Classified`] body for the
//!   access log below ([`super::access_log`]); the answer gets it as its
//!   `x-request-id`, replacing any a service set.
//!
//! The trace id of a W3C `traceparent` ([`trace_id`]) is read for the access
//! line by [`super::access_log`], where the line is built.
//!
//! Cost (`bench/profile`): a kept id is two header lookups, a check per
//! byte, a reference-count bump (hyper's header values share the request
//! buffer) and one insert into the answer's headers, no allocation. A fresh
//! id is a slice of a batch written ahead ([`IdMaker`]), also without an
//! allocation. On HTTP/2 the answer's id is sent "never indexed"
//! ([`RequestIdFuture`]), which took native gRPC from 60.7k to 57.5k
//! instructions a request.
//!
//! Why not tower-http's `request_id` module (`SetRequestId` +
//! `PropagateRequestId` with a `MakeRequestId`): it keeps any incoming
//! value, so it would need a validating layer before it, and then three
//! layers do one job; `SetRequestId` stores the id in the request's
//! extensions (the first insert allocates a map, its table and a box: three
//! allocations a request, which [`super::classify::Classified`] avoids),
//! and `PropagateRequestId` keeps an `x-request-id` the inner service set
//! instead of ours, so the log line and the answer could disagree.

use std::{
    cell::RefCell,
    future::Future,
    hash::{BuildHasher, Hasher},
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::classify::Classified;
use crate::access_log::TraceId;

/// The request and response header that names a request.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The W3C Trace Context header (<https://www.w3.org/TR/trace-context/#traceparent-header>).
pub static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The longest incoming id kept.
pub const MAX_ID_BYTES: usize = 128;

/// Whether an incoming id is kept as it is: 1 to [`MAX_ID_BYTES`] bytes of
/// visible ASCII (`!` to `~`), no `"` or `\`.
pub fn is_acceptable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// Makes fresh ids: a per-process random prefix and a counter.
///
/// Ids are written [`BATCH`] at a time into one buffer and handed out as
/// slices of it: a `HeaderValue` made from a slice of shared `Bytes`
/// neither copies nor allocates, and its clone (the one kept for the
/// answer) is a reference-count bump. Made one by one, each id cost two
/// allocations (the value's copy, then the buffer promoted to shared on the
/// first clone); batched, one allocation serves [`BATCH`] requests.
///
/// Each thread hands out its own batch, so making an id takes no lock; a
/// batch's counters are claimed from the maker's counter with one atomic
/// add. Ids are unique, but not in arrival order across threads.
#[derive(Debug)]
pub struct IdMaker {
    prefix: [u8; 16],
    /// The counter of the next batch to claim.
    next_counter: AtomicU64,
    /// Tells makers apart in a thread's batch (tests build several).
    serial: u64,
}

/// How many ids one buffer holds.
pub const BATCH: usize = 64;

/// The length of a fresh id: 16 hex digits, a dash, 16 hex digits.
const ID_LEN: usize = 33;

/// Numbers the makers of this process.
static MAKERS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's ids not handed out yet, and the serial of their maker.
    static THREAD_BATCH: RefCell<(u64, Bytes)> = const { RefCell::new((u64::MAX, Bytes::new())) };
}

impl IdMaker {
    /// A maker with a random prefix: std's `RandomState` keys come from the
    /// OS's random source, mixed here with the time and process id.
    pub fn new() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            hasher.write_u128(now.as_nanos());
        }
        IdMaker::with_prefix(hasher.finish())
    }

    fn with_prefix(seed: u64) -> Self {
        let mut prefix = [0; 16];
        hex(seed, &mut prefix);
        IdMaker {
            prefix,
            next_counter: AtomicU64::new(0),
            serial: MAKERS.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The next id: `<prefix>-<counter>`, 33 bytes.
    pub fn make(&self) -> HeaderValue {
        let id = THREAD_BATCH.with_borrow_mut(|(serial, ids)| {
            if *serial != self.serial || ids.is_empty() {
                let first = self.next_counter.fetch_add(BATCH as u64, Ordering::Relaxed);
                *serial = self.serial;
                *ids = self.write_batch(first);
            }
            ids.split_to(ID_LEN)
        });
        HeaderValue::from_maybe_shared(id).expect("hex digits and a dash are a valid header value")
    }

    /// [`BATCH`] ids from counter `first` on, end to end.
    fn write_batch(&self, first: u64) -> Bytes {
        let mut ids = vec![b'-'; ID_LEN * BATCH];
        for (i, id) in ids.chunks_exact_mut(ID_LEN).enumerate() {
            id[..16].copy_from_slice(&self.prefix);
            let counter = first.wrapping_add(i as u64);
            hex(counter, (&mut id[17..]).try_into().expect("16 bytes"));
        }
        Bytes::from(ids)
    }
}

impl Default for IdMaker {
    fn default() -> Self {
        IdMaker::new()
    }
}

/// `n` as 16 lowercase hex digits.
fn hex(n: u64, out: &mut [u8; 16]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (i, digit) in out.iter_mut().enumerate() {
        *digit = DIGITS[((n >> (60 - 4 * i)) & 0xf) as usize];
    }
}

/// The trace id of a valid `traceparent`
/// (<https://www.w3.org/TR/trace-context/#traceparent-header-field-values>):
/// `version-traceid-parentid-flags`, lowercase hex, version not `ff`, trace
/// and parent ids not all zero. Version `00` is exactly 55 bytes; a later
/// version may append `-` and more. Anything else is ignored (`None`).
pub fn trace_id(headers: &HeaderMap) -> Option<TraceId> {
    let value = headers.get(&TRACEPARENT)?.as_bytes();
    let lower_hex = |s: &[u8]| {
        s.iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    };
    if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let (version, parent, flags) = (&value[..2], &value[36..52], &value[53..55]);
    let valid = lower_hex(version)
        && version != b"ff"
        && (value.len() == 55 || (version != b"00" && value[55] == b'-'))
        && lower_hex(parent)
        && parent.iter().any(|&b| b != b'0')
        && lower_hex(flags);
    if !valid {
        return None;
    }
    TraceId::from_hex(&value[3..35])
}

/// Gives every request an id and every answer the same; see the module docs.
#[derive(Debug, Clone)]
pub struct RequestIdLayer {
    maker: std::sync::Arc<IdMaker>,
}

impl RequestIdLayer {
    pub fn new() -> Self {
        RequestIdLayer {
            maker: std::sync::Arc::new(IdMaker::new()),
        }
    }
}

impl Default for RequestIdLayer {
    fn default() -> Self {
        RequestIdLayer::new()
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestId<S>;

    fn layer(&self, inner: S) -> RequestId<S> {
        RequestId {
            inner,
            maker: self.maker.clone(),
        }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestId<S> {
    inner: S,
    maker: std::sync::Arc<IdMaker>,
}

impl<S, B, ResBody> Service<Request<Classified<B>>> for RequestId<S>
where
    S: Service<Request<Classified<B>>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Classified<B>>) -> Self::Future {
        let id = match request.headers().get(&X_REQUEST_ID) {
            Some(id) if is_acceptable(id.as_bytes()) => {
                let id = id.clone();
                // Repeated: the first is the one, the services see no other.
                if request
                    .headers()
                    .get_all(&X_REQUEST_ID)
                    .iter()
                    .nth(1)
                    .is_some()
                {
                    request
                        .headers_mut()
                        .insert(X_REQUEST_ID.clone(), id.clone());
                }
                id
            }
            // Absent or unacceptable; `insert` drops every incoming copy.
            _ => {
                let id = self.maker.make();
                request
                    .headers_mut()
                    .insert(X_REQUEST_ID.clone(), id.clone());
                id
            }
        };
        request.body_mut().set_request_id(id.clone());
        RequestIdFuture {
            future: self.inner.call(request),
            id: Some(id),
        }
    }
}

pin_project! {
    /// The future of [`RequestId`]: the inner answer with the id set.
    pub struct RequestIdFuture<F> {
        #[pin]
        future: F,
        id: Option<HeaderValue>,
    }
}

impl<F, ResBody, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.future.poll(cx))?;
        let mut id = this
            .id
            .take()
            .expect("a future is not polled after it completed");
        // HPACK's "never indexed": a value unique to each answer can never
        // be reused from HTTP/2's header table, and indexing it evicts the
        // entries that are (`content-type`, `grpc-status`), so every header
        // of every answer had to be encoded again: ~3,900 instructions a
        // gRPC request (`bench/profile`). HTTP/1.1 ignores the flag.
        id.set_sensitive(true);
        response.headers_mut().insert(X_REQUEST_ID.clone(), id);
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::protocol::Protocol;

    /// Answers with the id the request arrived with, and an id of its own
    /// that the layer must replace.
    async fn seen(mut request: Request<Classified<()>>) -> Result<Response<String>, Infallible> {
        let handed = request.body_mut().take_request_id();
        assert_eq!(
            handed.as_ref(),
            request.headers().get(&X_REQUEST_ID),
            "the layers below are handed the id the services see"
        );
        let ids: Vec<_> = request
            .headers()
            .get_all(&X_REQUEST_ID)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let mut response = Response::new(ids.join(","));
        response
            .headers_mut()
            .insert(&X_REQUEST_ID, HeaderValue::from_static("from-the-service"));
        Ok(response)
    }

    async fn call(layer: &RequestIdLayer, id: Option<&[u8]>) -> (String, HeaderValue) {
        let mut request = Request::new(Classified::new(Protocol::Rest, ()));
        if let Some(id) = id {
            request
                .headers_mut()
                .insert(&X_REQUEST_ID, HeaderValue::from_bytes(id).unwrap());
        }
        let response = layer
            .layer(service_fn(seen))
            .oneshot(request)
            .await
            .unwrap();
        let answered = response.headers()[&X_REQUEST_ID].clone();
        (response.into_body(), answered)
    }

    #[tokio::test]
    async fn an_acceptable_id_is_kept_and_returned_exactly() {
        let layer = RequestIdLayer::new();
        let mut id = "abc-123_~!#$%&'()*+,./:;<=>?@[]^`{|}".to_owned();
        id.push_str(&"x".repeat(MAX_ID_BYTES - id.len()));
        let (seen, answered) = call(&layer, Some(id.as_bytes())).await;
        assert_eq!(seen, id);
        assert_eq!(answered, id.as_str());
    }

    #[tokio::test]
    async fn of_repeated_ids_the_first_acceptable_one_is_the_only_one_passed_on() {
        let mut request = Request::new(Classified::new(Protocol::Rest, ()));
        let headers = request.headers_mut();
        headers.append(&X_REQUEST_ID, HeaderValue::from_static("first"));
        headers.append(&X_REQUEST_ID, HeaderValue::from_static("second"));
        let layer = RequestIdLayer::new();
        let response = layer
            .layer(service_fn(seen))
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.headers()[&X_REQUEST_ID], "first");
        assert_eq!(response.into_body(), "first");
    }

    #[tokio::test]
    async fn an_unacceptable_or_missing_id_is_replaced_by_a_fresh_one() {
        let layer = RequestIdLayer::new();
        let long = "x".repeat(129);
        let cases: [Option<&[u8]>; 7] = [
            None,
            Some(b""),
            Some(long.as_bytes()),
            Some(b"a b"),
            Some(b"a\"b"),
            Some(b"a\\b"),
            Some("é".as_bytes()),
        ];
        let mut ids = Vec::new();
        for case in cases {
            let (seen, answered) = call(&layer, case).await;
            assert_eq!(seen.as_bytes(), answered.as_bytes(), "case {case:?}");
            assert_eq!(answered.len(), 33, "case {case:?}");
            assert!(is_acceptable(answered.as_bytes()));
            ids.push(answered);
        }
        ids.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        ids.dedup();
        assert_eq!(ids.len(), cases.len(), "every fresh id differs");
    }

    #[test]
    fn fresh_ids_are_the_prefix_and_the_counter() {
        let maker = IdMaker::with_prefix(0x0123_4567_89ab_cdef);
        assert_eq!(maker.make(), "0123456789abcdef-0000000000000000");
        assert_eq!(maker.make(), "0123456789abcdef-0000000000000001");
        for _ in 2..BATCH {
            maker.make();
        }
        // The next batch goes on counting.
        assert_eq!(maker.make(), format!("0123456789abcdef-{BATCH:016x}"));
        assert_ne!(IdMaker::new().prefix, IdMaker::new().prefix);
    }

    #[test]
    fn threads_and_makers_never_hand_out_the_same_id() {
        let maker = std::sync::Arc::new(IdMaker::with_prefix(7));
        let other = IdMaker::with_prefix(8);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let maker = std::sync::Arc::clone(&maker);
                std::thread::spawn(move || (0..100).map(|_| maker.make()).collect::<Vec<_>>())
            })
            .collect();
        let mut ids: Vec<_> = threads
            .into_iter()
            .flat_map(|thread| thread.join().expect("no panic"))
            .collect();
        // A thread switching makers starts a batch of the other's.
        ids.push(maker.make());
        let from_other = other.make();
        ids.push(maker.make());
        let total = ids.len();
        ids.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        ids.dedup();
        assert_eq!(ids.len(), total, "every id differs");
        assert_eq!(from_other, "0000000000000008-0000000000000000");
    }

    fn trace(value: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(&TRACEPARENT, HeaderValue::from_str(value).unwrap());
        trace_id(&headers).map(|t| t.as_str().to_owned())
    }

    #[test]
    fn a_traceparent_gives_its_trace_id_when_valid() {
        const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
        let ok = format!("00-{TRACE}-00f067aa0ba902b7-01");
        assert_eq!(trace(&ok).as_deref(), Some(TRACE));
        // A later version may carry more fields.
        assert_eq!(
            trace(&format!("01-{TRACE}-00f067aa0ba902b7-01-extra")).as_deref(),
            Some(TRACE)
        );
        for bad in [
            format!("ff-{TRACE}-00f067aa0ba902b7-01"),
            format!("00-{TRACE}-00f067aa0ba902b7-01-extra"),
            format!("01-{TRACE}-00f067aa0ba902b7-01extra"),
            format!("00-{}-00f067aa0ba902b7-01", TRACE.to_uppercase()),
            format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            format!("00-{TRACE}-0000000000000000-01"),
            format!("00-{TRACE}-00F067AA0BA902B7-01"),
            format!("00-{TRACE}-00f067aa0ba902b7-0g"),
            format!("0-{TRACE}-00f067aa0ba902b7-01"),
            format!("00_{TRACE}-00f067aa0ba902b7-01"),
            String::new(),
        ] {
            assert_eq!(trace(&bad), None, "{bad}");
        }
        assert!(trace_id(&HeaderMap::new()).is_none());
    }
}
