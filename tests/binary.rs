//! The binary as a user starts it: addresses logged, bad flags refused with
//! a reason, SIGTERM honoured.

mod common;

use common::binary::{Gateway, refused_start};

#[test]
fn binary_serves_rest_on_the_logged_address() {
    let gateway = Gateway::start(&[]);
    let response = raw_http::post_greet(&gateway.api_url());
    assert!(response.contains("Hola, Alice!"), "{response}");

    // ...and logs it: one line, every field, written by the background
    // writer shortly after the response ends.
    let lines = gateway.wait_for_log_lines(&["greet_gateway::access"], 1);
    let [line] = &lines[..] else {
        panic!("one access line expected: {lines:?}")
    };
    let (stamp, rest) = line.split_once(' ').unwrap();
    // 2026-11-27T05:37:46.926059Z
    assert_eq!(stamp.len(), 27, "{line}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{line}"
    );
    let fields = rest
        .strip_prefix(" INFO greet_gateway::access: ")
        .unwrap_or_else(|| panic!("level and target: {line}"));
    let (latency, request_id) = fields
        .strip_prefix(
            r#"protocol="rest" method=POST path="/greet" status=200 grpc_status="-" latency_us="#,
        )
        .and_then(|f| f.split_once(r#" outcome="complete" request_id=""#))
        .unwrap_or_else(|| panic!("fields: {line}"));
    assert!(latency.parse::<u64>().is_ok(), "{line}");
    // The id the answer carried, made by the gateway: none was sent.
    let request_id = request_id.strip_suffix('"').expect("a quoted id");
    assert_eq!(request_id.len(), 33, "{line}");
    assert!(
        response.contains(&format!("\r\nx-request-id: {request_id}\r\n")),
        "{response}"
    );
}

/// Plain HTTP/1.1 over a socket: no client library between us and the wire.
mod raw_http {
    use std::io::{Read, Write};

    pub fn post_greet(base: &str) -> String {
        let addr = base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let body = r#"{"name":"Alice","lang":"es"}"#;
        write!(
            stream,
            "POST /greet HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }
}

#[test]
fn refused_configuration_exits_non_zero_and_says_why() {
    for (flags, reason) in [
        (
            &["--allow-origin", "*", "--allow-credentials"][..],
            "wildcard origin '*' cannot be combined with credentials",
        ),
        (
            &["--allow-origin", "null"][..],
            "origin 'null' cannot be allowed",
        ),
        (
            &["--allow-origin", "http://localhost:1234/"][..],
            "is not an origin",
        ),
        (
            &["--max-body-bytes", "0"][..],
            "--max-body-bytes must be at least 1",
        ),
        (&["--listen", "not-an-address"][..], "not-an-address"),
    ] {
        let stderr = refused_start(flags, &[]);
        assert!(stderr.contains(reason), "{flags:?}: {stderr}");
    }
}

#[test]
fn environment_variables_configure_like_flags() {
    let stderr = refused_start(&[], &[("GREET_ALLOW_ORIGINS", "http://a.example,null")]);
    assert!(stderr.contains("'null'"), "{stderr}");
}

#[test]
fn sigterm_stops_the_gateway_with_exit_code_zero() {
    let mut gateway = Gateway::start(&["--web-listen", "off"]);
    gateway.terminate();
    let status = gateway.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
