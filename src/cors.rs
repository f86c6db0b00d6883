//! The one CORS policy, applied once in front of every route of the API port.
//!
//! Built from configuration by [`CorsPolicy::new`], which refuses at start-up
//! the unsafe combinations (a `null` origin, a wildcard with credentials) and
//! every entry that could never take effect (an origin no browser sends, a
//! header name page code cannot use), so a request can never find the policy
//! broken or silently inert. On a request the server asks two things only:
//! [`CorsPolicy::preflight`] answers an `OPTIONS` preflight whole (204 or
//! 403), and [`CorsPolicy::grant`] decides the response headers of an
//! actual request, which [`Grant::add_to`] adds to its answer. Everything
//! else is precomputed here: `cors/origin.rs` rewrites the
//! allowlist, `cors/header_list.rs` checks and joins the two header lists.
//!
//! Behaviour follows the Fetch standard's CORS protocol
//! (<https://fetch.spec.whatwg.org/#http-cors-protocol>) and MDN's header pages
//! (<https://developer.mozilla.org/en-US/docs/Web/HTTP/Guides/CORS>).

use http::{
    HeaderMap, HeaderValue, Method, Response, StatusCode,
    header::{self, HeaderName},
};

use crate::status::ErrorReply;

mod header_list;
mod origin;

use header_list::HeaderList;
pub use header_list::{HeaderListKind, HeaderNameError};
pub use origin::OriginFault;

/// Request headers a browser client of this API may send, before any
/// `--allow-header`: JSON REST needs `content-type`; connect-web adds
/// `connect-protocol-version` and `connect-timeout-ms`, grpc-web clients
/// (and our `web/`) `x-grpc-web`, `x-user-agent` and `grpc-timeout`;
/// `authorization` for deployments that turn credentials on; `x-request-id`
/// and `traceparent` so a page can correlate and trace its calls.
pub const DEFAULT_ALLOW_HEADERS: &[&str] = &[
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "authorization",
    "x-request-id",
    "traceparent",
];

/// Response headers browser code may read, before any `--expose-header`: the
/// gRPC status travels in them on a trailers-only gRPC-Web error (and in the
/// body's trailer frame otherwise); `x-request-id` to quote in a bug report.
pub const DEFAULT_EXPOSE_HEADERS: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
];

/// The `Vary` value of a preflight answer: it depends on all three.
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// `Access-Control-Request-Private-Network` (Private Network Access): Chromium
/// sends it when a public page calls a private address.
pub const REQUEST_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-request-private-network");
/// The answer to [`REQUEST_PRIVATE_NETWORK`].
pub const ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");

/// Which origins may read responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Exact, case-sensitive match on the serialized origin, as browsers send it.
    List(Vec<HeaderValue>),
    /// `*`: any origin (never with credentials; refused at start-up).
    Any,
}

/// Why a CORS configuration was refused at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsConfigError {
    #[error(
        "origin 'null' cannot be allowed: sandboxed frames and file:// pages all send it, so allowing it allows them all"
    )]
    NullOrigin,
    #[error(
        "a wildcard origin '*' cannot be combined with credentials: browsers reject it, and it would let every site act as the user; list the origins instead"
    )]
    WildcardWithCredentials,
    #[error(
        "'{origin}' is not an origin: {fault}; write scheme://host[:port] as the browser's address bar shows it, e.g. http://localhost:1234"
    )]
    NotAnOrigin { origin: String, fault: OriginFault },
    #[error(transparent)]
    Header(#[from] HeaderNameError),
}

/// Everything needed to answer CORS, decided once at start-up.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    origins: AllowedOrigins,
    allow_credentials: bool,
    allow_private_network: bool,
    /// Methods the routes use; a preflight for any other is refused.
    methods: Vec<Method>,
    allow_methods: HeaderValue,
    allow_headers: HeaderList,
    expose_headers: HeaderList,
    max_age: HeaderValue,
}

/// The settings a [`CorsPolicy`] is built from.
#[derive(Debug, Clone)]
pub struct CorsSettings {
    pub origins: Vec<String>,
    /// Request header names granted on top of [`DEFAULT_ALLOW_HEADERS`].
    pub allow_headers: Vec<String>,
    /// Response header names exposed on top of [`DEFAULT_EXPOSE_HEADERS`].
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    pub allow_private_network: bool,
    pub max_age_secs: u64,
}

impl CorsPolicy {
    /// Validates the settings. Preflights may ask for POST until
    /// [`Self::with_methods`] says which methods the routes use.
    pub fn new(settings: &CorsSettings) -> Result<Self, CorsConfigError> {
        let origins = parse_origins(&settings.origins)?;
        if origins == AllowedOrigins::Any && settings.allow_credentials {
            return Err(CorsConfigError::WildcardWithCredentials);
        }
        let policy = CorsPolicy {
            origins,
            allow_credentials: settings.allow_credentials,
            allow_private_network: settings.allow_private_network,
            methods: Vec::new(),
            allow_methods: HeaderValue::from_static(""),
            allow_headers: HeaderList::new(
                HeaderListKind::Allow,
                DEFAULT_ALLOW_HEADERS,
                &settings.allow_headers,
            )?,
            expose_headers: HeaderList::new(
                HeaderListKind::Expose,
                DEFAULT_EXPOSE_HEADERS,
                &settings.expose_headers,
            )?,
            max_age: HeaderValue::from(settings.max_age_secs),
        };
        Ok(policy.with_methods(&[Method::POST]))
    }

    /// The same policy, granting exactly `methods` to preflights.
    pub fn with_methods(mut self, methods: &[Method]) -> Self {
        let mut methods = methods.to_vec();
        methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        methods.dedup();
        let list = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        self.allow_methods =
            HeaderValue::from_str(&list).expect("method names are valid header text");
        self.methods = methods;
        self
    }

    /// Is this request a CORS preflight? (`OPTIONS` with
    /// `Access-Control-Request-Method`; a plain `OPTIONS` is an ordinary request.)
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The request's `Origin`, if it is one this policy allows: the
    /// policy's own copy of it when the origins are listed.
    pub fn allowed_origin<'a>(&'a self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        match &self.origins {
            AllowedOrigins::Any => (origin.as_bytes() != b"null").then_some(origin),
            AllowedOrigins::List(list) => list.iter().find(|o| *o == origin),
        }
    }

    /// Answers a preflight: 204 with the grant, or 403 saying what was refused.
    pub fn preflight(&self, headers: &HeaderMap) -> Response<tonic::body::Body> {
        let mut response = match self.check_preflight(headers) {
            Ok(origin) => {
                let mut response = Response::new(tonic::body::Body::empty());
                *response.status_mut() = StatusCode::NO_CONTENT;
                let h = response.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    self.origin_value(origin),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    self.allow_methods.clone(),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    self.allow_headers.value().clone(),
                );
                h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
                if self.allow_credentials {
                    h.insert(
                        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                        HeaderValue::from_static("true"),
                    );
                }
                if self.allow_private_network
                    && headers
                        .get(REQUEST_PRIVATE_NETWORK)
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
                {
                    h.insert(ALLOW_PRIVATE_NETWORK, HeaderValue::from_static("true"));
                }
                response
            }
            Err(reason) => ErrorReply::new(StatusCode::FORBIDDEN, reason).into_response(),
        };
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static(PREFLIGHT_VARY));
        response
    }

    /// What the answer to an actual (non-preflight) request gets, decided
    /// from the request's `Origin`.
    pub fn grant(&self, headers: &HeaderMap) -> Grant {
        Grant {
            allow_origin: self
                .allowed_origin(headers)
                .map(|origin| self.origin_value(origin)),
            expose_headers: self.expose_headers.value().clone(),
            allow_credentials: self.allow_credentials,
        }
    }

    /// The `Access-Control-Allow-Origin` value for an allowed `origin`.
    fn origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        match self.origins {
            AllowedOrigins::Any => HeaderValue::from_static("*"),
            AllowedOrigins::List(_) => origin.clone(),
        }
    }

    /// The origin to grant, or the reason (the 403's message) not to.
    fn check_preflight<'a>(&self, headers: &'a HeaderMap) -> Result<&'a HeaderValue, String> {
        let origin = match headers.get(header::ORIGIN) {
            None => return Err("CORS preflight refused: no Origin header".to_owned()),
            Some(origin) => origin,
        };
        if self.allowed_origin(headers).is_none() {
            return Err(format!(
                "CORS preflight refused: origin '{}' is not allowed",
                String::from_utf8_lossy(origin.as_bytes())
            ));
        }
        let method = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if !self.methods.iter().any(|m| m.as_str().as_bytes() == method) {
            return Err(format!(
                "CORS preflight refused: method '{}' is not allowed",
                String::from_utf8_lossy(method)
            ));
        }
        for requested in headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            for name in requested.as_bytes().split(|&b| b == b',') {
                let name = name.trim_ascii();
                if !name.is_empty() && !self.allow_headers.contains(name) {
                    return Err(format!(
                        "CORS preflight refused: header '{}' is not allowed",
                        String::from_utf8_lossy(name)
                    ));
                }
            }
        }
        Ok(origin)
    }
}

/// The CORS headers of an actual request's answer ([`CorsPolicy::grant`]).
///
/// It copies the policy's values rather than holding the policy, and those
/// values are leaked once per policy (an allowed origin, the exposed names):
/// copying a static header value copies a pointer, where a shared one (or an
/// `Arc` of the policy) would raise and lower a reference count, an atomic
/// operation, for every request.
#[derive(Debug)]
pub struct Grant {
    /// `None` when the request's origin is not allowed (or it sent none).
    allow_origin: Option<HeaderValue>,
    expose_headers: HeaderValue,
    allow_credentials: bool,
}

impl Grant {
    /// Adds the headers to an answer. `Vary: Origin` is added either way,
    /// so no cache hands one origin's answer to another.
    pub fn add_to(self, headers: &mut HeaderMap) {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = self.allow_origin else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, self.expose_headers);
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// The allowlist, each entry as browsers write it (see [`origin`]), each once.
fn parse_origins(raw: &[String]) -> Result<AllowedOrigins, CorsConfigError> {
    if raw.iter().any(|o| o.trim() == "*") {
        return Ok(AllowedOrigins::Any);
    }
    let mut list = Vec::with_capacity(raw.len());
    for written in raw {
        let written = written.trim();
        if written.eq_ignore_ascii_case("null") {
            return Err(CorsConfigError::NullOrigin);
        }
        let not_an_origin = |fault| CorsConfigError::NotAnOrigin {
            origin: written.to_owned(),
            fault,
        };
        let origin = origin::normalise(written).map_err(not_an_origin)?;
        if origin != written {
            tracing::info!(
                "allowed origin '{written}' is matched as '{origin}', the way browsers send it"
            );
        }
        // Leaked once per policy, as `HeaderList`'s value: granting the
        // origin to an answer then copies a pointer ([`Grant`]).
        let value = HeaderValue::from_static(Box::leak(origin.into_boxed_str()));
        if !list.contains(&value) {
            list.push(value);
        }
    }
    Ok(AllowedOrigins::List(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(origins: &[&str], credentials: bool) -> CorsSettings {
        CorsSettings {
            origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_headers: Vec::new(),
            expose_headers: Vec::new(),
            allow_credentials: credentials,
            allow_private_network: false,
            max_age_secs: 60,
        }
    }

    fn policy(origins: &[&str]) -> CorsPolicy {
        CorsPolicy::new(&settings(origins, false)).unwrap()
    }

    fn with_origin(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h
    }

    #[test]
    fn only_the_exact_origin_matches() {
        let p = policy(&["http://localhost:1234"]);
        assert!(
            p.allowed_origin(&with_origin("http://localhost:1234"))
                .is_some()
        );
        for other in [
            "http://localhost:12345",
            "http://localhost:1234.evil.com",
            "http://localhost:1234/",
            "https://localhost:1234",
            "http://LOCALHOST:1234",
            "http://localhost",
            "null",
        ] {
            assert!(p.allowed_origin(&with_origin(other)).is_none(), "{other}");
        }
    }

    #[test]
    fn null_origin_is_refused_at_start() {
        let err = CorsPolicy::new(&settings(&["null"], false)).unwrap_err();
        assert_eq!(err, CorsConfigError::NullOrigin);
    }

    #[test]
    fn wildcard_with_credentials_is_refused_at_start() {
        let err = CorsPolicy::new(&settings(&["*"], true)).unwrap_err();
        assert_eq!(err, CorsConfigError::WildcardWithCredentials);
    }

    #[test]
    fn malformed_origins_are_refused_at_start_saying_why() {
        let err = CorsPolicy::new(&settings(&["http://localhost:1234/"], false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'http://localhost:1234/' is not an origin: it has a path (a trailing slash is one too); write scheme://host[:port] as the browser's address bar shows it, e.g. http://localhost:1234"
        );
        assert!(
            policy(&["http://[::1]:8080", "https://example.com"])
                .allowed_origin(&with_origin("http://[::1]:8080"))
                .is_some()
        );
    }

    #[test]
    fn an_entry_spelt_unlike_a_browser_matches_what_the_browser_sends() {
        let p = policy(&["HTTP://LOCALHOST:1234", "https://example.com:443"]);
        for sent in ["http://localhost:1234", "https://example.com"] {
            assert!(p.allowed_origin(&with_origin(sent)).is_some(), "{sent}");
        }
        // Matching itself stays exact.
        for unsent in ["HTTP://LOCALHOST:1234", "https://example.com:443"] {
            assert!(p.allowed_origin(&with_origin(unsent)).is_none(), "{unsent}");
        }
        let p = policy(&["http://localhost", "http://LOCALHOST:80"]);
        assert_eq!(
            p.origins,
            AllowedOrigins::List(vec![HeaderValue::from_static("http://localhost")])
        );
    }

    fn preflight_asking_for(p: &CorsPolicy, headers: &str) -> Response<tonic::body::Body> {
        let mut h = with_origin("http://localhost:1234");
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_str(headers).unwrap(),
        );
        p.preflight(&h)
    }

    #[test]
    fn added_headers_are_granted_on_top_of_the_defaults_in_any_case() {
        let mut s = settings(&["http://localhost:1234"], false);
        assert_eq!(
            preflight_asking_for(&CorsPolicy::new(&s).unwrap(), "x-api-key").status(),
            StatusCode::FORBIDDEN
        );
        s.allow_headers = vec!["X-Api-Key".into()];
        let p = CorsPolicy::new(&s).unwrap();
        let response = preflight_asking_for(&p, "Content-Type,X-API-KEY,traceparent");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "content-type, connect-protocol-version, connect-timeout-ms, x-grpc-web, x-user-agent, grpc-timeout, authorization, x-request-id, traceparent, x-api-key"
        );
    }

    #[test]
    fn exposed_headers_are_the_defaults_then_the_additions() {
        let mut s = settings(&["http://localhost:1234"], false);
        s.expose_headers = vec!["x-ratelimit-remaining".into(), "grpc-status".into()];
        let p = CorsPolicy::new(&s).unwrap();
        let mut h = HeaderMap::new();
        p.grant(&with_origin("http://localhost:1234"))
            .add_to(&mut h);
        assert_eq!(
            h[header::ACCESS_CONTROL_EXPOSE_HEADERS],
            "grpc-status, grpc-message, grpc-status-details-bin, x-request-id, x-ratelimit-remaining"
        );
    }

    #[test]
    fn a_forbidden_header_name_stops_start_up() {
        let mut s = settings(&["http://localhost:1234"], false);
        s.allow_headers = vec!["cookie".into()];
        assert!(matches!(
            CorsPolicy::new(&s),
            Err(CorsConfigError::Header(
                HeaderNameError::ForbiddenRequestHeader { .. }
            ))
        ));
    }

    #[test]
    fn wildcard_allows_any_origin_but_null() {
        let p = policy(&["*"]);
        assert!(
            p.allowed_origin(&with_origin("https://a.example"))
                .is_some()
        );
        assert!(p.allowed_origin(&with_origin("null")).is_none());
    }
}
