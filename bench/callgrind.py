"""Summarizes a callgrind profile of N requests (used by bench/profile).

  callgrind.py OUT_FILE REQUESTS [--top K]

Prints instructions per request (user space only: the kernel is not
counted), malloc/free calls per request, and the functions with the largest
inclusive cost per request that belong to this crate or the libraries on
the request path.
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
    print(f"  {total / n:9.0f} instructions/request   "
          f"malloc {calls['malloc'] / n:.1f}  free {calls['free'] / n:.1f}  realloc {calls['realloc'] / n:.1f} per request")
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
