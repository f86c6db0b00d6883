//! One allowlist entry, rewritten once into the exact bytes a browser sends.
//!
//! A browser writes the `Origin` header as `scheme "://" host [":" port]`
//! with scheme and host in lowercase and the scheme's default port left out
//! (the HTML Standard's serialization of an origin,
//! <https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin>,
//! over the URL Standard's host and port parsing,
//! <https://url.spec.whatwg.org/#host-parsing>). Requests are matched byte for
//! byte, so an entry spelt any other way would silently never match.
//! [`normalise`] therefore rewrites what differs only in spelling
//! (`HTTP://LOCALHOST:1234`, `https://example.com:443`, `[0:0::1]`) and
//! refuses, with an [`OriginFault`], what no browser can send at all.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Why an allowlist entry cannot be an origin. The text completes the
/// sentence "'…' is not an origin: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginFault {
    #[error("it has no scheme:// in front")]
    NoScheme,
    #[error("'{0}' is not a URL scheme")]
    BadScheme(String),
    #[error(
        "browsers never send a '{0}:' origin (file: and data: pages send 'null', WebSockets their page's http(s) origin)"
    )]
    NeverSent(String),
    #[error("it has user info before an '@', which an origin never carries")]
    UserInfo,
    #[error("it has a path (a trailing slash is one too)")]
    Path,
    #[error("it has a query or a fragment")]
    QueryOrFragment,
    #[error("it has no host")]
    NoHost,
    #[error(
        "the host has characters browsers never send in one (write international names in punycode, xn--…)"
    )]
    BadHost,
    #[error("the host ends in a number but is not an IPv4 address written as four decimals")]
    BadIpv4,
    #[error("the IPv6 address is not valid or not in brackets, as in http://[::1]:8080")]
    BadIpv6,
    #[error("the port is not a number from 1 to 65535")]
    BadPort,
}

/// Schemes that parse but never appear in an `Origin` header: pages loaded
/// from them send `null` (opaque origins), and WebSocket handshakes send
/// the origin of the page that opened them. Other schemes stay allowed:
/// browser extensions and app shells (`chrome-extension://…`,
/// `tauri://localhost`) do send theirs.
const NEVER_SENT: &[&str] = &[
    "about",
    "blob",
    "data",
    "file",
    "ftp",
    "javascript",
    "ws",
    "wss",
];

/// The scheme's default port, which a serialized origin leaves out.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// `raw` as a browser would serialize the same origin, or why it is none.
/// The result equals `raw` when `raw` is already written that way.
pub fn normalise(raw: &str) -> Result<String, OriginFault> {
    let (scheme, rest) = raw.split_once("://").ok_or(OriginFault::NoScheme)?;
    let scheme = scheme.to_ascii_lowercase();
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err(OriginFault::BadScheme(scheme));
    }
    if NEVER_SENT.contains(&scheme.as_str()) {
        return Err(OriginFault::NeverSent(scheme));
    }
    // The URL parser ends the authority at the first of these; what follows
    // is not part of an origin.
    if let Some(end) = rest.find(['/', '?', '#', '\\']) {
        return Err(match rest.as_bytes()[end] {
            b'?' | b'#' => OriginFault::QueryOrFragment,
            _ => OriginFault::Path,
        });
    }
    if rest.contains('@') {
        return Err(OriginFault::UserInfo);
    }
    let (host, port) = split_host_port(rest)?;
    let host = normalise_host(host)?;
    let port = match port {
        None => None,
        Some(port) => Some(parse_port(port)?),
    };
    Ok(match port {
        Some(port) if default_port(&scheme) != Some(port) => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Splits `host[:port]`, where the host may be a bracketed IPv6 literal.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), OriginFault> {
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or(OriginFault::BadIpv6)?;
        let (host, after) = authority.split_at(close + 1);
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(OriginFault::BadIpv6),
            },
        };
    }
    if authority.matches(':').count() > 1 {
        return Err(OriginFault::BadIpv6);
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn normalise_host(host: &str) -> Result<String, OriginFault> {
    if host.is_empty() {
        return Err(OriginFault::NoHost);
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(OriginFault::BadIpv6)?;
        let address: Ipv6Addr = inner.parse().map_err(|_| OriginFault::BadIpv6)?;
        return Ok(format!("[{}]", serialize_ipv6(address)));
    }
    let ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if !ok {
        return Err(OriginFault::BadHost);
    }
    let host = host.to_ascii_lowercase();
    // The URL parser reads a host whose last label is a number as IPv4
    // (`127.1`, `0x7f.0.0.1`), then writes it as four decimals.
    if ends_in_a_number(&host) {
        let address: Ipv4Addr = host.parse().map_err(|_| OriginFault::BadIpv4)?;
        return Ok(address.to_string());
    }
    Ok(host)
}

/// The URL Standard's "ends in a number" check on a lowercased host.
fn ends_in_a_number(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or_default();
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.chars().all(|c| c.is_ascii_digit()))
}

/// The URL Standard's IPv6 serializer: lowercase hex pieces, the first
/// longest run of two or more zero pieces written `::`, and, unlike Rust's
/// `Display`, never a dotted IPv4 tail.
fn serialize_ipv6(address: Ipv6Addr) -> String {
    let pieces = address.segments();
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < pieces.len() {
        let start = i;
        while i < pieces.len() && pieces[i] == 0 {
            i += 1;
        }
        let len = i - start;
        if len >= 2 && best.is_none_or(|(_, best_len)| len > best_len) {
            best = Some((start, len));
        }
        i = i.max(start + 1);
    }
    let hex = |pieces: &[u16]| {
        pieces
            .iter()
            .map(|p| format!("{p:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    match best {
        Some((start, len)) => format!("{}::{}", hex(&pieces[..start]), hex(&pieces[start + len..])),
        None => hex(&pieces),
    }
}

/// Decimal digits only (no sign), 1 to 65535; leading zeros are dropped as
/// the URL parser drops them. Port 0 cannot serve a page.
fn parse_port(port: &str) -> Result<u16, OriginFault> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OriginFault::BadPort);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(OriginFault::BadPort),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_written_as_browsers_write_them_are_kept_as_they_are() {
        for origin in [
            "http://localhost:1234",
            "http://127.0.0.1:1234",
            "https://example.com",
            "https://api.example.com:8443",
            "http://[::1]:8080",
            "http://my_host.internal",
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
            "tauri://localhost",
        ] {
            assert_eq!(normalise(origin).as_deref(), Ok(origin));
        }
    }

    #[test]
    fn spelling_a_browser_never_uses_is_rewritten_to_the_one_it_does() {
        for (written, sent) in [
            ("HTTP://LOCALHOST:1234", "http://localhost:1234"),
            ("Https://Example.COM", "https://example.com"),
            ("http://localhost:80", "http://localhost"),
            ("https://example.com:443", "https://example.com"),
            ("http://example.com:443", "http://example.com:443"),
            ("https://example.com:80", "https://example.com:80"),
            ("http://localhost:01234", "http://localhost:1234"),
            ("http://[0:0:0:0:0:0:0:1]:8080", "http://[::1]:8080"),
            (
                "http://[2001:DB8:0:0:1:0:0:1]",
                "http://[2001:db8::1:0:0:1]",
            ),
            ("http://[::ffff:127.0.0.1]", "http://[::ffff:7f00:1]"),
            ("http://[1:2:3:4:5:6:7:8]", "http://[1:2:3:4:5:6:7:8]"),
            ("http://[1:0:2:3:4:5:6:7]", "http://[1:0:2:3:4:5:6:7]"),
        ] {
            assert_eq!(normalise(written).as_deref(), Ok(sent), "{written}");
        }
    }

    #[test]
    fn what_no_browser_can_send_is_refused_with_the_reason() {
        use OriginFault::*;
        for (written, fault) in [
            ("localhost:1234", NoScheme),
            ("", NoScheme),
            ("1http://x", BadScheme("1http".into())),
            ("file:///tmp/page.html", NeverSent("file".into())),
            ("WS://localhost:1234", NeverSent("ws".into())),
            ("http://localhost:1234/", Path),
            ("http://a/b", Path),
            ("http://a\\b", Path),
            ("http://a?x=1", QueryOrFragment),
            ("http://a#top", QueryOrFragment),
            ("http://user:pw@localhost", UserInfo),
            ("http://", NoHost),
            ("http://:1234", NoHost),
            ("http://bücher.example", BadHost),
            ("http://a b", BadHost),
            ("http://::1", BadIpv6),
            ("http://127.1", BadIpv4),
            ("http://0x7f.0.0.1", BadIpv4),
            ("http://[::1", BadIpv6),
            ("http://[::1]x", BadIpv6),
            ("http://[nope]", BadIpv6),
            ("http://x:port", BadPort),
            ("http://x:", BadPort),
            ("http://x:+80", BadPort),
            ("http://x:0", BadPort),
            ("http://x:65536", BadPort),
        ] {
            assert_eq!(normalise(written), Err(fault), "{written}");
        }
    }
}
