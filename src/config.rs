//! Command-line flags, each with an environment variable, validated once into
//! typed [`Settings`]. A bad value stops start-up with a one-line reason; it
//! can never surface later as a failing request.

use std::net::SocketAddr;

use clap::Parser;

use crate::cors::{CorsConfigError, CorsPolicy, CorsSettings};

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
        default_value = "127.0.0.1:5000",
        value_name = "ADDR"
    )]
    pub listen: SocketAddr,

    /// Address of the demo page (a second origin), or `off`.
    #[arg(long, env = "GREET_WEB_LISTEN", default_value = "127.0.0.1:1234", value_name = "ADDR|off", value_parser = parse_web_listen)]
    pub web_listen: WebListen,

    /// A browser origin allowed to call the API, exactly as browsers send it
    /// (`scheme://host[:port]`). Repeat the flag, or give a comma-separated
    /// list in the environment. `*` allows any origin (not with credentials);
    /// `null` is always refused.
    #[arg(
        long = "allow-origin",
        env = "GREET_ALLOW_ORIGINS",
        value_delimiter = ',',
        default_values = ["http://localhost:1234", "http://127.0.0.1:1234"],
        value_name = "ORIGIN"
    )]
    pub allow_origins: Vec<String>,

    /// How long (seconds) a browser may cache a preflight answer.
    #[arg(
        long,
        env = "GREET_CORS_MAX_AGE",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub cors_max_age: u64,

    /// Let browsers send cookies and HTTP authentication
    /// (`Access-Control-Allow-Credentials: true`). Needs an explicit allowlist.
    #[arg(long, env = "GREET_ALLOW_CREDENTIALS")]
    pub allow_credentials: bool,

    /// Answer Private Network Access preflights from allowed origins
    /// (`Access-Control-Allow-Private-Network: true`).
    #[arg(long, env = "GREET_ALLOW_PRIVATE_NETWORK")]
    pub allow_private_network: bool,

    /// Largest request body, in bytes, on every protocol (REST answers 413,
    /// gRPC and gRPC-Web RESOURCE_EXHAUSTED).
    #[arg(long, env = "GREET_MAX_BODY_BYTES", default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_body_bytes: usize,

    /// Log filter, e.g. `info`, `warn`, `greet_gateway=debug`.
    #[arg(
        long = "log",
        env = "RUST_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    pub log: String,
}

/// Where the demo page listens.
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

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("CORS: {0}")]
    Cors(#[from] CorsConfigError),
    #[error("--max-body-bytes must be at least 1")]
    ZeroBodyLimit,
    #[error("--listen and --web-listen are both {0}: give the demo page its own port, or 'off'")]
    SamePort(SocketAddr),
}

/// Validated settings: everything the server needs, in its own types.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub web_listen: Option<SocketAddr>,
    pub cors: CorsPolicy,
    pub max_body_bytes: usize,
}

impl Args {
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let cors = CorsPolicy::new(&CorsSettings {
            origins: self.allow_origins.clone(),
            allow_credentials: self.allow_credentials,
            allow_private_network: self.allow_private_network,
            max_age_secs: self.cors_max_age,
        })?;
        if self.max_body_bytes == 0 {
            return Err(ConfigError::ZeroBodyLimit);
        }
        let web_listen = match self.web_listen {
            WebListen::On(addr) if addr == self.listen && addr.port() != 0 => {
                return Err(ConfigError::SamePort(addr));
            }
            WebListen::On(addr) => Some(addr),
            WebListen::Off => None,
        };
        Ok(Settings {
            listen: self.listen,
            web_listen,
            cors,
            max_body_bytes: self.max_body_bytes,
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
    }
}
