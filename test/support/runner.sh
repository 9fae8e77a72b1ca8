# The prelude of the POSIX sh test runners (test/run.sh, test/mutation/run.sh),
# sourced by them after `set -eu`, with PROG set to the word their messages
# start with. Sourced, not run: it has no #! line and changes nothing itself.
# shellcheck shell=sh

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
err() { say "error: $*"; exit 1; }

# cd_root UP: into the repository's root, which is UP (.. or ../..) from the
# folder of the runner ($0), wherever it was started from; sets root.
cd_root() {
    root=$(CDPATH='' cd -- "$(dirname -- "$0")/$1" && pwd -P)
    cd "$root" || exit
}
