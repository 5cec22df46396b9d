#!/usr/bin/env python3
"""One-way layers, checked at every build (the check_layers target).

Each file of tally's code belongs to a layer (the longest matching prefix of
its path in LAYERS); it may include headers of its own layer or of a lower
one, never of a higher one. The layers are listed lowest first. With one
rank per layer a cycle between folders cannot be written: an include that
would make one fails the build here, naming the file, the line and both
layers. Tests (tests/) may include anything.

It also keeps every lock checkable: std::mutex, std::condition_variable and
their guards are spelled only in engine/base/mutex.h (the annotated Mutex,
MutexLock and CondVar that clang's -Wthread-safety checks) and in the
benchmarks (tools/bench/, which measure and serve nobody).

    check_layers.py SOURCE_DIR [STAMP]
"""
import pathlib
import re
import sys

# Lowest first. A prefix ending in "/" is a folder, otherwise one file.
LAYERS = [
    ("base", ["engine/base/"]),                      # Result, error codes, locks
    ("events", ["events/"]),                         # the event schema and codec
    ("personal", ["engine/personal/"]),              # sealing personal data
    ("log interface", ["engine/event_log.h", "engine/event_log.cc", "engine/log_damage.h", "engine/log_damage.cc",
                       "engine/clock.h", "engine/chain_hash.h", "engine/chain_hash.cc"]),  # what a log is
    ("domain", ["engine/domain/"]),                  # pure decisions: no RocksDB, no Kafka
    ("engine", ["engine/"]),                         # the RocksDB log, writer, processor, chain
    ("kafka", ["engine/kafka/"]),                    # librdkafka, the relay
    ("projections", ["projections/"]),               # read models
    ("server", ["tools/tallyd/server/"]),            # the HTTP API
    ("tools", ["tools/"]),                           # tallyd, tallyctl, tally-bench
]
SOURCES = ("engine", "events", "projections", "tools")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
RAW_LOCK = re.compile(r"std::(mutex|condition_variable|lock_guard|unique_lock|scoped_lock|shared_mutex)\b")
RAW_LOCK_ALLOWED = ("engine/base/mutex.h", "tools/bench/")


def layer_of(path):
    best = None
    for rank, (name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                if best is None or len(prefix) > best[2]:
                    best = (rank, name, len(prefix))
    return best


def main():
    root = pathlib.Path(sys.argv[1])
    errors = []
    for top in SOURCES:
        for f in sorted((root / top).rglob("*")):
            if f.suffix not in (".h", ".cc") or "node_modules" in f.parts:
                continue
            rel = f.relative_to(root).as_posix()
            here = layer_of(rel)
            if here is None:
                continue
            for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                code = line.split("//", 1)[0]
                lock = RAW_LOCK.search(code)
                if lock and not rel.startswith(RAW_LOCK_ALLOWED):
                    errors.append(f"{rel}:{n}: {lock.group(0)}: use Mutex, MutexLock and CondVar "
                                  f"(engine/base/mutex.h), whose use the compiler checks")
                m = INCLUDE.match(line)
                if not m:
                    continue
                there = layer_of(m.group(1))
                if there is not None and there[0] > here[0]:
                    errors.append(f"{rel}:{n}: includes {m.group(1)}: the {here[1]} layer may not include "
                                  f"the {there[1]} layer above it (tools/check_layers.py, LAYERS)")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        print(f"check_layers: {len(errors)} line(s) against the one-way layers or the checked locks", file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        pathlib.Path(sys.argv[2]).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
