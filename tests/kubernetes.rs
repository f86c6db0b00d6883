//! The Kubernetes manifests of `deploy/kubernetes/`, checked offline the way a
//! reviewer would before `kubectl apply -k`: every file against the schemas of
//! Kubernetes 1.30 (kubernetes-validate, strict: unknown fields are errors),
//! then the properties an operator relies on, read from the YAML itself.
//!
//! kubernetes-validate bundles the schemas, so no cluster and no network is
//! needed (where `unshare --net` works, as root in CI, it runs with no network
//! at all, to keep it so). Its venv comes from `tests/kubernetes/setup.sh`
//! (run by `scripts/test`); its PyYAML turns the manifests into JSON for the
//! assertions here. Without it a test fails when `CI` is set, and otherwise
//! says SKIP loudly and returns.

#[allow(dead_code)]
#[path = "common/tools.rs"]
mod tools;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
    time::Duration,
};

use greet_gateway::listener::SHUTDOWN_GRACE;
use serde_json::{Value, json};
use tools::tools_dir;

/// The Kubernetes version the manifests must be valid for: the oldest still
/// commonly run (every field used here exists there).
const KUBERNETES_VERSION: &str = "1.30.0";
/// The admin listener's port (metrics, health): the image's
/// `GREET_ADMIN_LISTEN`, the probes, the Service and the Prometheus annotation.
const ADMIN_PORT: u64 = 9464;
/// The API port: the image's `GREET_LISTEN`.
const API_PORT: u64 = 5000;

#[test]
fn every_manifest_passes_the_kubernetes_schemas_strictly() {
    let Some(tools) = Tools::find() else { return };
    let files = manifest_files();
    let output = tools.validate(&files);
    let report = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "kubernetes-validate:\n{report}");

    // Each API object passed by name; the Kustomization, which no Kubernetes
    // schema describes, is the only file without a schema (and is checked by
    // `kustomization_lists_every_manifest_once`). Nothing else is said.
    let mut expected = Vec::new();
    let manifests = Manifests::load(&tools);
    for file in &files {
        let shown = file.display();
        for doc in manifests.docs_of(file) {
            let kind = doc["kind"].as_str().unwrap();
            if kind == "Kustomization" {
                expected.push(format!(
                    "WARN {shown} Couldn't find schema for kind Kustomization with api version \
                     kustomize.config.k8s.io/v1beta1 for kubernetes version 1.30"
                ));
            } else {
                let name = doc["metadata"]["name"].as_str().unwrap();
                expected.push(format!(
                    "INFO {shown} passed for resource {}/{name} against version 1.30",
                    kind.to_lowercase()
                ));
            }
        }
    }
    let mut said: Vec<&str> = report.lines().filter(|l| !l.is_empty()).collect();
    said.sort_unstable();
    expected.sort_unstable();
    assert_eq!(said, expected, "kubernetes-validate:\n{report}");
}

#[test]
fn the_validator_rejects_a_misspelt_field() {
    // Guards the test above: a validator that passed everything would pass it.
    let Some(tools) = Tools::find() else { return };
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.yaml");
    std::fs::write(
        &typo,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typo}\n\
         spec:\n  replica: 3\n  selector: {matchLabels: {app: typo}}\n  \
         template:\n    metadata: {labels: {app: typo}}\n    \
         spec: {containers: [{name: typo, image: typo}]}\n",
    )
    .unwrap();
    let output = tools.validate(&[typo]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("Additional properties are not allowed ('replica' was unexpected)"),
        "{stdout}"
    );
}

#[test]
fn kustomization_lists_every_manifest_once() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let kustomization = manifests.one("Kustomization");
    let mut listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut present: Vec<String> = manifest_files()
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "kustomization.yaml")
        .collect();
    present.sort_unstable();
    assert_eq!(listed, present);
}

#[test]
fn deployment_runs_three_replicas_of_this_versions_image() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let deployment = manifests.one("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let container = manifests.container();
    assert_eq!(
        container["image"],
        format!("greet-gateway:{}", env!("CARGO_PKG_VERSION")),
        "the tag scripts/image gives"
    );
    // The image's own ENTRYPOINT and environment are the configuration.
    assert_eq!(container.get("command"), None);
    assert_eq!(container.get("args"), None);
}

#[test]
fn probes_ask_the_admin_port_for_readyz_and_healthz() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let container = manifests.container();
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(
            manifests.container_port(&get["port"]),
            ADMIN_PORT,
            "{probe}"
        );
        assert_eq!(get.get("scheme"), None, "{probe}: plain HTTP");
    }
    // And the binary listens there: the image sets both addresses, the
    // Deployment leaves them alone.
    let containerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Containerfile"))
            .unwrap();
    for setting in [
        format!("GREET_ADMIN_LISTEN=0.0.0.0:{ADMIN_PORT}"),
        format!("GREET_LISTEN=0.0.0.0:{API_PORT}"),
    ] {
        assert!(containerfile.contains(&setting), "Containerfile: {setting}");
    }
    for name in ["GREET_ADMIN_LISTEN", "GREET_LISTEN"] {
        assert_eq!(manifests.env(name), None, "{name} comes from the image");
    }
    assert_eq!(manifests.container_port(&json!("api")), API_PORT);
}

#[test]
fn termination_grace_outlasts_the_drain_delay_and_the_shutdown_grace() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let drain = manifests
        .env("GREET_DRAIN_DELAY")
        .expect("GREET_DRAIN_DELAY is set: endpoints take seconds to forget a pod");
    let drain = seconds(&drain);
    assert_eq!(drain, Duration::from_secs(5));
    let pod = &manifests.one("Deployment")["spec"]["template"]["spec"];
    let grace = Duration::from_secs(
        pod["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("terminationGracePeriodSeconds"),
    );
    assert!(
        grace > drain + SHUTDOWN_GRACE,
        "SIGKILL after {grace:?} would cut the {drain:?} drain plus the {SHUTDOWN_GRACE:?} \
         in-flight grace short"
    );
}

#[test]
fn pod_runs_as_non_root_with_a_read_only_root_and_no_capabilities() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let pod = &manifests.one("Deployment")["spec"]["template"]["spec"];
    let container = manifests.container();
    let (pod_sc, sc) = (&pod["securityContext"], &container["securityContext"]);
    // A container's own setting wins over the pod's.
    let setting = |key: &str| {
        sc.get(key)
            .or_else(|| pod_sc.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(setting("runAsNonRoot"), true);
    assert_eq!(setting("runAsUser"), 65532, "the image's USER");
    assert_eq!(setting("runAsGroup"), 65532, "the image's USER");
    assert_eq!(setting("seccompProfile"), json!({"type": "RuntimeDefault"}));
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"], json!({"drop": ["ALL"]}));
    assert_eq!(setting("privileged"), Value::Null);
    assert_eq!(pod["automountServiceAccountToken"], false);
}

#[test]
fn container_has_cpu_and_memory_requests_and_limits() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let resources = &manifests.container()["resources"];
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                resources[kind][resource].is_string(),
                "resources.{kind}.{resource}: {resources}"
            );
        }
    }
    let mebibytes = |v: &Value| {
        let v = v.as_str().unwrap();
        v.strip_suffix("Mi")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("memory in Mi: {v}"))
    };
    assert!(
        mebibytes(&resources["requests"]["memory"]) <= mebibytes(&resources["limits"]["memory"])
    );
}

#[test]
fn service_offers_the_api_as_h2c_and_names_the_metrics_port() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let service = manifests.one("Service");
    let ports: BTreeMap<&str, &Value> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p))
        .collect();
    assert_eq!(
        ports.keys().copied().collect::<Vec<_>>(),
        ["api", "metrics"]
    );
    let api = ports["api"];
    assert_eq!(api["appProtocol"], "kubernetes.io/h2c");
    assert_eq!(manifests.container_port(&api["targetPort"]), API_PORT);
    let metrics = ports["metrics"];
    assert_eq!(manifests.container_port(&metrics["targetPort"]), ADMIN_PORT);
}

#[test]
fn prometheus_annotations_point_at_the_metrics_endpoint() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let annotations = &manifests.one("Deployment")["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], ADMIN_PORT.to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
}

#[test]
fn service_budget_and_autoscaler_select_the_deployments_pods() {
    let Some(tools) = Tools::find() else { return };
    let manifests = Manifests::load(&tools);
    let deployment = manifests.one("Deployment");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    assert_selects(selector, labels, "Deployment");
    assert_selects(
        &manifests.one("Service")["spec"]["selector"],
        labels,
        "Service",
    );
    let pdb = &manifests.one("PodDisruptionBudget")["spec"];
    assert_selects(
        &pdb["selector"]["matchLabels"],
        labels,
        "PodDisruptionBudget",
    );
    assert_eq!(pdb["maxUnavailable"], 1, "two of three stay up in a drain");

    let hpa = manifests.one("HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]})
    );
    assert_eq!(
        hpa["spec"]["minReplicas"], deployment["spec"]["replicas"],
        "the autoscaler never goes below the Deployment's replicas"
    );
    let [metric] = hpa["spec"]["metrics"].as_array().unwrap().as_slice() else {
        panic!("one metric: {hpa}")
    };
    assert_eq!(metric["type"], "Resource");
    assert_eq!(metric["resource"]["name"], "cpu");
    assert_eq!(metric["resource"]["target"]["type"], "Utilization");
}

fn assert_selects(selector: &Value, labels: &Value, what: &str) {
    let selector = selector.as_object().expect(what);
    assert!(!selector.is_empty(), "{what} selects everything");
    for (key, value) in selector {
        assert_eq!(&labels[key], value, "{what} selects {key}={value}");
    }
}

/// `5s` or `500ms`: the forms the manifests use for durations.
fn seconds(value: &str) -> Duration {
    if let Some(ms) = value.strip_suffix("ms") {
        Duration::from_millis(ms.parse().expect(value))
    } else {
        let s = value.strip_suffix('s').expect(value);
        Duration::from_secs(s.parse().expect(value))
    }
}

/// Every manifest file, sorted.
fn manifest_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in &files {
        let ext = file.extension().and_then(|e| e.to_str());
        assert_eq!(
            ext,
            Some("yaml"),
            "{}: only .yaml files belong in deploy/kubernetes",
            file.display()
        );
    }
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    files
}

/// The venv of `tests/kubernetes/setup.sh`.
struct Tools {
    python: PathBuf,
    validate: PathBuf,
}

impl Tools {
    /// The tools, or `None` after a loud SKIP; with `CI` set, a panic instead.
    fn find() -> Option<Tools> {
        let venv = tools_dir().join("kubernetes-venv/bin");
        let tools = Tools {
            python: venv.join("python"),
            validate: venv.join("kubernetes-validate"),
        };
        let installed = tools.python.is_file() && tools.validate.is_file();
        let what = format!("kubernetes-validate ({})", venv.display());
        tools::present(&what, installed, "tests/kubernetes/setup.sh").then_some(tools)
    }

    /// kubernetes-validate, strict, for [`KUBERNETES_VERSION`], over `files`.
    fn validate(&self, files: &[PathBuf]) -> Output {
        let mut command = offline(&self.validate);
        command
            .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
            .args(files);
        command.output().expect("kubernetes-validate runs")
    }
}

/// `program` in a network namespace of its own where `unshare --net` works
/// (as root), so that nothing it does can reach a network; plainly elsewhere.
fn offline(program: &Path) -> Command {
    static UNSHARE: OnceLock<bool> = OnceLock::new();
    let works = *UNSHARE.get_or_init(|| {
        Command::new("unshare")
            .args(["--net", "true"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if works {
        let mut command = Command::new("unshare");
        command.arg("--net").arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Every YAML document of every manifest file, as JSON.
struct Manifests {
    docs: Vec<(PathBuf, Value)>,
}

impl Manifests {
    fn load(tools: &Tools) -> Manifests {
        const TO_JSON: &str = "import json, sys, yaml\n\
            print(json.dumps([[f, [d for d in yaml.safe_load_all(open(f)) if d is not None]]\n\
                              for f in sys.argv[1:]]))";
        let output = Command::new(&tools.python)
            .args(["-c", TO_JSON])
            .args(manifest_files())
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "YAML → JSON: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let files: Vec<(PathBuf, Vec<Value>)> = serde_json::from_slice(&output.stdout).unwrap();
        let docs = files
            .into_iter()
            .flat_map(|(file, docs)| docs.into_iter().map(move |d| (file.clone(), d)))
            .collect();
        Manifests { docs }
    }

    fn docs_of<'a>(&'a self, file: &'a Path) -> impl Iterator<Item = &'a Value> + 'a {
        self.docs
            .iter()
            .filter(move |(f, _)| f == file)
            .map(|(_, d)| d)
    }

    /// The one document of `kind`.
    fn one(&self, kind: &str) -> &Value {
        let mut found = self.docs.iter().filter(|(_, d)| d["kind"] == kind);
        let (_, doc) = found.next().unwrap_or_else(|| panic!("no {kind}"));
        assert!(found.next().is_none(), "more than one {kind}");
        doc
    }

    /// The Deployment's one container.
    fn container(&self) -> &Value {
        let pod = &self.one("Deployment")["spec"]["template"]["spec"];
        let [container] = pod["containers"].as_array().expect("containers").as_slice() else {
            panic!("one container: {pod}")
        };
        container
    }

    /// A container port, given as a number or by name.
    fn container_port(&self, port: &Value) -> u64 {
        if let Some(number) = port.as_u64() {
            return number;
        }
        let name = port.as_str().expect("a port number or name");
        self.container()["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no container port named {name}"))["containerPort"]
            .as_u64()
            .unwrap()
    }

    /// A literal environment variable of the container.
    fn env(&self, name: &str) -> Option<String> {
        let env = self.container()["env"].as_array()?;
        let var = env.iter().find(|v| v["name"] == name)?;
        Some(var["value"].as_str().expect("a literal value").to_owned())
    }
}
