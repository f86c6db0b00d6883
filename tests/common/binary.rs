//! The built `greet-gateway` binary as a user runs it: a child process on
//! free loopback ports, its log lines readable by the test.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

/// A running gateway process; killed when dropped.
pub struct Gateway {
    pub child: Child,
    /// The API port.
    pub api: SocketAddr,
    /// The demo page's port, unless started with `--web-listen off`.
    pub web: Option<SocketAddr>,
    /// Every line it has logged so far (ANSI-free: stdout is not a terminal).
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// Starts the binary with `flags` (the API and demo page on port 0 unless
    /// the flags say otherwise) and waits until both listeners are up.
    pub fn start(flags: &[&str]) -> Gateway {
        Gateway::start_with_env(flags, &[])
    }

    /// [`Gateway::start`] with environment variables set for the process.
    pub fn start_with_env(flags: &[&str], env: &[(&str, &str)]) -> Gateway {
        let mut args: Vec<&str> = Vec::new();
        if !flags.contains(&"--listen") {
            args.extend(["--listen", "127.0.0.1:0"]);
        }
        if !flags.contains(&"--web-listen") {
            args.extend(["--web-listen", "127.0.0.1:0"]);
        }
        args.extend(flags);
        let web_off = args
            .windows(2)
            .any(|w| w[0] == "--web-listen" && w[1] == "off");
        let mut child = Command::new(env!("CARGO_BIN_EXE_greet-gateway"))
            .args(&args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the gateway binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let (mut api, mut web) = (None, None);
        let deadline = Instant::now() + Duration::from_secs(30);
        while api.is_none() || (web.is_none() && !web_off) {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the gateway logs its addresses within 30 s");
            if let Some(addr) = address_after(&line, "://") {
                if line.contains("API") {
                    api = Some(addr);
                } else if line.contains("demo page") {
                    web = Some(addr);
                }
            }
        }
        Gateway {
            child,
            api: api.unwrap(),
            web,
            log,
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api)
    }

    pub fn web_url(&self) -> String {
        format!("http://{}", self.web.expect("the demo page is on"))
    }

    /// Access-log lines that contain every one of `needles`.
    pub fn log_lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .cloned()
            .collect()
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

fn address_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let start = line.find(marker)? + marker.len();
    line[start..]
        .split(|c: char| c.is_whitespace())
        .next()?
        .parse()
        .ok()
}
