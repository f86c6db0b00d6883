"""Summarizes a callgrind profile of N requests (used by bench/profile).

  callgrind.py OUT_FILE REQUESTS [--top K]

Prints instructions per request (user space only: the kernel is not
counted), malloc/free calls per request, atomic read-modify-writes per
request, and the functions with the largest inclusive cost per request that
belong to this crate or the libraries on the request path.

Atomics: callgrind counts a `lock`-prefixed instruction as one instruction,
but each costs ~18 cycles here (7 ns, a dependent `lock add` on this VM),
where the average instruction costs well under one: 135 of them were about a
tenth of a REST request's CPU time. With a profile taken with
`--dump-instr=yes`, each executed instruction's address is known; objdump
says which are `lock`-prefixed (or `xchg` with memory, locked implicitly).
"""

import argparse
import re
import subprocess

# Functions worth naming in a per-request breakdown (inclusive cost).
INTERESTING = re.compile(
    r"greet_gateway::|tonic_web::|tonic::service::router::RoutesFuture as core::future::future::Future>::poll$"
    r"|prost_reflect::dynamic::(serde::ser::wkt::serialize_timestamp|DynamicMessage::(decode|transcode_to))$"
    r"|nu_ansi_term::display::AnsiGenericString<str> as core::fmt::Display>::fmt$"
    r"|tracing_core::event::Event::dispatch$|tracing_appender::worker"
    r"|hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::(parse|encode)$"
    r"|h2::frame::headers::HeaderBlock::into_encoding$|tonic::status::Status::from_header_map$"
    r"|^malloc$|^free$|^mi_malloc_aligned$|^mi_free$|tokio::time::sleep::Sleep as core::future::future::Future>::poll$"
)

# Frames that wrap the whole request (100 % of it) say nothing.
SKIP = re.compile(r"greet_gateway::(server|listener)::(run|serve)|as tower_service::Service<.*>>::call")


def call_counts(path, targets):
    names, counts, current = {}, dict.fromkeys(targets, 0), None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line)
            if m:
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                current = names.get(m.group(1)) if line.startswith("cfn=") else None
                continue
            if line.startswith("calls=") and current in counts:
                counts[current] += int(line.split()[0][6:])
                current = None
    return counts


def atomics_per_request(path, n):
    """Executed lock-prefixed instructions / n, or None without per-instruction data."""
    objects, counts = {}, {}
    obj, skip_next, prev = None, False, [0, 0]
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("positions:") and "instr" not in line:
                return None
            if line.startswith(("ob=", "cob=")):
                m = re.match(r"c?ob=\((\d+)\)(?: (.*))?$", line)
                if m and m.group(2):
                    objects[m.group(1)] = m.group(2)
                if line.startswith("ob=") and m:
                    obj = objects.get(m.group(1))
                continue
            if line.startswith("calls="):
                skip_next = True
                continue
            if not line or not (line[0].isdigit() or line[0] in "+-*"):
                continue
            tokens = line.split()
            positions = []
            for i, token in enumerate(tokens[:2]):
                if token == "*":
                    positions.append(prev[i])
                elif token[0] in "+-":
                    positions.append(prev[i] + int(token, 0))
                else:
                    positions.append(int(token, 0))
            prev = positions
            if skip_next:
                skip_next = False
                continue
            if len(tokens) > 2 and obj:
                key = (obj, positions[0])
                counts[key] = counts.get(key, 0) + int(tokens[2])
    locked = {}
    for path_ in {o for o, _ in counts if o.startswith("/")}:
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path_],
                                 capture_output=True, text=True).stdout
        addresses = set()
        for row in listing.splitlines():
            m = re.match(r"\s*([0-9a-f]+):\s+(\S+)(.*)", row)
            if m and (m.group(2) == "lock" or (m.group(2).startswith("xchg") and "(" in m.group(3))):
                addresses.add(int(m.group(1), 16))
        locked[path_] = addresses
    total = sum(c for (o, a), c in counts.items() if a in locked.get(o, ()))
    return total / n


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("requests", type=int)
    parser.add_argument("--top", type=int, default=14)
    args = parser.parse_args()
    n = args.requests
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", args.out],
                          capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"^\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text, re.M).group(1).replace(",", ""))
    # The gateway allocates through mimalloc (src/main.rs); anything built
    # without it, through libc.
    aliases = {"malloc": ["malloc", "mi_malloc_aligned", "mi_zalloc_aligned"],
               "free": ["free", "mi_free"], "realloc": ["realloc", "mi_realloc_aligned"]}
    counted = call_counts(args.out, [name for names in aliases.values() for name in names])
    calls = {kind: sum(counted[name] for name in names) for kind, names in aliases.items()}
    atomics = atomics_per_request(args.out, n)
    atomics = "" if atomics is None else f"  atomics {atomics:.1f}"
    print(f"  {total / n:9.0f} instructions/request   "
          f"malloc {calls['malloc'] / n:.1f}  free {calls['free'] / n:.1f}  realloc {calls['realloc'] / n:.1f}"
          f"{atomics} per request")
    seen, shown = set(), 0
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+[^:]*:(.*?)( \[/.*\])?$", line)
        if not m or shown >= args.top:
            continue
        fn = m.group(3)
        if INTERESTING.search(fn) and fn not in seen and not SKIP.search(fn):
            seen.add(fn)
            shown += 1
            print(f"  {int(m.group(1).replace(',', '')) / n:9.0f}/req {m.group(2):>6}%  {fn[:140]}")


if __name__ == "__main__":
    main()
