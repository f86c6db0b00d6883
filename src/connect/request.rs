//! What a Connect unary request asks for, read from its head (and, for GET,
//! its query) before the body: the codec, where the message is, and every
//! refusal the protocol itself makes, each as a [`ConnectError`] with the
//! code and status of <https://connectrpc.com/docs/protocol#unary-request>
//! and its GET variant.
//!
//! Checked in this order: the RPC is unary (else `unimplemented` 501); the
//! method is POST, or GET on an RPC marked `NO_SIDE_EFFECTS` (else 405 with
//! `Allow: POST`); the codec is `json` or `proto` (else 415 with
//! `Accept-Post`); `connect-protocol-version` is `1` and `connect=` is `v1`
//! when present, `connect-timeout-ms` is 1 to 10 digits when present (else
//! `invalid_argument` 400); no compression but `identity` (else
//! `unimplemented` 501, naming what is accepted); a GET has its `message`,
//! in base64 when `base64=1` (else `invalid_argument` 400).

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header, request::Parts};
use tonic::Code;

use super::{error::ConnectError, procedures::Procedure};
use crate::protocol::{CONNECT_PROTOCOL_VERSION, CONNECT_TIMEOUT, connect_timeout};

/// The codecs Connect serves, as a 415 lists them.
pub const ACCEPT_POST: &str = "application/json, application/proto";

/// A message codec of Connect's unary protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `application/json`: the proto3 JSON mapping, as REST reads and writes it.
    Json,
    /// `application/proto`: the protobuf binary encoding.
    Proto,
}

impl Codec {
    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Proto => "application/proto",
        }
    }

    /// `application/json` or `application/proto`, case aside, parameters
    /// (`; charset=utf-8`) allowed.
    fn from_content_type(value: &[u8]) -> Option<Codec> {
        let essence = value.split(|&b| b == b';').next().unwrap_or_default();
        let essence = essence.trim_ascii();
        if essence.eq_ignore_ascii_case(b"application/json") {
            Some(Codec::Json)
        } else if essence.eq_ignore_ascii_case(b"application/proto") {
            Some(Codec::Proto)
        } else {
            None
        }
    }

    /// A GET's `encoding=`.
    fn from_name(name: &[u8]) -> Option<Codec> {
        match name {
            b"json" => Some(Codec::Json),
            b"proto" => Some(Codec::Proto),
            _ => None,
        }
    }
}

/// Where the request message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The body (POST).
    Body,
    /// The `message` query parameter, decoded (GET).
    Query(Bytes),
}

/// What a Connect request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub codec: Codec,
    pub message: Message,
}

/// Reads the call from the request's head, or the protocol's refusal.
pub fn read(parts: &Parts, procedure: &Procedure) -> Result<Call, ConnectError> {
    let path = procedure.path.as_str();
    if !procedure.unary {
        return Err(ConnectError::new(
            Code::Unimplemented,
            format!(
                "{path} is a streaming RPC: Connect is served for unary RPCs only; \
                 call it over gRPC or gRPC-Web"
            ),
        ));
    }
    if parts.method == Method::GET {
        if !procedure.get {
            return Err(ConnectError::new(
                Code::Unimplemented,
                format!(
                    "GET is not allowed on {path}: the RPC is not marked \
                     idempotency_level = NO_SIDE_EFFECTS; use POST"
                ),
            )
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .with_header(header::ALLOW, HeaderValue::from_static("POST")));
        }
        return read_get(parts);
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    let codec = Codec::from_content_type(content_type).ok_or_else(|| {
        unsupported_codec(format!(
            "Unsupported content type '{}': {path} takes application/json or application/proto",
            String::from_utf8_lossy(content_type)
        ))
    })?;
    if let Some(version) = parts.headers.get(&CONNECT_PROTOCOL_VERSION)
        && version != "1"
    {
        return Err(invalid(format!(
            "connect-protocol-version must be \"1\": got \"{}\"",
            String::from_utf8_lossy(version.as_bytes())
        )));
    }
    check_timeout(&parts.headers)?;
    for name in [&header::CONTENT_ENCODING, &CONNECT_CONTENT_ENCODING] {
        if let Some(coding) = parts.headers.get(name) {
            check_compression(name.as_str(), coding.as_bytes())?;
        }
    }
    Ok(Call {
        codec,
        message: Message::Body,
    })
}

/// `connect-content-encoding`: streaming Connect's compression header, which
/// a unary client has no reason to send; refused all the same unless it is
/// `identity`.
static CONNECT_CONTENT_ENCODING: HeaderName = HeaderName::from_static("connect-content-encoding");

/// A GET: everything is in the query (the timeout stays a header).
fn read_get(parts: &Parts) -> Result<Call, ConnectError> {
    let query = Query::parse(parts.uri.query().unwrap_or_default());
    if let Some(version) = query.connect
        && version != "v1"
    {
        return Err(invalid(format!(
            "connect must be \"v1\": got \"{}\"",
            String::from_utf8_lossy(&decode(version))
        )));
    }
    let encoding = query
        .encoding
        .ok_or_else(|| invalid("missing encoding parameter"))?;
    let codec = Codec::from_name(&decode(encoding)).ok_or_else(|| {
        unsupported_codec(format!(
            "Unsupported encoding '{}': use encoding=json or encoding=proto",
            String::from_utf8_lossy(&decode(encoding))
        ))
    })?;
    check_timeout(&parts.headers)?;
    if let Some(compression) = query.compression {
        check_compression("compression", &decode(compression))?;
    }
    let message = query
        .message
        .ok_or_else(|| invalid("missing message parameter"))?;
    let message = decode(message);
    let message = if query.base64.is_some_and(|b| b == "1") {
        from_base64(&message)?
    } else {
        message.into_owned()
    };
    Ok(Call {
        codec,
        message: Message::Query(Bytes::from(message)),
    })
}

/// The Connect parameters of a GET's query: the first of each, undecoded.
/// Unknown parameters are allowed, as the spec asks.
#[derive(Debug, Default)]
struct Query<'a> {
    connect: Option<&'a str>,
    encoding: Option<&'a str>,
    message: Option<&'a str>,
    base64: Option<&'a str>,
    compression: Option<&'a str>,
}

impl<'a> Query<'a> {
    fn parse(query: &'a str) -> Self {
        let mut found = Query::default();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match key {
                "connect" => &mut found.connect,
                "encoding" => &mut found.encoding,
                "message" => &mut found.message,
                "base64" => &mut found.base64,
                "compression" => &mut found.compression,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        found
    }
}

/// Whether a query carries Connect's GET parameters (`encoding`, `message`
/// or `connect`): for the classification, which must not take an ordinary
/// GET for Connect.
pub fn has_get_parameters(query: &str) -> bool {
    query.split('&').any(|pair| {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        matches!(key, "encoding" | "message" | "connect")
    })
}

/// A query value, percent-decoded, `+` read as a space (as URL query
/// strings are): bytes, since a `proto` message need not be UTF-8.
fn decode(value: &str) -> Cow<'_, [u8]> {
    if !value.contains(['%', '+']) {
        return Cow::Borrowed(value.as_bytes());
    }
    let spaced = value.replace('+', " ");
    Cow::Owned(percent_encoding::percent_decode(spaced.as_bytes()).collect())
}

/// `base64=1`: the URL-safe alphabet (RFC 4648 §5) as the spec says, or the
/// standard one; padding optional either way: what a JSON `bytes` field
/// takes ([`crate::pb::json::base64_decode`]).
fn from_base64(text: &[u8]) -> Result<Vec<u8>, ConnectError> {
    crate::pb::json::base64_decode(text)
        .map_err(|e| invalid(format!("Invalid base64 in the message parameter: {e}")))
}

/// `connect-timeout-ms`, when present, is 1 to 10 ASCII digits.
fn check_timeout(headers: &HeaderMap) -> Result<(), ConnectError> {
    match headers.get(&CONNECT_TIMEOUT) {
        Some(value) if connect_timeout(headers).is_none() => Err(invalid(format!(
            "connect-timeout-ms must be a number of milliseconds of 1 to 10 digits: got \"{}\"",
            String::from_utf8_lossy(value.as_bytes())
        ))),
        _ => Ok(()),
    }
}

/// Only `identity` is accepted: the gateway compresses nothing.
fn check_compression(name: &str, coding: &[u8]) -> Result<(), ConnectError> {
    if coding.trim_ascii().eq_ignore_ascii_case(b"identity") {
        return Ok(());
    }
    Err(ConnectError::new(
        Code::Unimplemented,
        format!(
            "{name} \"{}\" is not supported: the server accepts identity only",
            String::from_utf8_lossy(coding)
        ),
    ))
}

fn invalid(message: impl Into<String>) -> ConnectError {
    ConnectError::new(Code::InvalidArgument, message)
}

/// A codec the RPC does not have: 415 with `Accept-Post`, as the spec asks;
/// the code is `unimplemented`, as for a compression it does not have.
fn unsupported_codec(message: String) -> ConnectError {
    ConnectError::new(Code::Unimplemented, message)
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        .with_header(
            HeaderName::from_static("accept-post"),
            HeaderValue::from_static(ACCEPT_POST),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_the_codec() {
        let codec = |ct: &str| Codec::from_content_type(ct.as_bytes());
        assert_eq!(codec("application/json"), Some(Codec::Json));
        assert_eq!(codec("Application/JSON; charset=utf-8"), Some(Codec::Json));
        assert_eq!(codec("application/proto"), Some(Codec::Proto));
        assert_eq!(codec("application/connect+json"), None);
        assert_eq!(codec("application/xml"), None);
        assert_eq!(codec(""), None);
    }

    #[test]
    fn the_query_keeps_the_first_of_each_connect_parameter() {
        let query = Query::parse("x=1&encoding=json&message=%7B%7D&encoding=proto&base64");
        assert_eq!(query.encoding, Some("json"));
        assert_eq!(query.message, Some("%7B%7D"));
        assert_eq!(query.base64, Some(""));
        assert_eq!(query.connect, None);
        assert!(has_get_parameters("connect=v1"));
        assert!(has_get_parameters("a=b&message="));
        assert!(!has_get_parameters("shelf=1&encodings=json"));
    }

    #[test]
    fn query_values_are_percent_decoded_with_plus_as_space() {
        assert_eq!(&*decode("%7B%22a%22%3A1%7D"), b"{\"a\":1}");
        assert_eq!(&*decode("a+b%2B"), b"a b+");
        assert_eq!(&*decode("%FF"), [0xff]);
    }

    #[test]
    fn base64_messages_take_either_alphabet_padded_or_not() {
        assert_eq!(from_base64(b"-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(from_base64(b"-_8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(from_base64(b"+/8").unwrap(), [0xfb, 0xff]);
        assert_eq!(
            from_base64(b"not base64!").unwrap_err().code,
            Code::InvalidArgument
        );
    }
}
