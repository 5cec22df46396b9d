#!/usr/bin/env bash
# tally's one set-up script: installs what the build needs (Debian packages,
# only those missing), configures and builds, then starts the server or runs
# the tests.
#
#   tools/setup.sh start   set up, build (release) and start tallyd on 127.0.0.1:8080, data in ./var
#   tools/setup.sh test    set up, build release + ASan/UBSan, run the whole test suite under both
#   tools/setup.sh deps    only install the packages (Debian, and PyPI's into build/venv)
#   tools/setup.sh build [release|asan]
#
# Environment: TALLY_DATA (default ./var), TALLY_LISTEN (default 127.0.0.1:8080),
# TALLY_PRESETS (default "release asan") for `test`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages=(
  cmake ninja-build ccache pkgconf clang libclang-rt-14-dev libstdc++-12-dev
  librocksdb-dev librdkafka-dev libflatbuffers-dev flatbuffers-compiler
  libboost-dev libssl-dev libsodium-dev nlohmann-json3-dev libcli11-dev libgtest-dev
  libgoogle-perftools-dev
  kcat curl jq wrk python3-venv
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

# Python test tools from PyPI, pinned, in build/venv (the contract test,
# tests/contract/, runs schemathesis from there).
pydeps() {
  local venv="$root/build/venv" want="schemathesis==4.32.5"
  if [ -x "$venv/bin/schemathesis" ] && "$venv/bin/pip" freeze 2>/dev/null | grep -qx "$want"; then
    log "python tools: present ($want)"
    return
  fi
  log "python tools: installing $want into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$want"
}

build() {
  local preset="${1:-release}"
  log "configure + build ($preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
}

case "${1:-}" in
  deps) deps; pydeps ;;
  build) deps; build "${2:-release}" ;;
  start)
    deps
    build release
    data="${TALLY_DATA:-$root/var}"
    listen="${TALLY_LISTEN:-127.0.0.1:8080}"
    log "starting tallyd (data: $data, listen: $listen); Ctrl-C stops it"
    exec "$root/build/release/tools/tallyd" --data "$data" --listen "$listen"
    ;;
  test)
    deps
    pydeps
    for preset in ${TALLY_PRESETS:-release asan}; do
      build "$preset"
      log "tests ($preset)"
      ctest --preset "$preset"
    done
    ;;
  *)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
