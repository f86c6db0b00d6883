//! The TypeScript types of the browser client, `web/client.d.ts`, checked by
//! a pinned TypeScript (`tests/types/package-lock.json`, installed by
//! `tests/types/setup.sh`, which `scripts/test` runs): a strict consumer and
//! the demo page's `app.js` (as checked JavaScript) compile against them, and
//! they declare exactly the values `web/client.js` exports.
//!
//! Without Node or TypeScript a test fails when `CI` is set, and otherwise
//! says SKIP loudly and returns.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use common::tools::{self, describe_output, run_within};
use serde_json::Value;

#[test]
fn client_types_compile_for_a_strict_consumer_and_the_demo_page() {
    let Some(tsc) = tsc() else { return };
    let output = run_within(
        Command::new("node")
            .arg(&tsc)
            .args(["--project", "tsconfig.json", "--pretty", "false"])
            .current_dir(types_dir()),
        Duration::from_secs(120),
    );
    assert!(
        output.status.success(),
        "tsc found errors in web/client.d.ts, tests/types/consumer.ts or web/app.js: {}",
        describe_output(&output)
    );
}

#[test]
fn client_types_declare_exactly_the_modules_exports() {
    if tsc().is_none() {
        return;
    }
    let output = run_within(
        Command::new("node")
            .arg("exports.mjs")
            .current_dir(types_dir()),
        Duration::from_secs(60),
    );
    assert!(output.status.success(), "{}", describe_output(&output));
    let exports: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("JSON ({e}): {}", describe_output(&output)));
    let names = |key: &str| -> Vec<String> {
        exports[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {exports}"))
            .iter()
            .map(|name| name.as_str().expect("a name").to_owned())
            .collect()
    };
    let (declared, implemented) = (names("declared"), names("implemented"));
    // The names of `these` that `those` lacks.
    let lacking = |these: &[String], those: &[String]| -> Vec<String> {
        these
            .iter()
            .filter(|name| !those.contains(name))
            .cloned()
            .collect()
    };

    let undeclared = lacking(&implemented, &declared);
    assert!(
        undeclared.is_empty(),
        "web/client.js exports {undeclared:?}, which web/client.d.ts does not declare"
    );
    let missing = lacking(&declared, &implemented);
    assert!(
        missing.is_empty(),
        "web/client.d.ts declares {missing:?}, which web/client.js does not export"
    );
}

/// TypeScript's `tsc` script, once Node and `tests/types/node_modules` are
/// there (see [`tools::present`]).
fn tsc() -> Option<PathBuf> {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let tsc = types_dir().join("node_modules/typescript/bin/tsc");
    let ready = tools::present("node (Node.js)", node, "tests/browser/setup.sh")
        && tools::present(
            "TypeScript (tests/types/node_modules)",
            tsc.is_file(),
            "tests/types/setup.sh",
        );
    ready.then_some(tsc)
}

fn types_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/types")
}
