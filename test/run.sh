#!/bin/sh
# The test command (`npm test`): type check, then every mocha suite in one
# run so that CI reads one closing line with the totals.
#
#   npm test                      everything that can run here
#   SMTP_PORT_E2E=0 npm test      skip the lab and engine tests (they are
#                                 then counted as skipped, and CI refuses that)
set -eu

# say, err and cd_root, shared with the other runner; PROG is their prefix.
# shellcheck disable=SC2034
PROG='test'
# shellcheck source-path=SCRIPTDIR source=support/runner.sh
. "$(dirname -- "$0")/support/runner.sh"

main() {
    cd_root ..
    # Debian packages the host-script tests and the lab use (only what is missing).
    sh lab/lab.sh install || err "could not install the Debian packages the tests need (run as root)"
    # ansible-core, where the benchmark keeps it: the inventory tests
    # (test/unit/inventory.test.ts) compare with ansible-inventory.
    if [ ! -x bench/.venv/bin/ansible-inventory ] && ! command -v ansible-inventory >/dev/null 2>&1; then
        say "installing ansible-core ${ANSIBLE_CORE_VERSION:-2.19.14} into bench/.venv"
        { python3 -m venv bench/.venv && bench/.venv/bin/pip install -q "ansible-core==${ANSIBLE_CORE_VERSION:-2.19.14}"; } ||
            err "could not install ansible-core (the inventory tests compare with ansible-inventory)"
    fi
    if [ ! -d node_modules ]; then
        say "installing npm packages (npm ci)"
        npm ci --no-audit --no-fund || err "npm ci failed"
    fi
    if command -v go >/dev/null 2>&1; then
        say "engine plugins: go test"
        for m in engine/langhost engine/provider; do
            (cd "$m" && go test -count=1 ./...) || err "go test failed in $m"
        done
    fi
    say "type check"
    node_modules/.bin/tsc -p tsconfig.check.json || err "type check failed"
    # tsc has checked the types; ts-node only needs to strip them.
    TS_NODE_TRANSPILE_ONLY=true
    export TS_NODE_TRANSPILE_ONLY
    set -- 'test/unit/**/*.test.ts' 'test/host/**/*.test.ts' 'test/listener/**/*.test.ts' 'test/ssh/**/*.test.ts'
    if [ "${SMTP_PORT_E2E:-1}" != 0 ]; then
        set -- "$@" 'test/e2e/**/*.test.ts'
    fi
    rc=0
    node_modules/.bin/mocha --reporter test/support/reporter.js "$@" || rc=$?
    # The reporter's totals can say 0 failed while the process still fails:
    # Pulumi's runtime sets exit code 1 at exit when a program left promises
    # pending (its report is printed just above).
    [ "$rc" -eq 0 ] || err "mocha exited with status $rc (see the lines above the totals and below them)"
}

main "$@"
