#!/bin/sh
# npm run mutation [-- all|stryker|host|report]: mutation testing of the
# components (StrykerJS against the unit and listener layers) and of the host
# script (test/mutation/host-mutants.js against the host-script layer under
# dash), then the summary in test/mutation/summary.md. Not part of npm test:
# it runs the test layers once per mutant. See docs/mutation.md.
set -eu

# say, err and cd_root, shared with the other runner; PROG is their prefix.
# shellcheck disable=SC2034
PROG='mutation'
# shellcheck source-path=SCRIPTDIR source=../support/runner.sh
. "$(dirname -- "$0")/../support/runner.sh"

main() {
    cd_root ../..
    what="${1:-all}"
    case "$what" in
        all | stryker | host | report) ;;
        *) err "unknown part '$what' (all, stryker, host or report)" ;;
    esac
    [ -x node_modules/.bin/stryker ] || err "node_modules/.bin/stryker is missing: run npm ci"
    mkdir -p test/mutation/out
    # As npm test runs them: tsc checks the types, ts-node only strips them.
    TS_NODE_TRANSPILE_ONLY=true
    export TS_NODE_TRANSPILE_ONLY
    if [ "$what" = all ] || [ "$what" = stryker ]; then
        say "StrykerJS: components/**/*.ts and components/listener/*.js against test/unit and test/listener"
        t0=$(date +%s)
        node_modules/.bin/stryker run stryker.config.json || err "StrykerJS failed (see its output above)"
        echo $(($(date +%s) - t0)) > test/mutation/out/stryker.seconds
    fi
    if [ "$what" = all ] || [ "$what" = host ]; then
        say "host script: components/host/smtp-port.sh against test/host under dash"
        node test/mutation/host-mutants.js || err "the host-script mutation run failed"
    fi
    node test/mutation/report.js
}

main "$@"
