"""Parsing and reporting for bench/run.

  report.py wrk-record OUTPUT             one wrk run -> JSON record
  report.py h2load-record OUTPUT LOG      one h2load run -> JSON record
  report.py summarize --work DIR --out DIR
      medians, ratios, memory, start-up -> <date>.json, <date>.png and
      latest.{json,png,md} in --out
"""

import argparse
import json
import random
import re
import shutil
import statistics
import sys
from pathlib import Path

PATHS = ["rest", "grpc-web", "grpc", "connect"]
SYSTEMS = ["gateway", "envoy", "bare", "plain-tonic"]
LABELS = {
    "gateway": "greet-gateway",
    "envoy": "Envoy + greet-gateway gRPC",
    "bare": "bare axum handler",
    "plain-tonic": "plain tonic",
}
PATH_LABELS = {"rest": "REST POST /greet", "grpc-web": "gRPC-Web", "grpc": "native gRPC",
               "connect": "Connect JSON POST"}


def wrk_record(output):
    text = Path(output).read_text()
    match = re.search(r"^WRK_JSON (\{.*\})$", text, re.M)
    if not match:
        sys.exit(f"no WRK_JSON line in wrk output:\n{text}")
    r = json.loads(match.group(1))
    errors = sum(r[k] for k in r if k.startswith("errors_")) + r["bad_responses"]
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1e3,
        "p99_ms": r["p99_us"] / 1e3,
        "requests": r["requests"],
        "errors": errors,
        "loadgen": "wrk",
        "detail": r,
    }


def h2load_record(output, log):
    text = Path(output).read_text()
    rps = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", text)
    req = re.search(
        r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout",
        text,
    )
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if not (rps and req and codes):
        sys.exit(f"cannot parse h2load output:\n{text}")
    durations = []
    non_2xx_logged = 0
    for line in Path(log).read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3:
            durations.append(int(fields[2]))
            if not fields[1].startswith("2"):
                non_2xx_logged += 1
    if not durations:
        sys.exit("h2load logged no request")
    durations.sort()
    total, done, succeeded, failed, errored, timeout = (int(req.group(i)) for i in range(1, 7))
    non_2xx = sum(int(codes.group(i)) for i in range(2, 5))
    return {
        "rps": float(rps.group(1)),
        "p50_ms": percentile(durations, 50) / 1e3,
        "p99_ms": percentile(durations, 99) / 1e3,
        "requests": done,
        "errors": failed + errored + timeout + non_2xx + (total - done),
        "loadgen": "h2load",
        "detail": {"total": total, "succeeded": succeeded, "non_2xx": non_2xx,
                   "non_2xx_logged": non_2xx_logged, "logged": len(durations)},
    }


def percentile(sorted_values, p):
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def read_jsonl(path):
    p = Path(path)
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()] if p.exists() else []


def median(values):
    return statistics.median(values) if values else None


def median_interval(values, resamples=2000, seed=1):
    """A bootstrap 95 % interval of the median of `values` (bench/compare
    uses it too): how far a median of this many noisy rounds can be off.
    With five rounds it is about their range."""
    if not values:
        return None, None
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def summarize(work, out):
    work, out = Path(work), Path(out)
    meta = json.loads((work / "meta.json").read_text())
    meta["load_after"] = (work / "load_after.txt").read_text().strip()
    raw = read_jsonl(work / "raw.jsonl")
    memory = {}
    for row in read_jsonl(work / "memory.jsonl"):
        memory.setdefault(row["system"], {}).update({k: v for k, v in row.items() if k != "system"})
    startups = {}
    for row in read_jsonl(work / "startup.jsonl"):
        startups.setdefault(row["system"], []).append(row["startup_ms"])

    results = []
    for path in PATHS:
        for system in SYSTEMS:
            rows = [r for r in raw if r["path"] == path and r["system"] == system]
            if not rows:
                continue
            results.append({
                "path": path,
                "system": system,
                "rps": median([r["rps"] for r in rows]),
                "p50_ms": median([r["p50_ms"] for r in rows]),
                "p99_ms": median([r["p99_ms"] for r in rows]),
                "errors": sum(r["errors"] for r in rows),
                "access_log_errors": sum(r["access_log_errors"] for r in rows),
                "requests": sum(r["requests"] for r in rows),
                "sut_cpu": median([r["sut_cpu"] for r in rows]),
                "loadgen_cpu": median([r["loadgen_cpu"] for r in rows]),
                "runs": len(rows),
            })

    def per_round(path, a, b, key="rps"):
        ratios = []
        for rnd in sorted({r["round"] for r in raw}):
            x = [r[key] for r in raw if (r["path"], r["system"], r["round"]) == (path, a, rnd)]
            y = [r[key] for r in raw if (r["path"], r["system"], r["round"]) == (path, b, rnd)]
            if x and y and y[0]:
                ratios.append(x[0] / y[0])
        return ratios

    ratios = [
        ("REST throughput, gateway / bare handler", per_round("rest", "gateway", "bare"), ">= 0.85", lambda v: v >= 0.85),
        ("REST throughput, bare handler / Envoy", per_round("rest", "bare", "envoy"), ">= 6 (for scale)", None),
        ("REST throughput, gateway / Envoy", per_round("rest", "gateway", "envoy"), "", None),
        ("REST p99, gateway / Envoy", per_round("rest", "gateway", "envoy", "p99_ms"), "<= 0.25", lambda v: v <= 0.25),
        ("gRPC-Web throughput, gateway / Envoy", per_round("grpc-web", "gateway", "envoy"), ">= 4", lambda v: v >= 4),
        ("native gRPC throughput, gateway / plain tonic", per_round("grpc", "gateway", "plain-tonic"), ">= 0.95", lambda v: v >= 0.95),
    ]
    ratio_rows = []
    for name, rounds, target, check in ratios:
        value = median(rounds)
        low, high = median_interval(rounds)
        ratio_rows.append({"ratio": name, "value": value, "interval": [low, high], "rounds": rounds,
                           "target": target, "met": (check(value) if (check and value is not None) else None)})
    systems = []
    for system in SYSTEMS:
        m = memory.get(system, {})
        s = startups.get(system, [])
        systems.append({
            "system": system,
            "idle_rss_mib": kib_to_mib(m.get("idle_kb")),
            "peak_rss_mib": kib_to_mib(m.get("peak_kb")),
            "rss_many_connections_mib": kib_to_mib(m.get("many_kb")),
            "startup_ms": median(s),
            "startup_runs": len(s),
        })
    gateway = next(s for s in systems if s["system"] == "gateway")
    targets = [
        {"target": "idle RSS <= 12 MiB", "value": gateway["idle_rss_mib"],
         "met": gateway["idle_rss_mib"] is not None and gateway["idle_rss_mib"] <= 12},
        {"target": f"RSS with {meta['settings']['many_connections']} connections <= 64 MiB",
         "value": gateway["rss_many_connections_mib"],
         "met": gateway["rss_many_connections_mib"] is not None and gateway["rss_many_connections_mib"] <= 64},
        {"target": "start-up to first served request <= 20 ms", "value": gateway["startup_ms"],
         "met": gateway["startup_ms"] is not None and gateway["startup_ms"] <= 20},
    ]
    report = {**meta, "results": results, "ratios": ratio_rows, "systems": systems,
              "memory_and_startup_targets": targets, "raw": raw}

    out.mkdir(parents=True, exist_ok=True)
    stem = out / meta["date"]
    (stem.with_suffix(".json")).write_text(json.dumps(report, indent=1) + "\n")
    chart(report, stem.with_suffix(".png"))
    shutil.copyfile(stem.with_suffix(".json"), out / "latest.json")
    shutil.copyfile(stem.with_suffix(".png"), out / "latest.png")
    markdown = tables(report)
    (out / "latest.md").write_text(markdown)
    print(markdown)


def kib_to_mib(kib):
    return None if kib is None else round(kib / 1024, 1)


def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def tables(report):
    s = report["settings"]
    lines = [
        f"Run {report['date']}: `{report['command']}`; {s['runs']} round(s) of {s['duration_s']} s "
        f"per path and system, {s['connections']} connections; medians over rounds.",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cpus']} CPUs; "
        f"load before: `{report['load_before']}`; after: `{report['load_after']}`.",
        "",
        "| path | system | req/s | p50 ms | p99 ms | errors | CPU 1 busy (load generator) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {PATH_LABELS[r['path']]} | {LABELS[r['system']]} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['errors'] + r['access_log_errors']} | {r['loadgen_cpu'] * 100:.0f}% |")
    lines += ["", "| ratio (median of per-round ratios) | value | 95 % interval (bootstrap) | target | met |",
              "|---|---:|---|---|---|"]
    for r in report["ratios"]:
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        low, high = r.get("interval", (None, None))
        interval = "–" if low is None else f"{low:.2f}–{high:.2f}"
        lines.append(f"| {r['ratio']} | {fmt(r['value'], '.2f')} | {interval} | {r['target']} | {met} |")
    lines += ["", f"| system | idle RSS MiB | peak RSS MiB ({s['connections']} conns) | "
              f"RSS MiB ({s['many_connections']} conns) | start-up ms |", "|---|---:|---:|---:|---:|"]
    for r in report["systems"]:
        lines.append(
            f"| {LABELS[r['system']]} | {fmt(r['idle_rss_mib'], '.1f')} | {fmt(r['peak_rss_mib'], '.1f')} | "
            f"{fmt(r['rss_many_connections_mib'], '.1f')} | {fmt(r['startup_ms'], '.1f')} |")
    lines += ["", "| gateway target | value | met |", "|---|---:|---|"]
    for t in report["memory_and_startup_targets"]:
        lines.append(f"| {t['target']} | {fmt(t['value'], '.1f')} | {'yes' if t['met'] else '**no**'} |")
    v = report["versions"]
    lines += ["", "Versions: " + "; ".join(f"{k} {val}" for k, val in v.items()), ""]
    return "\n".join(lines)


def chart(report, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"gateway": "#2a7ab0", "envoy": "#d9822b", "bare": "#7a7a7a", "plain-tonic": "#4f9a4f"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.26
    for ax, key, title in ((axes[0], "rps", "throughput (req/s, higher is better)"),
                           (axes[1], "p99_ms", "p99 latency (ms, lower is better)")):
        for i, path in enumerate(PATHS):
            rows = [r for r in report["results"] if r["path"] == path]
            for j, r in enumerate(rows):
                x = i + (j - (len(rows) - 1) / 2) * width
                ax.bar(x, r[key], width * 0.95, color=colors[r["system"]],
                       label=LABELS[r["system"]])
                ax.annotate(f"{r[key]:,.0f}" if key == "rps" else f"{r[key]:.2f}", (x, r[key]),
                            ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(PATHS)), [PATH_LABELS[p] for p in PATHS])
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    s = report["settings"]
    fig.suptitle(f"greet-gateway vs Envoy, plain tonic, bare axum — {report['date']}, "
                 f"{s['connections']} connections, SUT on CPU 0, load generator on CPU 1, "
                 f"median of {s['runs']}", fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(png, dpi=110, metadata={"Software": None})
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("wrk-record")
    w.add_argument("output")
    h = sub.add_parser("h2load-record")
    h.add_argument("output")
    h.add_argument("log")
    s = sub.add_parser("summarize")
    s.add_argument("--work", required=True)
    s.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "wrk-record":
        print(json.dumps(wrk_record(args.output)))
    elif args.command == "h2load-record":
        print(json.dumps(h2load_record(args.output, args.log)))
    else:
        summarize(args.work, args.out)


if __name__ == "__main__":
    main()
