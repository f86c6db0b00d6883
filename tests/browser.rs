//! The demo page of `web/` in a real browser: Debian's headless Chromium,
//! driven by `tests/browser/page.mjs` (playwright-core), against the built
//! binary. The page is served from one origin and calls the API on another,
//! as in the seed, so every call goes through the browser's CORS checks.
//!
//! Each test starts the gateway, lets the script click through the page, then
//! checks both sides: what the page showed and what the server's access log
//! saw. Chromium and `tests/browser/node_modules` come from
//! `tests/browser/setup.sh` (run by `scripts/test`); without them a test fails
//! when `CI` is set, and otherwise says SKIP loudly and returns.

mod common;

use std::{
    io::Write as _,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, MutexGuard},
};

use common::binary::Gateway;
use serde_json::{Value, json};

const FAILED: &str = "Error: failed to fetch greeting";
const UNSUPPORTED_XX: &str = "Invalid or unsupported language selection: 'xx'";
const RED: &str = "rgb(255, 0, 0)";

#[test]
fn page_on_an_allowed_origin_greets_over_rest_and_grpc_web() {
    let Some(browser) = Browser::find("page_on_an_allowed_origin_greets_over_rest_and_grpc_web")
    else {
        return;
    };
    let demo = Demo::start(Allow::PageOrigin, &[]);

    let shown = browser.run(
        &demo,
        &[
            greet("rest", "Alice", "fr"),
            greet("grpc-web", "Alice", "es"),
            greet("grpc-web", "Bob", "en"),
            screenshot("working.png"),
        ],
    );

    // Each call's panel shows the id the gateway logged for it: REST has no
    // grpc-status; gRPC-Web's 0 comes from the trailer frame.
    let ids = demo.posted_request_ids(4);
    assert_eq!(
        shown,
        [
            Shown::greeting("Hola, Alice!", demo.rest(200, &ids[0])), // on load: REST, Alice, es
            Shown::greeting("Bonjour, Alice!", demo.rest(200, &ids[1])),
            Shown::greeting("Hola, Alice!", demo.grpc_web(0, &ids[2])),
            Shown::greeting("Hello, Bob!", demo.grpc_web(0, &ids[3])),
        ]
    );
    demo.gateway
        .expect_log(&[r#"protocol="rest""#, "method=POST", "status=200"], 2);
    demo.gateway
        .expect_log(&[r#"protocol="grpc-web""#, "method=POST", "status=200"], 2);
    demo.gateway.expect_log(&["status=403"], 0);
}

#[test]
fn unsupported_language_shows_the_servers_message_over_both_protocols() {
    let Some(browser) =
        Browser::find("unsupported_language_shows_the_servers_message_over_both_protocols")
    else {
        return;
    };
    let demo = Demo::start(Allow::PageOrigin, &[]);

    let shown = browser.run(
        &demo,
        &[
            greet("rest", "Alice", "xx"),
            greet("grpc-web", "Alice", "xx"),
            screenshot("error.png"),
        ],
    );

    // The gRPC-Web error is trailers-only: the page can read it only because
    // grpc-status and grpc-message are in Access-Control-Expose-Headers.
    let ids = demo.posted_request_ids(3);
    assert_eq!(
        shown,
        [
            Shown::greeting("Hola, Alice!", demo.rest(200, &ids[0])),
            Shown::failure(UNSUPPORTED_XX, Some("400"), demo.rest(400, &ids[1])),
            Shown::failure(
                UNSUPPORTED_XX,
                Some("INVALID_ARGUMENT"),
                demo.grpc_web(3, &ids[2])
            ),
        ]
    );
    demo.gateway
        .expect_log(&[r#"protocol="rest""#, "method=POST", "status=400"], 1);
    demo.gateway
        .expect_log(&[r#"protocol="grpc-web""#, r#"grpc_status="3""#], 1);
}

#[test]
fn page_on_an_origin_off_the_allowlist_is_told_to_check_allow_origin() {
    let Some(browser) =
        Browser::find("page_on_an_origin_off_the_allowlist_is_told_to_check_allow_origin")
    else {
        return;
    };
    // The seed's origin only: the page's own origin is not on the list.
    let demo = Demo::start(Allow::Only("http://localhost:1234"), &[]);

    let shown = browser.run(
        &demo,
        &[greet("grpc-web", "Alice", "es"), screenshot("blocked.png")],
    );

    // Not Chromium's bare "Failed to fetch": the hint, with the page's origin.
    let hint = demo.blocked_hint();
    assert_eq!(
        shown,
        [
            Shown::failure(&hint, None, demo.blocked("REST", &demo.api_url)), // on load
            Shown::failure(&hint, None, demo.blocked("gRPC-Web", &demo.api_url)),
        ]
    );
    // A JSON body and the gRPC-Web content type both need a preflight; each
    // was refused, so the browser never sent the calls themselves.
    demo.gateway
        .expect_log(&[PREFLIGHT, r#"path="/greet""#, "status=403"], 1);
    demo.gateway
        .expect_log(&[PREFLIGHT, GREET_METHOD_PATH, "status=403"], 1);
    demo.gateway.expect_log(&["method=POST"], 0);
}

#[test]
fn page_with_the_api_down_is_told_to_check_allow_origin() {
    let Some(browser) = Browser::find("page_with_the_api_down_is_told_to_check_allow_origin")
    else {
        return;
    };
    // The page's origin is allowed, but nothing listens where it calls.
    let down = format!("http://{}", free_loopback_address());
    let demo = Demo::start(Allow::PageOrigin, &[]).calling(&down);

    let shown = browser.run(&demo, &[greet("grpc-web", "Alice", "es")]);

    // The browser tells the page no more than when CORS refuses a call.
    let hint = demo.blocked_hint();
    assert_eq!(
        shown,
        [
            Shown::failure(&hint, None, demo.blocked("REST", &down)),
            Shown::failure(&hint, None, demo.blocked("gRPC-Web", &down)),
        ]
    );
}

/// The Connect protocol through the page (`greetConnect`).
#[test]
fn page_greets_over_connect_and_shows_its_errors() {
    let Some(browser) = Browser::find("page_greets_over_connect_and_shows_its_errors") else {
        return;
    };
    let demo = Demo::start(Allow::PageOrigin, &[]);

    let shown = browser.run(
        &demo,
        &[
            greet("connect", "Alice", "fr"),
            greet("connect", "Alice", "xx"),
        ],
    );

    // Connect answers an error with its HTTP status and no grpc-status.
    let ids = demo.posted_request_ids(3);
    assert_eq!(
        shown,
        [
            Shown::greeting("Hola, Alice!", demo.rest(200, &ids[0])),
            Shown::greeting("Bonjour, Alice!", demo.connect(200, &ids[1])),
            Shown::failure(
                UNSUPPORTED_XX,
                Some("invalid_argument"),
                demo.connect(400, &ids[2])
            ),
        ]
    );
    demo.gateway
        .expect_log(&["method=POST", GREET_METHOD_PATH, "status=400"], 1);
}

#[test]
fn preflight_is_cached_within_max_age() {
    let Some(browser) = Browser::find("preflight_is_cached_within_max_age") else {
        return;
    };
    let demo = Demo::start(Allow::PageOrigin, &["--cors-max-age", "600"]);

    let shown = browser.run(
        &demo,
        &[
            greet("rest", "Bob", "en"),
            greet("grpc-web", "Alice", "es"),
            greet("grpc-web", "Bob", "fr"),
        ],
    );

    let ids = demo.posted_request_ids(4);
    assert_eq!(
        shown,
        [
            Shown::greeting("Hola, Alice!", demo.rest(200, &ids[0])),
            Shown::greeting("Hello, Bob!", demo.rest(200, &ids[1])),
            Shown::greeting("Hola, Alice!", demo.grpc_web(0, &ids[2])),
            Shown::greeting("Bonjour, Bob!", demo.grpc_web(0, &ids[3])),
        ]
    );
    // Two calls per URL, one preflight per URL (Chromium caches per URL).
    demo.gateway
        .expect_log(&[r#"protocol="rest""#, "status=200"], 2);
    demo.gateway
        .expect_log(&[r#"protocol="grpc-web""#, "status=200"], 2);
    demo.gateway
        .expect_log(&[PREFLIGHT, r#"path="/greet""#, "status=204"], 1);
    demo.gateway
        .expect_log(&[PREFLIGHT, GREET_METHOD_PATH, "status=204"], 1);
    demo.gateway.expect_log(&[PREFLIGHT], 2);
}

#[test]
fn preflight_is_repeated_when_max_age_is_zero() {
    let Some(browser) = Browser::find("preflight_is_repeated_when_max_age_is_zero") else {
        return;
    };
    let demo = Demo::start(Allow::PageOrigin, &["--cors-max-age", "0"]);

    let shown = browser.run(&demo, &[greet("rest", "Bob", "en")]);

    let ids = demo.posted_request_ids(2);
    assert_eq!(
        shown,
        [
            Shown::greeting("Hola, Alice!", demo.rest(200, &ids[0])),
            Shown::greeting("Hello, Bob!", demo.rest(200, &ids[1])),
        ]
    );
    // The counter-proof of the test above: without caching, one per call.
    demo.gateway
        .expect_log(&[PREFLIGHT, r#"path="/greet""#, "status=204"], 2);
}

const PREFLIGHT: &str = r#"protocol="preflight" method=OPTIONS"#;
const GREET_METHOD: &str = "/greet.v1.GreetService/Greet";
const GREET_METHOD_PATH: &str = r#"path="/greet.v1.GreetService/Greet""#;

/// A form submission: protocol, name and language, as a user picks them.
fn greet(protocol: &str, name: &str, lang: &str) -> Value {
    json!({ "protocol": protocol, "name": name, "lang": lang })
}

/// A screenshot of the page as it is now, into `tests/artifacts/` (git-ignored).
fn screenshot(file: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
    std::fs::create_dir_all(&dir).expect("tests/artifacts/ can be created");
    json!({ "screenshot": dir.join(file) })
}

/// What the page showed once a call finished.
#[derive(Debug, PartialEq)]
struct Shown {
    /// The text of `<p id="greeting">`.
    greeting: String,
    /// The red `<pre>` after it, if any: its text, `data-code` and colour.
    error: Option<(String, Option<String>, String)>,
    /// The "last call" panel; `None` while hidden.
    call: Option<Call>,
}

/// The page's "last call" panel: what the browser saw of the call.
#[derive(Debug, PartialEq)]
struct Call {
    protocol: String,
    url: String,
    /// The HTTP status, or "—" when the browser handed the page no response.
    status: String,
    /// "—" for REST, Connect and blocked calls.
    grpc_status: String,
    /// The `x-request-id` the page read, "—" if none.
    request_id: String,
    /// Whether the latency reads like `12.3 ms` (its value varies).
    latency_in_ms: bool,
}

impl Shown {
    fn greeting(text: &str, call: Call) -> Shown {
        Shown {
            greeting: text.into(),
            error: None,
            call: Some(call),
        }
    }

    /// The seed's failure display; `code` is the HTTP status (REST), gRPC
    /// code name (gRPC-Web) or Connect code, none when the browser blocked
    /// the call.
    fn failure(message: &str, code: Option<&str>, call: Call) -> Shown {
        Shown {
            greeting: FAILED.into(),
            error: Some((message.into(), code.map(Into::into), RED.into())),
            call: Some(call),
        }
    }

    fn from_json(line: &Value) -> Shown {
        let text = |key: &str| line[key].as_str().map(String::from);
        let call = &line["call"];
        let field = |key: &str| call[key].as_str().unwrap_or_default().to_owned();
        Shown {
            greeting: text("greeting").unwrap_or_default(),
            error: text("error")
                .map(|error| (error, text("code"), text("errorColor").unwrap_or_default())),
            call: call.is_object().then(|| Call {
                protocol: field("protocol"),
                url: field("url"),
                status: field("status"),
                grpc_status: field("grpcStatus"),
                request_id: field("requestId"),
                latency_in_ms: is_latency(&field("latency")),
            }),
        }
    }
}

/// `<digits>.<digit> ms`, as the page writes a latency.
fn is_latency(text: &str) -> bool {
    text.strip_suffix(" ms")
        .and_then(|number| number.split_once('.'))
        .is_some_and(|(whole, tenths)| {
            !whole.is_empty()
                && tenths.len() == 1
                && (whole.to_owned() + tenths)
                    .chars()
                    .all(|c| c.is_ascii_digit())
        })
}

/// What the page shows where the browser saw nothing of the kind.
const NOTHING: &str = "—";

/// Which origins the gateway lets in.
enum Allow {
    /// The demo page's own origin.
    PageOrigin,
    /// Only this origin (so the page's is refused).
    Only(&'static str),
}

/// The gateway with its demo page on a port picked here, so the page's origin
/// is known before start and can go on (or stay off) the allowlist.
struct Demo {
    gateway: Gateway,
    /// The page's origin, as `location.origin` reads it.
    page_origin: String,
    /// The API the page calls.
    api_url: String,
    /// The page, pointed at the API with `?api=`.
    page_url: String,
}

impl Demo {
    fn start(allow: Allow, flags: &[&str]) -> Demo {
        let web = free_loopback_address();
        let page_origin = format!("http://{web}");
        let allowed = match allow {
            Allow::PageOrigin => page_origin.as_str(),
            Allow::Only(origin) => origin,
        };
        let mut args = vec!["--web-listen", web.as_str(), "--allow-origin", allowed];
        args.extend_from_slice(flags);
        let gateway = Gateway::start(&args);
        let api_url = gateway.api_url();
        Demo {
            page_url: format!("{page_origin}/?api={api_url}"),
            api_url,
            page_origin,
            gateway,
        }
    }

    /// The same page, pointed at another API.
    fn calling(self, api_url: &str) -> Demo {
        Demo {
            page_url: format!("{}/?api={api_url}", self.page_origin),
            api_url: api_url.to_owned(),
            ..self
        }
    }

    /// A REST call the gateway answered with `status` and request id `id`.
    fn rest(&self, status: u16, id: &str) -> Call {
        self.answered("REST", "/greet", status, NOTHING, id)
    }

    /// A gRPC-Web call: HTTP 200 whatever the gRPC status.
    fn grpc_web(&self, grpc_status: u8, id: &str) -> Call {
        let grpc_status = grpc_status.to_string();
        self.answered("gRPC-Web", GREET_METHOD, 200, &grpc_status, id)
    }

    /// A Connect call: the HTTP status says it all, no grpc-status.
    fn connect(&self, status: u16, id: &str) -> Call {
        self.answered("Connect", GREET_METHOD, status, NOTHING, id)
    }

    fn answered(&self, protocol: &str, path: &str, status: u16, grpc: &str, id: &str) -> Call {
        Call {
            protocol: protocol.into(),
            url: format!("{}{path}", self.api_url),
            status: status.to_string(),
            grpc_status: grpc.into(),
            request_id: id.into(),
            latency_in_ms: true,
        }
    }

    /// A call to `api` that the browser handed the page no response for:
    /// only the protocol, the URL and the time until it failed are known.
    fn blocked(&self, protocol: &str, api: &str) -> Call {
        let path = if protocol == "REST" {
            "/greet"
        } else {
            GREET_METHOD
        };
        Call {
            protocol: protocol.into(),
            url: format!("{api}{path}"),
            status: NOTHING.into(),
            grpc_status: NOTHING.into(),
            request_id: NOTHING.into(),
            latency_in_ms: true,
        }
    }

    /// BlockedError's message (web/client.d.ts), with this page's origin.
    fn blocked_hint(&self) -> String {
        format!(
            "the browser refused the response: is this page's origin ({}) \
             in the gateway's --allow-origin?",
            self.page_origin
        )
    }

    /// The `x-request-id` of each of the first `count` calls (POSTs) the
    /// gateway logged, in order: ids it made, `<16 hex>-<16 hex>`.
    fn posted_request_ids(&self, count: usize) -> Vec<String> {
        let lines = self.gateway.wait_for_log_lines(&["method=POST"], count);
        assert_eq!(lines.len(), count, "POST lines:\n{}", lines.join("\n"));
        lines
            .iter()
            .map(|line| {
                let id = line
                    .split_once(r#"request_id=""#)
                    .and_then(|(_, rest)| rest.split_once('"'))
                    .map(|(id, _)| id)
                    .unwrap_or_else(|| panic!("a request id in {line}"));
                let made = id.split_once('-').is_some_and(|(a, b)| {
                    [a, b]
                        .iter()
                        .all(|half| half.len() == 16 && half.chars().all(|c| c.is_ascii_hexdigit()))
                });
                assert!(made, "the gateway's own id format: {line}");
                id.to_owned()
            })
            .collect()
    }
}

/// A free loopback port, released for the gateway to bind: the page's origin
/// must be on the command line, before the gateway could report its port.
fn free_loopback_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .to_string()
}

/// The right to run Chromium: one at a time on a small machine, and the tests
/// are about the browser, not about running many of them.
static TURN: Mutex<()> = Mutex::new(());

/// Node, `playwright-core` and Chromium, all present.
struct Browser {
    chromium: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// The browser toolchain, or `None` after a loud SKIP message; with `CI`
    /// set a missing piece fails the test instead.
    fn find(test: &str) -> Option<Browser> {
        let chromium = std::env::var_os("GREET_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        let mut missing = Vec::new();
        if !chromium.is_file() {
            missing.push(format!("Chromium ({})", chromium.display()));
        }
        if !script_dir()
            .join("node_modules/playwright-core/package.json")
            .is_file()
        {
            missing.push("tests/browser/node_modules (npm ci)".into());
        }
        if !Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            missing.push("node".into());
        }
        if missing.is_empty() {
            let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            return Some(Browser {
                chromium,
                _turn: turn,
            });
        }
        let why = format!(
            "missing {}; run tests/browser/setup.sh (scripts/test does)",
            missing.join(", ")
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: {why}. CI is set, so this fails instead of skipping."
        );
        // Straight to stderr, past the test harness's output capture: a skip
        // must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n\
             ==================== SKIP {test} ====================\n\
             {why}\n\
             (with CI set this test fails instead)\n\
             ====================================================="
        );
        None
    }

    /// Opens the demo page, lets it greet on load, then runs `steps`; returns
    /// what the page showed after the load and after each greeting.
    fn run(&self, demo: &Demo, steps: &[Value]) -> Vec<Shown> {
        let output = Command::new("node")
            .arg(script_dir().join("page.mjs"))
            .arg(&demo.page_url)
            .arg(Value::from(steps.to_vec()).to_string())
            .env("GREET_CHROMIUM", &self.chromium)
            .output()
            .expect("node starts");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "page.mjs failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        // The browser console, shown when a test fails.
        eprintln!("{stderr}");
        stdout
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|e| panic!("page.mjs printed {line:?}: {e}"))
            })
            .map(|line| Shown::from_json(&line))
            .collect()
    }
}

fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}
