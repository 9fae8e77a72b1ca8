#!/bin/sh
# npm run demo: bring up a lab of N Postfix hosts (default 3), then let the
# real Pulumi engine move their SMTP listener from 25 to 17 (or $1):
# `pulumi preview --diff`, `pulumi up`, and what each host reported.
# `npm run demo -- destroy` puts the hosts back; `sh lab/lab.sh down` removes the lab.
set -eu

STACK=lab

say() { printf '\n== %s\n' "$*" >&2; }
err() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

main() {
    root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P)
    cd "$root"
    [ "$(id -u)" = 0 ] || err "the lab needs root (network namespaces, mounts)"
    action="${1:-up}"
    port="${SMTP_PORT_DEMO_PORT:-17}"
    hosts="${SMTP_PORT_DEMO_HOSTS:-3}"

    say "installing what the lab needs (Debian packages, npm packages)"
    sh lab/lab.sh install
    [ -d node_modules ] || npm ci --no-audit --no-fund

    say "the Pulumi engine (built once from Go modules if pulumi is not on PATH)"
    SMTP_PORT_ROOT="$root"
    export SMTP_PORT_ROOT
    # shellcheck source=/dev/null
    . engine/env.sh || err "could not set up the Pulumi engine"

    if [ "$action" = destroy ]; then
        say "pulumi destroy: every services file back, Postfix back on 25"
        pulumi destroy --yes --stack "$STACK"
        exit 0
    fi

    say "lab: $hosts mail hosts"
    sh lab/lab.sh up "$hosts"

    pulumi stack select "$STACK" 2>/dev/null || pulumi stack init "$STACK"
    node lab/stack-config.js "$STACK" "$port" >/dev/null
    lab_dir=$(sh lab/lab.sh dir)
    pulumi config set --secret smtp-port:privateKey --stack "$STACK" < "$lab_dir/ssh/id_ed25519"

    say "pulumi preview --diff"
    pulumi preview --diff --stack "$STACK"

    say "pulumi up"
    pulumi up --yes --stack "$STACK"

    say "what each host reported"
    pulumi stack output summary --stack "$STACK"
    for h in $(node -e 'for (const h of require(process.argv[1]).hosts) console.log(h.name)' "$lab_dir/hosts.json"); do
        printf '%s: getent says "%s"\n' "$h" "$(sh lab/lab.sh exec "$h" -- getent services smtp/tcp | tr -s ' ')"
    done
    say "done: 'npm run demo -- destroy' puts the hosts back, 'sh lab/lab.sh down' removes the lab"
}

main "$@"
