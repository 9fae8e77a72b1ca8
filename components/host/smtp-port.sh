#!/bin/sh
# smtp-port.sh - move a service (smtp by default) to another port in a
# services file, safely and idempotently, and put it back again.
#
#   sh smtp-port.sh apply  --port 17 [--file /etc/services] [--service smtp]
#                          [--protocol tcp] [--aliases mail]
#                          [--conflicts comment|fail] [--restart CMD]
#                          [--state-dir /var/lib/smtp-port]
#   sh smtp-port.sh revert [--file /etc/services] [--restart CMD] [--state-dir ...]
#   sh smtp-port.sh status [--file /etc/services] [--port N] [--service smtp]
#                          [--protocol tcp] [--state-dir ...]
#
# Every command prints exactly one JSON line on stdout. Errors go to stderr
# and exit non-zero, leaving the services file as it was.
#
# Model: the file the user owns (the "base") plus our edits gives the managed
# file. Our edits are a pure function of the base and the parameters, so a
# re-apply recomputes them from the base and changes nothing when nothing
# differs. The base is kept as a backup in the state directory; when somebody
# edits the managed file after us, the base is recomputed from it by undoing
# only our own edits, so their change survives a later revert.
#
# Writes go through a small journal (txn/) so that a run killed at any point
# is repaired by the next run, and the file is replaced by rename where
# possible, or rewritten in place where rename is refused (a bind-mounted
# /etc/services answers EBUSY, as in containers and `ip netns exec`).
set -eu
# No globbing: option values are data, never patterns.
set -f

PROG="smtp-port"

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
err() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

usage() {
    cat >&2 <<'USAGE'
usage: smtp-port.sh apply  --port N [--file PATH] [--service NAME] [--protocol tcp|udp]
                           [--aliases "A B"] [--conflicts comment|fail] [--restart CMD]
                           [--state-dir DIR]
       smtp-port.sh revert [--file PATH] [--restart CMD] [--state-dir DIR]
       smtp-port.sh status [--file PATH] [--port N] [--service NAME] [--protocol tcp|udp]
                           [--state-dir DIR]
USAGE
}

# --- argument checks --------------------------------------------------------

is_port() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
    esac
    [ "${#1}" -le 5 ] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}

# Names end up in a file that other programs parse: keep to the characters
# services(5) entries use in practice.
is_name() {
    case "$1" in
        '' | *[!A-Za-z0-9._+-]*) return 1 ;;
    esac
    return 0
}

check_args() {
    case "$ACTION" in
        apply)
            [ -n "$PORT" ] || err "[port] is required for apply"
            ;;
    esac
    if [ -n "$PORT" ] && ! is_port "$PORT"; then
        err "[port] must be an integer from 1 to 65535, got '$PORT'"
    fi
    # Drop leading zeros so that 017 and 17 are one port.
    [ -z "$PORT" ] || PORT=$((PORT + 0))
    is_name "$SERVICE" || err "[service] must be a plain name (letters, digits, . _ + -), got '$SERVICE'"
    case "$PROTOCOL" in
        tcp | udp) ;;
        *) err "[protocol] must be tcp or udp, got '$PROTOCOL'" ;;
    esac
    for a in $ALIASES; do
        is_name "$a" || err "[aliases] must be plain names (letters, digits, . _ + -), got '$a'"
    done
    ALIASES=$(printf '%s\n' "$ALIASES" | awk '{ $1 = $1; print }')
    case "$CONFLICTS" in
        comment | fail) ;;
        *) err "[conflicts] must be comment or fail, got '$CONFLICTS'" ;;
    esac
    case "$FILE" in
        /*) ;;
        *) err "[file] must be an absolute path, got '$FILE'" ;;
    esac
    case "$STATE_ROOT" in
        /*) ;;
        *) err "[state-dir] must be an absolute path, got '$STATE_ROOT'" ;;
    esac
}

check_file() {
    [ -e "$FILE" ] || err "$FILE does not exist (is this the services file? see --file)"
    [ -f "$FILE" ] || err "$FILE is not a regular file"
    [ -r "$FILE" ] || err "cannot read $FILE: permission denied (run as root or enable sudo for this host)"
}

check_writable() {
    [ -w "$FILE" ] || err "cannot write $FILE: permission denied (run as root or enable sudo for this host)"
    mkdir -p "$STATE_ROOT" 2>/dev/null || err "cannot create state directory $STATE_ROOT (run as root or enable sudo for this host)"
    [ -w "$STATE_ROOT" ] || err "cannot write state directory $STATE_ROOT: permission denied (run as root or enable sudo for this host)"
}

# --- small file helpers -------------------------------------------------------

# A checksum of a file, tagged with the tool (busybox may lack cksum).
SUM_TOOL=""
sum_of() {
    if [ -z "$SUM_TOOL" ]; then
        for t in sha256sum cksum md5sum; do
            if command -v "$t" >/dev/null 2>&1; then SUM_TOOL="$t" && break; fi
        done
        [ -n "$SUM_TOOL" ] || err "no checksum tool on this host (sha256sum, cksum or md5sum)"
    fi
    s=$("$SUM_TOOL" < "$1") || err "cannot checksum $1"
    printf '%s:%s\n' "$SUM_TOOL" "$(printf '%s' "$s" | tr -s ' \t' '--' | sed 's/-*$//')"
}

# 1 if the file ends in a newline (or is empty), 0 if its last line is bare.
final_newline() {
    if [ ! -s "$1" ]; then
        echo 1
    elif [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; then
        echo 1
    else
        echo 0
    fi
}

flush() { sync "$1" 2>/dev/null || sync; }

# Write $1 into $2 atomically; both in the same directory.
put_state() {
    cat "$1" > "$2.tmp"
    flush "$2.tmp"
    mv -f "$2.tmp" "$2"
}

# --- lock --------------------------------------------------------------------

LOCK=""
lock() {
    LOCK="$STATE_DIR.lock"
    tries=0
    until mkdir "$LOCK" 2>/dev/null; do
        holder=$(cat "$LOCK/pid" 2>/dev/null || true)
        if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
            say "removing stale lock of process $holder"
            rm -rf "$LOCK"
            continue
        fi
        tries=$((tries + 1))
        [ "$tries" -le 60 ] || { LOCK=""; err "$FILE is locked by process ${holder:-?} ($STATE_DIR.lock); another smtp-port run is in progress"; }
        sleep 1
    done
    echo "$$" > "$LOCK/pid"
}

unlock() {
    [ -z "$LOCK" ] || rm -rf "$LOCK"
    LOCK=""
}

WORK=""
cleanup() {
    [ -z "$WORK" ] || rm -rf "$WORK"
    [ -z "${REPLACE_TMP:-}" ] || rm -f "$REPLACE_TMP"
    unlock
}

# --- journal -----------------------------------------------------------------
# txn/ holds the next state (orig, edits, written) and prev, a copy of the
# file before replacement. It counts only once txn/ready exists, which is
# written before the file is touched.

commit_txn() {
    txn="$STATE_DIR/txn"
    if [ -f "$txn/clear" ]; then
        # Nothing of ours is left in the file: forget it entirely.
        rm -rf "$STATE_DIR"
        return 0
    fi
    for f in orig edits written; do
        [ ! -f "$txn/$f" ] || mv -f "$txn/$f" "$STATE_DIR/$f"
    done
    rm -rf "$txn"
    if [ ! -f "$STATE_DIR/written" ]; then
        rm -rf "$STATE_DIR"
    fi
}

recover() {
    txn="$STATE_DIR/txn"
    [ -d "$txn" ] || return 0
    if [ ! -f "$txn/ready" ]; then
        rm -rf "$txn"
        return 0
    fi
    now=$(sum_of "$FILE")
    if [ "$now" = "$(cat "$txn/written")" ]; then
        say "completing an interrupted change of $FILE"
        commit_txn
    elif cmp -s "$txn/prev" "$FILE"; then
        rm -rf "$txn"
    else
        say "restoring $FILE after an interrupted write"
        replace_file "$txn/prev" || err "could not restore $FILE from $txn/prev; restore it by hand"
        rm -rf "$txn"
    fi
}

# --- replacing the file ------------------------------------------------------

REPLACE_TMP=""
# replace_file NEW: make $FILE hold the bytes of NEW, keeping owner and mode.
replace_file() {
    dir=$(dirname "$FILE")
    base=$(basename "$FILE")
    REPLACE_TMP="$dir/.$base.smtp-port.$$"
    if cp -p "$FILE" "$REPLACE_TMP" 2>/dev/null && cat "$1" > "$REPLACE_TMP" && flush "$REPLACE_TMP" \
        && mv -f "$REPLACE_TMP" "$FILE" 2>/dev/null; then
        REPLACE_TMP=""
        return 0
    fi
    rm -f "$REPLACE_TMP"
    REPLACE_TMP=""
    # Rename refused (bind mount: EBUSY) or the directory is not writable:
    # rewrite in place. The journal's prev copy undoes a torn write.
    cat "$1" > "$FILE" || return 1
    flush "$FILE"
    cmp -s "$1" "$FILE"
}

# --- the edits ----------------------------------------------------------------

# plan BASE NEW EDITS: compute the managed file from BASE. Exit 3 when
# conflicts are refused, 4 when a target line cannot be parsed.
plan() {
    awk -v svc="$SERVICE" -v port="$PORT" -v proto="$PROTOCOL" -v aliases="$ALIASES" \
        -v conflicts="$CONFLICTS" -v final_nl="$(final_newline "$1")" -v edits="$3" -v file="$FILE" '
    function fields(s, a,    b) { b = s; sub(/#.*/, "", b); return split(b, a) }
    {
        raw = $0; cr = ""
        if (raw ~ /\r$/) { cr = "\r"; raw = substr(raw, 1, length(raw) - 1) }
        L[NR] = raw; CR[NR] = cr
    }
    END {
        n = NR; keeper = 0; tmpl = 0; anchor = 0; bad = 0; refused = 0
        for (i = 1; i <= n; i++) {
            nf = fields(L[i], f)
            if (nf == 0) continue
            hit = 0
            for (j = 1; j <= nf; j++) if (f[j] == svc) hit = 1
            if (nf < 2 || f[2] !~ /^[0-9]+\/[A-Za-z0-9_-]+$/) {
                if (hit) { printf "line %d: cannot parse \"%s\"\n", i, L[i] > "/dev/stderr"; bad = 1 }
                continue
            }
            split(f[2], pp, "/")
            if (pp[2] != proto) continue
            isvc = (f[1] == svc); for (j = 3; j <= nf; j++) if (f[j] == svc) isvc = 1
            onport = (pp[1] + 0 == port + 0)
            if (!keeper && f[1] == svc && onport) { keeper = i; continue }
            if (isvc) {
                C[i] = 1
                if (!tmpl && f[1] == svc) { tmpl = i; tport = f[2]; tnf = nf; for (j = 3; j <= nf; j++) ta[j] = f[j] }
                if (!anchor) anchor = i
            } else if (onport) {
                if (conflicts == "fail") {
                    printf "line %d: port %s/%s is taken by \"%s\" (conflicts: fail)\n", i, port, proto, L[i] > "/dev/stderr"
                    refused = 1
                }
                C[i] = 1
                if (!anchor) anchor = i
            }
        }
        if (bad) exit 4
        if (refused) exit 3
        add = ""
        if (!keeper) {
            if (tmpl) {
                have = ""; for (j = 3; j <= tnf; j++) have = have (j > 3 ? " " : "") ta[j]
                if (have == aliases) {
                    k = index(L[tmpl], tport)
                    add = substr(L[tmpl], 1, k - 1) port "/" proto substr(L[tmpl], k + length(tport))
                }
            }
            if (add == "") add = svc "\t\t" port "/" proto (aliases == "" ? "" : "\t\t" aliases)
            at = tmpl ? tmpl : (anchor ? anchor : n)
        }
        m = 0
        if (!keeper && at == 0) { m++; O[m] = add; OC[m] = ""; printf "I\t%s\n", add > edits }
        for (i = 1; i <= n; i++) {
            m++
            if (i in C) { O[m] = "#" L[i]; printf "C\t%s\n", L[i] > edits } else O[m] = L[i]
            OC[m] = CR[i]
            if (!keeper && i == at) { m++; O[m] = add; OC[m] = CR[i]; printf "I\t%s\n", add > edits }
        }
        for (i = 1; i <= m; i++) printf "%s%s%s", O[i], OC[i], (i < m || final_nl) ? "\n" : ""
    }' "$1" > "$2"
}

# unmanage CURRENT EDITS BASE: undo our edits line by line (used when the
# file changed since we wrote it, so that the other change is kept).
unmanage() {
    awk -v final_nl="$(final_newline "$1")" '
    FNR == NR {
        t = substr($0, 1, 1); s = substr($0, 3)
        if (t == "I") ins[s]++; else if (t == "C") com[s]++
        next
    }
    {
        raw = $0; cr = ""
        if (raw ~ /\r$/) { cr = "\r"; raw = substr(raw, 1, length(raw) - 1) }
        if (ins[raw] > 0) { ins[raw]--; next }
        if (substr(raw, 1, 1) == "#" && com[substr(raw, 2)] > 0) { com[substr(raw, 2)]--; raw = substr(raw, 2) }
        m++; O[m] = raw; OC[m] = cr
    }
    END { for (i = 1; i <= m; i++) printf "%s%s%s", O[i], OC[i], (i < m || final_nl) ? "\n" : "" }
    ' "$2" "$1" > "$3"
}

# The base as the user owns it: our backup if the file is exactly what we
# wrote, otherwise the current file with our edits undone.
compute_base() {
    if [ -f "$STATE_DIR/written" ] && [ "$(sum_of "$1")" = "$(cat "$STATE_DIR/written")" ] && [ -f "$STATE_DIR/orig" ]; then
        cp "$STATE_DIR/orig" "$2"
        BASE_FROM=backup
    elif [ -f "$STATE_DIR/edits" ]; then
        unmanage "$1" "$STATE_DIR/edits" "$2"
        BASE_FROM=merge
        say "$FILE changed since smtp-port last wrote it; keeping those changes"
    else
        cp "$1" "$2"
        BASE_FROM="file"
    fi
}

# --- JSON ----------------------------------------------------------------------

# lookup FILE: "PORT NAME" of the first active entry the resolver would use
# for --service and for --port (each "-" when absent).
lookup() {
    awk -v svc="$SERVICE" -v port="${PORT:-0}" -v proto="$PROTOCOL" '
    { sub(/\r$/, ""); sub(/#.*/, ""); if (NF < 2 || $2 !~ /^[0-9]+\//) next
      split($2, pp, "/"); if (pp[2] != proto) next
      if (sp == "") for (j = 1; j <= NF; j++) if (j != 2 && $j == svc) { sp = pp[1] + 0; break }
      if (pn == "" && pp[1] + 0 == port + 0) pn = $1 }
    END { printf "%s %s\n", (sp == "" ? "-" : sp), (pn == "" ? "-" : pn) }' "$1"
}

json_str() {
    printf '%s' "$1" | awk 'BEGIN { ORS = "" }
    { if (NR > 1) print "\\n"
      gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r"); print }'
}

json_edits() {
    if [ -f "$1" ]; then
        awk -v want="$2" 'BEGIN { ORS = "" }
        substr($0, 1, 1) == want { s = substr($0, 3)
          gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s)
          printf "%s\"%s\"", (n++ ? "," : ""), s }' "$1"
    fi
}

num_or_null() {
    case "$1" in
        '' | -) printf 'null' ;;
        *) printf '%s' "$1" ;;
    esac
}

# --- commands -----------------------------------------------------------------

restart_if() {
    RESTARTED=false
    [ "$1" = true ] && [ -n "$RESTART" ] || return 0
    say "restarting the mail service: $RESTART"
    if ! sh -c "$RESTART" >&2; then
        err "the restart command failed after $FILE was changed; the file keeps the change (run 'revert' to undo)"
    fi
    RESTARTED=true
}

do_apply() {
    check_file
    check_writable
    mkdir -p "$STATE_DIR"
    lock
    recover
    WORK=$(mktemp -d "$STATE_DIR.work.XXXXXX")
    cp "$FILE" "$WORK/snap"
    previous=$(lookup "$WORK/snap" | cut -d' ' -f1)
    compute_base "$WORK/snap" "$WORK/base"
    : > "$WORK/edits"
    rc=0
    plan "$WORK/base" "$WORK/new" "$WORK/edits" || rc=$?
    case "$rc" in
        0) ;;
        3) err "refusing to change $FILE: other entries hold $PORT/$PROTOCOL (see above); use --conflicts comment to comment them out" ;;
        4) err "refusing to change $FILE: a $SERVICE entry cannot be parsed (see above); fix it by hand" ;;
        *) err "could not compute the new $FILE (awk exit $rc)" ;;
    esac
    changed=false
    if ! cmp -s "$WORK/new" "$WORK/snap"; then
        changed=true
        txn="$STATE_DIR/txn"
        rm -rf "$txn"
        mkdir -p "$txn"
        if [ ! -s "$WORK/edits" ]; then
            : > "$txn/clear"
        else
            [ "$BASE_FROM" = backup ] || put_state "$WORK/base" "$txn/orig"
            put_state "$WORK/edits" "$txn/edits"
            sum_of "$WORK/new" > "$txn/written"
        fi
        [ -f "$txn/written" ] || sum_of "$WORK/new" > "$txn/written"
        put_state "$WORK/snap" "$txn/prev"
        : > "$txn/ready"
        flush "$txn/ready"
        # Somebody else may have written the file since we read it.
        if ! cmp -s "$WORK/snap" "$FILE"; then
            rm -rf "$txn"
            err "$FILE changed while smtp-port was working on it; nothing was written, run again"
        fi
        replace_file "$WORK/new" || { recover; err "could not write $FILE; it was left as it was"; }
        commit_txn
    elif [ ! -s "$WORK/edits" ] && [ -d "$STATE_DIR" ]; then
        # Nothing of ours is left in the file: forget the old state.
        rm -rf "$STATE_DIR"
    elif [ -s "$WORK/edits" ]; then
        # Unchanged but the base moved (somebody else's edit): remember it.
        if [ "$BASE_FROM" = merge ] || [ ! -f "$STATE_DIR/orig" ]; then
            put_state "$WORK/base" "$STATE_DIR/orig"
        fi
        put_state "$WORK/edits" "$STATE_DIR/edits"
        sum_of "$WORK/snap" > "$WORK/written"
        put_state "$WORK/written" "$STATE_DIR/written"
    fi
    restart_if "$changed"
    backup=null
    [ ! -f "$STATE_DIR/orig" ] || backup="\"$(json_str "$STATE_DIR/orig")\""
    added=$(awk 'substr($0, 1, 1) == "I" { print substr($0, 3); exit }' "$WORK/edits")
    printf '{"action":"apply","file":"%s","service":"%s","protocol":"%s","port":%s,"changed":%s,"previous_port":%s,"added":%s,"commented":[%s],"backup":%s,"restarted":%s}\n' \
        "$(json_str "$FILE")" "$SERVICE" "$PROTOCOL" "$PORT" "$changed" "$(num_or_null "$previous")" \
        "$(if [ -n "$added" ]; then printf '"%s"' "$(json_str "$added")"; else printf null; fi)" \
        "$(json_edits "$WORK/edits" C)" "$backup" "$RESTARTED"
}

do_revert() {
    check_file
    if [ ! -d "$STATE_DIR" ]; then
        printf '{"action":"revert","file":"%s","changed":false,"managed":false,"restarted":false}\n' "$(json_str "$FILE")"
            return 0
    fi
    check_writable
    lock
    recover
    WORK=$(mktemp -d "$STATE_DIR.work.XXXXXX")
    cp "$FILE" "$WORK/snap"
    changed=false
    mode=none
    if [ -f "$STATE_DIR/written" ]; then
        compute_base "$WORK/snap" "$WORK/base"
        mode="$BASE_FROM"
        if ! cmp -s "$WORK/base" "$WORK/snap"; then
            changed=true
            txn="$STATE_DIR/txn"
            rm -rf "$txn"
            mkdir -p "$txn"
            : > "$txn/clear"
            sum_of "$WORK/base" > "$txn/written"
            put_state "$WORK/snap" "$txn/prev"
            : > "$txn/ready"
            flush "$txn/ready"
            if ! cmp -s "$WORK/snap" "$FILE"; then
                rm -rf "$txn"
                err "$FILE changed while smtp-port was working on it; nothing was written, run again"
            fi
            replace_file "$WORK/base" || { recover; err "could not write $FILE; it was left as it was"; }
            commit_txn
        fi
    fi
    rm -rf "$STATE_DIR"
    restart_if "$changed"
    printf '{"action":"revert","file":"%s","changed":%s,"managed":true,"mode":"%s","restarted":%s}\n' \
        "$(json_str "$FILE")" "$changed" "$mode" "$RESTARTED"
}

do_status() {
    check_file
    found=$(lookup "$FILE")
    set -- "${found% *}" "${found#* }"
    managed=false
    [ ! -f "$STATE_DIR/written" ] || managed=true
    drift=null
    if [ "$managed" = true ]; then
        if [ "$(sum_of "$FILE")" = "$(cat "$STATE_DIR/written")" ]; then drift=false; else drift=true; fi
    fi
    printf '{"action":"status","file":"%s","service":"%s","protocol":"%s","service_port":%s,"port":%s,"port_name":%s,"managed":%s,"drift":%s}\n' \
        "$(json_str "$FILE")" "$SERVICE" "$PROTOCOL" "$(num_or_null "$1")" "$(num_or_null "$PORT")" \
        "$(if [ "$2" = - ]; then printf null; else printf '"%s"' "$2"; fi)" "$managed" "$drift"
}

main() {
    [ "$#" -ge 1 ] || { usage; exit 2; }
    ACTION="$1"
    shift
    case "$ACTION" in
        apply | revert | status) ;;
        -h | --help | help) usage; exit 0 ;;
        *) usage; err "unknown command '$ACTION'" ;;
    esac
    PORT="" FILE="/etc/services" SERVICE="smtp" PROTOCOL="tcp" ALIASES="mail"
    CONFLICTS="comment" RESTART="" STATE_ROOT="/var/lib/smtp-port"
    while [ "$#" -gt 0 ]; do
        [ "$#" -ge 2 ] || err "option $1 needs a value"
        case "$1" in
            --port) PORT="$2" ;;
            --file) FILE="$2" ;;
            --service) SERVICE="$2" ;;
            --protocol) PROTOCOL="$2" ;;
            --aliases) ALIASES="$2" ;;
            --conflicts) CONFLICTS="$2" ;;
            --restart) RESTART="$2" ;;
            --state-dir) STATE_ROOT="$2" ;;
            *) usage; err "unknown option '$1'" ;;
        esac
        shift 2
    done
    check_args
    # One state folder per managed file, named after its path.
    STATE_DIR="$STATE_ROOT/$(printf '%s' "$FILE" | sed 's|^/||; s|[^A-Za-z0-9._-]|_|g')"
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    RESTARTED=false
    "do_$ACTION"
}

main "$@"
