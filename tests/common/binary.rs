//! The built `greet-gateway` binary as a user runs it: a child process on
//! free loopback ports, its log lines readable by the test.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex, mpsc},
    time::{Duration, Instant},
};

/// How long a log line may take to appear: it is written by the gateway's
/// background writer after its response ends, then read by another thread.
const LOG_DEADLINE: Duration = Duration::from_secs(5);

/// The lines a gateway has logged, and a signal each time one arrives.
#[derive(Default)]
pub struct Log {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

/// A running gateway process; killed when dropped.
pub struct Gateway {
    pub child: Child,
    /// The API port.
    pub api: SocketAddr,
    /// The demo page's port, unless started with `--web-listen off`.
    pub web: Option<SocketAddr>,
    /// The admin port (metrics, health), unless started with
    /// `--admin-listen off`.
    pub admin: Option<SocketAddr>,
    /// Every line it has logged so far (ANSI-free: stdout is not a terminal).
    pub log: Arc<Log>,
}

impl Gateway {
    /// Starts the binary with `flags` (the API, demo page and admin port on
    /// port 0 unless the flags say otherwise, so that many gateways never
    /// collide on a default port) and waits until every listener is up.
    pub fn start(flags: &[&str]) -> Gateway {
        Gateway::start_with_env(flags, &[])
    }

    /// [`Gateway::start`] with environment variables set for the process.
    pub fn start_with_env(flags: &[&str], env: &[(&str, &str)]) -> Gateway {
        let args = with_listeners(flags, "127.0.0.1:0");
        let off = |flag: &str| args.windows(2).any(|w| w[0] == flag && w[1] == "off");
        let (web_off, admin_off) = (off("--web-listen"), off("--admin-listen"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_greet-gateway"))
            .args(&args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the gateway binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let log = Arc::new(Log::default());
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lines.lock().unwrap().push(line.clone());
                sink.grew.notify_all();
                let _ = tx.send(line);
            }
        });
        let (mut api, mut web, mut admin) = (None, None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while api.is_none() || (web.is_none() && !web_off) || (admin.is_none() && !admin_off) {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the gateway logs its addresses within 30 s");
            if let Some(addr) = address_after(&line, "://") {
                if line.contains("API") {
                    api = Some(addr);
                } else if line.contains("demo page") {
                    web = Some(addr);
                } else if line.contains("admin (metrics, health)") {
                    admin = Some(addr);
                }
            }
        }
        Gateway {
            child,
            api: api.unwrap(),
            web,
            admin,
            log,
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }

    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin.expect("the admin port is on"))
    }

    pub fn web_url(&self) -> String {
        format!("http://{}", self.web.expect("the demo page is on"))
    }

    /// Log lines so far that contain every one of `needles`.
    pub fn log_lines_with(&self, needles: &[&str]) -> Vec<String> {
        matching(&self.log.lines.lock().unwrap(), needles)
    }

    /// Waits until at least `count` log lines contain every one of
    /// `needles` (woken by each new line, for at most [`LOG_DEADLINE`]),
    /// then returns all such lines: more than `count` if more came.
    pub fn wait_for_log_lines(&self, needles: &[&str], count: usize) -> Vec<String> {
        let deadline = Instant::now() + LOG_DEADLINE;
        let mut lines = self.log.lines.lock().unwrap();
        loop {
            let found = matching(&lines, needles);
            let left = deadline.saturating_duration_since(Instant::now());
            if found.len() >= count || left.is_zero() {
                return found;
            }
            lines = self.log.grew.wait_timeout(lines, left).unwrap().0;
        }
    }

    /// Asserts that exactly `count` log lines contain every one of
    /// `needles`, once that many have had time to arrive.
    pub fn expect_log(&self, needles: &[&str], count: usize) {
        let lines = self.wait_for_log_lines(needles, count);
        assert_eq!(
            lines.len(),
            count,
            "log lines with {needles:?}:\n{}\nwhole log:\n{}",
            lines.join("\n"),
            self.log_lines_with(&[]).join("\n")
        );
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `flags`, preceded by `--listen 127.0.0.1:0`, `--web-listen <web>` and
/// `--admin-listen 127.0.0.1:0` unless they set those themselves.
fn with_listeners<'a>(flags: &[&'a str], web: &'a str) -> Vec<&'a str> {
    let mut args = Vec::new();
    if !flags.contains(&"--listen") {
        args.extend(["--listen", "127.0.0.1:0"]);
    }
    if !flags.contains(&"--web-listen") {
        args.extend(["--web-listen", web]);
    }
    if !flags.contains(&"--admin-listen") {
        args.extend(["--admin-listen", "127.0.0.1:0"]);
    }
    args.extend(flags);
    args
}

fn matching(lines: &[String], needles: &[&str]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .cloned()
        .collect()
}

/// Runs the binary with `flags` and `env` (on port 0, demo page off, unless
/// the flags say otherwise) and expects it to refuse to start: asserts a
/// non-zero exit within 30 s and returns what it wrote to stderr. A gateway
/// that starts after all is killed, failing the test instead of hanging it.
pub fn refused_start(flags: &[&str], env: &[(&str, &str)]) -> String {
    let args = with_listeners(flags, "off");
    let child = Command::new(env!("CARGO_BIN_EXE_greet-gateway"))
        .args(&args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gateway binary starts");
    let pid = child.id().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        panic!("started with {flags:?} {env:?}: still running after 30 s");
    };
    let output = output.expect("the gateway's exit is read");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "{flags:?} {env:?} exited with success; stderr: {stderr}"
    );
    stderr
}

fn address_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let start = line.find(marker)? + marker.len();
    line[start..]
        // A plain line ends the address with a space or the line; a JSON
        // one with the closing quote.
        .split(|c: char| c.is_whitespace() || c == '"')
        .next()?
        .parse()
        .ok()
}
