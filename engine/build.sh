#!/bin/sh
# Builds the Pulumi engine pieces this project runs with, into
# .engine/<version>/:
#   bin/pulumi                  the Pulumi CLI, from the Go module proxy
#                               (github.com/pulumi/pulumi/pkg/v3, pinned)
#   bin/pulumi-language-nodejs  our Node.js language host (engine/langhost)
#   plugins/pulumi-resource-command
#                               our command provider 1.2.1 (engine/provider);
#                               kept off PATH, installed into PULUMI_HOME by
#                               engine/env.sh
# A finished CLI build is reused. Each plugin is rebuilt when the hash of its
# source (Go files, go.mod, go.sum, Go version, link flags) changes. Go's
# module and build caches are kept, so rebuilds take seconds.
#
# Usage: sh engine/build.sh        prints the bin directory on stdout
# Env:   SMTP_PORT_ENGINE_DIR      where to build (default <repo>/.engine)
set -eu

PULUMI_VERSION="v3.248.0"
# Version the command provider reports: what @pulumi/command 1.2.1 requests.
COMMAND_VERSION="1.2.1"

say() { printf 'engine: %s\n' "$*" >&2; }
err() { printf 'engine: error: %s\n' "$*" >&2; exit 1; }

root_dir() { cd "$(dirname "$0")/.." && pwd; }

# build_cli: the CLI, from a small wrapper module (pkg/go.mod has replace
# lines, so `go install pkg@version` refuses it).
build_cli() {
    out="$BIN/pulumi"
    if [ -x "$out" ]; then
        say "pulumi: already built ($out)"
        return 0
    fi
    dir="$WORK/cli"
    mkdir -p "$dir"
    cat > "$dir/go.mod" <<EOF
module smtpport/engine/cli

go 1.24

require github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
EOF
    # A blank import keeps `go mod tidy` from dropping the requirement.
    printf 'package tools\n\nimport _ "%s"\n' "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi" > "$dir/tools.go"
    say "pulumi: resolving modules"
    (cd "$dir" && GOFLAGS=-mod=mod go mod tidy) || err "pulumi: go mod tidy failed"
    say "pulumi: building (several minutes on a cold cache)"
    (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -buildvcs=false -trimpath \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
        -o "$out.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) \
        || err "pulumi: go build failed"
    mv "$out.tmp" "$out"
    say "pulumi: built $out"
}

# source_hash DIR LDFLAGS: a digest of what the binary is built from.
source_hash() {
    {
        (cd "$1" && find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) \
            | LC_ALL=C sort | while IFS= read -r f; do sha256sum "$f"; done)
        go version
        printf '%s\n' "$2"
    } | sha256sum | cut -c1-32
}

# file_hash FILE: the binary's own digest, to know it is the one we built.
file_hash() { sha256sum "$1" | cut -c1-64; }

# may_replace NAME OUT: refuse to overwrite a plugin this script did not
# build (one put there by hand, such as Pulumi's own build for a check), or
# one another checkout built from other sources into a shared
# SMTP_PORT_ENGINE_DIR: replacing either mid-run would make another test run
# use a binary it did not ask for.
may_replace() {
    name="$1" out="$2"
    [ -e "$out" ] || return 0
    if [ -f "$STAMPS/$name.bin-sha256" ]; then
        [ "$(cat "$STAMPS/$name.bin-sha256")" = "$(file_hash "$out")" ] \
            || err "$name: $out is not the binary engine/build.sh built there; remove it to build ours, or set SMTP_PORT_ENGINE_DIR to another folder"
    elif [ ! -f "$STAMPS/$name.src-sha256" ]; then
        # (A source stamp alone: built before binaries were stamped.)
        err "$name: $out was not built by engine/build.sh; remove it to build ours, or set SMTP_PORT_ENGINE_DIR to another folder"
    fi
    by="$(cat "$STAMPS/$name.built-by" 2>/dev/null || true)"
    [ -z "$by" ] || [ "$by" = "$ROOT" ] \
        || err "$name: $out was built from $by, whose sources differ from $ROOT's; give this checkout its own SMTP_PORT_ENGINE_DIR"
}

# build_plugin NAME SOURCE_DIR OUT LDFLAGS: build a plugin from our source
# (its own module; go.sum is committed, so the build is -mod=readonly).
build_plugin() {
    name="$1" src="$2" out="$3" ldflags="$4"
    [ -f "$src/go.mod" ] || err "$name: no go.mod in $src"
    hash="$(source_hash "$src" "$ldflags")"
    stamp="$STAMPS/$name.src-sha256"
    if [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
        say "$name: up to date ($out)"
        return 0
    fi
    may_replace "$name" "$out"
    mkdir -p "$(dirname "$out")"
    say "$name: building from $src"
    (cd "$src" && CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath \
        -ldflags "$ldflags" -o "$out.tmp" .) || err "$name: go build failed"
    mv "$out.tmp" "$out"
    printf '%s\n' "$hash" > "$stamp"
    file_hash "$out" > "$STAMPS/$name.bin-sha256"
    printf '%s\n' "$ROOT" > "$STAMPS/$name.built-by"
    say "$name: built $out"
}

main() {
    ROOT="$(root_dir)"
    ENGINE_DIR="${SMTP_PORT_ENGINE_DIR:-$ROOT/.engine}"
    BIN="$ENGINE_DIR/$PULUMI_VERSION/bin"
    PLUGINS="$ENGINE_DIR/$PULUMI_VERSION/plugins"
    WORK="$ENGINE_DIR/$PULUMI_VERSION/src"
    STAMPS="$ENGINE_DIR/$PULUMI_VERSION/stamps"
    mkdir -p "$BIN" "$PLUGINS" "$WORK" "$STAMPS"
    command -v go >/dev/null 2>&1 || err "go is not on PATH"

    build_cli
    build_plugin pulumi-language-nodejs "$ROOT/engine/langhost" "$BIN/pulumi-language-nodejs" \
        "-s -w -X main.version=${PULUMI_VERSION#v}"
    build_plugin pulumi-resource-command "$ROOT/engine/provider" "$PLUGINS/pulumi-resource-command" \
        "-s -w -X main.version=$COMMAND_VERSION"

    printf '%s\n' "$BIN"
}

main "$@"
