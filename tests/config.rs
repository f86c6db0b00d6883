//! Configuration as an operator meets it, through the built binary: what the
//! environment variables do, and how a refused start ends (exit code 2 for
//! configuration, 1 for anything else, one `error:` line, never a
//! backtrace, even with `RUST_BACKTRACE=1`).

mod common;

use std::{
    io::{Read, Write},
    net::TcpListener,
    process::{Command, Output},
};

use common::binary::Gateway;

/// Runs the binary to its end with `RUST_BACKTRACE=1`, as a developer's
/// shell often has it.
fn run(flags: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greet-gateway"))
        .args(flags)
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

/// The exit code and stderr of a run that must fail, checked for a
/// backtrace.
fn refused(flags: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = run(flags, env);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.to_lowercase().contains("backtrace"),
        "{flags:?} {env:?}: {stderr}"
    );
    let code = output.status.code().expect("an exit code, not a signal");
    (code, stderr)
}

#[test]
fn a_value_that_does_not_parse_exits_2_by_flag_or_by_environment() {
    for (flags, env, reason) in [
        (
            &["--listen", "nowhere"][..],
            &[][..],
            "error: invalid value 'nowhere' for '--listen <ADDR>'",
        ),
        (
            &[],
            &[("GREET_MAX_BODY_BYTES", "lots")],
            "error: invalid value 'lots' for '--max-body-bytes <BYTES>'",
        ),
    ] {
        let (code, stderr) = refused(flags, env);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.starts_with(reason), "{stderr}");
    }
}

#[test]
fn a_refused_setting_exits_2_with_one_line() {
    let (code, stderr) = refused(&["--max-body-bytes", "0", "--web-listen", "off"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr, "error: --max-body-bytes must be at least 1\n");

    let (code, stderr) = refused(&["--http2-max-concurrent-streams", "0"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        "error: --http2-max-concurrent-streams must be at least 1\n"
    );
}

#[test]
fn a_bad_log_filter_exits_2() {
    let (code, stderr) = refused(&["--log", "greet_gateway=loud"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: invalid log filter 'greet_gateway=loud': "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_port_in_use_exits_1_with_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = taken.local_addr().expect("a bound address").to_string();
    let (code, stderr) = refused(&["--listen", &addr, "--web-listen", "off"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot listen on {addr}: ")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "--version"] {
        let output = run(&[flag], &[]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert!(!output.stdout.is_empty(), "{flag}");
        assert!(output.stderr.is_empty(), "{flag}");
    }
}

/// A Private Network Access preflight from `origin`, over plain HTTP/1.1:
/// the status line and the headers, names lowercased.
fn pna_preflight(gateway: &Gateway, origin: &str) -> (String, Vec<(String, String)>) {
    let mut stream = std::net::TcpStream::connect(gateway.api).expect("the API port answers");
    write!(
        stream,
        "OPTIONS /greet HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Private-Network: true\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the answer is read");
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_lowercase(), value.to_owned()))
        .collect();
    (status, headers)
}

fn value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn private_network_access_follows_the_environment_switch() {
    for (switch, granted) in [
        ("yes", true),
        ("true", true),
        ("1", true),
        ("0", false),
        ("off", false),
    ] {
        let gateway = Gateway::start_with_env(
            &["--web-listen", "off"],
            &[("GREET_ALLOW_PRIVATE_NETWORK", switch)],
        );
        let (status, headers) = pna_preflight(&gateway, "http://localhost:1234");
        assert_eq!(status, "HTTP/1.1 204 No Content", "{switch}");
        let expected = granted.then_some("true");
        assert_eq!(
            value(&headers, "access-control-allow-private-network"),
            expected,
            "{switch}"
        );
    }
}

#[test]
fn allowed_origins_come_from_a_comma_list_in_the_environment() {
    let gateway = Gateway::start_with_env(
        &["--web-listen", "off"],
        &[("GREET_ALLOW_ORIGINS", "https://a.example,https://b.example")],
    );
    for origin in ["https://a.example", "https://b.example"] {
        let (status, headers) = pna_preflight(&gateway, origin);
        assert_eq!(status, "HTTP/1.1 204 No Content", "{origin}");
        assert_eq!(value(&headers, "access-control-allow-origin"), Some(origin));
    }
    // The list replaces the defaults.
    let (status, headers) = pna_preflight(&gateway, "http://localhost:1234");
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    assert_eq!(value(&headers, "access-control-allow-origin"), None);
}
