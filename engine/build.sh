#!/bin/sh
# Builds the Pulumi CLI, the Node.js language host and the command provider
# from Go modules (the Go module proxy is the only source of them here), into
# .engine/<version>/bin. A finished build is reused; Go's module and build
# caches are kept, so a rebuild after a cache hit takes seconds.
set -eu

PULUMI_VERSION="v3.248.0"
# pulumi-language-nodejs has no release tags: the pseudo-version of the
# v3.248.0 commit.
LANGHOST_VERSION="v3.0.0-20260624180030-dc7edd58bc13"
# pulumi-command v1.2.1 (what @pulumi/command 1.2.1 expects).
COMMAND_VERSION="v1.2.1"
COMMAND_PSEUDO="v0.0.0-20260303235922-7f3eb6f3b77c"

say() { printf 'engine: %s\n' "$*" >&2; }
err() { printf 'engine: error: %s\n' "$*" >&2; exit 1; }

root_dir() { cd "$(dirname "$0")/.." && pwd; }

# build_one NAME MODULE_DIR GO_MOD_BODY PACKAGE LDFLAGS
build_one() {
    name="$1" dir="$2" gomod="$3" pkg="$4" ldflags="$5"
    out="$BIN/$name"
    if [ -x "$out" ]; then
        say "$name: already built ($out)"
        return 0
    fi
    mkdir -p "$dir"
    printf '%s\n' "$gomod" > "$dir/go.mod"
    # A blank import keeps `go mod tidy` from dropping the requirement.
    printf 'package tools\n\nimport _ "%s"\n' "$pkg" > "$dir/tools.go"
    say "$name: resolving modules"
    (cd "$dir" && GOFLAGS=-mod=mod go mod tidy) || err "$name: go mod tidy failed for $pkg"
    say "$name: building"
    (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg") \
        || err "$name: go build failed for $pkg"
    mv "$out.tmp" "$out"
    say "$name: built $out"
}

main() {
    ROOT="$(root_dir)"
    ENGINE_DIR="${SMTP_PORT_ENGINE_DIR:-$ROOT/.engine}"
    BIN="$ENGINE_DIR/$PULUMI_VERSION/bin"
    WORK="$ENGINE_DIR/$PULUMI_VERSION/src"
    mkdir -p "$BIN" "$WORK"
    command -v go >/dev/null 2>&1 || err "go is not on PATH"

    build_one pulumi "$WORK/cli" "module smtpport/engine/cli

go 1.24

require github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
        "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

    build_one pulumi-language-nodejs "$WORK/langhost" "module smtpport/engine/langhost

go 1.24

require github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 $LANGHOST_VERSION" \
        github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 \
        "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

    build_one pulumi-resource-command "$WORK/command" "module smtpport/engine/command

go 1.24

require github.com/pulumi/pulumi-command/provider $COMMAND_PSEUDO" \
        github.com/pulumi/pulumi-command/provider/cmd/pulumi-resource-command \
        "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_VERSION"

    printf '%s\n' "$BIN"
}

main "$@"
