//! Logging set-up: `tracing` with a plain, cheap line format, written to
//! stdout by a background thread ([`crate::log_sink`]).
//!
//! The access log writes a line per request, so its cost is paid on every
//! call: profiling (`bench/profile`) found tracing-subscriber's default format
//! spending about 12k instructions a line, a third of it on ANSI styling that
//! is built even when colours are off. This format writes the same text with
//! no styling and a hand-rolled UTC timestamp:
//!
//! `2026-11-27T05:37:46.926059Z  INFO greet_gateway::access: protocol="rest" method=POST path="/greet" status=200 ...`

use std::{fmt, sync::OnceLock, time::SystemTime};

use tracing::{Event, Subscriber};

use crate::{
    log_sink::{FlushGuard, LogSink},
    rfc3339::{self, Fraction},
};
use tracing_subscriber::{
    EnvFilter,
    field::MakeExt as _,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

/// The sink behind the subscriber, for the access log's hand-formatted
/// lines (see [`crate::access_log`]); unset when [`init`] did not run.
static ACCESS_WRITER: OnceLock<&'static LogSink> = OnceLock::new();

/// Installs the global subscriber. Keep the guard alive until exit: dropping
/// it flushes the lines still buffered.
pub fn init(filter: EnvFilter) -> FlushGuard {
    let (sink, guard) = LogSink::start(std::io::stdout());
    let _ = ACCESS_WRITER.set(sink);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || sink)
        .fmt_fields(tracing_subscriber::fmt::format::debug_fn(plain_field).delimited(" "))
        .event_format(PlainLine)
        .init();
    guard
}

/// Where access-log lines go when they bypass the subscriber's formatter.
pub(crate) fn access_writer() -> Option<&'static LogSink> {
    ACCESS_WRITER.get().copied()
}

/// `name=value`; the message alone, unlabelled.
fn plain_field(
    w: &mut Writer<'_>,
    field: &tracing::field::Field,
    value: &dyn fmt::Debug,
) -> fmt::Result {
    if field.name() == "message" {
        write!(w, "{value:?}")
    } else {
        write!(w, "{}={value:?}", field.name())
    }
}

/// `<timestamp> <LEVEL> <target>: <fields>`, no colours.
struct PlainLine;

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write_timestamp(&mut writer, SystemTime::now())?;
        write!(writer, " {:>5} {}: ", meta.level(), meta.target())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
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
