//! Command-line flags, each with an environment variable, validated once into
//! typed [`Settings`]. A bad value stops start-up with a one-line reason; it
//! can never surface later as a failing request.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{ArgAction, Parser, builder::BoolishValueParser};

use crate::{
    cors::{CorsConfigError, CorsPolicy, CorsSettings},
    logging::LogFormat,
    tls::TlsError,
};

/// Every default, written once: the flags show and parse these, and
/// [`Transport::default`] and [`crate::ApiBuilder::new`] take the same values,
/// so an embedder and the binary cannot drift apart.
pub mod defaults {
    use super::DurationDefault;

    pub const LISTEN: &str = "127.0.0.1:5000";
    pub const WEB_LISTEN: &str = "127.0.0.1:1234";
    /// The demo page's origin, by both of its names.
    pub const ALLOW_ORIGINS: [&str; 2] = ["http://localhost:1234", "http://127.0.0.1:1234"];
    pub const CORS_MAX_AGE_SECS: u64 = 60;
    pub const MAX_BODY_BYTES: usize = 1024 * 1024;
    pub const MAX_HEADER_BYTES: usize = 16 * 1024;
    pub const HEADER_READ_TIMEOUT: DurationDefault = DurationDefault::new("10s");
    pub const REQUEST_TIMEOUT: DurationDefault = DurationDefault::new("30s");
    pub const MAX_CONCURRENT_REQUESTS: usize = 10_000;
    pub const MAX_CONNECTIONS: usize = 25_000;
    pub const HTTP2_MAX_CONCURRENT_STREAMS: u32 = 256;
    pub const LOG: &str = "info";
    pub const ADMIN_LISTEN: &str = "127.0.0.1:9464";
    pub const DRAIN_DELAY: DurationDefault = DurationDefault::new("0s");
    pub const LOG_FORMAT: &str = "plain";
}

/// A duration default both as the flag's text (what `--help` shows and the
/// parser reads) and as its value, from one literal. A literal that does not
/// parse fails the build, not the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationDefault {
    pub text: &'static str,
    pub value: Duration,
}

impl DurationDefault {
    pub const fn new(text: &'static str) -> Self {
        match duration(text) {
            Some(value) => DurationDefault { text, value },
            None => panic!("a duration default must read like a --*-timeout flag value"),
        }
    }
}

/// The gateway's command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "greet-gateway",
    version,
    about = "Serves the greet.v1.GreetService RPC on one port as REST/JSON, gRPC-Web and native gRPC, behind one CORS policy."
)]
pub struct Args {
    /// Address of the API port: REST, gRPC-Web and gRPC (HTTP/1.1 and h2c).
    #[arg(
        long,
        env = "GREET_LISTEN",
        default_value = defaults::LISTEN,
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// Address of the demo page (a second origin), or `off`.
    #[arg(long, env = "GREET_WEB_LISTEN", default_value = defaults::WEB_LISTEN, value_name = "ADDR|off", value_parser = parse_web_listen)]
    pub web_listen: WebListen,

    /// A browser origin allowed to call the API, exactly as browsers send it
    /// (`scheme://host[:port]`). Repeat the flag, or give a comma-separated
    /// list in the environment. `*` allows any origin (not with credentials);
    /// `null` is always refused.
    #[arg(
        long = "allow-origin",
        env = "GREET_ALLOW_ORIGINS",
        value_delimiter = ',',
        default_values = defaults::ALLOW_ORIGINS,
        value_name = "ORIGIN"
    )]
    pub allow_origins: Vec<String>,

    /// A request header browser pages may send, added to the defaults
    /// (`content-type`, the gRPC-Web and Connect headers, `authorization`,
    /// `x-request-id`, `traceparent`). Repeat the flag, or give a
    /// comma-separated list in the environment. Names the Fetch standard
    /// forbids pages to set (`cookie`, `host`, `sec-*`, ...) are refused.
    #[arg(
        long = "allow-header",
        env = "GREET_ALLOW_HEADERS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub allow_headers: Vec<String>,

    /// A response header browser code may read, added to the defaults
    /// (`grpc-status`, `grpc-message`, `grpc-status-details-bin`,
    /// `x-request-id`). Repeat the flag, or give a comma-separated list in
    /// the environment. `set-cookie` is refused: browsers never expose it.
    #[arg(
        long = "expose-header",
        env = "GREET_EXPOSE_HEADERS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub expose_headers: Vec<String>,

    /// How long (seconds) a browser may cache a preflight answer.
    #[arg(
        long,
        env = "GREET_CORS_MAX_AGE",
        default_value_t = defaults::CORS_MAX_AGE_SECS,
        value_name = "SECONDS"
    )]
    pub cors_max_age: u64,

    /// Let browsers send cookies and HTTP authentication
    /// (`Access-Control-Allow-Credentials: true`). Needs an explicit allowlist.
    #[arg(long, env = "GREET_ALLOW_CREDENTIALS", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub allow_credentials: bool,

    /// Answer Private Network Access preflights from allowed origins
    /// (`Access-Control-Allow-Private-Network: true`).
    #[arg(long, env = "GREET_ALLOW_PRIVATE_NETWORK", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub allow_private_network: bool,

    /// Largest request body, in bytes, on every protocol (REST answers 413,
    /// gRPC and gRPC-Web RESOURCE_EXHAUSTED).
    #[arg(long, env = "GREET_MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES, value_name = "BYTES")]
    pub max_body_bytes: usize,

    /// Largest request head (request line and headers), in bytes; larger
    /// heads get 431 (HTTP/1.1) or a refused stream (HTTP/2).
    #[arg(long, env = "GREET_MAX_HEADER_BYTES", default_value_t = defaults::MAX_HEADER_BYTES, value_name = "BYTES")]
    pub max_header_bytes: usize,

    /// How long a client may take to send a complete request head before the
    /// connection is closed (slow-loris protection). E.g. `10s`, `500ms`.
    #[arg(long, env = "GREET_HEADER_READ_TIMEOUT", default_value = defaults::HEADER_READ_TIMEOUT.text, value_name = "DURATION", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Longest time a request may take, from its head to the end of the
    /// answer's body (REST 504, gRPC DEADLINE_EXCEEDED; a streaming answer
    /// still going then ends with DEADLINE_EXCEEDED). A shorter
    /// `grpc-timeout` from the client wins.
    #[arg(long, env = "GREET_REQUEST_TIMEOUT", default_value = defaults::REQUEST_TIMEOUT.text, value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Requests served at once, a streaming answer counting until it ends;
    /// beyond it requests are shed at once with REST 503 or gRPC UNAVAILABLE
    /// instead of queueing.
    #[arg(
        long,
        env = "GREET_MAX_CONCURRENT_REQUESTS",
        default_value_t = defaults::MAX_CONCURRENT_REQUESTS,
        value_name = "N"
    )]
    pub max_concurrent_requests: usize,

    /// Open connections at once; beyond it new connections wait in the
    /// kernel's accept queue.
    #[arg(
        long,
        env = "GREET_MAX_CONNECTIONS",
        default_value_t = defaults::MAX_CONNECTIONS,
        value_name = "N"
    )]
    pub max_connections: usize,

    /// Concurrent streams per HTTP/2 connection.
    #[arg(
        long,
        env = "GREET_HTTP2_MAX_STREAMS",
        default_value_t = defaults::HTTP2_MAX_CONCURRENT_STREAMS,
        value_name = "N"
    )]
    pub http2_max_concurrent_streams: u32,

    /// PEM certificate chain: serve HTTPS (ALPN h2 and http/1.1) on --listen.
    #[arg(
        long,
        env = "GREET_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(
        long,
        env = "GREET_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Log filter, e.g. `info`, `warn`, `greet_gateway=debug`.
    #[arg(
        long = "log",
        env = "RUST_LOG",
        default_value = defaults::LOG,
        value_name = "FILTER"
    )]
    pub log: String,

    /// Log line format: `plain` text, or `json`, one object per line.
    #[arg(long, env = "GREET_LOG_FORMAT", default_value = defaults::LOG_FORMAT, value_name = "FORMAT", value_enum)]
    pub log_format: LogFormat,

    /// Address of the admin port (`/metrics`, `/healthz`, `/readyz`), or
    /// `off`. Never the API port: browsers must not read it.
    #[arg(long, env = "GREET_ADMIN_LISTEN", default_value = defaults::ADMIN_LISTEN, value_name = "ADDR|off", value_parser = parse_web_listen)]
    pub admin_listen: WebListen,

    /// On SIGTERM, how long to keep serving (readiness already 503) before
    /// closing the listener, so load balancers stop sending first.
    #[arg(long, env = "GREET_DRAIN_DELAY", default_value = defaults::DRAIN_DELAY.text, value_name = "DURATION", value_parser = parse_duration)]
    pub drain_delay: Duration,
}

/// Where the demo page or the admin port listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebListen {
    On(SocketAddr),
    Off,
}

fn parse_web_listen(raw: &str) -> Result<WebListen, String> {
    if raw.eq_ignore_ascii_case("off") {
        return Ok(WebListen::Off);
    }
    raw.parse()
        .map(WebListen::On)
        .map_err(|_| format!("'{raw}' is neither an address such as 127.0.0.1:1234 nor 'off'"))
}

/// `250ms`, `10s`, `2m`, or a bare number of seconds.
fn parse_duration(raw: &str) -> Result<Duration, String> {
    duration(raw).ok_or_else(|| {
        format!(
            "'{}' is not a duration such as 500ms, 10s or 2m",
            raw.trim()
        )
    })
}

/// The grammar of [`parse_duration`], as a `const fn` so that the defaults
/// are checked by the compiler; `None` for anything else, or a number of
/// seconds too large to hold.
const fn duration(raw: &str) -> Option<Duration> {
    let bytes = raw.trim_ascii().as_bytes();
    let mut n: u64 = 0;
    let mut digits = 0;
    while digits < bytes.len() && bytes[digits].is_ascii_digit() {
        n = match n.checked_mul(10) {
            Some(tens) => match tens.checked_add((bytes[digits] - b'0') as u64) {
                Some(n) => n,
                None => return None,
            },
            None => return None,
        };
        digits += 1;
    }
    if digits == 0 {
        return None;
    }
    match bytes.split_at(digits).1 {
        b"ms" => Some(Duration::from_millis(n)),
        b"" | b"s" => Some(Duration::from_secs(n)),
        b"m" => match n.checked_mul(60) {
            Some(secs) => Some(Duration::from_secs(secs)),
            None => None,
        },
        _ => None,
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("CORS: {0}")]
    Cors(#[from] CorsConfigError),
    #[error("--{0} must be at least 1")]
    Zero(&'static str),
    #[error("--max-header-bytes must be at least 8192 (hyper's smallest read buffer)")]
    TinyHeaderLimit,
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("--listen and --web-listen are both {0}: give the demo page its own port, or 'off'")]
    SamePort(SocketAddr),
    #[error(
        "--admin-listen is {0}, the same as --{1}: the admin port must be a port of its own (browsers must not read it), or 'off'"
    )]
    AdminSharesPort(SocketAddr, &'static str),
}

/// Validated settings: everything the server needs, in its own types.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub web_listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub drain_delay: Duration,
    pub cors: CorsPolicy,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub transport: Transport,
}

/// How the listener treats connections: limits that hyper enforces, and TLS.
#[derive(Clone)]
pub struct Transport {
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub http2_max_concurrent_streams: u32,
    /// Present when serving HTTPS.
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("max_header_bytes", &self.max_header_bytes)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field(
                "http2_max_concurrent_streams",
                &self.http2_max_concurrent_streams,
            )
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for Transport {
    /// The defaults of the flags, without TLS.
    fn default() -> Self {
        Transport {
            max_header_bytes: defaults::MAX_HEADER_BYTES,
            header_read_timeout: defaults::HEADER_READ_TIMEOUT.value,
            max_connections: defaults::MAX_CONNECTIONS,
            http2_max_concurrent_streams: defaults::HTTP2_MAX_CONCURRENT_STREAMS,
            tls: None,
        }
    }
}

impl Args {
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let cors = CorsPolicy::new(&CorsSettings {
            origins: self.allow_origins.clone(),
            allow_headers: self.allow_headers.clone(),
            expose_headers: self.expose_headers.clone(),
            allow_credentials: self.allow_credentials,
            allow_private_network: self.allow_private_network,
            max_age_secs: self.cors_max_age,
        })?;
        for (flag, value) in [
            ("max-body-bytes", self.max_body_bytes),
            ("max-concurrent-requests", self.max_concurrent_requests),
            ("max-connections", self.max_connections),
            (
                "http2-max-concurrent-streams",
                self.http2_max_concurrent_streams as usize,
            ),
            ("request-timeout", self.request_timeout.as_millis() as usize),
            (
                "header-read-timeout",
                self.header_read_timeout.as_millis() as usize,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(flag));
            }
        }
        if self.max_header_bytes < 8192 {
            return Err(ConfigError::TinyHeaderLimit);
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key)?),
            _ => None,
        };
        let web_listen = match self.web_listen {
            WebListen::On(addr) if addr == self.listen && addr.port() != 0 => {
                return Err(ConfigError::SamePort(addr));
            }
            WebListen::On(addr) => Some(addr),
            WebListen::Off => None,
        };
        let admin_listen = match self.admin_listen {
            WebListen::On(addr) if addr.port() != 0 => {
                for (flag, other) in [("listen", Some(self.listen)), ("web-listen", web_listen)] {
                    if other == Some(addr) {
                        return Err(ConfigError::AdminSharesPort(addr, flag));
                    }
                }
                Some(addr)
            }
            WebListen::On(addr) => Some(addr),
            WebListen::Off => None,
        };
        Ok(Settings {
            listen: self.listen,
            web_listen,
            admin_listen,
            drain_delay: self.drain_delay,
            cors,
            max_body_bytes: self.max_body_bytes,
            request_timeout: self.request_timeout,
            max_concurrent_requests: self.max_concurrent_requests,
            transport: Transport {
                max_header_bytes: self.max_header_bytes,
                header_read_timeout: self.header_read_timeout,
                max_connections: self.max_connections,
                http2_max_concurrent_streams: self.http2_max_concurrent_streams,
                tls,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("greet-gateway").chain(extra.iter().copied()))
    }

    #[test]
    fn defaults_match_the_spec() {
        let a = args(&[]).unwrap();
        let s = a.validate().unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(s.web_listen.unwrap().to_string(), "127.0.0.1:1234");
        assert_eq!(
            a.allow_origins,
            ["http://localhost:1234", "http://127.0.0.1:1234"]
        );
        assert_eq!(a.cors_max_age, 60);
        assert!(!a.allow_credentials);
        assert_eq!(s.max_body_bytes, 1_048_576);
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.max_concurrent_requests, 10_000);
        assert_eq!(s.admin_listen.unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(s.drain_delay, Duration::ZERO);
        assert_eq!(a.log_format, LogFormat::Plain);
    }

    #[test]
    fn the_admin_port_is_never_the_api_or_demo_port() {
        for (flags, named) in [
            (
                ["--listen", "127.0.0.1:9", "--web-listen", "off"],
                "--listen",
            ),
            (
                ["--listen", "127.0.0.1:8", "--web-listen", "127.0.0.1:9"],
                "--web-listen",
            ),
        ] {
            let mut all = flags.to_vec();
            all.extend(["--admin-listen", "127.0.0.1:9"]);
            let err = args(&all).unwrap().validate().unwrap_err();
            assert!(matches!(err, ConfigError::AdminSharesPort(..)), "{err}");
            assert!(err.to_string().contains(named), "{err}");
        }
        // Port 0 picks a free port: never the same.
        let s = args(&["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .unwrap()
            .validate()
            .unwrap();
        assert!(s.admin_listen.is_some());
        let s = args(&["--admin-listen", "off"])
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(s.admin_listen, None);
    }

    #[test]
    fn the_flags_and_transport_default_agree() {
        let flags = args(&[]).unwrap().validate().unwrap().transport;
        let default = Transport::default();
        assert_eq!(flags.max_header_bytes, default.max_header_bytes);
        assert_eq!(flags.header_read_timeout, default.header_read_timeout);
        assert_eq!(flags.max_connections, default.max_connections);
        assert_eq!(
            flags.http2_max_concurrent_streams,
            default.http2_max_concurrent_streams
        );
    }

    #[test]
    fn a_zero_limit_names_its_flag() {
        for flag in [
            "--max-body-bytes",
            "--max-concurrent-requests",
            "--max-connections",
            "--http2-max-concurrent-streams",
            "--request-timeout",
            "--header-read-timeout",
        ] {
            let err = args(&[flag, "0"]).unwrap().validate().unwrap_err();
            assert_eq!(err.to_string(), format!("{flag} must be at least 1"));
        }
    }

    #[test]
    fn web_listen_can_be_off() {
        let s = args(&["--web-listen", "off"]).unwrap().validate().unwrap();
        assert_eq!(s.web_listen, None);
    }

    #[test]
    fn refused_combinations_say_why() {
        let err = args(&["--allow-origin", "*", "--allow-credentials"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("wildcard"), "{err}");
        let err = args(&["--allow-origin", "null"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("'null'"), "{err}");
        let err = args(&["--max-body-bytes", "0"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(err.to_string(), "--max-body-bytes must be at least 1");
        let err = args(&["--listen", "127.0.0.1:9", "--web-listen", "127.0.0.1:9"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(matches!(err, ConfigError::SamePort(_)));
    }

    #[test]
    fn bad_values_are_refused_by_the_parser() {
        assert!(args(&["--listen", "nowhere"]).is_err());
        assert!(args(&["--web-listen", "maybe"]).is_err());
        assert!(args(&["--cors-max-age", "-1"]).is_err());
        assert!(args(&["--request-timeout", "soon"]).is_err());
        assert!(
            args(&["--tls-cert", "cert.pem"]).is_err(),
            "a cert needs a key"
        );
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration(" 5s "), Ok(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("1h"),
            Err("'1h' is not a duration such as 500ms, 10s or 2m".to_owned())
        );
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("999999999999999999m").is_err());
    }
}
