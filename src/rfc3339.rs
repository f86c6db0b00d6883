//! RFC 3339 timestamps in UTC, written by hand: the access log writes one per
//! request and REST responses carry one (`google.protobuf.Timestamp`), and
//! the general-purpose formatters cost several thousand instructions each.

use std::cell::Cell;

/// How many fractional-second digits to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// Always six (microseconds), as log lines use.
    Micros,
    /// The proto3 JSON rule: 0, 3, 6 or 9 digits, the fewest that are exact.
    Shortest,
}

/// The earliest and latest seconds the proto3 JSON mapping can write
/// (0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z).
const PROTO3_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// A `google.protobuf.Timestamp` as its proto3 JSON string, refusing what the
/// mapping cannot express (years outside 0001–9999, nanos outside
/// 0–999,999,999). Both REST roads write Timestamps through here.
pub fn serialize_proto3<S: serde::Serializer>(
    seconds: i64,
    nanos: i32,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    let nanos = u32::try_from(nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(|| S::Error::custom("Timestamp nanos out of range"))?;
    if !PROTO3_SECONDS.contains(&seconds) {
        return Err(S::Error::custom("Timestamp out of range for RFC 3339"));
    }
    serializer.serialize_str(format(seconds, nanos, Fraction::Shortest).as_str())
}

/// A formatted timestamp on the stack.
pub struct Text {
    buf: [u8; 30],
    len: usize,
}

impl Text {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("ASCII digits and separators")
    }

    /// The same text as bytes, without `as_str`'s UTF-8 check (for byte
    /// buffers such as a log line).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

thread_local! {
    /// The last second this thread wrote and its `YYYY-MM-DDTHH:MM:SS`:
    /// timestamps come in runs within one second (each request's log line,
    /// each REST answer's `timestamp`), and the calendar arithmetic is most
    /// of the cost of one (~300 instructions; a hit is a 19-byte copy).
    static LAST_SECOND: Cell<(i64, [u8; 19])> = const { Cell::new((i64::MIN, [0; 19])) };
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS`.
fn date_and_time(secs: i64) -> [u8; 19] {
    let (last, text) = LAST_SECOND.get();
    if last == secs {
        return text;
    }
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
    let (year, month, day) = civil_from_days(days);
    let mut text = *b"0000-00-00T00:00:00";
    digits(&mut text[0..4], year.clamp(0, 9999) as u32);
    digits(&mut text[5..7], month);
    digits(&mut text[8..10], day);
    digits(&mut text[11..13], rem / 3600);
    digits(&mut text[14..16], rem / 60 % 60);
    digits(&mut text[17..19], rem % 60);
    LAST_SECOND.set((secs, text));
    text
}

/// `secs` + `nanos` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS[.f]Z`.
/// `secs` must lie in years 0000–9999 (the caller checks the range it needs).
pub fn format(secs: i64, nanos: u32, fraction: Fraction) -> Text {
    // Fixed-width digits straight into a stack buffer: `write!` with
    // padding costs ~2k instructions per timestamp, this a few dozen.
    // Built where it is returned: a `Text` assembled from a local buffer
    // was copied byte by byte (~100 instructions, `bench/profile`).
    let mut text = Text {
        buf: *b"0000-00-00T00:00:00.000000000Z",
        len: 0,
    };
    let buf = &mut text.buf;
    buf[..19].copy_from_slice(&date_and_time(secs));
    let len = match fraction {
        Fraction::Micros => {
            digits(&mut buf[20..26], nanos / 1000);
            26
        }
        Fraction::Shortest if nanos == 0 => 19,
        Fraction::Shortest if nanos.is_multiple_of(1_000_000) => {
            digits(&mut buf[20..23], nanos / 1_000_000);
            23
        }
        Fraction::Shortest if nanos.is_multiple_of(1000) => {
            digits(&mut buf[20..26], nanos / 1000);
            26
        }
        Fraction::Shortest => {
            digits(&mut buf[20..29], nanos);
            29
        }
    };
    buf[len] = b'Z';
    text.len = len + 1;
    text
}

/// "00" to "99", end to end.
const PAIRS: [u8; 200] = {
    let mut pairs = [0; 200];
    let mut n = 0;
    while n < 100 {
        pairs[2 * n] = b'0' + (n / 10) as u8;
        pairs[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
};

/// `value` as zero-padded decimal filling `out` (its high digits dropped if
/// it does not fit), two digits at a time.
fn digits(out: &mut [u8], mut value: u32) {
    let mut end = out.len();
    while end >= 2 {
        let pair = (value % 100) as usize * 2;
        out[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
        value /= 100;
        end -= 2;
    }
    if end == 1 {
        out[0] = b'0' + (value % 10) as u8;
    }
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(secs: i64, nanos: u32, fraction: Fraction) -> String {
        format(secs, nanos, fraction).as_str().to_owned()
    }

    #[test]
    fn dates_across_leap_years_and_centuries() {
        assert_eq!(text(0, 0, Fraction::Micros), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            text(951_782_400, 7_000, Fraction::Micros),
            "2000-02-29T00:00:00.000007Z"
        );
        assert_eq!(
            text(1_795_757_866, 926_059_000, Fraction::Micros),
            "2026-11-27T05:37:46.926059Z"
        );
        assert_eq!(
            text(4_107_542_399, 0, Fraction::Shortest),
            "2100-02-28T23:59:59Z"
        );
        assert_eq!(
            text(-62_135_596_800, 0, Fraction::Shortest),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(text(-1, 0, Fraction::Shortest), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn the_cached_second_never_answers_for_another() {
        for (secs, expected) in [
            (1_795_757_866, "2026-11-27T05:37:46Z"),
            (1_795_757_866, "2026-11-27T05:37:46Z"),
            (1_795_757_867, "2026-11-27T05:37:47Z"),
            (1_795_757_866 + 86_400, "2026-11-28T05:37:46Z"),
            (1_795_757_866, "2026-11-27T05:37:46Z"),
        ] {
            assert_eq!(text(secs, 0, Fraction::Shortest), expected);
        }
    }

    #[test]
    fn proto3_uses_the_fewest_exact_digits() {
        assert_eq!(
            text(0, 120_000_000, Fraction::Shortest),
            "1970-01-01T00:00:00.120Z"
        );
        assert_eq!(
            text(0, 121_465_000, Fraction::Shortest),
            "1970-01-01T00:00:00.121465Z"
        );
        assert_eq!(
            text(0, 121_465_001, Fraction::Shortest),
            "1970-01-01T00:00:00.121465001Z"
        );
    }
}
