//! One structured log line per request, written when the response body ends
//! (or is dropped), so a gRPC call's `grpc-status` from its trailers and the
//! full latency are both known.
//!
//! The line obeys the tracing filter (target `greet_gateway::access`, level
//! INFO) and looks like every other line of the chosen format (plain or
//! JSON, [`crate::logging::LogFormat`]), but when the binary's own writer is
//! installed ([`crate::logging`]) it is formatted here by hand: through the
//! generic subscriber a line cost ~8k instructions, about a sixth of a whole
//! gRPC request. Both forms carry the request's id when it has one; the
//! JSON form also carries its trace id.

use std::{
    borrow::Cow,
    fmt,
    io::Write as _,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Instant, SystemTime},
};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{Code, body::Body};

use crate::{
    logging::{LogFormat, needs_escape, write_json_str},
    metrics::{Metrics, Route},
    protocol::{GRPC_STATUS, Protocol},
};

/// What the log line says, gathered while the request is served.
#[derive(Debug)]
pub struct Entry {
    pub started: Instant,
    pub method: Method,
    pub uri: Uri,
    pub protocol: Protocol,
    pub status: StatusCode,
    /// From the response headers (trailers-only) or, later, the trailers.
    pub grpc_status: Option<HeaderValue>,
    /// The request's id, shown on both formats of the line when set.
    pub request_id: Option<HeaderValue>,
    /// The trace the request belongs to, from its `traceparent`; shown on
    /// JSON lines.
    pub trace_id: Option<TraceId>,
}

impl Entry {
    /// Picks the `grpc-status` out of a response frame: an HTTP/2 trailers
    /// frame for gRPC, or gRPC-Web's in-body trailer frame. tonic-web emits
    /// that frame whole in one data chunk: a chunk of its own in binary mode
    /// (flag 0x80); in text mode a chunk that may also hold the last message
    /// before it, each base64 on its own (the trailer's starts `gAAAA`).
    fn observe(&mut self, frame: &Frame<Bytes>) {
        if let Some(trailers) = frame.trailers_ref() {
            if let Some(status) = trailers.get(&GRPC_STATUS) {
                self.grpc_status = Some(status.clone());
            }
            return;
        }
        let (Protocol::GrpcWeb { .. }, Some(data)) = (self.protocol, frame.data_ref()) else {
            return;
        };
        // The answer's encoding, not the request's: tonic-web answers a
        // text request in binary unless its `Accept` asks for text. A
        // binary frame starts with its flag byte, base64 with a letter.
        let decoded;
        let block = match data.first() {
            Some(0x80) => &data[..],
            Some(b) if b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/' => {
                use base64::Engine as _;
                // A chunk may hold the last message and the trailer frame,
                // each base64 on its own (a multiple of 4 characters): the
                // trailer is the last aligned segment that starts one.
                let Some(at) = (0..data.len())
                    .step_by(4)
                    .rev()
                    .find(|&at| data[at..].starts_with(b"gAAAA"))
                else {
                    return;
                };
                match base64::engine::general_purpose::STANDARD.decode(&data[at..]) {
                    Ok(bytes) => {
                        decoded = bytes;
                        &decoded[..]
                    }
                    Err(_) => return,
                }
            }
            _ => return,
        };
        let lines = block.get(5..).unwrap_or_default();
        for line in lines.split(|&b| b == b'\n') {
            if let Some(value) = line.strip_prefix(b"grpc-status:")
                && let Some(value) = status_value(value.trim_ascii())
            {
                self.grpc_status = Some(value);
            }
        }
    }
}

/// A `grpc-status` read from a gRPC-Web trailer frame as a header value:
/// one of the seventeen codes' own static text (no allocation, where
/// `HeaderValue::from_bytes` copies), else a copy of whatever it says.
fn status_value(text: &[u8]) -> Option<HeaderValue> {
    const CODES: [&str; 17] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    ];
    match CODES.iter().find(|code| code.as_bytes() == text) {
        Some(code) => Some(HeaderValue::from_static(code)),
        None => HeaderValue::from_bytes(text).ok(),
    }
}

/// What counting requests in the metrics needs: the metrics, and the
/// `route` label of each of the transcoder's routes.
#[derive(Debug)]
pub struct Recorder {
    metrics: Arc<Metrics>,
    /// The transcoder's routes, by [`crate::transcode::matched`]'s index.
    rest_routes: Box<[Route]>,
}

impl Recorder {
    /// `rest_templates` are the transcoder's route templates in its order
    /// ([`crate::transcode::Transcoder::templates`]).
    pub fn new(metrics: Arc<Metrics>, rest_templates: &[String]) -> Self {
        let rest_routes = rest_templates.iter().map(|t| metrics.route(t)).collect();
        Recorder {
            metrics,
            rest_routes,
        }
    }

    /// A request that has just arrived: in flight from now until the
    /// returned [`Counted`] drops.
    pub fn arrived(self: &Arc<Self>) -> Counted {
        self.metrics.request_entered();
        Counted {
            recorder: Arc::clone(self),
            rest_route: None,
        }
    }
}

/// A request to count in the metrics when its body ends, from the same
/// [`Entry`] as its line. It is in `greet_gateway_requests_in_flight` while
/// this lives. It holds the one reference count a request takes on the
/// metrics: every atomic operation on the request path costs real time
/// that instruction counts do not show.
#[derive(Debug)]
pub struct Counted {
    recorder: Arc<Recorder>,
    rest_route: Option<usize>,
}

impl Counted {
    /// Whether the transcoder has said which REST route it matched.
    pub fn knows_rest_route(&self) -> bool {
        self.rest_route.is_some()
    }

    /// The REST route the transcoder matched, by its index.
    pub fn set_rest_route(&mut self, matched: Option<usize>) {
        self.rest_route = matched;
    }

    /// The request's `route` label: the REST route matched, else its path
    /// when that is a known route, else `unmatched`.
    fn route(&self, entry: &Entry) -> Route {
        let recorder = &self.recorder;
        match self.rest_route.and_then(|i| recorder.rest_routes.get(i)) {
            Some(&route) => route,
            None => recorder.metrics.route(entry.uri.path()),
        }
    }

    fn record(&self, entry: &Entry, elapsed: std::time::Duration) {
        let grpc_status = entry
            .grpc_status
            .as_ref()
            .map(|value| Code::from_bytes(value.as_bytes()));
        self.recorder.metrics.record(
            entry.protocol,
            self.route(entry),
            entry.status,
            grpc_status,
            elapsed,
        );
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.recorder.metrics.request_left();
    }
}

/// A response body that logs its [`Entry`] once, when it is finished, and
/// counts it when [`LoggedBody::counted`]. Generic over the body it wraps,
/// so the layers' body wrappers stay unboxed (the API's is
/// [`crate::app::ResponseBody`]).
#[derive(Debug)]
pub struct LoggedBody<B: HttpBody = Body> {
    inner: B,
    entry: Option<Entry>,
    counted: Option<Counted>,
}

impl<B: HttpBody> LoggedBody<B> {
    pub fn new(inner: B, entry: Entry) -> Self {
        LoggedBody {
            inner,
            entry: Some(entry),
            counted: None,
        }
    }

    /// The line to be written, until it is (for the layer's tests).
    #[cfg(test)]
    pub(crate) fn entry(&self) -> Option<&Entry> {
        self.entry.as_ref()
    }

    /// Also records the request in the metrics when it is finished.
    pub fn counted(mut self, counted: Counted) -> Self {
        self.counted = Some(counted);
        self
    }

    fn finish(&mut self, outcome: &'static str) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let elapsed = entry.started.elapsed();
        if let Some(counted) = self.counted.take() {
            counted.record(&entry, elapsed);
        }
        if !tracing::enabled!(target: "greet_gateway::access", tracing::Level::INFO) {
            return;
        }
        let line = Line {
            now: SystemTime::now(),
            entry: &entry,
            latency_us: elapsed.as_micros() as u64,
            outcome,
        };
        let Some(writer) = crate::logging::access_writer() else {
            // Embedded under someone else's subscriber: go through it.
            line.trace();
            return;
        };
        // Built straight into the log buffer: no allocation, no copy.
        match writer.format {
            LogFormat::Plain => writer.sink.append(|out| line.write_plain(out)),
            LogFormat::Json => writer.sink.append(|out| line.write_json(out)),
        }
    }
}

/// One finished request, as its log line tells it.
struct Line<'a> {
    now: SystemTime,
    entry: &'a Entry,
    latency_us: u64,
    outcome: &'static str,
}

impl Line<'_> {
    /// The `grpc-status` as the response gave it.
    fn grpc_status(&self) -> Option<&str> {
        self.entry
            .grpc_status
            .as_ref()
            .and_then(|v| v.to_str().ok())
    }

    fn request_id(&self) -> Option<Cow<'_, str>> {
        self.entry.request_id.as_ref().map(header_text)
    }

    /// Through the `tracing` subscriber, whichever it is.
    fn trace(&self) {
        let entry = self.entry;
        tracing::info!(
            target: "greet_gateway::access",
            protocol = entry.protocol.as_str(),
            method = %entry.method,
            path = entry.uri.path(),
            status = entry.status.as_u16(),
            grpc_status = self.grpc_status().unwrap_or("-"),
            latency_us = self.latency_us,
            outcome = self.outcome,
            request_id = self.request_id().as_deref(),
            trace_id = entry.trace_id.as_ref().map(TraceId::as_str),
        );
    }

    // write_plain and write_json list the same fields in the same order,
    // each by hand: one generic writer over both formats measured +155
    // (plain) and +250 (JSON) instructions a line (`examples/metrics_cost.rs`),
    // from its many small appends. Tests pin both lines whole.

    /// The plain line, as [`crate::logging`]'s plain format writes any
    /// event: `... protocol="rest" method=POST path="/greet" status=200
    /// grpc_status="-" latency_us=181 outcome="complete"`, then
    /// ` request_id=".."` when there is one.
    fn write_plain(&self, line: &mut Vec<u8>) {
        let entry = self.entry;
        let mut number = itoa::Buffer::new();
        line.extend_from_slice(crate::logging::timestamp(self.now).as_bytes());
        line.extend_from_slice(b"  INFO greet_gateway::access: protocol=\"");
        line.extend_from_slice(entry.protocol.as_str().as_bytes());
        line.extend_from_slice(b"\" method=");
        line.extend_from_slice(entry.method.as_str().as_bytes());
        line.extend_from_slice(b" path=\"");
        push_escaped(line, entry.uri.path());
        // Numbers through itoa: `write!` costs ~700 instructions each.
        line.extend_from_slice(b"\" status=");
        line.extend_from_slice(number.format(entry.status.as_u16()).as_bytes());
        line.extend_from_slice(b" grpc_status=\"");
        push_escaped(line, self.grpc_status().unwrap_or("-"));
        line.extend_from_slice(b"\" latency_us=");
        line.extend_from_slice(number.format(self.latency_us).as_bytes());
        line.extend_from_slice(b" outcome=\"");
        line.extend_from_slice(self.outcome.as_bytes());
        line.extend_from_slice(b"\"");
        if let Some(id) = self.request_id() {
            line.extend_from_slice(b" request_id=\"");
            push_escaped(line, &id);
            line.extend_from_slice(b"\"");
        }
        line.push(b'\n');
    }

    /// The JSON line, as [`crate::logging`]'s JSON format writes any event:
    /// the plain line's fields under `fields`, `grpc_status` `null` where
    /// the plain line says `-`, `request_id` (`null` when unset) and, when
    /// known, `trace_id`.
    fn write_json(&self, line: &mut Vec<u8>) {
        let entry = self.entry;
        let mut number = itoa::Buffer::new();
        let string = |line: &mut Vec<u8>, text: &str| {
            // Writing into a Vec cannot fail.
            let _ = write_json_str(&mut ByteWriter(line), text);
        };
        line.extend_from_slice(b"{\"timestamp\":\"");
        line.extend_from_slice(crate::logging::timestamp(self.now).as_bytes());
        line.extend_from_slice(
            b"\",\"level\":\"INFO\",\"target\":\"greet_gateway::access\",\"fields\":{\"protocol\":\"",
        );
        line.extend_from_slice(entry.protocol.as_str().as_bytes());
        // A method is an HTTP token (http::Method checks): nothing to escape.
        line.extend_from_slice(b"\",\"method\":\"");
        line.extend_from_slice(entry.method.as_str().as_bytes());
        line.extend_from_slice(b"\",\"path\":");
        string(line, entry.uri.path());
        line.extend_from_slice(b",\"status\":");
        line.extend_from_slice(number.format(entry.status.as_u16()).as_bytes());
        line.extend_from_slice(b",\"grpc_status\":");
        match self.grpc_status() {
            Some(status) => string(line, status),
            None => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(b",\"latency_us\":");
        line.extend_from_slice(number.format(self.latency_us).as_bytes());
        line.extend_from_slice(b",\"outcome\":\"");
        line.extend_from_slice(self.outcome.as_bytes());
        line.extend_from_slice(b"\",\"request_id\":");
        match self.request_id() {
            Some(id) => string(line, &id),
            None => line.extend_from_slice(b"null"),
        }
        if let Some(trace_id) = &entry.trace_id {
            line.extend_from_slice(b",\"trace_id\":\"");
            line.extend_from_slice(&trace_id.0);
            line.push(b'"');
        }
        line.extend_from_slice(b"}}\n");
    }
}

/// A header value as text: as it is when it is visible ASCII (the common
/// case, borrowed), else with its non-UTF-8 bytes replaced.
fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    match value.to_str() {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value.as_bytes()),
    }
}

/// `fmt::Write` into a byte buffer, for the JSON string escaper.
struct ByteWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// A W3C trace id (the second field of `traceparent`), kept as its 32
/// lowercase hex digits: checked once, written as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId([u8; 32]);

impl TraceId {
    /// 32 lowercase hex digits, not all zero (Trace Context §3.2.2.3), or
    /// `None`.
    pub fn from_hex(hex: &[u8]) -> Option<TraceId> {
        let digits: [u8; 32] = hex.try_into().ok()?;
        let valid = digits
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && digits.iter().any(|&b| b != b'0');
        valid.then_some(TraceId(digits))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("checked to be hex digits")
    }
}

/// Quotes and backslashes escaped, control characters as `\u{..}`: a
/// client-chosen path cannot break or forge a log line.
fn push_escaped(line: &mut Vec<u8>, text: &str) {
    if !needs_escape(text) {
        line.extend_from_slice(text.as_bytes());
        return;
    }
    for c in text.chars() {
        match c {
            '"' => line.extend_from_slice(b"\\\""),
            '\\' => line.extend_from_slice(b"\\\\"),
            c if c.is_control() => {
                let _ = write!(line, "\\u{{{:x}}}", c as u32);
            }
            c => line.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

impl<B: HttpBody<Data = Bytes> + Unpin> HttpBody for LoggedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(entry) = self.entry.as_mut() {
                    entry.observe(frame);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish("body error"),
            Poll::Ready(None) => self.finish("complete"),
            Poll::Pending => {}
        }
        if self.inner.is_end_stream() {
            self.finish("complete");
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: HttpBody> Drop for LoggedBody<B> {
    fn drop(&mut self) {
        // Still unlogged here means the body was never read to its end: an
        // empty body hyper never polled, or a client that went away.
        let outcome = if self.inner.is_end_stream() {
            "complete"
        } else {
            "aborted"
        };
        self.finish(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::time::Duration;

    /// 2025-11-30T00:00:00.123456Z.
    fn noon() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_micros(1_764_460_800_123_456)
    }

    fn entry(path: &str) -> Entry {
        Entry {
            started: Instant::now(),
            method: Method::POST,
            uri: path.parse().unwrap(),
            protocol: Protocol::GrpcWeb { text: false },
            status: StatusCode::OK,
            grpc_status: Some(HeaderValue::from_static("0")),
            request_id: None,
            trace_id: None,
        }
    }

    fn written(entry: &Entry, json: bool) -> String {
        let line = Line {
            now: noon(),
            entry,
            latency_us: 181,
            outcome: "complete",
        };
        let mut out = Vec::new();
        if json {
            line.write_json(&mut out);
        } else {
            line.write_plain(&mut out);
        }
        String::from_utf8(out).unwrap()
    }

    const TRACE: &[u8; 32] = b"4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn a_grpc_web_trailer_frame_gives_its_status_as_written() {
        for (status, expected) in [("0", "0"), ("16", "16"), (" 14 ", "14"), ("99", "99")] {
            let mut entry = entry("/greet.v1.GreetService/Greet");
            entry.grpc_status = None;
            let block = format!("grpc-status:{status}\r\ngrpc-message:x\r\n");
            let mut frame = vec![0x80, 0, 0, 0, block.len() as u8];
            frame.extend_from_slice(block.as_bytes());
            entry.observe(&Frame::data(Bytes::from(frame)));
            assert_eq!(entry.grpc_status.unwrap(), expected, "{status:?}");
        }
    }

    #[test]
    fn the_plain_line_is_as_it_was_without_a_request_id() {
        let line = written(&entry("/greet.v1.GreetService/Greet"), false);
        assert_eq!(
            line,
            "2025-11-30T00:00:00.123456Z  INFO greet_gateway::access: protocol=\"grpc-web\" \
             method=POST path=\"/greet.v1.GreetService/Greet\" status=200 grpc_status=\"0\" \
             latency_us=181 outcome=\"complete\"\n"
        );
    }

    #[test]
    fn the_plain_line_ends_with_the_request_id_when_set() {
        let mut entry = entry("/greet");
        entry.protocol = Protocol::Rest;
        entry.grpc_status = None;
        entry.request_id = Some(HeaderValue::from_static("req-42"));
        entry.trace_id = TraceId::from_hex(TRACE);
        let line = written(&entry, false);
        assert_eq!(
            line,
            "2025-11-30T00:00:00.123456Z  INFO greet_gateway::access: protocol=\"rest\" \
             method=POST path=\"/greet\" status=200 grpc_status=\"-\" latency_us=181 \
             outcome=\"complete\" request_id=\"req-42\"\n"
        );
    }

    #[test]
    fn the_json_line_holds_every_field_of_the_plain_one_and_the_ids() {
        let mut entry = entry("/greet.v1.GreetService/Greet");
        entry.request_id = Some(HeaderValue::from_static("req-42"));
        entry.trace_id = TraceId::from_hex(TRACE);
        let line = written(&entry, true);
        assert!(line.ends_with("}}\n") && line.matches('\n').count() == 1);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            json!({
                "timestamp": "2025-11-30T00:00:00.123456Z",
                "level": "INFO",
                "target": "greet_gateway::access",
                "fields": {
                    "protocol": "grpc-web",
                    "method": "POST",
                    "path": "/greet.v1.GreetService/Greet",
                    "status": 200,
                    "grpc_status": "0",
                    "latency_us": 181,
                    "outcome": "complete",
                    "request_id": "req-42",
                    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                }
            })
        );
    }

    #[test]
    fn the_json_line_says_null_for_what_is_unknown_and_omits_no_trace() {
        let mut entry = entry("/greet");
        entry.protocol = Protocol::Preflight;
        entry.method = Method::OPTIONS;
        entry.status = StatusCode::FORBIDDEN;
        entry.grpc_status = None;
        let value: Value = serde_json::from_str(&written(&entry, true)).unwrap();
        assert_eq!(
            value["fields"],
            json!({
                "protocol": "preflight",
                "method": "OPTIONS",
                "path": "/greet",
                "status": 403,
                "grpc_status": null,
                "latency_us": 181,
                "outcome": "complete",
                "request_id": null,
            })
        );
    }

    #[test]
    fn client_chosen_text_cannot_break_a_json_line() {
        // The URI parser lets these through; a request id is any visible
        // header value, obs-text included.
        let mut entry = entry("/a%22b/\\/\"q\"/{x}|^/é");
        entry.request_id = Some(HeaderValue::from_bytes(b"id \"x\" \\ \xff").unwrap());
        let line = written(&entry, true);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["fields"]["path"], "/a%22b/\\/\"q\"/{x}|^/é");
        assert_eq!(value["fields"]["request_id"], "id \"x\" \\ \u{fffd}");
        let plain = written(&entry, false);
        assert!(
            plain.ends_with(" request_id=\"id \\\"x\\\" \\\\ \u{fffd}\"\n"),
            "{plain}"
        );
    }

    #[test]
    fn a_trace_id_is_32_lowercase_hex_digits_not_all_zero() {
        assert_eq!(TraceId::from_hex(TRACE).unwrap().as_str().as_bytes(), TRACE);
        assert_eq!(TraceId::from_hex(b"4BF92F3577B34DA6A3CE929D0E0E4736"), None);
        assert_eq!(TraceId::from_hex(b"00000000000000000000000000000000"), None);
        assert_eq!(TraceId::from_hex(b"4bf92f3577b34da6a3ce929d0e0e473"), None);
        assert_eq!(
            TraceId::from_hex(b"4bf92f3577b34da6a3ce929d0e0e4736a"),
            None
        );
        assert_eq!(TraceId::from_hex(b"4bf92f3577b34da6a3ce929d0e0e473g"), None);
    }

    #[test]
    fn a_client_chosen_path_cannot_forge_a_line() {
        let mut line = Vec::new();
        push_escaped(&mut line, "/a\"b\\c\nd é");
        assert_eq!(line, r#"/a\"b\\c\u{a}d é"#.as_bytes());
    }
}
