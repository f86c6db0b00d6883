//! Clients nobody here wrote, against the built binary: Connect's gRPC-Web
//! and Connect-protocol transports (Node, and connect-web in headless
//! Chromium), `buf curl --protocol connect`, Google's grpc-web runtime in
//! headless Chromium (text and binary modes), grpcurl over reflection,
//! httpie running the seed's commands, Python grpcio stubs, and
//! `@grpc/grpc-js` with `@grpc/proto-loader`; and the demo page's own
//! `greetConnect` (web/client.js) in Node. The Connect and grpcio clients'
//! code is generated from `proto/greet/v1/greet.proto` by
//! `tests/interop/setup.sh`, which `scripts/test` runs and which pins every
//! client's version; grpc-web's messages are the Connect client's, and
//! proto-loader reads the proto itself.
//!
//! A missing client fails the test when `CI` is set; elsewhere the test says
//! SKIP loudly and returns.

mod common;

use std::{
    io::Write,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::{Mutex, MutexGuard},
};

use common::{
    binary::Gateway,
    tools::{self, describe_output, tempdir, tools_dir},
};
use serde_json::{Value, json};

/// The four INVALID_ARGUMENT rows of the spec's error table: a request (as
/// proto3 JSON) and the exact message every protocol answers with.
const INVALID_ARGUMENT_CASES: [(&str, &str); 4] = [
    ("{}", "Missing request body"),
    (r#"{"lang":"en"}"#, "Missing required field: 'name'"),
    (r#"{"name":" \t "}"#, "Field 'name' cannot be empty"),
    (
        r#"{"name":"Alice","lang":"FOO"}"#,
        "Invalid or unsupported language selection: 'foo'",
    ),
];

/// The requests a browser page sends: `greeting`, then each of
/// [`INVALID_ARGUMENT_CASES`]' bodies.
fn greeting_then_invalid_cases(greeting: Value) -> Vec<Value> {
    std::iter::once(greeting)
        .chain(
            INVALID_ARGUMENT_CASES
                .iter()
                .map(|(request, _)| serde_json::from_str::<Value>(request).unwrap()),
        )
        .collect()
}

#[test]
fn connect_grpc_web_clients_greet_and_get_invalid_argument() {
    // connect-web speaks through fetch, as in a browser; connect-node
    // through node:http over HTTP/1.1.
    node_clients_greet_and_get_invalid_argument(&["web", "node"], "grpc-web");
}

/// The Connect protocol itself, JSON and binary: connect-web's
/// `createConnectTransport` (fetch) and connect-node's (HTTP/1.1).
#[test]
fn connect_protocol_clients_greet_and_get_invalid_argument_in_json_and_binary() {
    node_clients_greet_and_get_invalid_argument(
        &[
            "connect-json",
            "connect-binary",
            "connect-node-json",
            "connect-node-binary",
        ],
        "connect",
    );
}

/// Each of connect_client.mjs's transport `kinds` greets and reads every
/// INVALID_ARGUMENT with its exact message; the access log says `protocol`.
fn node_clients_greet_and_get_invalid_argument(kinds: &[&str], protocol: &str) {
    let dir = interop_dir();
    let ready = node_packages_present(&["@connectrpc/connect-web", "@connectrpc/connect-node"])
        && present(
            "the protoc-gen-es code (tests/interop/gen/js)",
            dir.join("gen/js/greet/v1/greet_pb.js").is_file(),
        );
    if !ready {
        return;
    }
    let gateway = Gateway::start(&["--web-listen", "off"]);
    for transport in kinds {
        let call = |request: &str| {
            let mut node = Command::new("node");
            node.current_dir(&dir)
                .arg("connect_client.mjs")
                .args([transport, gateway.api_url().as_str()]);
            ask(transport, &mut node, request)
        };

        let response = call(r#"{"name":"Alice","lang":"es"}"#);
        assert_greeting(&response, "Hola, Alice!");

        for (request, message) in INVALID_ARGUMENT_CASES {
            assert_eq!(
                call(request),
                json!({"error": {"code": "InvalidArgument", "message": message}}),
                "{transport} {request}"
            );
        }
    }
    let protocol = format!(r#"protocol="{protocol}" method=POST"#);
    gateway.expect_log(&[&protocol, GREET_PATH, r#"grpc_status="0""#], kinds.len());
    gateway.expect_log(
        &[&protocol, GREET_PATH, r#"grpc_status="3""#],
        kinds.len() * INVALID_ARGUMENT_CASES.len(),
    );
}

/// The same Connect client inside headless Chromium: a page on
/// `http://127.0.0.1:<port>` (allowed) calls the API on another port, so the
/// browser sends a preflight and may hand its code only what CORS exposes.
/// The INVALID_ARGUMENT is a trailers-only answer: its code and message reach
/// the page only through the exposed `grpc-status` and `grpc-message`.
#[test]
fn connect_web_in_chromium_greets_and_gets_invalid_argument_across_origins() {
    let Some(browser) = Chromium::find("gen/browser/connect.js") else {
        return;
    };
    let requests = json!([{"name": "Alice", "lang": "es"}, {"name": "Alice", "lang": "foo"}]);
    let (gateway, results) = browser.run_once("connect-web", &requests);

    assert_eq!(results.len(), 2, "{results:?}");
    assert_greeting(&results[0], "Hola, Alice!");
    assert_eq!(
        results[1],
        json!({"error": {"code": "InvalidArgument",
                         "message": "Invalid or unsupported language selection: 'foo'"}})
    );

    // The server's side: one preflight (cached for the second call), then
    // both calls as gRPC-Web.
    let grpc_web = r#"protocol="grpc-web" method=POST"#;
    gateway.expect_log(&[PREFLIGHT, GREET_PATH, "status=204"], 1);
    gateway.expect_log(&[PREFLIGHT], 1);
    gateway.expect_log(&[grpc_web, GREET_PATH, r#"status=200 grpc_status="0""#], 1);
    gateway.expect_log(&[grpc_web, GREET_PATH, r#"status=200 grpc_status="3""#], 1);
}

/// Google's gRPC-Web runtime (npm `grpc-web`) in headless Chromium, across
/// origins as above, with a `MethodDescriptor` written by hand
/// (`grpc_web_browser_entry.mjs`), in both of its modes: `grpcwebtext`, its
/// default (base64 bodies, `application/grpc-web-text`), and `grpcweb`
/// (binary). It reads over XMLHttpRequest, so the trailers-only
/// INVALID_ARGUMENTs reach it only through the exposed headers.
#[test]
fn grpc_web_runtime_in_chromium_greets_and_gets_every_invalid_argument_in_both_modes() {
    let Some(browser) = Chromium::find("gen/browser/grpc-web.js") else {
        return;
    };
    let requests = greeting_then_invalid_cases(json!({"name": "Alice", "lang": "fr"}));
    let gateway = browser.gateway();

    for (mode, protocol) in [
        ("grpc-web-text", r#"protocol="grpc-web-text""#),
        ("grpc-web-binary", r#"protocol="grpc-web""#),
    ] {
        let results = browser.run(&gateway, mode, &Value::from(requests.clone()));

        assert_eq!(results.len(), requests.len(), "{mode}: {results:?}");
        assert_greeting(&results[0], "Bonjour, Alice!");
        for ((request, message), result) in INVALID_ARGUMENT_CASES.iter().zip(&results[1..]) {
            assert_eq!(
                result,
                &json!({"error": {"code": 3, "message": message}}),
                "{mode} {request}"
            );
        }
        gateway.expect_log(
            &[protocol, "method=POST", GREET_PATH, r#"grpc_status="0""#],
            1,
        );
        gateway.expect_log(
            &[protocol, "method=POST", GREET_PATH, r#"grpc_status="3""#],
            4,
        );
    }
    // One preflight per browser (each run starts afresh), none refused.
    gateway.expect_log(&[PREFLIGHT, GREET_PATH, "status=204"], 2);
    gateway.expect_log(&[PREFLIGHT], 2);
}

/// connect-web's `createConnectTransport`, JSON and binary, inside headless
/// Chromium on an allowed page origin: the greeting and every
/// INVALID_ARGUMENT, whose code and message the page reads from Connect's
/// JSON error body (readable because the answer carries the page's
/// `Access-Control-Allow-Origin`).
#[test]
fn connect_protocol_in_chromium_greets_and_gets_every_invalid_argument_across_origins() {
    let Some(browser) = Chromium::find("gen/browser/connect.js") else {
        return;
    };
    let requests = greeting_then_invalid_cases(json!({"name": "Alice", "lang": "es"}));
    let gateway = browser.gateway();
    let kinds = ["connect-json", "connect-binary"];
    for kind in kinds {
        let results = browser.run(&gateway, kind, &Value::from(requests.clone()));
        assert_eq!(results.len(), requests.len(), "{kind}: {results:?}");
        assert_greeting(&results[0], "Hola, Alice!");
        for ((request, message), result) in INVALID_ARGUMENT_CASES.iter().zip(&results[1..]) {
            assert_eq!(
                result,
                &json!({"error": {"code": "InvalidArgument", "message": message}}),
                "{kind} {request}"
            );
        }
    }
    let connect = r#"protocol="connect" method=POST"#;
    // One preflight per browser (each run starts afresh), none refused.
    gateway.expect_log(&[PREFLIGHT, GREET_PATH, "status=204"], kinds.len());
    gateway.expect_log(&[PREFLIGHT], kinds.len());
    gateway.expect_log(
        &[connect, GREET_PATH, r#"status=200 grpc_status="0""#],
        kinds.len(),
    );
    gateway.expect_log(
        &[connect, GREET_PATH, r#"status=400 grpc_status="3""#],
        kinds.len() * INVALID_ARGUMENT_CASES.len(),
    );
}

const PREFLIGHT: &str = r#"protocol="preflight" method=OPTIONS"#;
const GREET_PATH: &str = r#"path="/greet.v1.GreetService/Greet""#;

/// The right to run Chromium: one test at a time on a small machine.
static CHROMIUM_TURN: Mutex<()> = Mutex::new(());

/// Headless Chromium with playwright-core, driving `browser_client.mjs` from
/// a page origin picked here.
struct Chromium {
    chromium: PathBuf,
    /// `http://127.0.0.1:<port>`, free when picked: browser_client.mjs binds it.
    page_origin: String,
    _turn: MutexGuard<'static, ()>,
}

impl Chromium {
    /// Node, Chromium, playwright-core and the client's `bundle` (under
    /// tests/interop), or `None` after a SKIP (a failure under CI).
    fn find(bundle: &str) -> Option<Chromium> {
        let dir = interop_dir();
        let chromium = std::env::var_os("GREET_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        let ready = present("node (Node.js)", which("node").is_some())
            && present(
                &format!(
                    "Chromium ({}, from tests/browser/setup.sh)",
                    chromium.display()
                ),
                chromium.is_file(),
            )
            && present(
                "playwright-core (tests/interop/node_modules)",
                dir.join("node_modules/playwright-core/package.json")
                    .is_file(),
            )
            && present(
                &format!("the browser bundle (tests/interop/{bundle})"),
                dir.join(bundle).is_file(),
            );
        // The page's port is picked here: its origin goes on the allowlist first.
        ready.then(|| {
            let turn = CHROMIUM_TURN.lock().unwrap_or_else(|p| p.into_inner());
            Chromium {
                chromium,
                page_origin: format!("http://{}", free_loopback_address()),
                _turn: turn,
            }
        })
    }

    /// A gateway that allows the page's origin and lets browsers cache a
    /// preflight for the whole test.
    fn gateway(&self) -> Gateway {
        Gateway::start(&[
            "--web-listen",
            "off",
            "--allow-origin",
            &self.page_origin,
            "--cors-max-age",
            "600",
        ])
    }

    /// [`Chromium::run`] against a gateway of its own, returned for its log.
    fn run_once(&self, client: &str, requests: &Value) -> (Gateway, Vec<Value>) {
        let gateway = self.gateway();
        let results = self.run(&gateway, client, requests);
        (gateway, results)
    }

    /// `requests` (a JSON array of GreetRequests) made one by one by
    /// `client` in a fresh Chromium; one result per request, as
    /// browser_client.mjs prints them.
    fn run(&self, gateway: &Gateway, client: &str, requests: &Value) -> Vec<Value> {
        let output = run(
            Command::new("node")
                .current_dir(interop_dir())
                .arg("browser_client.mjs")
                .args([client, &self.page_origin, &gateway.api_url()])
                .arg(requests.to_string())
                .env("GREET_CHROMIUM", &self.chromium),
            b"",
        );
        assert_success(&output, &format!("browser_client.mjs {client}"));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("JSON line ({e}): {line:?}\n{}", describe_output(&output))
                })
            })
            .collect()
    }
}

/// `buf curl --protocol connect`, with the schema read from `proto/` (no
/// reflection), over HTTP/1.1 and h2c: it sends binary protobuf and prints
/// Connect's error JSON.
#[test]
fn buf_curl_greets_and_gets_every_invalid_argument_over_connect() {
    let buf = interop_dir().join("node_modules/.bin/buf");
    if !present("buf (tests/interop/node_modules/.bin/buf)", buf.is_file()) {
        return;
    }
    let gateway = Gateway::start(&["--web-listen", "off"]);
    let url = format!("{}/greet.v1.GreetService/Greet", gateway.api_url());
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    for transport in [&[][..], &["--http2-prior-knowledge"][..]] {
        let curl = |data: &str| {
            run(
                Command::new(&buf)
                    .env("BUF_CACHE_DIR", tools_dir().join("buf-cache"))
                    .args(["curl", "--protocol", "connect", "--schema"])
                    .arg(&proto)
                    .args(transport)
                    .args(["--data", data, &url]),
                b"",
            )
        };
        let greeted = curl(r#"{"name":"Alice","lang":"es"}"#);
        assert_success(&greeted, "buf curl Greet");
        assert_greeting(&stdout_json(&greeted), "Hola, Alice!");

        for (request, message) in INVALID_ARGUMENT_CASES {
            let refused = curl(request);
            // buf curl exits with the code shifted three bits left (3 << 3).
            assert_eq!(
                refused.status.code(),
                Some(24),
                "{}",
                describe_output(&refused)
            );
            assert_eq!(String::from_utf8_lossy(&refused.stdout), "");
            let error: Value = serde_json::from_slice(&refused.stderr)
                .unwrap_or_else(|e| panic!("JSON on stderr ({e}): {}", describe_output(&refused)));
            assert_eq!(
                error,
                json!({"code": "invalid_argument", "message": message}),
                "buf curl {transport:?} {request}"
            );
        }
    }
    let connect = r#"protocol="connect" method=POST"#;
    gateway.expect_log(&[connect, r#"status=200 grpc_status="0""#], 2);
    gateway.expect_log(&[connect, r#"status=400 grpc_status="3""#], 8);
}

/// The demo page's own client, `greetConnect` of web/client.js, in Node
/// (whose fetch is the browser's API): the greeting, and a `ConnectError`
/// with the code, the exact message and the HTTP status.
#[test]
fn the_web_clients_greet_connect_greets_and_rejects_with_a_connect_error() {
    if !present("node (Node.js)", which("node").is_some()) {
        return;
    }
    let gateway = Gateway::start(&["--web-listen", "off"]);
    let call = |request: &str| {
        let output = run(
            Command::new("node")
                .current_dir(interop_dir())
                .args(["web_client.mjs", gateway.api_url().as_str()]),
            request.as_bytes(),
        );
        assert_success(&output, &format!("greetConnect {request}"));
        stdout_json(&output)
    };
    assert_greeting(&call(r#"{"name":"Alice","lang":"fr"}"#), "Bonjour, Alice!");
    for (request, message) in INVALID_ARGUMENT_CASES {
        assert_eq!(
            call(request),
            json!({"error": {"name": "ConnectError", "code": "invalid_argument",
                             "message": message, "status": 400}}),
            "greetConnect {request}"
        );
    }
}

#[test]
fn grpcurl_lists_describes_calls_and_checks_health_over_reflection() {
    let binary = tools_dir().join("bin/grpcurl");
    if !present("grpcurl ($GREET_TOOLS/bin/grpcurl)", binary.is_file()) {
        return;
    }
    let gateway = Gateway::start(&["--web-listen", "off"]);
    let target = gateway.api.to_string();
    // `grpcurl [flags] address [list | describe symbol | method]`
    let grpcurl = |flags: &[&str], command: &[&str]| {
        run(
            Command::new(&binary)
                .args(["-plaintext", "-max-time", "10"])
                .args(flags)
                .arg(&target)
                .args(command),
            b"",
        )
    };

    let list = grpcurl(&[], &["list"]);
    assert_success(&list, "grpcurl list");
    let services: Vec<&str> = std::str::from_utf8(&list.stdout).unwrap().lines().collect();
    let (reflection, others): (Vec<&str>, Vec<&str>) = services
        .iter()
        .partition(|s| s.starts_with("grpc.reflection."));
    assert_eq!(others, ["greet.v1.GreetService", "grpc.health.v1.Health"]);
    // grpcurl 1.8.6 asks v1alpha; the gateway's v1alpha answer names only
    // itself, not v1 (the reflection crate registers one version per builder).
    assert!(
        reflection.iter().all(|s| s.ends_with(".ServerReflection")) && !reflection.is_empty(),
        "reflection in {services:?}"
    );

    let describe = grpcurl(&[], &["describe", "greet.v1.GreetService"]);
    assert_success(&describe, "grpcurl describe");
    assert_eq!(
        String::from_utf8_lossy(&describe.stdout),
        "greet.v1.GreetService is a service:\n\
         // Greets people in English, Spanish or French.\n\
         service GreetService {\n  \
           // A greeting for `name` in `lang`, stamped with the server's time.\n  \
           // Errors: a missing body, a missing or blank `name`, or an unsupported\n  \
           // `lang` are INVALID_ARGUMENT (HTTP 400) with the reason as the message.\n  \
           rpc Greet ( .greet.v1.GreetRequest ) returns ( .greet.v1.GreetResponse ) {\n    \
             option (.google.api.http) = { post:\"/greet\" body:\"*\"  };\n  \
           }\n\
         }\n"
    );

    let greet = grpcurl(
        &["-d", r#"{"name":"Alice","lang":"fr"}"#],
        &["greet.v1.GreetService/Greet"],
    );
    assert_success(&greet, "grpcurl Greet");
    assert_greeting(&stdout_json(&greet), "Bonjour, Alice!");

    let error = grpcurl(
        &["-d", r#"{"name":"Alice","lang":"foo"}"#],
        &["greet.v1.GreetService/Greet"],
    );
    // grpcurl exits with 64 + the status code (INVALID_ARGUMENT = 3).
    assert_eq!(error.status.code(), Some(67), "{}", describe_output(&error));
    assert_eq!(String::from_utf8_lossy(&error.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&error.stderr),
        "ERROR:\n  Code: InvalidArgument\n  \
         Message: Invalid or unsupported language selection: 'foo'\n"
    );

    for request in ["{}", r#"{"service":"greet.v1.GreetService"}"#] {
        let health = grpcurl(&["-d", request], &["grpc.health.v1.Health/Check"]);
        assert_success(&health, "grpcurl Health/Check");
        assert_eq!(
            stdout_json(&health),
            json!({"status": "SERVING"}),
            "{request}"
        );
    }
}

#[test]
fn httpie_runs_the_seeds_three_commands() {
    let http = tools_dir().join("venv/bin/http");
    if !present("httpie ($GREET_TOOLS/venv/bin/http)", http.is_file()) {
        return;
    }
    let gateway = Gateway::start(&["--web-listen", "off"]);
    // Its own config: no update check (a background fetch) and no user's.
    let config = tempdir("httpie-config");
    std::fs::write(
        config.join("config.json"),
        r#"{"disable_update_warnings": true}"#,
    )
    .unwrap();
    let url = format!("{}/greet", gateway.api_url());
    // The seed's `http --print=b POST :5000/greet ...`, with the headers too
    // for the status; --ignore-stdin as at a terminal, --check-status so
    // that 4xx sets the exit code (4).
    let http = |items: &[&str]| {
        let output = run(
            Command::new(&http)
                .env("HTTPIE_CONFIG_DIR", &config)
                .args(["--ignore-stdin", "--check-status", "--timeout", "10"])
                .args(["--print=hb", "POST", &url])
                .args(items),
            b"",
        );
        let text = String::from_utf8(output.stdout.clone()).unwrap();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .or_else(|| text.split_once("\n\n"))
            .unwrap_or_else(|| panic!("headers and body: {}", describe_output(&output)));
        let status = head.lines().next().unwrap_or_default().to_owned();
        let body: Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("JSON body ({e}): {}", describe_output(&output)));
        (output.status.code(), status, body)
    };

    // Spec, error row 1: no body is "Missing request body" (the seed's text
    // here predates its own parse_greeting_request).
    assert_eq!(
        http(&[]),
        (
            Some(4),
            "HTTP/1.1 400 Bad Request".to_owned(),
            json!({"error": "Missing request body"})
        )
    );
    assert_eq!(
        http(&["name=Alice", "lang=foo"]),
        (
            Some(4),
            "HTTP/1.1 400 Bad Request".to_owned(),
            json!({"error": "Invalid or unsupported language selection: 'foo'"})
        )
    );
    let (code, status, body) = http(&["name=Alice", "lang=es"]);
    assert_eq!((code, status.as_str()), (Some(0), "HTTP/1.1 200 OK"));
    assert_greeting(&body, "Hola, Alice!");
}

#[test]
fn grpcio_stubs_greet_and_get_every_error() {
    let python = tools_dir().join("venv/bin/python");
    let dir = interop_dir();
    let ready = present("the Python venv ($GREET_TOOLS/venv)", python.is_file())
        && present(
            "the grpcio stubs (tests/interop/gen/python)",
            dir.join("gen/python/greet/v1/greet_pb2_grpc.py").is_file(),
        );
    if !ready {
        return;
    }
    let gateway = Gateway::start(&["--web-listen", "off"]);
    let call = |request: &str| {
        let mut python = Command::new(&python);
        python
            .arg(dir.join("grpcio_client.py"))
            .arg(gateway.api.to_string());
        ask("grpcio", &mut python, request)
    };

    assert_greeting(&call(r#"{"name":"Alice","lang":"es"}"#), "Hola, Alice!");
    assert_greeting(&call(r#"{"name":"  Bob "}"#), "Hello, Bob!");
    assert_every_invalid_argument("grpcio", call);

    // Over the default 1 MiB body limit.
    let huge = json!({"name": "a".repeat(1024 * 1024 + 1)}).to_string();
    assert_eq!(
        call(&huge),
        json!({"error": {"code": "RESOURCE_EXHAUSTED", "details": "Payload too large"}})
    );
}

/// `@grpc/grpc-js` over h2c, the service loaded from `proto/` at run time
/// by `@grpc/proto-loader` (no generated code).
#[test]
fn grpc_js_with_proto_loader_greets_and_gets_every_invalid_argument() {
    let dir = interop_dir();
    if !node_packages_present(&["@grpc/grpc-js", "@grpc/proto-loader"]) {
        return;
    }
    let gateway = Gateway::start(&["--web-listen", "off"]);
    let call = |request: &str| {
        let mut node = Command::new("node");
        node.current_dir(&dir)
            .arg("grpc_js_client.mjs")
            .arg(gateway.api.to_string());
        ask("grpc-js", &mut node, request)
    };

    assert_greeting(&call(r#"{"name":"Alice","lang":"es"}"#), "Hola, Alice!");
    assert_every_invalid_argument("grpc-js", call);
    // Native gRPC, not gRPC-Web: HTTP/2 with trailers.
    gateway.expect_log(&[r#"protocol="grpc" method=POST"#, GREET_PATH], 5);
}

/// Each INVALID_ARGUMENT case through a native gRPC `client` whose `call`
/// answers as `grpcio_client.py` and `grpc_js_client.mjs` print:
/// `{"error": {"code", "details"}}`.
fn assert_every_invalid_argument(client: &str, call: impl Fn(&str) -> Value) {
    for (request, message) in INVALID_ARGUMENT_CASES {
        assert_eq!(
            call(request),
            json!({"error": {"code": "INVALID_ARGUMENT", "details": message}}),
            "{client} {request}"
        );
    }
}

/// One request (JSON on stdin) through a client that prints one JSON line
/// and exits 0.
fn ask(client: &str, command: &mut Command, request: &str) -> Value {
    let output = run(command, request.as_bytes());
    assert_success(&output, &format!("{client} {request:.80}"));
    stdout_json(&output)
}

/// A `GreetResponse` in proto3 JSON: exactly `greeting`, and a `timestamp`
/// in RFC 3339 UTC (`Z`).
fn assert_greeting(response: &Value, greeting: &str) {
    let timestamp = response["timestamp"].as_str().unwrap_or_default();
    assert!(is_rfc3339_utc(timestamp), "RFC 3339 UTC: {response}");
    assert_eq!(
        response,
        &json!({"greeting": greeting, "timestamp": timestamp}),
        "{response}"
    );
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, as the proto3 JSON mapping writes a
/// `Timestamp`.
fn is_rfc3339_utc(s: &str) -> bool {
    let Some(s) = s.strip_suffix('Z') else {
        return false;
    };
    let (seconds, fraction) = s.split_once('.').unwrap_or((s, "1"));
    let pattern = "dddd-dd-ddTdd:dd:dd";
    seconds.len() == pattern.len()
        && seconds.chars().zip(pattern.chars()).all(|(c, p)| match p {
            'd' => c.is_ascii_digit(),
            _ => c == p,
        })
        && !fraction.is_empty()
        && fraction.chars().all(|c| c.is_ascii_digit())
}

/// Runs a client with `stdin` piped in (requests can be larger than an
/// argument may be), without the proxy settings of the environment.
fn run(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = tools::without_proxies(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} starts: {e}"));
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&stdin));
    let output = child.wait_with_output().expect("the client runs");
    writer
        .join()
        .expect("the stdin writer does not panic")
        .expect("the client reads its request");
    output
}

/// A free loopback port, released for the page's server to bind: its origin
/// must be on the gateway's command line before the page exists.
fn free_loopback_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .to_string()
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}",
        describe_output(output)
    );
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", describe_output(output)))
}

/// Whether Node and each of `packages` (in tests/interop/node_modules) are
/// installed (see [`tools::present`]).
fn node_packages_present(packages: &[&str]) -> bool {
    let modules = interop_dir().join("node_modules");
    present("node (Node.js)", which("node").is_some())
        && packages.iter().all(|package| {
            present(
                &format!("{package} (tests/interop/node_modules)"),
                modules.join(package).join("package.json").is_file(),
            )
        })
}

/// Whether a client is installed (see [`tools::present`]).
fn present(what: &str, installed: bool) -> bool {
    tools::present(what, installed, "tests/interop/setup.sh")
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}
