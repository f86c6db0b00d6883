//! Third-party tools the tests drive (installed, pinned, by the
//! `tests/*/setup.sh` scripts that `scripts/test` runs), and how to run them.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::mpsc,
    time::Duration,
};

/// Whether a tool is installed: when it is not, a failure under CI and a
/// loud SKIP elsewhere. `setup` is the script that installs it.
pub fn present(what: &str, installed: bool, setup: &str) -> bool {
    if installed {
        return true;
    }
    let hint = format!("run scripts/test (or bash {setup}) to install it");
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{what} is missing and CI is set: {hint}");
    }
    // Straight to the stream: libtest captures eprintln! of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIP: {what} is missing; {hint} ***\n"
    );
    false
}

/// `$GREET_TOOLS`, as `scripts/test` sets it, else the repository's `.tools`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("GREET_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools"))
}

/// A fresh directory under the target dir, removed first if a previous run
/// left it.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `command` to the end, its output captured, killing it after
/// `limit` (then the test fails and says so), without proxies.
pub fn run_within(command: &mut Command, limit: Duration) -> Output {
    without_proxies(command);
    let child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} starts: {e}"));
    let pid = child.id().to_string();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let expired = finished.recv_timeout(limit).is_err();
        if expired {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        expired
    });
    let output = child.wait_with_output().expect("the tool runs");
    let _ = done.send(());
    let expired = watchdog.join().expect("the watchdog does not panic");
    assert!(
        !expired,
        "{command:?} was killed after {limit:?}: {}",
        describe_output(&output)
    );
    output
}

/// Removes the proxy variables: every request a test makes goes to loopback.
pub fn without_proxies(command: &mut Command) -> &mut Command {
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        command.env_remove(var);
    }
    command
}

/// Exit status, stdout and stderr, for a failure message.
pub fn describe_output(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
