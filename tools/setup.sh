#!/usr/bin/env bash
# tally's one set-up script: installs what the build needs (Debian packages,
# only those missing), configures and builds, then starts the server or runs
# the tests.
#
#   tools/setup.sh start   set up, build (release) and start tallyd on 127.0.0.1:8080, data in ./var
#                          (Kafka: an embedded mock cluster, in memory)
#   tools/setup.sh start-kafka
#                          the same, publishing to a real 3-node Apache Kafka cluster on
#                          127.0.0.1 (tools/kafka/cluster.sh; its data in ./var-kafka, started
#                          if it does not run; `tools/kafka/cluster.sh stop var-kafka` stops it)
#   tools/setup.sh test    set up, build release + ASan/UBSan, run the whole test suite under both,
#                          then the concurrent tests under ThreadSanitizer (preset tsan)
#   tools/setup.sh deps    only install the packages (Debian's; PyPI's into build/venv; npm's
#                          into tests/console/node_modules; Kafka's jars from Maven Central
#                          into build/kafka/libs)
#   tools/setup.sh build [release|asan|tsan]
#
# Environment: TALLY_DATA (default ./var), TALLY_LISTEN (default 127.0.0.1:8080),
# TALLY_KAFKA_DIR (default ./var-kafka), TALLY_PRESETS (default "release asan tsan") for `test`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages=(
  cmake ninja-build ccache pkgconf clang libclang-rt-14-dev libstdc++-12-dev
  librocksdb-dev librdkafka-dev libflatbuffers-dev flatbuffers-compiler
  libboost-dev libssl-dev libsodium-dev nlohmann-json3-dev libcli11-dev libgtest-dev
  libgoogle-perftools-dev
  kcat curl jq wrk python3-venv postgresql-15 chromium
  openjdk-17-jre-headless maven
)

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "packages: all ${#packages[@]} present"
    return
  fi
  log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Python packages from PyPI, pinned, in build/venv: schemathesis for the
# contract test (tests/contract/); confluent-kafka, flatbuffers and PyNaCl
# for the Python consumer (tools/consumers/python/) and its test.
pydeps() {
  local venv="$root/build/venv"
  local want=(schemathesis==4.32.5 confluent-kafka==2.16.1 flatbuffers==25.12.19 pynacl==1.6.2)
  local have; have="$("$venv/bin/pip" freeze 2>/dev/null || true)"
  local missing=()
  for w in "${want[@]}"; do grep -qix "$w" <<<"$have" || missing+=("$w"); done
  if [ ${#missing[@]} -eq 0 ]; then
    log "python packages: present (${want[*]})"
    return
  fi
  log "python packages: installing ${missing[*]} into $venv"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${missing[@]}"
}

# Playwright from npm, pinned in tests/console/package-lock.json, for the
# console's browser test (tests/console/); it drives Debian's chromium
# (above), so no browser is downloaded.
nodedeps() {
  local dir="$root/tests/console"
  if ! command -v npm >/dev/null; then
    log "installing: nodejs npm"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  local want have
  want="$(jq -r '.packages["node_modules/@playwright/test"].version' "$dir/package-lock.json")"
  have="$(jq -r .version "$dir/node_modules/@playwright/test/package.json" 2>/dev/null || true)"
  if [ "$want" = "$have" ]; then
    log "npm packages: present (@playwright/test $have)"
    return
  fi
  log "npm packages: installing @playwright/test $want into $dir/node_modules"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

build() {
  local preset="${1:-release}" started=$SECONDS
  log "configure + build ($preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  log "built $preset in $((SECONDS - started)) s"
}

# Apache Kafka's jars (tools/kafka/pom.xml), for the real-cluster tests and
# `start-kafka`.
kafkadeps() { "$root/tools/kafka/cluster.sh" fetch; }

case "${1:-}" in
  deps) deps; pydeps; nodedeps; kafkadeps ;;
  build) deps; build "${2:-release}" ;;
  start)
    deps
    build release
    data="${TALLY_DATA:-$root/var}"
    listen="${TALLY_LISTEN:-127.0.0.1:8080}"
    log "starting tallyd (data: $data, listen: $listen); Ctrl-C stops it"
    exec "$root/build/release/tools/tallyd" --data "$data" --listen "$listen"
    ;;
  start-kafka)
    deps
    kafkadeps
    build release
    data="${TALLY_DATA:-$root/var}"
    listen="${TALLY_LISTEN:-127.0.0.1:8080}"
    kdir="${TALLY_KAFKA_DIR:-$root/var-kafka}"
    if [ -f "$kdir/ports" ]; then
      bootstrap="$("$root/tools/kafka/cluster.sh" up "$kdir" | tail -1)"
    else
      bootstrap="$("$root/tools/kafka/cluster.sh" start 3 "$kdir" | tail -1)"
    fi
    log "starting tallyd (data: $data, listen: $listen, Kafka: $bootstrap); Ctrl-C stops it"
    exec "$root/build/release/tools/tallyd" --data "$data" --listen "$listen" --kafka-bootstrap "$bootstrap"
    ;;
  test)
    deps
    pydeps
    nodedeps
    kafkadeps
    log "dependencies ready after $SECONDS s"
    for preset in ${TALLY_PRESETS:-release asan tsan}; do
      build "$preset"
      log "tests ($preset)"
      started=$SECONDS
      ctest --preset "$preset"
      log "tests ($preset) passed in $((SECONDS - started)) s; $SECONDS s since the start"
    done
    ;;
  *)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
