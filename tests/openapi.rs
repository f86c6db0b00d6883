//! The OpenAPI document at `GET /openapi.json`, checked against the gateway
//! that serves it, for the Greet API alone, with the test-only Library
//! service (tests/proto/library/v1/library.proto, every `HttpRule` form)
//! added, and with the test-only Kinds service (tests/proto/kinds/v1/
//! kinds.proto, a field of every kind, echoed) added:
//! - it is served as JSON, behind the same CORS policy as every route;
//! - it is valid OpenAPI 3.1 (openapi-spec-validator);
//! - it lists exactly the routes the transcoder serves;
//! - it is true of the live server: Schemathesis' standard checks find
//!   nothing (no 5xx, only documented statuses, content types, headers and
//!   bodies).
//!
//! The Python tools come from `tests/openapi/setup.sh` (run by
//! `scripts/test`), pinned in `tests/openapi/requirements.txt`. A missing
//! tool fails the test when `CI` is set and skips it loudly elsewhere.

mod common;
#[path = "common/kinds.rs"]
mod kinds;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use common::{
    ALLOWED_ORIGIN, TestApp, header, json,
    library::{LIBRARY_DESCRIPTOR_SET, spawn_library},
    spawn_app,
    tools::{describe_output, present, run_within, tempdir, tools_dir},
};
use greet_gateway::{pb, transcode::rules};
use kinds::{KINDS_DESCRIPTOR_SET, spawn_kinds};
use prost_reflect::DescriptorPool;
use serde_json::{Value, json};

const SETUP: &str = "tests/openapi/setup.sh";

/// The gateways under test: a name, the app, and the descriptor sets its
/// REST routes come from.
async fn gateways() -> Vec<(&'static str, TestApp, Vec<&'static [u8]>)> {
    vec![
        ("greet", spawn_app().await, vec![pb::FILE_DESCRIPTOR_SET]),
        (
            "library",
            spawn_library().await,
            vec![pb::FILE_DESCRIPTOR_SET, LIBRARY_DESCRIPTOR_SET],
        ),
        (
            "kinds",
            spawn_kinds(true).await,
            vec![pb::FILE_DESCRIPTOR_SET, KINDS_DESCRIPTOR_SET],
        ),
    ]
}

async fn document(app: &TestApp) -> Value {
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    json(response).await
}

#[tokio::test]
async fn the_document_is_served_as_json_behind_the_cors_policy() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/openapi.json"))
        .header("origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(header(headers, "content-type"), "application/json");
    assert_eq!(header(headers, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        ALLOWED_ORIGIN
    );
    assert_eq!(header(headers, "vary"), "Origin");
    let document = json(response).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document["info"]["title"], "greet.v1.GreetService",
        "{document:#}"
    );
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/greet"]);

    // A page on an allowed origin may fetch it: GET is granted.
    let response = app
        .preflight("/openapi.json", Some(ALLOWED_ORIGIN), "GET", None)
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(response.headers(), "access-control-allow-methods"),
        "GET, POST"
    );

    let response = app
        .http
        .post(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(header(response.headers(), "allow"), "GET");
    assert_eq!(
        json(response).await,
        json!({"error": "Method POST is not allowed on /openapi.json; use GET"})
    );
}

/// Every operation in the document reaches the route it documents on the
/// live server, and every route the transcoder serves is reached by
/// exactly one operation: a route listed but not served, or served but
/// not listed, fails.
#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_gateway_serves() {
    for (name, app, sets) in gateways().await {
        let document = document(&app).await;
        let mut pool = DescriptorPool::new();
        for set in sets {
            pool.decode_file_descriptor_set(set).unwrap();
        }
        // What the transcoder serves, in the order it tries them.
        let routes = rules::bindings(&pool).unwrap();
        let mut reached = BTreeSet::new();
        for operation in operations(&document) {
            let what = format!("{name}: {} {}", operation.method, operation.path);
            let url = instantiate(&operation.path, &operation.parameters);
            let route = routes
                .iter()
                .position(|b| {
                    b.method.as_str() == operation.method && b.template.matches(&url).is_some()
                })
                .unwrap_or_else(|| panic!("{what} is documented, but no route serves {url}"));
            assert!(
                reached.insert(route),
                "{what} documents a route another operation documents too"
            );

            // And the live gateway agrees: the RPC of the operation answers.
            let response = app
                .http
                .request(operation.method.parse().unwrap(), app.url(&url))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = json(response).await;
            match status {
                // An echo of the Library service: the RPC the operation names.
                200 if body.get("method").is_some() => {
                    let rpc = operation.id.split('_').nth(1).unwrap();
                    assert_eq!(body["method"], rpc, "{what}");
                }
                200 => {}
                // Greet without a body: the RPC itself refused it.
                400 => assert_eq!(body, json!({"error": "Missing request body"}), "{what}"),
                _ => panic!("{what} -> {url}: {status} {body}"),
            }
        }
        let missing: Vec<String> = routes
            .iter()
            .enumerate()
            .filter(|(i, _)| !reached.contains(i))
            .map(|(_, b)| format!("{} {}", b.method, b.template))
            .collect();
        assert!(
            missing.is_empty(),
            "{name}: served but not documented: {missing:?}"
        );
    }
}

#[tokio::test]
async fn the_documents_are_valid_openapi_3_1() {
    let Some(tools) = OpenApiTools::installed() else {
        return;
    };
    for (name, app, _) in gateways().await {
        let dir = tempdir(&format!("openapi-validate-{name}"));
        let file = dir.join("openapi.json");
        let body = app
            .http
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(&file, &body).unwrap();
        let validator = tools.bin("openapi-spec-validator");
        let output = tokio::task::spawn_blocking(move || {
            run_within(Command::new(validator).arg(&file), Duration::from_secs(120))
        })
        .await
        .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            describe_output(&output)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("{}: OK\n", dir.join("openapi.json").display()),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_the_greet_api() {
    if let Some(tools) = OpenApiTools::installed() {
        tools.schemathesis("greet", &spawn_app().await).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_the_library_api() {
    if let Some(tools) = OpenApiTools::installed() {
        tools.schemathesis("library", &spawn_library().await).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_wrong_with_the_schema_of_each_kind() {
    if let Some(tools) = OpenApiTools::installed() {
        tools.schemathesis("kinds", &spawn_kinds(true).await).await;
    }
}

/// The venv `tests/openapi/setup.sh` fills.
struct OpenApiTools {
    venv: PathBuf,
}

impl OpenApiTools {
    fn installed() -> Option<Self> {
        let venv = tools_dir().join("openapi-venv");
        let ready = present(
            "schemathesis ($GREET_TOOLS/openapi-venv)",
            venv.join("bin/schemathesis").is_file(),
            SETUP,
        ) && present(
            "openapi-spec-validator ($GREET_TOOLS/openapi-venv)",
            venv.join("bin/openapi-spec-validator").is_file(),
            SETUP,
        );
        ready.then_some(OpenApiTools { venv })
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.venv.join("bin").join(name)
    }

    /// Runs Schemathesis against the live `app`, from its own document,
    /// with its standard checks; any finding fails the test with its report.
    async fn schemathesis(&self, name: &str, app: &TestApp) {
        let dir = tempdir(&format!("schemathesis-{name}"));
        let mut command = Command::new(self.bin("schemathesis"));
        command
            // Its scratch files (.hypothesis/) land in the temp dir.
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env("PYTHONPATH", hooks_dir())
            .env("SCHEMATHESIS_HOOKS", "hooks")
            .args(["run", &app.url("/openapi.json")])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_schema_conformance,response_headers_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "40",
                "--seed",
                "20261130",
                // The same cases on every run: under a loaded CI machine
                // Hypothesis otherwise reported its own generation as flaky
                // ("Inconsistent results … while generating") in the
                // coverage phase, a finding about the fuzzer, not the API.
                "--generation-deterministic",
                "--workers",
                "1",
                // Reproducers with the real values.
                "--output-sanitize",
                "false",
                "--request-timeout",
                "10",
            ]);
        let output =
            tokio::task::spawn_blocking(move || run_within(&mut command, Duration::from_secs(600)))
                .await
                .unwrap();
        let report = describe_output(&output);
        eprintln!("{report}");
        assert!(
            output.status.success(),
            "{name}: Schemathesis found something: {report}"
        );
        // It tested every operation it can: all but custom methods, which
        // OpenAPI 3.1 cannot describe to it.
        let testable = operations(&document(app).await)
            .iter()
            .filter(|op| !op.custom)
            .count();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!("Tested: {testable}\n")),
            "{name}: not all {testable} operations were tested: {report}"
        );
    }
}

fn hooks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi")
}

/// One operation of the document.
struct Operation {
    method: String,
    /// A custom method (under `x-additionalOperations`).
    custom: bool,
    path: String,
    id: String,
    parameters: Vec<Value>,
}

/// Every operation: the standard methods' and the custom ones' (under
/// `x-additionalOperations`, OpenAPI 3.1 having no field for them).
fn operations(document: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let standard = item
            .as_object()
            .unwrap()
            .iter()
            .filter(|(key, _)| !key.starts_with("x-"))
            .map(|(method, op)| (method.to_ascii_uppercase(), false, op));
        let custom = item
            .get("x-additionalOperations")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(method, op)| (method.clone(), true, op));
        for (method, custom, op) in standard.chain(custom) {
            out.push(Operation {
                method,
                custom,
                path: path.clone(),
                id: op["operationId"].as_str().unwrap().to_owned(),
                parameters: op["parameters"].as_array().cloned().unwrap_or_default(),
            });
        }
    }
    out
}

/// A request path for an OpenAPI path: each `{name}` gets a value its
/// parameter's schema allows (slashes of a reserved expansion as they are).
fn instantiate(path: &str, parameters: &[Value]) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let parameter = parameters
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name)
            .unwrap_or_else(|| panic!("{path}: no path parameter '{name}'"));
        out.push_str(&sample(&parameter["schema"]));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// A value a path parameter's schema allows.
fn sample(schema: &Value) -> String {
    if let Some(pattern) = schema["pattern"].as_str() {
        return sample_pattern(pattern);
    }
    if let Some(first) = schema["enum"].get(0) {
        return first.as_str().unwrap().to_owned();
    }
    match schema["type"].as_str() {
        Some("string") => "x".to_owned(),
        Some("integer") => "1".to_owned(),
        Some("boolean") => "true".to_owned(),
        other => panic!("no sample for a path parameter of type {other:?}: {schema}"),
    }
}

/// A string matching one of the document's path patterns: anchored,
/// literal text with `\` escapes, `[^/]+`, `.*` and `(/.*)?`. Anything else
/// is a form this test does not know, and fails it.
fn sample_pattern(pattern: &str) -> String {
    let mut rest = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .unwrap_or_else(|| panic!("unanchored pattern {pattern}"));
    let mut out = String::new();
    'tokens: while !rest.is_empty() {
        for (token, value) in [("[^/]+", "x"), ("(/.*)?", "/y"), (".*", "y")] {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(value);
                rest = after;
                continue 'tokens;
            }
        }
        let mut chars = rest.chars();
        match chars.next() {
            Some('\\') => out.push(chars.next().unwrap()),
            Some(c) if c.is_alphanumeric() || "/-_~:".contains(c) => out.push(c),
            other => panic!("pattern {pattern}: {other:?} is a form this test does not know"),
        }
        rest = chars.as_str();
    }
    out
}
