//! One structured log line per request, written when the response body ends
//! (or is dropped), so a gRPC call's `grpc-status` from its trailers and the
//! full latency are both known.
//!
//! The line obeys the tracing filter (target `greet_gateway::access`, level
//! INFO) and looks like every other line, but when the binary's own writer is
//! installed ([`crate::logging`]) it is formatted here by hand: through the
//! generic subscriber a line cost ~8k instructions, about a sixth of a whole
//! gRPC request.

use std::{
    io::Write as _,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::body::Body;

use crate::protocol::{GRPC_STATUS, Protocol};

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
}

impl Entry {
    /// Picks the `grpc-status` out of a response frame: an HTTP/2 trailers
    /// frame for gRPC, or gRPC-Web's in-body trailer frame. tonic-web emits
    /// that frame as a data chunk of its own (flag 0x80; base64 in text
    /// mode, where it starts `gAAAA`), so a chunk that starts a trailer frame
    /// holds all of it.
    fn observe(&mut self, frame: &Frame<Bytes>) {
        if let Some(trailers) = frame.trailers_ref() {
            if let Some(status) = trailers.get(&GRPC_STATUS) {
                self.grpc_status = Some(status.clone());
            }
            return;
        }
        let (Protocol::GrpcWeb { text }, Some(data)) = (self.protocol, frame.data_ref()) else {
            return;
        };
        let decoded;
        let block = match text {
            false if data.first() == Some(&0x80) => &data[..],
            true if data.starts_with(b"gAAAA") => {
                use base64::Engine as _;
                match base64::engine::general_purpose::STANDARD.decode(data) {
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
                && let Ok(value) = HeaderValue::from_bytes(value.trim_ascii())
            {
                self.grpc_status = Some(value);
            }
        }
    }
}

/// A response body that logs its [`Entry`] once, when it is finished.
/// Generic over the body it wraps, so the layers' body wrappers stay
/// unboxed (the API's is [`crate::app::ResponseBody`]).
#[derive(Debug)]
pub struct LoggedBody<B: HttpBody = Body> {
    inner: B,
    entry: Option<Entry>,
}

impl<B: HttpBody> LoggedBody<B> {
    pub fn new(inner: B, entry: Entry) -> Self {
        LoggedBody {
            inner,
            entry: Some(entry),
        }
    }

    fn finish(&mut self, outcome: &'static str) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        if !tracing::enabled!(target: "greet_gateway::access", tracing::Level::INFO) {
            return;
        }
        let grpc_status = entry
            .grpc_status
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        let latency_us = entry.started.elapsed().as_micros() as u64;
        let Some(writer) = crate::logging::access_writer() else {
            // Embedded under someone else's subscriber: go through it.
            tracing::info!(
                target: "greet_gateway::access",
                protocol = entry.protocol.as_str(),
                method = %entry.method,
                path = entry.uri.path(),
                status = entry.status.as_u16(),
                grpc_status,
                latency_us,
                outcome,
            );
            return;
        };
        let now = std::time::SystemTime::now();
        // Built straight into the log buffer: no allocation, no copy.
        writer.append(|line| {
            let mut number = itoa::Buffer::new();
            line.extend_from_slice(crate::logging::timestamp(now).as_str().as_bytes());
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
            push_escaped(line, grpc_status);
            line.extend_from_slice(b"\" latency_us=");
            line.extend_from_slice(number.format(latency_us).as_bytes());
            line.extend_from_slice(b" outcome=\"");
            line.extend_from_slice(outcome.as_bytes());
            line.extend_from_slice(b"\"\n");
        });
    }
}

/// Quotes and backslashes escaped, control characters as `\u{..}`: a
/// client-chosen path cannot break or forge a log line.
fn push_escaped(line: &mut Vec<u8>, text: &str) {
    if !text
        .bytes()
        .any(|b| b == b'"' || b == b'\\' || b.is_ascii_control() || b >= 0x80)
    {
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
    use super::push_escaped;

    #[test]
    fn a_client_chosen_path_cannot_forge_a_line() {
        let mut line = Vec::new();
        push_escaped(&mut line, "/a\"b\\c\nd é");
        assert_eq!(line, r#"/a\"b\\c\u{a}d é"#.as_bytes());
    }
}
