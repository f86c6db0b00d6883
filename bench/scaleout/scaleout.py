#!/usr/bin/env python3
"""Helpers of scripts/scaleout (standard library only).

Small commands the shell script calls while it runs the replicas, HAProxy
and Prometheus, and `report`, which reads everything the run left behind,
asks Prometheus, writes the results and decides whether the targets were met.

    scaleout.py ports N                       N free loopback ports
    scaleout.py ha SOCK COMMAND...            an HAProxy runtime API command
    scaleout.py wait-server SOCK SERVER STATE SECONDS
    scaleout.py wait-ready PROBE SOCK SERVER SECONDS   URL or HOST:PORT, then UP
    scaleout.py set-replicas SOCK N SECONDS   r1..rN in rotation, the rest in maint
    scaleout.py drain-watch PID METRICS_URL   last count read while PID lives
    scaleout.py stats SOCK                    be_greet's rows of `show stat`, JSON
    scaleout.py kill9 SOCK SERVER PID EVENTS INCARNATION   stats, SIGKILL, an event
    scaleout.py wait-http URL SECONDS         until URL answers 200
    scaleout.py wait-tcp HOST:PORT SECONDS    until a connection is accepted
    scaleout.py metrics URL                   sum of greet_gateway_requests_total
    scaleout.py cpu NAME=PID,PID...           CPU ticks used per group, JSON
    scaleout.py wait-promql URL QUERY VALUE SECONDS  until QUERY gives VALUE
    scaleout.py wait-target URL REPLICA INCARNATION SECONDS
    scaleout.py report --run DIR ...          the results (see report())
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BACKEND = "be_greet"
METRIC = "greet_gateway_requests_total"


def now_ms():
    return int(time.time() * 1000)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def ha(sock_path, command):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        s.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode()


def stats(sock_path):
    """be_greet's servers and BACKEND row of `show stat`, by name."""
    text = ha(sock_path, "show stat")
    lines = text.strip().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == BACKEND:
            rows[row["svname"]] = row
    return rows


def server_state(sock_path, server):
    return stats(sock_path).get(server, {}).get("status", "?")


def wait_server(sock_path, server, state, seconds):
    deadline = time.time() + float(seconds)
    current = "?"
    while time.time() < deadline:
        current = server_state(sock_path, server)
        if current.split(" ")[0] == state:
            return 0
        time.sleep(0.02)
    print(f"{server} is {current}, not {state}, after {seconds} s", file=sys.stderr)
    return 1


def set_replicas(sock_path, n, seconds):
    """r1 … rN in rotation (and UP), the others in maintenance."""
    n = int(n)
    for i in (1, 2, 3):
        state = "ready" if i <= n else "maint"
        ha(sock_path, f"set server {BACKEND}/r{i} state {state}")
    for i in range(1, n + 1):
        if wait_server(sock_path, f"r{i}", "UP", seconds):
            return 1
    return 0


def process_alive(pid):
    """Alive and not a zombie (an exited child stays until it is waited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def drain_watch(pid, url):
    """Reads URL's request count every 50 ms while PID lives; prints the
    last value read (`null` if none): the process's final count, once the
    load balancer sends it nothing new."""
    last = None
    while process_alive(pid):
        try:
            _, body = get(url, timeout=2)
            last = metric_sum(body.decode())
        except OSError:
            pass
        time.sleep(0.05)
    print("null" if last is None else last)
    return 0


def get(url, timeout=1.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def wait_http(url, seconds):
    deadline = time.time() + float(seconds)
    last = None
    while time.time() < deadline:
        try:
            status, _ = get(url)
            if status == 200:
                return 0
            last = status
        except urllib.error.HTTPError as e:
            last = e.code
        except OSError as e:
            last = e
        time.sleep(0.02)
    print(f"{url}: no 200 after {seconds} s (last: {last})", file=sys.stderr)
    return 1


def wait_tcp(addr, seconds):
    host, port = addr.rsplit(":", 1)
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=0.5).close()
            return 0
        except OSError:
            time.sleep(0.02)
    print(f"{addr}: nothing accepts after {seconds} s", file=sys.stderr)
    return 1


def wait_promql(url, promql, value, seconds):
    prom = Prom(url)
    deadline = time.time() + float(seconds)
    got = None
    while time.time() < deadline:
        try:
            result = prom.query(promql)
            got = int(float(result[0]["value"][1])) if result else None
            if got == int(value):
                return 0
        except (OSError, RuntimeError, ValueError) as e:
            got = e
        time.sleep(0.1)
    print(f"{promql}: {got}, not {value}, after {seconds} s", file=sys.stderr)
    return 1


def wait_target(url, replica, incarnation, seconds):
    """Until Prometheus scrapes REPLICA's admin port under the label
    incarnation=INCARNATION and no other (file_sd changes reach the scrape
    loops only every 5 s)."""
    deadline = time.time() + float(seconds)
    found = None
    while time.time() < deadline:
        try:
            _, body = get(f"{url.rstrip('/')}/api/v1/targets?state=active", timeout=2)
            targets = json.loads(body)["data"]["activeTargets"]
            found = sorted(t["labels"].get("incarnation") for t in targets
                           if t["labels"].get("replica") == replica)
            if found == [str(incarnation)]:
                return 0
        except (OSError, ValueError, KeyError) as e:
            found = e
        time.sleep(0.1)
    print(f"Prometheus targets of {replica}: {found}, not [{incarnation}], after {seconds} s",
          file=sys.stderr)
    return 1


def metric_sum(text, name=METRIC):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def cpu_ticks(groups):
    """CPU ticks (user + system) used so far, per group of PIDs: each
    argument is NAME=PID,PID,..."""
    ticks = {}
    with open("/proc/stat") as f:
        cpu = f.readline().split()[1:]
    # The whole machine: user, nice, system, irq, softirq, steal.
    ticks["machine"] = sum(int(cpu[i]) for i in (0, 1, 2, 5, 6, 7))
    for group in groups:
        name, pids = group.split("=", 1)
        ticks[name] = 0
        for pid in filter(None, pids.split(",")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                # utime and stime: fields 14 and 15 of stat(5), 12 and 13 here.
                ticks[name] += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
    return ticks


# ---------------------------------------------------------------- report --


class Prom:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def query(self, promql, at=None):
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        _, body = get(url, timeout=10)
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise RuntimeError(f"{promql}: {answer}")
        return answer["data"]["result"]


def load(path):
    with open(path) as f:
        return json.load(f)


def events_of(run):
    events = []
    path = os.path.join(run, "events.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            events = [json.loads(line) for line in f if line.strip()]
    return events


def fmt(n):
    return f"{n:,}"


def n_requests(n):
    return f"{fmt(n)} request{'' if n == 1 else 's'}"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return os.cpu_count(), model, mem


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def report(args):
    """Reads a run directory (see scripts/scaleout for what it holds),
    prints and writes the results, returns the exit status."""
    run = args["--run"]
    out = args["--out"]
    strict = args.get("--strict") == "1"
    meta = load(os.path.join(run, "meta.json"))
    events = events_of(run)
    main = load(os.path.join(run, "main.json"))
    # Throughput measurements: scale.K.nN.json, the Kth, with N replicas.
    scale = []
    for name in sorted(os.listdir(run)):
        m = re.fullmatch(r"scale\.(\d+)\.n(\d+)\.json", name)
        if m:
            path = os.path.join(run, name)
            scale.append((int(m.group(2)), load(path), load(path[:-5] + ".cpu.json")))
    targets = []  # (what, met, detail)
    lines = []
    w = lines.append

    cores, model, mem = machine()
    w(f"# scripts/scaleout, {meta['date']}")
    w("")
    w(f"Machine: {cores} cores ({model}), {mem} memory, load average {meta['loadavg_start']} "
      f"when the run started; "
      f"{version(['haproxy', '-v'])}; {version(['prometheus', '--version'])}; "
      f"greet-gateway at {meta['commit']}.")
    w("")
    mode = []
    mode.append("replicas health-checked on `/readyz` (admin port)"
                if meta["admin"] else
                "**fallback: no `--admin-listen`**, HAProxy TCP checks on the API port")
    mode.append(f"drain delay {meta['drain']} s" if meta["drain_flag"] else
                "**fallback: no `--drain-delay`** (SIGTERM stops accepting at once)")
    w(f"Mode: {'; '.join(mode)}. {meta['connections']} client connections "
      f"(a third each REST, gRPC-Web over HTTP/1.1, gRPC over h2c), all through HAProxy"
      f"{' (quick run)' if meta['quick'] else ''}.")
    w("")

    # -- throughput with 1, 2, 3 replicas --
    if scale:
        w("## Throughput by replicas")
        w("")
        w("| replicas | req/s, each measurement | req/s | failed | CPU: gateways | HAProxy | load client | Prometheus | anything else |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        hz = os.sysconf("SC_CLK_TCK")
        for n in sorted({n for n, _, _ in scale}):
            runs = [(result, cpu) for k, result, cpu in scale if k == n]
            seconds = sum(result["seconds"] for result, _ in runs)
            requests = sum(result["requests"] for result, _ in runs)
            failed = sum(result["failed"] for result, _ in runs)

            def used(group):
                if group == "load":
                    return sum(cpu["load_seconds"] for _, cpu in runs)
                return sum(cpu["after"][group] - cpu["before"][group] for _, cpu in runs) / hz

            def pct(seconds_used):
                return f"{100 * seconds_used / seconds:.0f} %"

            each = " / ".join(f"{result['requests'] / result['seconds']:,.0f}" for result, _ in runs)
            ours = sum(used(g) for g in ("gateways", "haproxy", "load", "prometheus"))
            w(f"| {n} | {each} | {requests / seconds:,.0f} | {failed} | {pct(used('gateways'))} | "
              f"{pct(used('haproxy'))} | {pct(used('load'))} | {pct(used('prometheus'))} | "
              f"{pct(max(0.0, used('machine') - ours))} |")
            targets.append((f"no failed request with {n} replica(s)", failed == 0,
                            f"{failed} failed"))
        w("")
        w("req/s: all measurements of a replica count together. "
          "CPU is the share of one core each group used over the measurements "
          f"({cores} cores in all, so {100 * cores} % is the machine); \"anything else\" is the "
          "machine's busy time (`/proc/stat`) less ours: other work sharing the cores.")
        w("")

    # -- phases of the main run --
    w("## Load through a rolling restart and a kill -9")
    w("")
    phase_seconds = {}
    marks = [e for e in events if e["event"] == "phase"]
    for i, mark in enumerate(marks):
        end = marks[i + 1]["t"] if i + 1 < len(marks) else mark["t"]
        phase_seconds[mark["phase"]] = phase_seconds.get(mark["phase"], 0) + (end - mark["t"]) / 1000
    w("| phase | seconds | requests | failed | REST ok/failed | gRPC-Web ok/failed | gRPC ok/failed |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    failed_by_phase = {}
    for phase in main["phases"]:
        name = phase["name"]
        ok = sum(phase[p]["ok"] for p in ("rest", "grpc_web", "grpc"))
        failed = sum(phase[p]["failed"] for p in ("rest", "grpc_web", "grpc"))
        failed_by_phase[name] = failed
        cells = " | ".join(f"{fmt(phase[p]['ok'])} / {phase[p]['failed']}"
                           for p in ("rest", "grpc_web", "grpc"))
        w(f"| {name} | {phase_seconds.get(name, 0):.1f} | {fmt(ok + failed)} | {failed} | {cells} |")
    w(f"| **all** | {main['seconds']:.1f} | {fmt(main['requests'])} | {main['failed']} | | | |")
    w("")
    for phase in main["phases"]:
        for sample in phase["samples"]:
            w(f"- failed in {phase['name']}: `{sample[:300]}`")
    if any(phase["samples"] for phase in main["phases"]):
        w("")

    # -- rolling restart, replica by replica --
    terms = [e for e in events if e["event"] == "sigterm"]
    if terms:
        w("Rolling restart (times from the SIGTERM):")
        w("")
        w("| replica | marked down by HAProxy | process exited (status) | new process up in HAProxy |")
        w("|---|---:|---:|---:|")
        for term in terms:
            r = term["replica"]
            after = [e for e in events if e.get("replica") == r and e["t"] >= term["t"]]

            def at(kind):
                found = next((e for e in after if e["event"] == kind), None)
                return found

            down, exited, up = at("down"), at("exited"), at("up")
            w(f"| {r} | {down['t'] - term['t'] if down else '?'} ms | "
              f"{exited['t'] - term['t'] if exited else '?'} ms ({exited['status'] if exited else '?'}) | "
              f"{up['t'] - term['t'] if up else '?'} ms |")
            targets.append((f"{r} exits 0 on SIGTERM", bool(exited) and exited["status"] == 0,
                            f"status {exited['status'] if exited else '?'}"))
        w("")
    for e in events:
        if e["event"] == "stopped":
            targets.append((f"{e['replica']} (the last process) exits 0 on SIGTERM at the end",
                            e["status"] == 0, f"status {e['status']}"))
    rolling_failed = failed_by_phase.get("rolling", 0)
    if rolling_failed and not meta["drain_flag"]:
        w("This gateway has no `--drain-delay`: on SIGTERM it stops accepting, finishes the "
          "requests it has and closes each connection as soon as they are done, while the "
          "replica is still in HAProxy's rotation and HAProxy still busy on the connection. Answers HAProxy saw cut off by the stopping replica "
          "show as `SD--` below; a client gets such an answer truncated. With a drain delay "
          "`/readyz` answers 503 first, HAProxy stops using the replica, and its connections "
          "close idle.")
        w("")
    targets.append(("0 failed requests through the rolling restart", rolling_failed == 0,
                    f"{rolling_failed} failed"))
    for name in ("steady", "after"):
        if name in failed_by_phase:
            targets.append((f"0 failed requests in phase {name}", failed_by_phase[name] == 0,
                            f"{failed_by_phase[name]} failed"))

    # -- kill -9 --
    kill = next((e for e in events if e["event"] == "kill9"), None)
    if kill:
        r = kill["replica"]
        before = kill["stats"]
        after_stats = next((e["stats"] for e in events if e["event"] == "kill9-after"), None)

        def delta(field, row="BACKEND"):
            if not after_stats:
                return "?"
            try:
                return int(after_stats[row][field] or 0) - int(before[row][field] or 0)
            except (KeyError, ValueError):
                return "?"

        in_flight = int(before[r]["scur"] or 0)
        killed_failed = failed_by_phase.get("kill9", 0)
        w(f"kill -9 of {r}: {n_requests(in_flight)} in flight on it (HAProxy's `scur`, read "
          f"in the same instant as the kill). From the kill to a second after {r} was back, "
          f"HAProxy's counters of retries and of redispatches to another replica rose by "
          f"{delta('wretr')} and {delta('wredis')}; {n_requests(killed_failed)} failed at the "
          f"client. A request whose "
          f"answer HAProxy had begun to forward cannot be retried: it shows as `SD--` below.")
        w("")
        targets.append((f"after kill -9, failures only for requests in flight on {r}",
                        killed_failed <= in_flight,
                        f"{killed_failed} failed, {in_flight} in flight"))

    haproxy_log_section(run, w)
    access_log_section(run, events, main, scale, w)

    # -- Prometheus --
    w("## Prometheus against the load client")
    w("")
    if not meta["admin"]:
        w("SKIPPED: no --admin-listen (the gateway has no /metrics to scrape).")
        w("")
        targets.append(("Prometheus count equals the load client's (SKIPPED: no --admin-listen)",
                        not strict, "skipped"))
    else:
        prometheus_section(args, meta, events, main, scale, targets, w)

    # -- verdict --
    w("## Targets")
    w("")
    for what, met, detail in targets:
        w(f"- {'met' if met else '**MISSED**'}: {what} ({detail})")
    w("")
    text = "\n".join(lines)
    with open(out, "w") as f:
        f.write(text)
    print(text)
    readme = args.get("--readme")
    if readme:
        update_readme(readme, text)
    return 0 if all(met for _, met, _ in targets) else 1


def answers_seen(main, scale):
    """Answers that carried x-served-by, so came from a replica, per
    replica, over every load client run (scale runs and main run)."""
    seen = {}
    for result in [main] + [result for _, result, _ in scale]:
        for r, counts in result["served_by"].items():
            seen[r] = seen.get(r, 0) + counts["answers"]
    return seen


def haproxy_log_section(run, w):
    """What HAProxy logged (abnormal requests only): by replica and
    termination state, e.g. `SD--`, the replica closed the connection
    while the response body was under way."""
    pattern = re.compile(r" be_greet/(\S+) \S+ (-?\d+) \S+ \S+ \S+ (\S{4}) \S+/\S+/\S+/\S+/\+?(\d+) ")
    seen = {}
    try:
        with open(os.path.join(run, "haproxy.log")) as f:
            for line in f:
                m = pattern.search(line)
                if m:
                    server, status, flags, retries = m.groups()
                    key = (server, flags, status, "retried" if retries != "0" else "")
                    seen[key] = seen.get(key, 0) + 1
    except OSError:
        return
    if not seen:
        w("HAProxy logged no abnormal request.")
        w("")
        return
    w("HAProxy's log of abnormal requests (`haproxy.log`; termination state as in HAProxy's "
      "manual, section 8.5: `SD--` the replica closed the connection during the body, "
      "`----` a normal end after a retry or redispatch):")
    w("")
    w("| replica | status | termination state | retried | requests |")
    w("|---|---:|---|---|---:|")
    for (server, flags, status, retried), n in sorted(seen.items()):
        w(f"| {server} | {status} | `{flags}` | {retried or 'no'} | {n} |")
    w("")


def access_log_section(run, events, main, scale, w):
    """Each process's access-log lines (counted as they streamed by, plus
    any the gateway reported dropped) against the client's answers."""
    lines = {}
    for e in events:
        if e["event"] != "start":
            continue
        r, inc = e["replica"], e["incarnation"]
        count, dropped = 0, 0
        try:
            with open(os.path.join(run, f"{r}.{inc}.count")) as f:
                count = int(f.read().strip() or 0)
        except (OSError, ValueError):
            count = None
        try:
            with open(os.path.join(run, f"{r}.{inc}.log")) as f:
                for line in f:
                    if " log lines dropped: " in line:
                        dropped += int(line.split(" log lines dropped: ")[0].split()[-1])
        except (OSError, ValueError, IndexError):
            pass
        lines[r] = lines.get(r, 0) + (count or 0) + dropped
    seen = answers_seen(main, scale)
    w("Access-log lines (one per request a gateway finished, counted as they streamed by) "
      "against the answers the load client got from each replica:")
    w("")
    w("| replica | access-log lines, all its processes | answers the client got from it | difference |")
    w("|---|---:|---:|---:|")
    for r in sorted(set(lines) | set(seen)):
        w(f"| {r} | {fmt(lines.get(r, 0))} | {fmt(seen.get(r, 0))} | {seen.get(r, 0) - lines.get(r, 0):+,} |")
    w("")


def prometheus_section(args, meta, events, main, scale, targets, w):
    prom = Prom(args["--prom"])
    end = meta["end_t"] / 1000
    span = int(end - meta["prom_start_t"] / 1000) + 30
    # What the load clients saw: answers that carried x-served-by, so came
    # from a replica, per replica, over every run (scale runs and main run).
    seen = answers_seen(main, scale)
    seen_total = sum(seen.values())

    # Per process: the greatest value each of its series reached is its last,
    # since a counter only grows while its process lives; a restarted process
    # is another series (its own incarnation label), so nothing is lost to a
    # counter reset.
    finals = {}
    for row in prom.query(f"sum by (replica, incarnation) (max_over_time({METRIC}[{span}s]))", end):
        key = (row["metric"].get("replica"), row["metric"].get("incarnation"))
        finals[key] = int(float(row["value"][1]))
    total = int(float((prom.query(f"sum(max_over_time({METRIC}[{span}s]))", end)
                       or [{"value": [0, "0"]}])[0]["value"][1]))
    naive = int(float((prom.query(f"sum({METRIC})", end) or [{"value": [0, "0"]}])[0]["value"][1]))
    by_status = {}
    for row in prom.query(f"sum by (protocol, route, status, grpc_status) "
                          f"(max_over_time({METRIC}[{span}s]))", end):
        m = row["metric"]
        key = (f"{m.get('protocol', '?')} {m.get('route', '?')} "
               f"{m.get('status', '?')}/{m.get('grpc_status', '-')}")
        by_status[key] = by_status.get(key, 0) + int(float(row["value"][1]))

    # The script's own reads of each process's /metrics at its end: during
    # the drain for a SIGTERM, after the load stopped for the survivors.
    direct = {}
    for e in events:
        if e["event"] in ("exited", "final") and e.get("last_direct") is not None:
            direct[(e["replica"], str(e["incarnation"]))] = e["last_direct"]
    kill = next((e for e in events if e["event"] == "kill9"), None)
    killed = (kill["replica"], str(kill["incarnation"])) if kill else None

    w("| replica | process (incarnation) | how it ended | last value Prometheus has | the process's own last /metrics |")
    w("|---|---:|---|---:|---:|")
    exact = True
    for (r, inc), value in sorted(finals.items()):
        if (r, inc) == killed:
            how, own = "kill -9", "— (killed)"
        else:
            how = "SIGTERM" if any(e["event"] == "exited" and e["replica"] == r
                                   and str(e["incarnation"]) == inc for e in events) else "alive at the end"
            own = direct.get((r, inc))
            if own != value:
                exact = False
            own = fmt(own) if own is not None else "?"
        w(f"| {r} | {inc} | {how} | {fmt(value)} | {own} |")
    w("")
    targets.append(("Prometheus has every stopped or surviving process's last count", exact,
                    "equal" if exact else "differs, see the table"))

    per_replica = {}
    for (r, _), value in finals.items():
        per_replica[r] = per_replica.get(r, 0) + value
    w("| replica | Prometheus (all its processes) | answers the load client got from it | difference |")
    w("|---|---:|---:|---:|")
    for r in sorted(set(per_replica) | set(seen)):
        p, s = per_replica.get(r, 0), seen.get(r, 0)
        w(f"| {r} | {fmt(p)} | {fmt(s)} | {s - p:+,} |")
        if not killed or r != killed[0]:
            targets.append((f"Prometheus count of {r} equals the load client's", p == s,
                            f"{fmt(p)} vs {fmt(s)}"))
    w(f"| **all** | {fmt(total)} | {fmt(seen_total)} | {seen_total - total:+,} |")
    w("")
    w(f"`sum({METRIC})` at the end, the survivors alone: {fmt(naive)}; "
      f"`sum(max_over_time({METRIC}[{span}s]))`, every process: {fmt(total)}.")
    w("By protocol, route, HTTP status / grpc-status: " +
      ", ".join(f"{k} {fmt(v)}" for k, v in sorted(by_status.items())) + ".")
    w("")

    if killed:
        # What the killed process answered after Prometheus last scraped it
        # is counted by no one but the client: estimate it from the client's
        # per-replica timeline, between that scrape and the kill.
        r, inc = killed
        rows = prom.query(f'{METRIC}{{replica="{r}",incarnation="{inc}"}}[{span}s]', end)
        last_t = max((float(v[0]) for row in rows for v in row["values"]), default=None)
        gap = seen.get(r, 0) - per_replica.get(r, 0)
        if last_t is None:
            w(f"Prometheus never scraped {r}'s killed process.")
            targets.append(("the killed process's unscraped answers are accounted for", False, "no scrape"))
            return
        timeline = main["timeline"].get(r, [])
        start = main["started_unix_ms"]
        bucket = main["bucket_ms"]
        lo = (last_t * 1000 - start) / bucket
        hi = (kill["t"] - start) / bucket
        inside = sum(n for i, n in timeline if lo <= i < hi)
        edges = sum(n for i, n in timeline if lo - 1 <= i < lo or hi <= i < hi + 1)
        in_flight = int(kill["stats"][r]["scur"] or 0)
        slack = edges + in_flight
        w(f"The killed process ({r}, incarnation {inc}) was last scraped "
          f"{kill['t'] - last_t * 1000:.0f} ms before the kill; what it answered after that scrape "
          f"no Prometheus can know. The load client got {fmt(gap)} more answers from {r} than "
          f"Prometheus counts; its own timeline shows {fmt(inside)} answers from {r} between "
          f"that scrape and the kill ({bucket} ms buckets; the boundary buckets hold {edges}, "
          f"and {in_flight} requests were in flight at the kill).")
        w("")
        targets.append(("the killed process's unscraped answers account for the whole difference",
                        abs(gap - inside) <= slack,
                        f"difference {gap}, timeline {inside}, slack {slack}"))
        w(f"So: Prometheus {fmt(total)} + {fmt(gap)} answered by the killed process after its "
          f"last scrape = {fmt(total + gap)} = the load clients' {fmt(seen_total)} answers from "
          f"the replicas.")
        w("")


def update_readme(path, text):
    """Replaces the block between the scaleout markers in the README."""
    begin, end = "<!-- scaleout:begin -->", "<!-- scaleout:end -->"
    with open(path) as f:
        readme = f.read()
    if begin not in readme or end not in readme:
        print(f"{path}: no {begin} … {end} block, not updated", file=sys.stderr)
        return
    body = text.split("\n", 1)[1].strip()  # without the title line
    # The report's headings become bold lines inside the README's section.
    body = re.sub(r"(?m)^## (.*)$", r"**\1.**", body)
    head, rest = readme.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(f"{head}{begin}\n{body}\n{end}{tail}")


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "ports":
        print(" ".join(map(str, free_ports(int(rest[0])))))
    elif command == "ha":
        sys.stdout.write(ha(rest[0], " ".join(rest[1:])))
    elif command == "wait-server":
        return wait_server(*rest)
    elif command == "set-replicas":
        return set_replicas(*rest)
    elif command == "drain-watch":
        return drain_watch(*rest)
    elif command == "wait-ready":
        # A new process: ready by itself (its /readyz, or its port accepts),
        # then UP in HAProxy when HAProxy runs.
        probe, sock_path, server, seconds = rest
        ready = wait_http(probe, seconds) if probe.startswith("http") else wait_tcp(probe, seconds)
        if ready or not os.path.exists(sock_path):
            return ready
        return wait_server(sock_path, server, "UP", seconds)
    elif command == "stats":
        print(json.dumps(stats(rest[0])))
    elif command == "kill9":
        # HAProxy's view of SERVER (requests in flight on it: scur) and the
        # SIGKILL, as close together as one process can put them.
        sock_path, server, pid, events, incarnation = rest
        snapshot = stats(sock_path)
        os.kill(int(pid), signal.SIGKILL)
        t = now_ms()
        with open(events, "a") as f:
            f.write(json.dumps({"t": t, "event": "kill9", "replica": server,
                                "incarnation": int(incarnation), "stats": snapshot}) + "\n")
    elif command == "wait-http":
        return wait_http(*rest)
    elif command == "wait-tcp":
        return wait_tcp(*rest)
    elif command == "metrics":
        try:
            _, body = get(rest[0])
        except OSError:
            return 1
        print(metric_sum(body.decode()))
    elif command == "wait-target":
        return wait_target(*rest)
    elif command == "wait-promql":
        return wait_promql(*rest)
    elif command == "cpu":
        print(json.dumps(cpu_ticks(rest)))
    elif command == "report":
        args = dict(zip(rest[::2], rest[1::2]))
        return report(args)
    else:
        print(f"unknown command {command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
