//! Logging set-up: `tracing` with a cheap line format, plain or JSON,
//! written to stdout by a background thread ([`crate::log_sink`]).
//!
//! The access log writes a line per request, so its cost is paid on every
//! call: profiling (`bench/profile`) found tracing-subscriber's default format
//! spending about 12k instructions a line, a third of it on ANSI styling that
//! is built even when colours are off. The plain format writes the same text
//! with no styling and a hand-rolled UTC timestamp:
//!
//! `2026-11-27T05:37:46.926059Z  INFO greet_gateway::access: protocol="rest" method=POST path="/greet" status=200 ...`
//!
//! The JSON format ([`LogFormat::Json`], for log shippers) writes one object
//! per line for every event, with the same keys in the same order:
//!
//! `{"timestamp":"2026-11-27T05:37:46.926059Z","level":"INFO","target":"greet_gateway","message":"listening","fields":{"addr":"127.0.0.1:5000"}}`
//!
//! `message` is there when the event has one (the access line has none);
//! `fields` holds the event's other fields, numbers and booleans as JSON
//! numbers and booleans, anything else as a string. Span context is left
//! out of both formats.

use std::{
    fmt::{self, Write as _},
    sync::OnceLock,
    time::SystemTime,
};

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};

use crate::{
    log_sink::{FlushGuard, LogSink},
    rfc3339::{self, Fraction},
};
use tracing_subscriber::{
    EnvFilter,
    field::MakeExt as _,
    fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter, format::Writer},
    registry::LookupSpan,
    util::SubscriberInitExt as _,
};

/// How log lines are written (`--log-format`, `GREET_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `<timestamp> <LEVEL> <target>: <fields>`, for people.
    #[default]
    Plain,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Where the access log's hand-formatted lines go, and in which format.
#[derive(Clone, Copy)]
pub(crate) struct AccessWriter {
    pub sink: &'static LogSink,
    pub format: LogFormat,
}

/// The sink behind the subscriber, for the access log's hand-formatted
/// lines (see [`crate::access_log`]); unset when [`init_with_format`] did not run.
static ACCESS_WRITER: OnceLock<AccessWriter> = OnceLock::new();

/// Installs the global subscriber, writing `format`. Keep the guard alive
/// until exit: dropping it flushes the lines still buffered.
pub fn init_with_format(filter: EnvFilter, format: LogFormat) -> FlushGuard {
    let (sink, guard) = LogSink::start(std::io::stdout());
    let _ = ACCESS_WRITER.set(AccessWriter { sink, format });
    subscriber(filter, format, move || sink).init();
    guard
}

/// The subscriber [`init_with_format`] installs, writing to `writer`.
fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    writer: W,
) -> impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // Span fields (kept, though neither format prints spans) as `name=value`.
    let fields = tracing_subscriber::fmt::format::debug_fn(plain_field).delimited(" ");
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .fmt_fields(fields)
        .event_format(LineFormat(format))
        .finish()
}

/// Where access-log lines go when they bypass the subscriber's formatter.
pub(crate) fn access_writer() -> Option<AccessWriter> {
    ACCESS_WRITER.get().copied()
}

/// `name=value`; the message alone, unlabelled.
fn plain_field(w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
    if field.name() == "message" {
        write!(w, "{value:?}")
    } else {
        write!(w, "{}={value:?}", field.name())
    }
}

/// Formats each event in the chosen format: one type for both, so the
/// installed subscriber is one concrete type (no boxed dispatch on every
/// event, the access line's `enabled!` check included).
struct LineFormat(LogFormat);

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        match self.0 {
            LogFormat::Plain => plain_line(ctx, writer, event),
            LogFormat::Json => json_line(writer, event),
        }
    }
}

/// `<timestamp> <LEVEL> <target>: <fields>`, no colours.
fn plain_line<S, N>(
    ctx: &FmtContext<'_, S, N>,
    mut writer: Writer<'_>,
    event: &Event<'_>,
) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let meta = event.metadata();
    write_timestamp(&mut writer, SystemTime::now())?;
    write!(writer, " {:>5} {}: ", meta.level(), meta.target())?;
    ctx.field_format().format_fields(writer.by_ref(), event)?;
    writeln!(writer)
}

/// One JSON object per event; see the module doc for its keys.
fn json_line(mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
    let meta = event.metadata();
    writer.write_str("{\"timestamp\":\"")?;
    write_timestamp(&mut writer, SystemTime::now())?;
    writer.write_str("\",\"level\":\"")?;
    writer.write_str(meta.level().as_str())?;
    writer.write_str("\",\"target\":")?;
    write_json_str(&mut writer, meta.target())?;
    // Two passes over the fields, so `message` comes first wherever the
    // event declared it, and no buffer is needed.
    let mut message = JsonFields::new(&mut writer, Pass::Message);
    event.record(&mut message);
    message.result?;
    writer.write_str(",\"fields\":{")?;
    let mut fields = JsonFields::new(&mut writer, Pass::Others);
    event.record(&mut fields);
    fields.result?;
    writer.write_str("}}\n")
}

#[derive(PartialEq)]
enum Pass {
    /// Only the `message` field, as a top-level key.
    Message,
    /// Every other field, as members of `fields`.
    Others,
}

/// Writes an event's fields as JSON members.
struct JsonFields<'a, W> {
    out: &'a mut W,
    pass: Pass,
    /// No member written yet: the next needs no comma.
    first: bool,
    result: fmt::Result,
}

impl<'a, W: fmt::Write> JsonFields<'a, W> {
    fn new(out: &'a mut W, pass: Pass) -> Self {
        JsonFields {
            out,
            pass,
            first: true,
            result: Ok(()),
        }
    }

    /// Writes `"name":` and then the value, if this pass takes the field.
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() || (field.name() == "message") != (self.pass == Pass::Message) {
            return;
        }
        self.result = (|| {
            let out = &mut *self.out;
            match self.pass {
                Pass::Message => out.write_str(",")?,
                Pass::Others if !std::mem::take(&mut self.first) => out.write_str(",")?,
                Pass::Others => {}
            }
            write_json_str(out, field.name())?;
            out.write_str(":")?;
            value(out)
        })();
    }
}

impl<W: fmt::Write> Visit for JsonFields<'_, W> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_str("\"")?;
            fmt::write(&mut JsonEscaped(out), format_args!("{value:?}"))?;
            out.write_str("\"")
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| write_json_str(out, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| {
            out.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those become strings.
        if value.is_finite() {
            self.member(field, |out| write!(out, "{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}

/// `text` as a JSON string, quotes included.
pub(crate) fn write_json_str(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_str("\"")?;
    JsonEscaped(out).write_str(text)?;
    out.write_str("\"")
}

/// Escapes what passes through it for the inside of a JSON string (RFC 8259
/// §7): quote, backslash and every control character, C1 and DEL included,
/// so neither a client-chosen value nor a terminal can be fooled.
pub(crate) struct JsonEscaped<'a, W: ?Sized>(pub &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for JsonEscaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if !needs_escape(text) {
            return self.0.write_str(text);
        }
        let mut clean = 0;
        for (at, c) in text.char_indices() {
            let escaped = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                c if c.is_control() => "",
                _ => continue,
            };
            self.0.write_str(&text[clean..at])?;
            if escaped.is_empty() {
                write!(self.0, "\\u{:04x}", c as u32)?;
            } else {
                self.0.write_str(escaped)?;
            }
            clean = at + c.len_utf8();
        }
        self.0.write_str(&text[clean..])
    }
}

/// Whether `text` holds anything a log line must escape: a quote, a
/// backslash, a control character, or non-ASCII (which may hide a C1
/// control). Paths and ids are a few dozen bytes, so this is read eight
/// bytes at a time with the classic zero-byte tests (Hacker's Delight §6.1):
/// about a third of the cost of a byte loop (`examples/metrics_cost.rs`).
pub(crate) fn needs_escape(text: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Some byte of `x` is below `n` (exact for n <= 0x80).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * n as u64) & !x & HIGH != 0;
    let has = |x: u64, b: u8| below(x ^ (ONES * b as u64), 1);
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_ne_bytes(chunk.try_into().expect("chunks of eight"));
        if below(x, 0x20) || x & HIGH != 0 || has(x, b'"') || has(x, b'\\') || has(x, 0x7f) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| escaped_byte(b))
}

/// One byte of what [`needs_escape`] looks for.
fn escaped_byte(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-11-27T05:37:46.926059Z`.
pub(crate) fn write_timestamp(w: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    w.write_str(timestamp(now).as_str())
}

/// The same timestamp, formatted on the stack.
pub(crate) fn timestamp(now: SystemTime) -> rfc3339::Text {
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339::format(
        since.as_secs() as i64,
        since.subsec_nanos(),
        Fraction::Micros,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::sync::{Arc, Mutex};

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines `events` logs through the subscriber `format` installs.
    fn lines(format: LogFormat, events: impl FnOnce()) -> Vec<String> {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = subscriber(EnvFilter::new("trace"), format, move || writer.clone());
        tracing::subscriber::with_default(subscriber, events);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// Parses a JSON line, checks its timestamp and returns the rest.
    fn parse(line: &str) -> Value {
        let mut value: Value = serde_json::from_str(line).unwrap();
        let stamp = value.as_object_mut().unwrap().remove("timestamp").unwrap();
        let stamp = stamp.as_str().unwrap();
        // 2026-11-27T05:37:46.926059Z
        assert_eq!(stamp.len(), 27, "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
        value
    }

    #[test]
    fn a_json_line_holds_level_target_message_and_typed_fields() {
        #[derive(Debug)]
        #[allow(dead_code)] // read through Debug only
        struct Peer {
            port: u16,
        }
        let lines = lines(LogFormat::Json, || {
            let peer = Peer { port: 5000 };
            tracing::warn!(
                target: "greet_gateway::test",
                count = 3u64,
                delta = -2i64,
                ratio = 0.5,
                on = true,
                name = "Zoë \"the\" admin\n",
                addr = %"127.0.0.1:5000",
                ?peer,
                "listening on {}",
                5000
            );
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(
            parse(&lines[0]),
            json!({
                "level": "WARN",
                "target": "greet_gateway::test",
                "message": "listening on 5000",
                "fields": {
                    "count": 3,
                    "delta": -2,
                    "ratio": 0.5,
                    "on": true,
                    "name": "Zoë \"the\" admin\n",
                    "addr": "127.0.0.1:5000",
                    "peer": "Peer { port: 5000 }",
                }
            })
        );
    }

    #[test]
    fn an_event_without_a_message_or_fields_still_makes_an_object() {
        let lines = lines(LogFormat::Json, || {
            tracing::info!(target: "t", answered = 1u64);
            tracing::error!(target: "t", "plain message");
            tracing::debug!(target: "t", nan = f64::NAN);
        });
        let parsed: Vec<Value> = lines.iter().map(|l| parse(l)).collect();
        assert_eq!(
            parsed,
            [
                json!({"level": "INFO", "target": "t", "fields": {"answered": 1}}),
                json!({"level": "ERROR", "target": "t", "message": "plain message", "fields": {}}),
                json!({"level": "DEBUG", "target": "t", "fields": {"nan": "NaN"}}),
            ]
        );
    }

    #[test]
    fn the_plain_format_is_unchanged() {
        let lines = lines(LogFormat::Plain, || {
            tracing::info!(target: "greet_gateway", addr = %"127.0.0.1:5000", "listening");
        });
        assert_eq!(lines.len(), 1);
        let (stamp, rest) = lines[0].split_at(27);
        assert!(stamp.ends_with('Z'), "{stamp}");
        assert_eq!(rest, "  INFO greet_gateway: listening addr=127.0.0.1:5000");
    }

    #[test]
    fn every_control_character_is_escaped_and_the_rest_kept() {
        let mut out = String::new();
        write_json_str(&mut out, "a\"b\\c\n\r\t\u{1}\u{7f}\u{85}é€😀").unwrap();
        assert_eq!(out, r#""a\"b\\c\n\r\t\u0001\u007f\u0085é€😀""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\"b\\c\n\r\t\u{1}\u{7f}\u{85}é€😀");
    }

    #[test]
    fn needs_escape_finds_any_escaped_byte_at_any_position() {
        for len in 1..=24 {
            for at in 0..len {
                for byte in 0..=0x7fu8 {
                    let mut text = vec![b'a'; len];
                    text[at] = byte;
                    let text = std::str::from_utf8(&text).unwrap();
                    assert_eq!(needs_escape(text), escaped_byte(byte), "{text:?}");
                }
                let mut text = "a".repeat(len - 1);
                text.insert(at, 'é');
                assert!(needs_escape(&text), "{text:?}");
            }
        }
        assert!(!needs_escape(""));
        assert!(!needs_escape("/greet.v1.GreetService/Greet"));
    }

    #[test]
    fn the_log_format_flag_takes_plain_and_json() {
        use clap::ValueEnum as _;
        assert_eq!(LogFormat::from_str("plain", false), Ok(LogFormat::Plain));
        assert_eq!(LogFormat::from_str("json", false), Ok(LogFormat::Json));
        assert!(LogFormat::from_str("yaml", false).is_err());
        assert_eq!(LogFormat::default(), LogFormat::Plain);
    }
}
