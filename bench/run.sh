#!/bin/sh
# npm run bench: smtp-port against Ansible, pyinfra and a plain-ssh floor on
# lab 1 (SMTP_PORT_LAB_ID=1, bridge smtplab1, 198.18.1.0/24), beside the
# tests' lab 0. Installs ansible-core and pyinfra into bench/.venv when
# missing, sets up the offline Pulumi engine, then runs bench/bench.js.
#
# Knobs (environment):
#   BENCH_SIZES=30,100    fleet sizes          BENCH_ROUNDS=3   rounds per size
#   BENCH_TOOLS=floor,ansible,pyinfra,pulumi   BENCH_PHASES=change,noop,revert
#   BENCH_IANA_RUNS=30    host-script runs on the IANA-size file (0: skip)
#   BENCH_DESTROY=0       skip timing `pulumi destroy`
#   BENCH_EMPTY_RUNS=3    runs of the engine's floor (an empty program's
#                         `pulumi up`) and of `pulumi preview` with and
#                         without looks, per size (0: skip; BENCH_PHASES=none
#                         with BENCH_TOOLS=pulumi: only these)
#   BENCH_PULUMI_ARGS     extra `pulumi up` flags (e.g. "--skip-preview")
#   BENCH_SSH_AUTH=key    how smtp-port logs in: key (smtp-port:privateKey)
#                         or agent (the key in an ssh-agent, none in the stack)
#   BENCH_OUT_DIR         where results go (default bench/results)
#   BENCH_REF=HEAD        the commit of smtp-port that is measured: it is
#                         exported (git archive) to bench/out/snap, so that
#                         uncommitted work in the tree does not leak in
# Quick run: BENCH_SIZES=3 BENCH_ROUNDS=1 BENCH_IANA_RUNS=5 npm run bench
# `sh bench/run.sh analyze`: where `pulumi up` spends its time without hosts
# (bench/analyze.js; preview only, safe beside a running benchmark);
# `sh bench/run.sh analyze up`: no-op and change with one setting changed at
# a time, on the stack and lab the last benchmark size left (not beside it).
set -eu

say() { printf 'bench: %s\n' "$*" >&2; }
err() { say "error: $*"; exit 1; }

ANSIBLE_CORE_VERSION=${ANSIBLE_CORE_VERSION:-2.19.14}
PYINFRA_VERSION=${PYINFRA_VERSION:-3.10.0}

ensure_venv() {
    venv=$1
    if [ -x "$venv/bin/ansible-playbook" ] && [ -x "$venv/bin/pyinfra" ]; then
        return 0
    fi
    say "installing ansible-core $ANSIBLE_CORE_VERSION and pyinfra $PYINFRA_VERSION into $venv"
    python3 -m venv "$venv" || err "python3 -m venv failed"
    "$venv/bin/pip" install -q "ansible-core==$ANSIBLE_CORE_VERSION" "pyinfra==$PYINFRA_VERSION" >&2 ||
        err "pip install failed"
}

# snapshot ROOT REF: export REF to ROOT/bench/out/snap (with the project's
# node_modules linked in) and say which commit it is.
snapshot() {
    snap=$1/bench/out/snap
    commit=$(git -C "$1" rev-parse --short "$2") || err "no commit $2"
    rm -rf "$snap"
    mkdir -p "$snap"
    git -C "$1" archive --format=tar "$commit" | tar -x -C "$snap" || err "git archive $commit failed"
    ln -s "$1/node_modules" "$snap/node_modules"
    BENCH_SNAPSHOT=$snap
    BENCH_SNAPSHOT_COMMIT=$commit
    export BENCH_SNAPSHOT BENCH_SNAPSHOT_COMMIT
    say "measuring smtp-port at $commit (snapshot in $snap)"
}

main() {
    root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
    cd "$root"
    [ "$(id -u)" = 0 ] || err "the lab needs root (network namespaces, mounts)"
    SMTP_PORT_LAB_ID=1
    export SMTP_PORT_LAB_ID
    sh lab/lab.sh install
    [ -d node_modules ] || npm ci --no-audit --no-fund
    ensure_venv "$root/bench/.venv"
    if [ "${1:-}" != analyze ]; then
        # A fresh stack per run: one left at another fleet size would try to
        # delete (revert) hosts the lab no longer has.
        rm -rf "$root/bench/out/state" "$root/bench/out/Pulumi.bench.yaml"
    fi
    mkdir -p "$root/bench/out/state"
    if [ "${1:-}" = analyze ] && [ -d "$root/bench/out/snap" ]; then
        # Beside a running benchmark: reuse its snapshot, never replace it.
        BENCH_SNAPSHOT=$root/bench/out/snap
        export BENCH_SNAPSHOT
    else
        snapshot "$root" "${BENCH_REF:-HEAD}"
    fi
    SMTP_PORT_ROOT=$root
    PULUMI_BACKEND_URL="file://$root/bench/out/state"
    PULUMI_CONFIG_PASSPHRASE=bench
    export SMTP_PORT_ROOT PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE
    # shellcheck source=/dev/null
    . engine/env.sh || err "could not set up the Pulumi engine"
    BENCH_PULUMI_ENV=$(node -e 'process.stdout.write(JSON.stringify({ ...process.env, PULUMI_SKIP_CONFIRMATIONS: "true", NO_COLOR: "1" }))')
    export BENCH_PULUMI_ENV
    if [ "${1:-}" = analyze ]; then
        shift
        exec node bench/analyze.js "$@"
    fi
    exec node bench/bench.js "$@"
}

main "$@"
