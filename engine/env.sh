# shellcheck shell=sh
# Source this file from the repository root:   . engine/env.sh
# It makes `pulumi` usable offline for this project:
#   - a real `pulumi` already on PATH is used as it is (nothing is built);
#     otherwise engine/build.sh builds (or reuses) .engine/<version>/bin with
#     the CLI and our Node.js language host, and that directory goes first
#     on PATH;
#   - our command provider 1.2.1 is installed into PULUMI_HOME (with
#     `pulumi plugin install --file`) whenever it is missing or was rebuilt,
#     so the engine never tries to download it;
#   - the variables below are exported (the PULUMI_* ones only when unset,
#     except the three offline switches, which are always on):
#       PULUMI_SKIP_UPDATE_CHECK=true
#       PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
#       PULUMI_DISABLE_REGISTRY_RESOLVE=true
#       PULUMI_HOME=<repo>/.pulumi-home                 (git-ignored)
#       PULUMI_BACKEND_URL=file://<repo>/.state         (git-ignored; set your
#                                                        own file://... to pick another)
#       PULUMI_CONFIG_PASSPHRASE=smtp-port-local        (unless it or
#                                                        PULUMI_CONFIG_PASSPHRASE_FILE is set)
#       SMTP_PORT_PULUMI=<path of the pulumi binary in use>
# The repository is found from SMTP_PORT_ROOT, else from the current
# directory (git top level, or the directory itself).
# Returns non-zero, without exiting the calling shell, when it fails.

_smtp_port_env() {
    _sp_root="${SMTP_PORT_ROOT:-}"
    if [ -z "$_sp_root" ]; then
        _sp_root="$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
    fi
    if [ ! -f "$_sp_root/engine/build.sh" ]; then
        printf 'engine/env.sh: %s is not the smtp-port repository (set SMTP_PORT_ROOT)\n' "$_sp_root" >&2
        return 1
    fi
    _sp_engine_dir="${SMTP_PORT_ENGINE_DIR:-$_sp_root/.engine}"

    export PULUMI_SKIP_UPDATE_CHECK=true
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    export PULUMI_DISABLE_REGISTRY_RESOLVE=true
    export PULUMI_HOME="${PULUMI_HOME:-$_sp_root/.pulumi-home}"
    if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
        mkdir -p "$_sp_root/.state" || return 1
        export PULUMI_BACKEND_URL="file://$_sp_root/.state"
    fi
    if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
        export PULUMI_CONFIG_PASSPHRASE=smtp-port-local
    fi
    mkdir -p "$PULUMI_HOME" || return 1

    # A real install wins, unless the pulumi found is our own build.
    _sp_found="$(command -v pulumi 2>/dev/null || true)"
    case "$_sp_found" in
        "$_sp_engine_dir"/*) _sp_found="" ;;
    esac
    if [ -n "$_sp_found" ]; then
        export SMTP_PORT_PULUMI="$_sp_found"
        _sp_plugin=""
        for _sp_f in "$_sp_engine_dir"/*/plugins/pulumi-resource-command; do
            if [ -x "$_sp_f" ]; then _sp_plugin="$_sp_f"; fi
        done
    else
        _sp_bin="$(sh "$_sp_root/engine/build.sh")" || {
            printf 'engine/env.sh: engine/build.sh failed\n' >&2
            return 1
        }
        case ":$PATH:" in
            *":$_sp_bin:"*) ;;
            *) PATH="$_sp_bin:$PATH"; export PATH ;;
        esac
        export SMTP_PORT_PULUMI="$_sp_bin/pulumi"
        _sp_plugin="$(dirname "$_sp_bin")/plugins/pulumi-resource-command"
    fi

    # The command provider 1.2.1, where the engine looks for it.
    _sp_installed="$PULUMI_HOME/plugins/resource-command-v1.2.1/pulumi-resource-command"
    if [ -n "$_sp_plugin" ] && [ -x "$_sp_plugin" ]; then
        if ! cmp -s "$_sp_plugin" "$_sp_installed"; then
            "$SMTP_PORT_PULUMI" plugin install resource command 1.2.1 --file "$_sp_plugin" --reinstall >&2 || {
                printf 'engine/env.sh: could not install %s into %s\n' "$_sp_plugin" "$PULUMI_HOME" >&2
                return 1
            }
        fi
    elif [ ! -x "$_sp_installed" ]; then
        printf 'engine/env.sh: warning: the command provider 1.2.1 is not installed in %s; ' "$PULUMI_HOME" >&2
        printf '%s\n' "run 'pulumi plugin install resource command 1.2.1' (needs network) or sh engine/build.sh" >&2
    fi
    return 0
}

_smtp_port_env
_sp_status=$?
unset _sp_root _sp_engine_dir _sp_found _sp_bin _sp_plugin _sp_installed _sp_f
unset -f _smtp_port_env
# shellcheck disable=SC2317 # return works when sourced; exit is the fallback
return "$_sp_status" 2>/dev/null || exit "$_sp_status"
