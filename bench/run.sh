#!/usr/bin/env bash
# `make bench`: installs the peer tools when missing (Debian: wrk, dnsperf, unbound,
# docker-registry), builds pullsim and pullsim-bench in release, runs every benchmark and
# writes bench/results.json and bench/results.md.
#
# Everything the bench starts (pullsim serve, the hello server, unbound, docker-registry,
# wrk, dnsperf) is recorded in a PID directory and stopped on exit, failure and Ctrl-C;
# the scratch directory is removed. Traffic goes to 127.0.0.0/8 only.
#
# Arguments are passed to `pullsim-bench run`: e.g. `bench/run.sh --only dns,arm --quick`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CARGO="${CARGO:-cargo}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export PATH="$PATH:/usr/sbin:/sbin"

# --- peer tools --------------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v unbound >/dev/null || need+=(unbound)
command -v docker-registry >/dev/null || need+=(docker-registry)
if ((${#need[@]})); then
    echo "bench: installing ${need[*]} (Debian)"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    # unbound and docker-registry ship services; the bench starts its own, on its own
    # ports, so keep the packages from starting theirs.
    made_policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    [[ -z $made_policy ]] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

# --- build -------------------------------------------------------------------------------
"$CARGO" build --release -p pullsim -p pullsim-bench
BIN="$TARGET/release/pullsim-bench"
PULLSIM="$TARGET/release/pullsim"

# --- run, and clean up whatever happens ---------------------------------------------------
BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/pullsim-bench.XXXXXX")"
export BENCH_PIDS="$BENCH_TMP/pids"
mkdir -p "$BENCH_PIDS"
BENCH_PID=""

stop_pid() { # stop one process by its id: TERM, then KILL if it lingers
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -z $BENCH_PID ]] || stop_pid "$BENCH_PID"
    if [[ -d $BENCH_PIDS ]]; then
        for f in "$BENCH_PIDS"/*; do
            [[ -e $f ]] || continue
            stop_pid "$(basename "$f")"
        done
    fi
    rm -rf "$BENCH_TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$BIN" run --tmp "$BENCH_TMP" --pullsim "$PULLSIM" --out "$ROOT/bench" "$@" &
BENCH_PID=$!
wait "$BENCH_PID"
rc=$?
BENCH_PID=""
echo "bench: results in bench/results.md and bench/results.json"
exit "$rc"
