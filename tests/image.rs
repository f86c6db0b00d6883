//! The container image as an operator runs it: `scripts/image` builds it (a
//! static release binary, then `Containerfile` with buildah: no daemon, no
//! registry), and each test runs it in a working container made by `buildah
//! from`, with `buildah run --isolation chroot --network host`.
//!
//! The container shares the host's network, so every test moves the API (and
//! the admin listener) to a free port on 127.0.0.1: nothing listens beyond
//! loopback. With chroot isolation there is no PID namespace either: the
//! gateway's own process is visible in `/proc`, which lets a test read its
//! user id and send it SIGTERM as a kubelet would.
//!
//! The image is built once per run of this file; cargo reuses the static
//! build (its own target directory, `target/static`), so only the first run
//! on a machine pays the minutes of a release build. buildah comes from
//! `tests/image/setup.sh` (run by `scripts/test`); without it a test fails
//! when `CI` is set, and otherwise says SKIP loudly and returns.

use std::{
    fs::File,
    io::{BufRead, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use greet_gateway::pb::greet::v1::{GreetRequest, greet_service_client::GreetServiceClient};
use serde_json::{Value, json};

/// The tag `scripts/image` gives.
const TAG: &str = concat!("greet-gateway:", env!("CARGO_PKG_VERSION"));
/// The non-root user the image runs as.
const USER: u32 = 65532;
/// A cold static release build on two busy cores takes minutes; this bounds it.
const BUILD_DEADLINE: Duration = Duration::from_secs(45 * 60);
/// From `buildah run` to the API answering.
const START_DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn image_holds_only_the_binary_and_runs_it_as_a_non_root_user() {
    let Some(image) = Image::built("image_holds_only_the_binary_and_runs_it_as_a_non_root_user")
    else {
        return;
    };
    let container = Container::from(image);
    let config = container.inspect();

    assert_eq!(config["User"], format!("{USER}:{USER}"));
    assert_eq!(config["Entrypoint"], json!(["/greet-gateway"]));
    let env: Vec<&str> = config["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for setting in [
        "GREET_LISTEN=0.0.0.0:5000",
        "GREET_ADMIN_LISTEN=0.0.0.0:9464",
        "GREET_WEB_LISTEN=off",
    ] {
        assert!(env.contains(&setting), "{setting} in {env:?}");
    }
    assert_eq!(
        config["ExposedPorts"],
        json!({"5000/tcp": {}, "9464/tcp": {}})
    );
    let labels = &config["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "greet-gateway");
    assert_eq!(
        labels["org.opencontainers.image.description"],
        env!("CARGO_PKG_DESCRIPTION")
    );
    assert_eq!(
        labels["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        labels["org.opencontainers.image.licenses"],
        env!("CARGO_PKG_LICENSE")
    );
    assert!(
        labels["org.opencontainers.image.source"].is_string(),
        "{labels}"
    );

    // FROM scratch plus one file: no shell, no libc, nothing to patch.
    assert_eq!(container.root_files(), ["greet-gateway"]);
}

#[test]
fn container_greets_over_rest_and_grpc_on_a_loopback_port() {
    let Some(image) = Image::built("container_greets_over_rest_and_grpc_on_a_loopback_port") else {
        return;
    };
    let mut container = Container::from(image);
    let admin = free_port();
    let running = container.start(Some(admin));

    // Static and alone in an empty root, it still runs, and not as root.
    assert_eq!(running.uid(), USER, "the gateway's real user id");

    let (status, content_type, body) = block_on(async {
        let response = reqwest::Client::new()
            .post(format!("http://{}/greet", running.api))
            .header("content-type", "application/json")
            .body(r#"{"name":"Alice","lang":"es"}"#)
            .send()
            .await
            .expect("REST answers");
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].clone();
        (status, content_type, response.text().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "application/json");
    let body: Value = serde_json::from_str(&body).unwrap();
    let timestamp = body["timestamp"].as_str().expect("a timestamp");
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    assert_eq!(
        body,
        json!({"greeting": "Hola, Alice!", "timestamp": timestamp})
    );

    let greeting = block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.api))
            .unwrap()
            .connect()
            .await
            .expect("h2c connects");
        let mut client = GreetServiceClient::new(channel);
        client
            .greet(GreetRequest {
                name: Some("Alice".into()),
                lang: Some("fr".into()),
            })
            .await
            .expect("gRPC answers")
            .into_inner()
            .greeting
    });
    assert_eq!(greeting, "Bonjour, Alice!");

    // The admin port: liveness, readiness, and the Prometheus text.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (status, body) = http_get(admin, path);
        assert_eq!(status, 200, "{path}: {body}");
        if path == "/metrics" {
            for metric in [
                "greet_gateway_requests_total counter",
                "greet_gateway_request_duration_seconds histogram",
                "process_resident_memory_bytes gauge",
            ] {
                assert!(
                    body.contains(&format!("# TYPE {metric}")),
                    "{metric}: {body}"
                );
            }
        }
    }
}

#[test]
fn container_exits_zero_when_its_process_gets_sigterm() {
    let Some(image) = Image::built("container_exits_zero_when_its_process_gets_sigterm") else {
        return;
    };
    let mut container = Container::from(image);
    let mut running = container.start(None);
    // What the kubelet does: SIGTERM to the container's process, not to
    // buildah (which would SIGKILL it).
    signal("TERM", running.pid);
    let status = running
        .wait(Duration::from_secs(40))
        .unwrap_or_else(|| panic!("still running 40 s after SIGTERM:\n{}", running.output()));
    assert!(status.success(), "{status}:\n{}", running.output());
}

/// The image, built by `scripts/image` once per run of this file.
struct Image;

impl Image {
    /// The built image's tag, or `None` after a loud SKIP when buildah is
    /// missing; with `CI` set, a panic instead.
    fn built(test: &str) -> Option<&'static str> {
        static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
        let missing: Vec<&str> = ["buildah", "readelf"]
            .into_iter()
            .filter(|tool| !on_path(tool))
            .collect();
        if !missing.is_empty() {
            let why = format!("{} not on PATH", missing.join(", "));
            let hint = "run scripts/test (or bash tests/image/setup.sh) to install it";
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                panic!("{test}: {why} and CI is set: {hint}");
            }
            // Straight to the stream: libtest captures eprintln! of passing tests.
            let _ = writeln!(std::io::stderr(), "\n*** SKIP {test}: {why}; {hint} ***\n");
            return None;
        }
        match BUILT.get_or_init(build) {
            Ok(()) => Some(TAG),
            Err(why) => panic!("{why}"),
        }
    }
}

/// Variables cargo sets for a running test, besides `CARGO_PKG_*` and
/// `CARGO_BIN_EXE_*`.
const CARGO_TEST_ENV: &[&str] = &[
    "CARGO",
    "CARGO_CRATE_NAME",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
];

/// Runs `scripts/image`, its output to a file shown only on failure.
fn build() -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let log_path = std::env::temp_dir().join(format!("greet-image-{}.log", std::process::id()));
    let log = File::create(&log_path).map_err(|e| e.to_string())?;
    let mut command = Command::new(root.join("scripts/image"));
    // What cargo sets for this test would reach the static build and make it
    // differ from one run from a shell (ring's build script reruns when
    // CARGO_MANIFEST_DIR changes): minutes of rebuild each time. Drop it.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if CARGO_TEST_ENV.contains(&name.as_ref())
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            command.env_remove(name.as_ref());
        }
    }
    let mut child = command
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("scripts/image: {e}"))?;
    let status = wait_until(&mut child, Instant::now() + BUILD_DEADLINE);
    let mut output = String::new();
    File::open(&log_path)
        .and_then(|mut f| f.read_to_string(&mut output))
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&log_path);
    match status {
        Some(s) if s.success() => {
            // The last line: the tag and the sizes.
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                output.trim_end().lines().last().unwrap_or("")
            );
            Ok(())
        }
        Some(s) => Err(format!("scripts/image failed ({s}):\n{output}")),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "scripts/image still running after {BUILD_DEADLINE:?}:\n{output}"
            ))
        }
    }
}

/// A working container made by `buildah from`; removed when dropped, also
/// when its test fails.
struct Container {
    name: String,
}

impl Container {
    fn from(image: &str) -> Container {
        let output = buildah(&[
            "from",
            "--pull=never",
            "--quiet",
            &format!("localhost/{image}"),
        ]);
        Container {
            name: String::from_utf8(output.stdout).unwrap().trim().to_owned(),
        }
    }

    /// The OCI image configuration the container was made from.
    fn inspect(&self) -> Value {
        let output = buildah(&["inspect", "--type", "container", &self.name]);
        let inspected: Value = serde_json::from_slice(&output.stdout).unwrap();
        inspected["OCIv1"]["config"].clone()
    }

    /// The names in the container's root directory, sorted.
    fn root_files(&self) -> Vec<String> {
        let output = buildah(&["mount", &self.name]);
        let root = String::from_utf8(output.stdout).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(root.trim())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        buildah(&["umount", &self.name]);
        names.sort();
        names
    }

    fn entrypoint(&self) -> Vec<String> {
        serde_json::from_value(self.inspect()["Entrypoint"].clone()).expect("an entrypoint")
    }

    /// Runs the image's entrypoint with the API on a free loopback port (and
    /// the admin listener on `admin`, else off), and
    /// waits until the API port answers.
    fn start(&mut self, admin: Option<SocketAddr>) -> Running {
        let api = free_port();
        let mut command = Command::new("buildah");
        command.args(["--storage-driver", "vfs", "run", "--isolation", "chroot"]);
        command.args(["--network", "host"]);
        command.args(["--env", &format!("GREET_LISTEN={api}")]);
        match admin {
            Some(admin) => command.args(["--env", &format!("GREET_ADMIN_LISTEN={admin}")]),
            // Off the host's 0.0.0.0:9464, which another run may hold.
            None => command.args(["--env", "GREET_ADMIN_LISTEN=off"]),
        };
        command.arg(&self.name).arg("--").args(self.entrypoint());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("buildah run starts");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sink = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut sink = sink.lock().unwrap();
                    sink.push_str(&line);
                    sink.push('\n');
                }
            });
        }
        let mut running = Running {
            child,
            pid: 0,
            api,
            output,
        };
        let deadline = Instant::now() + START_DEADLINE;
        while TcpStream::connect_timeout(&api, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!("the container exited ({status}):\n{}", running.output());
            }
            assert!(
                Instant::now() < deadline,
                "{api} not answering {START_DEADLINE:?} after buildah run:\n{}",
                running.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        running.pid = gateway_pid(running.child.id())
            .unwrap_or_else(|| panic!("no greet-gateway process under buildah"));
        running
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("buildah")
            .args(["--storage-driver", "vfs", "rm", &self.name])
            .stdout(Stdio::null())
            .status();
    }
}

/// `buildah run` and the gateway process inside; stopped when dropped.
struct Running {
    child: Child,
    /// The gateway's own process (host PID: chroot isolation has no PID
    /// namespace).
    pid: u32,
    api: SocketAddr,
    /// What the container printed, stdout and stderr.
    output: Arc<Mutex<String>>,
}

impl Running {
    /// The real user id of the gateway's process.
    fn uid(&self) -> u32 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_until(&mut self.child, Instant::now() + limit)
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM to buildah ends the process inside (with SIGKILL) and
        // buildah with it; SIGKILL to buildah alone could leave it running.
        signal("TERM", self.child.id());
        if self.wait(Duration::from_secs(10)).is_none() {
            if self.pid != 0 {
                signal("KILL", self.pid);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `greet-gateway` process among the descendants of `ancestor`.
fn gateway_pid(ancestor: u32) -> Option<u32> {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...: comm may hold spaces, so after the last ')'.
        let after = &stat[stat.rfind(')')? + 2..];
        after.split_whitespace().nth(1)?.parse().ok()
    };
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == "greet-gateway")
        })
        .find(|&pid| {
            let mut current = pid;
            for _ in 0..16 {
                match parent_of(current) {
                    Some(p) if p == ancestor => return true,
                    Some(p) if p > 1 => current = p,
                    _ => return false,
                }
            }
            false
        })
}

/// `buildah --storage-driver vfs ARGS`, which must succeed.
fn buildah(args: &[&str]) -> Output {
    let output = Command::new("buildah")
        .args(["--storage-driver", "vfs"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("buildah runs");
    assert!(
        output.status.success(),
        "buildah {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A GET over plain HTTP/1.1: status and body.
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    block_on(async {
        let response = reqwest::get(format!("http://{addr}{path}"))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A loopback port nothing listens on right now.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn signal(name: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
