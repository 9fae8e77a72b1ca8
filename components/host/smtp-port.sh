#!/bin/sh
# smtp-port.sh - move a service (smtp by default) to another port in a
# services file, safely and idempotently, and put it back again.
#
#   sh smtp-port.sh apply|revert|status|preview [options]   (see usage below)
#
# Every run prints exactly one JSON object as the last line of stdout, the
# result: schema 1, defined in components/hostResult.ts. A failure prints
# {"status":"failed","reason":...,"rolled_back":...} and exits 1 (0 with
# --report-failure yes); the human messages go to stderr. A failure leaves
# the services file as it was.
#
# With --mta, the mail server is handled too (Postfix: the listener follows
# the file, outbound stays on 25), restarted when anything changed, and
# checked from the host itself: the new port must greet 220 and the old one
# be closed. If the restart or that check fails, the host is rolled back
# (file, state and MTA settings as before the run, restarted) and the run
# fails saying so.
#
# Model: the file the user owns (the "base") plus our edits gives the managed
# file. Our edits are a pure function of the base and the parameters, so a
# re-apply recomputes them from the base and changes nothing when nothing
# differs. The base is kept as a backup in the state directory (with its
# checksum, and a copy beside the services file that marks it as managed);
# when somebody edits the managed file after us, the base is recomputed from
# it by undoing only our own edits, so their change survives a later revert.
#
# Writes go through a small journal (txn/) so that a run killed at any point
# is repaired by the next run. The file is replaced by a fsynced copy renamed
# over it, or rewritten in place where a rename cannot keep it (a
# bind-mounted /etc/services answers EBUSY, as in containers and `ip netns
# exec`; hard links; extended attributes the copy could not keep).
set -eu
# No globbing: option values are data, never patterns.
set -f

PROG="smtp-port"
# What the restart command and postconf get back (they run as the admin set
# them up); everything else runs byte-wise and creates private files.
ORIG_UMASK=$(umask)
ORIG_LC_ALL=${LC_ALL-}
ORIG_LC_ALL_SET=${LC_ALL+yes}
LC_ALL=C
export LC_ALL
umask 077

TAB=$(printf '\t')
CR=$(printf '\r')
NL='
'

# The options and their defaults (the same as components/args.ts `defaults`;
# test/host/defaults.test.ts holds them to it).
PORT="" FILE="/etc/services" SERVICE="smtp" PROTOCOL="tcp" ALIASES="mail"
CONFLICTS="comment" RESTART="" STATE_ROOT="/var/lib/smtp-port" MTA="auto"
VERIFY="yes" VERIFY_TIMEOUT=20 VERIFY_ADDRESS="auto" REQUIRE_OLD_PORT_CLOSED="yes"
HOST_LABEL="" CHANGE="" REPORT_FAILURE="no"

# The run's state, in one place: what the result line reports and what the
# EXIT trap needs.
ACTION="" RESULT_DONE="" WORK="" LOCK="" LOCK_HELD="" REPLACE_TMP=""
RESTARTED=false MTA_CHANGED=false VERIFIED="" FAILED=""

# usage: the command line, with the defaults in force.
usage() {
    cat >&2 <<USAGE
usage: smtp-port.sh apply --port N [--file PATH] [--service NAME] [--protocol tcp|udp]
                          [--aliases "A B"] [--conflicts comment|fail] [--restart CMD]
                          [--state-dir DIR] [--mta postfix|exim|sendmail|auto|none]
                          [--verify yes|no] [--verify-timeout SECONDS]
                          [--verify-address auto|ADDRESS]
                          [--require-old-port-closed yes|no]
                          [--host-label NAME] [--change TOKEN] [--report-failure yes|no]
       smtp-port.sh preview (apply's options): what apply would change, writing nothing
       smtp-port.sh revert [--file PATH] [--restart CMD] [--state-dir DIR] [--mta ...]
                          [--host-label NAME] [--report-failure yes|no]
       smtp-port.sh status [--file PATH] [--port N] [--service NAME] [--protocol tcp|udp]
                          [--state-dir DIR] [--host-label NAME] [--report-failure yes|no]
defaults: --file $FILE --service $SERVICE --protocol $PROTOCOL --aliases "$ALIASES"
          --conflicts $CONFLICTS --state-dir $STATE_ROOT --mta $MTA --verify $VERIFY
          --verify-timeout $VERIFY_TIMEOUT --verify-address $VERIFY_ADDRESS
          --require-old-port-closed $REQUIRE_OLD_PORT_CLOSED --report-failure $REPORT_FAILURE
          --restart "$RESTART" (the mail server's own restart command; none without one)
          host label: this host's name
USAGE
}

# --- messages and the result line ---------------------------------------------

# say: a message for people, on stderr.
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# err REASON: fail the run (nothing was rolled back).
err() { fail false "$*"; }

# fail ROLLED_BACK REASON: print REASON and the failed result, then exit 1
# (0 with --report-failure yes). In a subshell ($(...)) only the message: the
# main shell's EXIT trap reports the failure.
fail() {
    printf '%s: error: %s\n' "$PROG" "$2" >&2
    if in_subshell; then exit 1; fi
    [ -z "$ACTION" ] || result failed "$(printf '"reason":%s,"rolled_back":%s' "$(json_str "$2")" "$1")"
    if [ "$REPORT_FAILURE" = yes ]; then exit 0; fi
    exit 1
}

# in_subshell: whether this code runs in a subshell of the script (Linux:
# /proc/self is the current process, $$ the script).
in_subshell() {
    [ -r /proc/self/stat ] || return 1
    read -r self _ < /proc/self/stat || return 1
    [ "$self" != "$$" ]
}

# result STATUS FIELDS: the one result line of this run; FIELDS is the
# action's own JSON members, after the ones every result has.
result() {
    printf '{"schema":1,"action":"%s","status":"%s","host":%s,"file":%s%s}\n' \
        "$ACTION" "$1" "$(json_str "$HOST_LABEL")" "$(json_str "$FILE")" "${2:+,$2}"
    RESULT_DONE=yes
}

# The JSON string encoder every string of a result goes through (awk):
# quote, backslash, every control character and DEL escaped, byte by byte,
# the same under mawk, gawk and busybox awk (no gsub escapes, no regexes).
JSON_AWK='
BEGIN {
    for (i = 1; i < 32; i++) E[sprintf("%c", i)] = sprintf("\\u%04x", i)
    E["\""] = "\\\""; E["\\"] = "\\\\"; E["\t"] = "\\t"; E["\n"] = "\\n"; E["\r"] = "\\r"
    E[sprintf("%c", 127)] = "\\u007f"
}
function js(s,    i, n, c, o) {
    o = ""; n = length(s)
    for (i = 1; i <= n; i++) { c = substr(s, i, 1); o = o ((c in E) ? E[c] : c) }
    return "\"" o "\""
}'

# json_str VALUE: VALUE as a JSON string (quoted).
json_str() {
    case "$1" in
        *[!A-Za-z0-9./_:@+=,-]*)
            JSON_VALUE="$1" awk "$JSON_AWK"'
            BEGIN { printf "%s", js(ENVIRON["JSON_VALUE"]) }' </dev/null
            ;;
        *) printf '"%s"' "$1" ;;
    esac
}

# json_str_or_null VALUE: VALUE as a JSON string, or null when empty.
json_str_or_null() {
    if [ -n "$1" ]; then json_str "$1"; else printf null; fi
}

# json_lines FILE [TAG]: FILE's lines (only those tagged "TAG<TAB>", without
# the tag) as JSON strings joined by commas, for an array.
json_lines() {
    [ -s "$1" ] || return 0
    JSON_TAG="${2:-}" awk "$JSON_AWK"'
    BEGIN { ORS = ""; t = ENVIRON["JSON_TAG"] }
    t == "" { printf "%s%s", (n++ ? "," : ""), js($0); next }
    substr($0, 1, length(t) + 1) == t "\t" { printf "%s%s", (n++ ? "," : ""), js(substr($0, length(t) + 2)) }' "$1"
}

# num_or_null VALUE: a number, or null for "" and "-".
num_or_null() {
    case "$1" in
        '' | -) printf 'null' ;;
        *) printf '%s' "$1" ;;
    esac
}

# --- argument checks --------------------------------------------------------

# is_port VALUE: an integer from 1 to 65535, without leading zeros.
is_port() {
    case "$1" in
        '' | 0* | *[!0-9]*) return 1 ;;
    esac
    [ "${#1}" -le 5 ] && [ "$1" -le 65535 ]
}

# is_name VALUE: the characters services(5) entries use in practice (names
# end up in a file that other programs parse).
is_name() {
    case "$1" in
        '' | *[!A-Za-z0-9._+-]*) return 1 ;;
    esac
    return 0
}

# check_path FIELD VALUE: an absolute path without line breaks.
check_path() {
    case "$2" in
        /*) ;;
        *) err "[$1] must be an absolute path, got '$2'" ;;
    esac
    case "$2" in
        *"$NL"* | *"$CR"*) err "[$1] must not contain NUL or line breaks" ;;
    esac
}

# check_args: refuse any option value components/validate.ts refuses
# (test/host/validation-parity.test.ts holds them to each other).
check_args() {
    case "$ACTION" in
        apply | preview)
            [ -n "$PORT" ] || err "[port] is required for $ACTION"
            ;;
    esac
    if [ -n "$PORT" ] && ! is_port "$PORT"; then
        err "[port] must be an integer from 1 to 65535, got '$PORT'"
    fi
    is_name "$SERVICE" || err "[service] must be a plain name (letters, digits, . _ + -), got '$SERVICE'"
    case "$PROTOCOL" in
        tcp | udp) ;;
        *) err "[protocol] must be tcp or udp, got '$PROTOCOL'" ;;
    esac
    for a in $ALIASES; do
        is_name "$a" || err "[aliases] must be plain names (letters, digits, . _ + -), got '$a'"
    done
    # One space between aliases (word splitting; globbing is off).
    # shellcheck disable=SC2086
    set -- $ALIASES
    ALIASES="$*"
    case "$CONFLICTS" in
        comment | fail) ;;
        *) err "[conflicts] must be comment or fail, got '$CONFLICTS'" ;;
    esac
    check_path file "$FILE"
    check_path state-dir "$STATE_ROOT"
    case "$MTA" in
        postfix | exim | sendmail | auto | none) ;;
        *) err "[mta] must be postfix, exim, sendmail, auto or none, got '$MTA'" ;;
    esac
    case "$VERIFY" in
        yes | no) ;;
        *) err "[verify] must be yes or no, got '$VERIFY'" ;;
    esac
    case "$REQUIRE_OLD_PORT_CLOSED" in
        yes | no) ;;
        *) err "[require-old-port-closed] must be yes or no, got '$REQUIRE_OLD_PORT_CLOSED'" ;;
    esac
    case "$VERIFY_TIMEOUT" in
        '' | 0* | *[!0-9]* | ??????????*) err "[verify-timeout] must be a whole number of seconds from 1 to 999999999, got '$VERIFY_TIMEOUT'" ;;
    esac
    case "$VERIFY_ADDRESS" in
        \[*\])
            # A bracketed IPv6 address, as Postfix writes it.
            inner=${VERIFY_ADDRESS#?}
            case "${inner%?}" in '' | *[!0-9A-Fa-f.:]*) bad_address ;; esac
            ;;
        '' | *[!A-Za-z0-9.:_-]*) bad_address ;;
    esac
}

# bad_address: refuse --verify-address.
bad_address() { err "[verify-address] must be auto, a host name or an address, got '$VERIFY_ADDRESS'"; }

# check_file: the services file exists and is readable; REAL_FILE is the
# file itself (the target of a symbolic link: that is what gets edited).
check_file() {
    [ -e "$FILE" ] || {
        [ ! -L "$FILE" ] || err "$FILE is a symbolic link to $(readlink "$FILE"), which does not exist"
        err "$FILE does not exist (is this the services file? see --file)"
    }
    [ -f "$FILE" ] || err "$FILE is not a regular file"
    [ -r "$FILE" ] || err "cannot read $FILE: permission denied (run as root or enable sudo for this host)"
    REAL_FILE=$FILE
    if [ -L "$FILE" ]; then
        REAL_FILE=$(readlink -f "$FILE") || err "cannot resolve the symbolic link $FILE"
    fi
}

# check_writable: the file can be written and the state folder used.
check_writable() {
    [ -w "$REAL_FILE" ] || err "cannot write $FILE: permission denied (run as root or enable sudo for this host)"
    make_state_root
}

# --- the state folder ------------------------------------------------------------
# Root's backups and journal: whoever can write there can make root write
# their bytes into the services file (or anywhere, through a symbolic link).
# So the folder and the one it is in must be owned by root or the running
# user and writable by nobody else, and nothing in it may be a symbolic link.

MY_UID=""

# dir_problem DIR STRICT: why DIR cannot hold (STRICT=yes) or contain
# (STRICT=no: sticky world-writable allowed) the state, or nothing.
dir_problem() {
    [ ! -L "$1" ] || { printf 'is a symbolic link'; return 0; }
    # shellcheck disable=SC2046 # the words of ls -ldn
    set -- "$1" "$2" $(ls -ldn -- "$1" 2>/dev/null)
    [ "$#" -ge 6 ] || { printf 'cannot be read'; return 0; }
    case "$3" in
        d*) ;;
        *) printf 'is not a directory'; return 0 ;;
    esac
    [ -n "$MY_UID" ] || MY_UID=$(id -u)
    case "$5" in
        0 | "$MY_UID") ;;
        *) printf 'is owned by uid %s, not by root or the running user (uid %s)' "$5" "$MY_UID"; return 0 ;;
    esac
    writable=no
    case "$3" in ?????w* | ????????w*) writable=yes ;; esac
    # A sticky folder (/tmp) keeps others from replacing what is in it.
    case "$2:$3" in no:?????????[tT]*) writable=no ;; esac
    [ "$writable" = no ] || printf 'is writable by group or others'
}

# check_state_dir DIR STRICT: refuse DIR (see dir_problem).
check_state_dir() {
    why=$(dir_problem "$1" "$2")
    [ -z "$why" ] || err "state directory $1 $why; smtp-port keeps root's backups there, so it must be owned by root (or the running user) and writable by nobody else (chmod 700, or choose another --state-dir)"
}

# make_state_root: create the state folder (0700) or check the one there is,
# and the folder it is in.
make_state_root() {
    if [ ! -e "$STATE_ROOT" ] && [ ! -L "$STATE_ROOT" ]; then
        up=$(dirname "$STATE_ROOT")
        while [ ! -e "$up" ]; do up=$(dirname "$up"); done
        check_state_dir "$up" yes
        mkdir -p "$STATE_ROOT" 2>/dev/null || err "cannot create state directory $STATE_ROOT (run as root or enable sudo for this host)"
    fi
    check_state
    [ -w "$STATE_ROOT" ] || err "cannot write state directory $STATE_ROOT: permission denied (run as root or enable sudo for this host)"
}

# check_state: the state folder, the one it is in and this file's state are
# safe to read (a read-only run checks too: a preview shows the backup's lines).
check_state() {
    [ -e "$STATE_ROOT" ] || [ -L "$STATE_ROOT" ] || return 0
    check_state_dir "$STATE_ROOT" yes
    check_state_dir "$(dirname "$STATE_ROOT")" no
    for f in "$STATE_DIR" "$CHANGE_FILE" "$STATE_DIR.generation"; do
        [ ! -L "$f" ] || err "$f is a symbolic link; smtp-port never follows links in its state: remove it"
    done
    if [ -d "$STATE_DIR" ]; then
        link=$(find "$STATE_DIR" -type l 2>/dev/null | head -n 1)
        [ -z "$link" ] || err "$link is a symbolic link; smtp-port never follows links in its state: remove it"
    fi
}

# state_key PATH: the state folder's name for a services file: "/" becomes
# "_", letters, digits, "." and "-" stay, every other byte is "=XX" (hex).
# Injective, and the same as the first versions' names for plain paths.
state_key() {
    printf '%s' "$1" | od -An -v -tx1 | awk '
    BEGIN { for (i = 32; i < 127; i++) C[sprintf("%02x", i)] = sprintf("%c", i) }
    { for (i = 1; i <= NF; i++) {
        h = $i; c = C[h]
        if (h == "2f") k = k "_"
        else if (c != "" && c ~ /^[A-Za-z0-9.-]$/) k = k c
        else k = k "=" h
    } }
    END { sub(/^_/, "", k); if (k == "." || k == "..") k = "=2e" substr(k, 2); print k }'
}

# check_backup [write]: the backup is what smtp-port stored (its checksum matches),
# before anything restores it or computes from it.
check_backup() {
    [ -f "$STATE_DIR/orig" ] || return 0
    sum_of "$STATE_DIR/orig"
    if [ ! -f "$STATE_DIR/orig.sum" ]; then
        # Kept by a version that stored no checksum: from now on (not by a
        # read-only run).
        [ "$1" != write ] || printf '%s\n' "$SUM" > "$STATE_DIR/orig.sum"
        return 0
    fi
    want=""
    { read -r want < "$STATE_DIR/orig.sum"; } 2>/dev/null || true
    [ "$SUM" = "$want" ] || err "the backup of $FILE ($STATE_DIR/orig) does not match the checksum smtp-port stored with it (emptied or edited since); refusing to use it: put $FILE back by hand, then remove $STATE_DIR"
}

# --- small file helpers -------------------------------------------------------

SUM_TOOL="" SUM=""
# sum_of FILE: SUM, a checksum of FILE tagged with the tool (busybox may lack cksum).
sum_of() {
    if [ -z "$SUM_TOOL" ]; then
        for t in sha256sum cksum md5sum; do
            if command -v "$t" >/dev/null 2>&1; then SUM_TOOL="$t" && break; fi
        done
        [ -n "$SUM_TOOL" ] || err "no checksum tool on this host (sha256sum, cksum or md5sum)"
    fi
    s=$("$SUM_TOOL" < "$1") || err "cannot checksum $1"
    # The sum's words joined by "-", without the "-" naming stdin: the text
    # kept in $STATE_DIR/written since the first version.
    # shellcheck disable=SC2086
    set -- $s
    s=$1
    shift
    for sum_word in "$@"; do
        [ "$sum_word" = - ] || s="$s-$sum_word"
    done
    SUM="$SUM_TOOL:$s"
}

# final_newline FILE: 1 if FILE ends in a newline (or is empty), 0 if its last line is bare.
final_newline() {
    if [ ! -s "$1" ]; then
        echo 1
    elif [ -z "$(tail -c 1 "$1")" ]; then
        # (The substitution drops a trailing newline: empty means there was one.)
        echo 1
    else
        echo 0
    fi
}

# flush PATH: its data on disk (fsync through sync(1); everything where sync takes no file).
flush() { sync "$1" 2>/dev/null || sync; }

# put_state SRC DST: write SRC's bytes to DST atomically (same folder).
put_state() {
    cat "$1" > "$2.tmp"
    flush "$2.tmp"
    mv -f "$2.tmp" "$2"
}

# put_backup BASE DIR: the backup and its checksum, in DIR.
put_backup() {
    put_state "$1" "$2/orig"
    sum_of "$2/orig"
    printf '%s\n' "$SUM" > "$2/orig.sum.tmp"
    mv -f "$2/orig.sum.tmp" "$2/orig.sum"
}

# --- lock --------------------------------------------------------------------
# $STATE_DIR.lock is a symbolic link to the holder's PID: created with its
# content in one step. A dead holder's lock is broken under a second lock
# ($STATE_DIR.lock.break), re-reading the holder first, so that two runs
# never both break it and both go on.

# alive PID: whether process PID runs (as any user).
alive() {
    [ -n "$1" ] || return 1
    if [ -d /proc/self ]; then [ -d "/proc/$1" ]; else kill -0 "$1" 2>/dev/null; fi
}

# lock_holder LOCK: the PID in a lock (a legacy lock is a folder with a pid file).
lock_holder() {
    if [ -L "$1" ]; then
        readlink "$1" 2>/dev/null || true
    elif [ -d "$1" ]; then
        cat "$1/pid" 2>/dev/null || true
    fi
}

# break_lock DEAD: remove the lock if DEAD still holds it; false if another run is breaking it.
break_lock() {
    if ! ln -s -T "$$" "$LOCK.break" 2>/dev/null; then
        breaker=$(lock_holder "$LOCK.break")
        [ -z "$breaker" ] || alive "$breaker" || rm -f "$LOCK.break"
        return 1
    fi
    if [ "$(lock_holder "$LOCK")" = "$1" ]; then
        say "removing stale lock of process ${1:-?}"
        rm -rf "$LOCK"
    fi
    rm -f "$LOCK.break"
}

# lock: hold this file's lock (waits up to 60 s for another run).
lock() {
    LOCK="$STATE_DIR.lock"
    deadline=$(($(date +%s) + 60))
    # -T: a legacy lock (a folder) is held, not entered.
    until ln -s -T "$$" "$LOCK" 2>/dev/null; do
        holder=$(lock_holder "$LOCK")
        # An empty holder is a lock being released or taken right now: a
        # break then could remove the lock another run has just made.
        if [ -n "$holder" ] && ! alive "$holder" && break_lock "$holder"; then continue; fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            err "$FILE is locked by process ${holder:-?} ($LOCK); another smtp-port run is in progress"
        fi
        sleep 0.1 2>/dev/null || sleep 1
    done
    LOCK_HELD=yes
}

# unlock: release the lock if held.
unlock() {
    [ -z "$LOCK_HELD" ] || rm -f "$LOCK"
    LOCK_HELD=""
}

# clean_debris: what killed runs left (under the lock): copies of the file
# beside it, work folders and half-written state files.
clean_debris() {
    dir=$(dirname "$REAL_FILE")
    base=$(basename "$REAL_FILE")
    set +f
    for f in "$dir/.$base.smtp-port."* "$dir/.$base.smtp-port-orig.tmp" "$STATE_DIR.work."* "$STATE_DIR".*.tmp "$STATE_DIR"/*.tmp; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        case "$f" in
            "$dir/.$base.smtp-port."*)
                pid=${f##*.}
                case "$pid" in '' | *[!0-9]*) continue ;; esac
                ! alive "$pid" || continue
                ;;
        esac
        say "removing $f, left by an interrupted run"
        rm -rf "$f"
    done
    set -f
}

# on_exit: the EXIT trap: clean up, and report a failure nobody reported
# (a command that failed under set -e, a signal, an error in a subshell).
on_exit() {
    rc=$?
    [ -z "$WORK" ] || rm -rf "$WORK"
    [ -z "$REPLACE_TMP" ] || rm -f "$REPLACE_TMP"
    unlock
    if [ "$rc" != 0 ] && [ -z "$RESULT_DONE" ] && [ -n "$ACTION" ]; then
        result failed "$(printf '"reason":%s,"rolled_back":false' \
            "$(json_str "$HOST_LABEL: smtp-port stopped (exit status $rc) while working on $FILE; see its messages, the next run repairs an interrupted write")")"
        [ "$REPORT_FAILURE" != yes ] || exit 0
    fi
    exit "$rc"
}

# --- journal -----------------------------------------------------------------
# txn/ holds the next state (orig, orig.sum, edits, managed, written) and
# prev, a copy of the file before replacement. It counts only once txn/ready
# exists, which is written before the file is touched.

# commit_txn: the journal's state becomes the state.
commit_txn() {
    txn="$STATE_DIR/txn"
    if [ -f "$txn/clear" ]; then
        # Nothing of ours is left in the file: forget it entirely.
        rm -rf "$STATE_DIR"
        return 0
    fi
    # The checksum last: until it moves, a run sees drift and merges.
    for f in orig orig.sum edits managed written; do
        [ ! -f "$txn/$f" ] || mv -f "$txn/$f" "$STATE_DIR/$f"
    done
    rm -rf "$txn"
    if [ ! -f "$STATE_DIR/written" ]; then
        rm -rf "$STATE_DIR"
    fi
}

# recover: finish or undo the change a killed run left in the journal.
recover() {
    txn="$STATE_DIR/txn"
    [ -d "$txn" ] || return 0
    if [ ! -f "$txn/ready" ]; then
        rm -rf "$txn"
        return 0
    fi
    if [ ! -f "$txn/written" ] && [ ! -f "$txn/clear" ]; then
        # commit_txn moves written last: all of the state is in place, and
        # the run stopped before it removed the journal.
        rm -rf "$txn"
        return 0
    fi
    sum_of "$FILE"
    if [ "$SUM" = "$(cat "$txn/written")" ]; then
        say "completing an interrupted change of $FILE"
        commit_txn
    elif cmp -s "$txn/prev" "$FILE"; then
        rm -rf "$txn"
    else
        say "restoring $FILE after an interrupted write"
        replace_file "$txn/prev" || err "could not restore $FILE from $txn/prev ($REPLACE_FAILED); restore it by hand"
        rm -rf "$txn"
    fi
}

# --- replacing the file ------------------------------------------------------

# in_place_reason: why a rename would lose something of the file (hard
# links), or nothing.
in_place_reason() {
    # shellcheck disable=SC2046 # the words of ls -ln
    set -- $(ls -ln -- "$REAL_FILE" 2>/dev/null)
    [ "${2:-1}" -le 1 ] || printf 'it has %s hard links' "$2"
}

# xattrs FILE: FILE's extended attributes (ACLs, SELinux context among
# them), one "name=value" a line; "?" when they exist but cannot be read
# (no getfattr), nothing when there are none.
xattrs() {
    if command -v getfattr >/dev/null 2>&1; then
        getfattr -d -m - -e hex --absolute-names -- "$1" 2>/dev/null | sed '1d' || true
    else
        # GNU ls marks an ACL with "+" and an SELinux context with ".".
        # shellcheck disable=SC2046 # the words of ls -ld
        set -- $(ls -ld -- "$1" 2>/dev/null)
        case "${1:-}" in ??????????[+.]*) echo '?' ;; esac
    fi
}

# The new file is written, flushed and verified beside the old one, then
# renamed over it; rewritten in place only where the rename cannot be done
# or would lose something. On failure the file is as it was, or (in place)
# the journal's prev undoes it.
REPLACE_FAILED=""
# replace_file NEW: make the services file hold NEW's bytes, owner, mode, links and extended attributes kept (REPLACE_FAILED: why not).
replace_file() {
    REPLACE_FAILED=""
    why=$(in_place_reason)
    [ -z "$why" ] || { write_in_place "$1" "$why"; return; }
    dir=$(dirname "$REAL_FILE")
    REPLACE_TMP="$dir/.$(basename "$REAL_FILE").smtp-port.$$"
    if ! cp -p "$REAL_FILE" "$REPLACE_TMP" 2>/dev/null || ! cat "$1" > "$REPLACE_TMP" || ! flush "$REPLACE_TMP" \
        || ! cmp -s "$1" "$REPLACE_TMP"; then
        rm -f "$REPLACE_TMP"
        REPLACE_TMP=""
        REPLACE_FAILED="could not write a copy beside it ($dir: full, read-only or not writable)"
        return 1
    fi
    attrs=$(xattrs "$REAL_FILE")
    if [ -n "$attrs" ]; then
        cp --preserve=all --attributes-only "$REAL_FILE" "$REPLACE_TMP" 2>/dev/null || true
        if [ "$attrs" = '?' ] || [ "$(xattrs "$REPLACE_TMP")" != "$attrs" ]; then
            rm -f "$REPLACE_TMP"
            REPLACE_TMP=""
            write_in_place "$1" "a copy cannot keep its extended attributes"
            return
        fi
    fi
    if mv -f "$REPLACE_TMP" "$REAL_FILE" 2>"$WORK/mv.err"; then
        REPLACE_TMP=""
        flush "$dir"
        return 0
    fi
    rm -f "$REPLACE_TMP"
    REPLACE_TMP=""
    case "$(cat "$WORK/mv.err")" in
        *[Bb]usy* | *[Cc]ross-device*)
            # A bind-mounted file (containers, ip netns exec): EBUSY.
            write_in_place "$1" "it cannot be renamed over (a mount point)"
            ;;
        *)
            REPLACE_FAILED="could not rename the new copy over it: $(cat "$WORK/mv.err")"
            return 1
            ;;
    esac
}

# write_in_place NEW WHY: rewrite the file's bytes (the journal's prev undoes
# a torn write): write, flush, verify.
write_in_place() {
    say "rewriting $FILE in place: $2"
    if cat "$1" > "$REAL_FILE" && flush "$REAL_FILE" && cmp -s "$1" "$REAL_FILE"; then
        return 0
    fi
    REPLACE_FAILED="the rewrite in place failed"
    return 1
}

# --- the copy beside the file -----------------------------------------------------
# While smtp-port manages a file, a copy of the user's file (the backup) is
# kept beside it, .<name>.smtp-port-orig: it marks the file as moved by
# smtp-port when the state is lost or looked for in another --state-dir.

# marker_path: the copy's path.
marker_path() { printf '%s/.%s.smtp-port-orig' "$(dirname "$REAL_FILE")" "$(basename "$REAL_FILE")"; }

# marker_put FROM: the copy beside the file made from FROM, written beside it
# and renamed in; where that fails, no temporary file is left, and the run
# says so once (the write and the end of a first apply both try).
MARKER_SAID=""
marker_put() {
    m=$(marker_path)
    cmp -s "$1" "$m" 2>/dev/null && return 0
    { cat "$1" > "$m.tmp" && chmod 600 "$m.tmp" && mv -f "$m.tmp" "$m"; } 2>/dev/null && return 0
    rm -f "$m.tmp" 2>/dev/null || true
    [ -n "$MARKER_SAID" ] || say "could not keep a copy of the original beside $FILE ($m); a lost state folder will not be noticed"
    MARKER_SAID=yes
}

# marker_sync: the copy beside the file matches the state (or is gone with it).
marker_sync() {
    m=$(marker_path)
    if [ -f "$STATE_DIR/written" ] && [ -f "$STATE_DIR/orig" ]; then
        marker_put "$STATE_DIR/orig"
    elif [ -f "$m" ]; then
        rm -f "$m" 2>/dev/null || say "could not remove $m"
    fi
}

# marker_check WHAT: with no state, refuse a file smtp-port moved (its copy
# beside the file differs from it); forget a copy of an unmoved file.
marker_check() {
    m=$(marker_path)
    [ -f "$m" ] || return 0
    if cmp -s "$m" "$FILE"; then
        rm -f "$m" 2>/dev/null || true
        return 0
    fi
    err "$HOST_LABEL: $FILE was changed by smtp-port ($m is the file as it was before), but $STATE_ROOT has no state for it (state folder lost, or --state-dir changed since the apply?); $1 with the --state-dir of the apply, or put the file back by hand (cp $m $FILE) and remove $m"
}

# --- the edits ----------------------------------------------------------------

# MANAGED is NEW line by line, each tagged "U" (the base's), "C" (the
# base's, commented out by us) or "I" (added by us), and a tab: how a later
# run tells our lines from the user's after a hand edit (see unmanage).
# plan BASE NEW EDITS MANAGED: the managed file from BASE; exit 3 conflicts refused, 4 a target line unparsable.
plan() {
    # The edits paths come through the environment: awk -v would expand
    # backslashes in them (a state folder may have one).
    EDITS_PATH="$3" MANAGED_PATH="$4" awk -v svc="$SERVICE" -v port="$PORT" -v proto="$PROTOCOL" -v aliases="$ALIASES" \
        -v conflicts="$CONFLICTS" -v final_nl="$(final_newline "$1")" '
    function fields(s, a,    b) { b = s; sub(/#.*/, "", b); return split(b, a) }
    BEGIN { edits = ENVIRON["EDITS_PATH"]; managed = ENVIRON["MANAGED_PATH"] }
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
        if (!keeper && at == 0) { m++; O[m] = add; OC[m] = ""; OT[m] = "I"; printf "I\t%s\n", add > edits }
        for (i = 1; i <= n; i++) {
            m++; OT[m] = "U"
            if (i in C) { O[m] = "#" L[i]; OT[m] = "C"; printf "C\t%s\n", L[i] > edits } else O[m] = L[i]
            OC[m] = CR[i]
            if (!keeper && i == at) { m++; O[m] = add; OC[m] = CR[i]; OT[m] = "I"; printf "I\t%s\n", add > edits }
        }
        printf "" > managed
        for (i = 1; i <= m; i++) {
            printf "%s%s%s", O[i], OC[i], (i < m || final_nl) ? "\n" : ""
            printf "%s\t%s%s\n", OT[i], O[i], OC[i] > managed
        }
    }' "$1" > "$2"
}

# A hand edit of the managed file is merged three ways, by line: the file
# now is aligned with what we wrote (MANAGED, tagged by plan: a patience
# diff, a longest common subsequence inside small gaps), and each run of
# changed lines attributed (docs/hand-edits.md):
# - a line that is not ours (kept, changed or deleted) and any line added:
#   the user's, carried into the base;
# - a line of ours that was changed, moved, uncommented or deleted: not the
#   user's content; the base keeps its original line (a commented one comes
#   back active, an added one is dropped). A changed line is recognized by
#   the entry it holds (name and protocol, commented or not), first among
#   the lines of its run, then among lines deleted anywhere (a move), then
#   by the name alone.
# Where that cannot be done safely it refuses rather than guess: a changed
# line could be ours or the user's, an entry stands in the place of one of
# our lines without being recognizably that line, or the base would get a
# second active entry for a name our lines carry (revert would leave two).
# unmanage CURRENT BASE MANAGED: the base in BASE; exit 5 refused (why, line by line, in BASE.refusals), 6 MANAGED malformed.
unmanage() {
    REFUSALS_PATH="$2.refusals" awk -v prog="$PROG" -v fin="$(final_newline "$1")" '
    function readf(f, A,    n, l) { n = 0; while ((getline l < f) > 0) A[++n] = l; close(f); return n }
    function bare(s) { sub(/\r$/, "", s); return s }
    # KN, KP: name and protocol of the entry a line holds, commented or not.
    function keyof(s,    t, k, f) {
        t = bare(s); sub(/^[ \t]*#*/, "", t); sub(/#.*/, "", t)
        k = split(t, f); KN = ""; KP = ""
        if (k >= 2 && f[2] ~ /^[0-9]+\/[A-Za-z0-9_-]+$/) { KN = f[1]; KP = substr(f[2], index(f[2], "/") + 1) }
        return KN != ""
    }
    # AK[name SUBSEP proto]: the names an active entry answers to.
    function actives(s,    t, k, f, j, p) {
        split("", AK); t = bare(s)
        if (t ~ /^[ \t]*#/) return 0
        sub(/#.*/, "", t); k = split(t, f)
        if (k < 2 || f[2] !~ /^[0-9]+\/[A-Za-z0-9_-]+$/) return 0
        p = substr(f[2], index(f[2], "/") + 1)
        AK[f[1] SUBSEP p] = 1; for (j = 3; j <= k; j++) AK[f[j] SUBSEP p] = 1
        return 1
    }
    function show(s) { return "\"" bare(s) "\"" }
    function align(w, f) { AW[w] = f; AF[f] = w }
    function push(a, b, c, d) { if (a <= b && c <= d) { sp++; S1[sp] = a; S2[sp] = b; S3[sp] = c; S4[sp] = d } }
    # Candidates for inserted line f at a level: unpaired deleted lines with
    # its entry (1: in its own run, 2: anywhere) or its name (3, 4). Sets
    # CM and CU: the first of ours, the first of the user.
    function cands(f, lvl,    s, k, x, i, w) {
        s = (lvl <= 2) ? ((FK[f] in LK) ? LK[FK[f]] : "") : ((FN[f] in LN) ? LN[FN[f]] : "")
        k = split(s, x, " "); CM = 0; CU = 0
        for (i = 1; i <= k; i++) {
            w = x[i] + 0
            if (w in PW) continue
            if ((lvl == 1 || lvl == 3) && HW[w] != HF[f]) continue
            if (T[w] == "U") { if (!CU) CU = w } else if (!CM) CM = w
        }
        return CM || CU
    }
    function refuse(msg) { print msg > ENVIRON["REFUSALS_PATH"]; refused = 1 }
    BEGIN {
        nf = readf(ARGV[1], F); nw = readf(ARGV[2], W); nb = 0
        for (w = 1; w <= nw; w++) {
            T[w] = substr(W[w], 1, 1); W[w] = substr(W[w], 3)
            if (T[w] == "U") { WB[w] = ++nb; B[nb] = W[w] }
            else if (T[w] == "C" && W[w] ~ /^#/) { WB[w] = ++nb; B[nb] = substr(W[w], 2) }
            else if (T[w] != "I") exit 6
        }

        # Align W (what we wrote) and F (the file now).
        sp = 0; push(1, nw, 1, nf)
        while (sp > 0) {
            ws = S1[sp]; we = S2[sp]; fs = S3[sp]; fe = S4[sp]; sp--
            while (ws <= we && fs <= fe && W[ws] == F[fs]) align(ws++, fs++)
            while (ws <= we && fs <= fe && W[we] == F[fe]) align(we--, fe--)
            if (ws > we || fs > fe) continue
            split("", CW); split("", CF); split("", PF)
            for (w = ws; w <= we; w++) CW[W[w]]++
            for (f = fs; f <= fe; f++) { CF[F[f]]++; PF[F[f]] = f }
            k = 0
            for (w = ws; w <= we; w++) if (CW[W[w]] == 1 && CF[W[w]] == 1) { k++; UW[k] = w; UF[k] = PF[W[w]] }
            if (k > 0) {
                # Lines unique on both sides, in the longest run that keeps order.
                L = 0
                for (i = 1; i <= k; i++) {
                    lo = 1; hi = L
                    while (lo <= hi) { mid = int((lo + hi) / 2); if (UF[TL[mid]] < UF[i]) lo = mid + 1; else hi = mid - 1 }
                    PV[i] = lo > 1 ? TL[lo - 1] : 0
                    TL[lo] = i; if (lo > L) L = lo
                }
                n = 0; for (i = TL[L]; i; i = PV[i]) SQ[++n] = i
                pw = ws - 1; pf = fs - 1
                for (t = n; t >= 1; t--) {
                    i = SQ[t]; align(UW[i], UF[i])
                    push(pw + 1, UW[i] - 1, pf + 1, UF[i] - 1)
                    pw = UW[i]; pf = UF[i]
                }
                push(pw + 1, we, pf + 1, fe)
            } else if ((we - ws + 1) * (fe - fs + 1) <= 40000) {
                # No unique line in common: the longest common subsequence.
                split("", D)
                for (w = we + 1; w >= ws; w--) for (f = fe + 1; f >= fs; f--) {
                    if (w > we || f > fe) D[w, f] = 0
                    else if (W[w] == F[f]) D[w, f] = D[w + 1, f + 1] + 1
                    else D[w, f] = D[w + 1, f] >= D[w, f + 1] ? D[w + 1, f] : D[w, f + 1]
                }
                w = ws; f = fs
                while (w <= we && f <= fe) {
                    if (W[w] == F[f]) align(w++, f++)
                    else if (D[w + 1, f] >= D[w, f + 1]) w++
                    else f++
                }
            }
        }

        # Runs of changed lines ("hunks"): deleted lines of W, inserted of F.
        w = 1; f = 1; h = 0
        while (w <= nw || f <= nf) {
            if (w <= nw && f <= nf && (w in AW) && AW[w] == f) { w++; f++; continue }
            h++; w0 = w; f0 = f
            while (w <= nw && !(w in AW)) {
                HW[w] = h
                if (keyof(W[w])) { K = KN SUBSEP KP; LK[K] = LK[K] " " w; LN[KN] = LN[KN] " " w }
                w++
            }
            while (f <= nf && !(f in AF)) { HF[f] = h; if (keyof(F[f])) { FK[f] = KN SUBSEP KP; FN[f] = KN }; f++ }
            # The alignment keeps order: a run always ends at an aligned pair.
            if (w == w0 && f == f0) exit 7
        }

        # Attribute each inserted line, level by level.
        for (lvl = 1; lvl <= 4; lvl++) for (f = 1; f <= nf; f++) {
            if (!(f in HF) || (f in DONE) || !(f in FK) || !cands(f, lvl)) continue
            DONE[f] = 1
            if (CM && CU) {
                refuse(sprintf("line %d: %s could be an edit of smtp-port'"'"'s line %s or of your line %s; put smtp-port'"'"'s line back as it wrote it, run again, then make your change", f, show(F[f]), show(W[CM]), show(W[CU])))
                continue
            }
            w = CM ? CM : CU; PW[w] = f; PF2[f] = w
            if (!CM) USER[f] = 1
        }
        for (w = 1; w <= nw; w++) if ((w in HW) && T[w] != "U" && !(w in PW)) LOST[HW[w]] = w
        for (f = 1; f <= nf; f++) {
            if (!(f in HF) || (f in DONE)) continue
            if ((f in FK) && (HF[f] in LOST)) {
                refuse(sprintf("line %d: cannot tell whether %s is your own entry or an edit of smtp-port'"'"'s line %s it replaces; put smtp-port'"'"'s line back as it wrote it and add yours on a line of its own, then run again", f, show(F[f]), show(W[LOST[HF[f]]])))
                continue
            }
            USER[f] = 1
        }

        # The base: aligned lines as they were in it, the lines of the user,
        # our commented lines back where they were (or where their edit is).
        no = 0; w = 1; f = 1
        while (w <= nw || f <= nf) {
            if (w <= nw && f <= nf && (w in AW) && AW[w] == f) {
                if (T[w] == "U") { O[++no] = F[f]; OF[no] = f } else if (T[w] == "C") O[++no] = B[WB[w]]
                w++; f++; continue
            }
            w0 = w; while (w <= nw && !(w in AW)) w++
            f0 = f; while (f <= nf && !(f in AF)) f++
            for (x = w0; x < w; x++) {
                if (T[x] == "C" && !((x in PW) && HF[PW[x]] == HW[x])) O[++no] = B[WB[x]]
                if (T[x] == "U") continue
                if (x in PW) NOTE[++nnote] = sprintf("line %d: %s is an edit of smtp-port'"'"'s own line %s: not kept as yours", PW[x], show(F[PW[x]]), show(W[x]))
                else NOTE[++nnote] = sprintf("smtp-port'"'"'s own line %s was deleted: not kept as yours", show(W[x]))
            }
            for (y = f0; y < f; y++) {
                if (y in USER) { O[++no] = F[y]; OF[no] = y }
                else if ((y in PF2) && T[PF2[y]] == "C" && HW[PF2[y]] == HF[y]) O[++no] = B[WB[PF2[y]]]
            }
        }

        # No name our lines carry may gain a second active entry: counted
        # on the changed lines, and in the whole base only for a name that
        # gained one.
        for (w = 1; w <= nw; w++) if (T[w] != "U") { t = bare(W[w]); sub(/^[ \t]*#*/, "", t)
            if (actives(t)) for (K in AK) WATCH[K] = 1 }
        for (y = 1; y <= nf; y++) if ((y in USER) && actives(F[y])) for (K in AK) if (K in WATCH) GAIN[K]++
        for (w = 1; w <= nw; w++) if ((w in HW) && T[w] == "U" && actives(W[w])) for (K in AK) if (K in WATCH) GAIN[K]--
        for (K in GAIN) if (GAIN[K] > 0) {
            split(K, kk, SUBSEP); had = 0
            for (i = 1; i <= nb; i++) if (index(B[i], kk[1]) && actives(B[i]) && (K in AK)) had++
            if (had + GAIN[K] < 2) continue
            for (y = 1; y <= nf; y++) if ((y in USER) && actives(F[y]) && (K in AK))
                refuse(sprintf("line %d: %s would be a second active %s/%s entry once smtp-port'"'"'s lines are put back, and smtp-port did not write it; delete it or comment it out, then run again", y, show(F[y]), kk[1], kk[2]))
        }
        if (refused) exit 5
        for (i = 1; i <= nnote && i <= 10; i++) printf "%s: %s\n", prog, NOTE[i] > "/dev/stderr"
        if (nnote > 10) printf "%s: ... and %d more edits of smtp-port'"'"'s own lines\n", prog, nnote - 10 > "/dev/stderr"
        # The final newline as the file has it now.
        for (i = 1; i <= no; i++) printf "%s%s", O[i], (i < no || fin) ? "\n" : ""
        exit 0
    }' "$1" "$3" > "$2"
}

# A state written before smtp-port kept a copy of what it wrote, where that
# copy cannot be rebuilt: an edit to one of our lines is taken as the user's.
# unmanage_by_text CURRENT EDITS BASE: undo our edits by their text.
unmanage_by_text() {
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

# drifted FILE: true when FILE differs from what smtp-port last wrote, false
# when it does not, null when smtp-port has written nothing.
drifted() {
    [ -f "$STATE_DIR/written" ] || { echo null; return 0; }
    w=""
    { read -r w < "$STATE_DIR/written"; } 2>/dev/null || true
    sum_of "$1"
    if [ "$SUM" = "$w" ]; then echo false; else echo true; fi
}

# The base is our backup if the file is exactly what we wrote, otherwise the
# file with our edits undone (unmanage); an edit that cannot be attributed
# safely stops the run, nothing written.
# compute_base FILE BASE: the base as the user owns it, in BASE; sets DRIFT (see drifted) for FILE, read once.
compute_base() {
    DRIFT=$(drifted "$1")
    if [ "$DRIFT" = false ] && [ -f "$STATE_DIR/orig" ]; then
        cp "$STATE_DIR/orig" "$2"
        BASE_FROM=backup
    elif [ -f "$STATE_DIR/edits" ]; then
        BASE_FROM=merge
        say "$FILE changed since smtp-port last wrote it; keeping those changes, except to smtp-port's own lines"
        managed="$STATE_DIR/managed"
        if [ ! -f "$managed" ]; then
            # State of an older smtp-port: what it wrote is the plan of its
            # backup with the same options (a revert takes the port from the
            # added line), if that matches its checksum.
            managed="$2.managed"
            rebuilt=false given_port=$PORT
            [ -n "$PORT" ] || PORT=$(awk 'substr($0, 1, 2) == "I\t" { $0 = substr($0, 3); sub(/#.*/, ""); split($2, p, "/"); print p[1] + 0; exit }' < "$STATE_DIR/edits")
            if [ -f "$STATE_DIR/orig" ] && [ -n "$PORT" ] && plan "$STATE_DIR/orig" "$2.wrote" "$2.edits" "$managed" 2>/dev/null; then
                sum_of "$2.wrote"
                [ "$SUM" != "$(cat "$STATE_DIR/written")" ] || rebuilt=true
            fi
            PORT=$given_port
            if [ "$rebuilt" = false ]; then
                say "no copy of what smtp-port last wrote (state of an older version): undoing its edits by their text"
                unmanage_by_text "$1" "$STATE_DIR/edits" "$2"
                return 0
            fi
        fi
        rc=0
        : > "$2.refusals"
        unmanage "$1" "$2" "$managed" || rc=$?
        case "$rc" in
            0) ;;
            5)
                n=$(wc -l < "$2.refusals")
                first=$(head -n 1 "$2.refusals")
                [ "$n" -eq 1 ] || { cat "$2.refusals" >&2; err "refusing to change $FILE, nothing was written: $((n)) hand edits cannot be told apart from smtp-port's own lines (see above); the first: $first"; }
                err "refusing to change $FILE, nothing was written: $first"
                ;;
            *) err "smtp-port's copy of what it wrote to $FILE ($managed) is damaged (awk exit $rc); nothing was written. If $FILE is as it should be, remove $STATE_DIR to make it the base" ;;
        esac
    else
        cp "$1" "$2"
        BASE_FROM="file"
    fi
}

# --- mail servers -------------------------------------------------------------
# What makes a services-file change take effect, per mail server, and what
# keeps outbound mail on 25. Everything an adapter changes is saved in
# $STATE_DIR/mta and put back by revert (and by a rollback).

# detect_mta: resolve --mta auto to the installed mail server; check an explicit one is there.
detect_mta() {
    case "$MTA" in
        auto)
            if command -v postconf >/dev/null 2>&1 && pf_read && [ -n "$PF_MAIL_VERSION" ]; then
                MTA=postfix
            elif exim_bin >/dev/null; then
                MTA=exim
            elif [ -f /etc/mail/sendmail.cf ]; then
                MTA=sendmail
            else
                MTA=none
            fi
            ;;
        postfix)
            command -v postconf >/dev/null 2>&1 || err "[mta] postfix: postconf is not installed on this host"
            pf_read || err "[mta] postfix: postconf cannot read this host's Postfix settings; run 'postconf mail_version' to see why"
            ;;
        exim)
            exim_bin >/dev/null || err "[mta] exim: neither exim4 nor exim is installed on this host"
            ;;
    esac
}

# exim_bin: the Exim binary's name, or false.
exim_bin() {
    for b in exim4 exim; do
        if command -v "$b" >/dev/null 2>&1; then
            printf '%s\n' "$b"
            return 0
        fi
    done
    return 1
}

# default_restart: the restart that makes the mail server resolve the service again.
default_restart() {
    unit=""
    case "$MTA" in
        postfix) unit=postfix ;;
        exim) unit=$(exim_bin) ;;
        *) return 0 ;;
    esac
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        printf 'systemctl restart %s\n' "$unit"
    elif command -v service >/dev/null 2>&1; then
        printf 'service %s restart\n' "$unit"
    elif [ "$MTA" = postfix ]; then
        printf 'postfix stop; postfix start\n'
    fi
}

# mta_preflight: refuse, before anything changes, a mail server whose
# listener will not follow the services file or whose outbound mail would.
mta_preflight() {
    case "$MTA" in
        postfix) pf_preflight ;;
        exim) exim_preflight ;;
        sendmail)
            err "[mta] sendmail: not handled automatically: its daemon follows the services file on restart (DaemonPortOptions=Port=smtp), but its mailers would send outbound mail to the new port too; pin them to 25 by hand, then use --mta none --restart 'systemctl restart sendmail'"
            ;;
    esac
}

# pf_preflight: master.cf's smtpd listens by service name.
pf_preflight() {
    # postconf -M: "name type private unpriv chroot wakeup maxproc command..."
    verdict=$(postconf -M 2>/dev/null | awk -v svc="$SERVICE" '
        $2 == "inet" && ($8 == "smtpd" || $8 == "postscreen") {
            p = $1; sub(/.*:/, "", p)
            if (p == svc) named = 1; else if (p ~ /^[0-9]+$/) numeric = numeric " " $1
        }
        END { if (named) print "named"; else if (numeric != "") print "numeric" numeric; else print "none" }')
    case "$verdict" in
        named) ;;
        numeric*) err "[mta] postfix: master.cf runs smtpd on port${verdict#numeric} by number, so it will not follow the services file; use the service name ('$SERVICE inet ... smtpd') in master.cf" ;;
        *) err "[mta] postfix: master.cf has no '$SERVICE inet' smtpd listener" ;;
    esac
}

# exim_preflight: the daemon listens by name, outbound transports are pinned.
exim_preflight() {
    x=$(exim_bin)
    ports=$("$x" -bP daemon_smtp_ports 2>/dev/null | sed 's/^[^=]*= *//')
    case " $(printf '%s' "$ports" | tr ':,' '  ') " in
        *" $SERVICE "*) ;;
        *) err "[mta] exim: daemon_smtp_ports is '$ports', not the service name '$SERVICE', so the listener will not follow the services file" ;;
    esac
    [ "$SERVICE" = smtp ] || return 0
    # Outbound mail goes through whichever smtp transport a router names, not
    # always remote_smtp: Debian's smarthost and satellite configurations use
    # remote_smtp_smarthost. Routers the configuration leaves out (Debian's
    # smarthost router on an 'internet' host) do not count; a router that
    # picks its transport by expansion makes every transport count.
    used=$(for r in $("$x" -bP router_list 2>/dev/null); do
        "$x" -bP router "$r" 2>/dev/null | sed -n 's/^transport = *//p'
    done | sort -u)
    case "$used" in
        '' | *'$'*) used=$("$x" -bP transport_list 2>/dev/null) || used="" ;;
    esac
    [ -n "$used" ] || used=remote_smtp
    for t in $used; do
        opts=$("$x" -bP transport "$t" 2>/dev/null) || continue
        printf '%s\n' "$opts" | grep -qx 'driver = smtp' || continue
        tport=$(printf '%s\n' "$opts" | sed -n 's/^port = *//p')
        case "$tport" in
            '' | *[!0-9]*) err "[mta] exim: transport $t sends to port '${tport:-smtp}', which would follow the services file to $PORT; set 'port = 25' on $t first" ;;
        esac
    done
}

# pf_known_ports without|port: the one known_tcp_ports parser (value on
# stdin). without: the value without the mappings of --service
# ("lmtp=24, smtp=25, smtps=submissions=465" -> "lmtp=24, smtps=submissions=465");
# port: the port it maps --service to, or nothing.
pf_known_ports() {
    awk -v svc="$SERVICE" -v mode="$1" 'BEGIN { RS = "," }
        { gsub(/^[ \t\n]+|[ \t\n]+$/, ""); if ($0 == "") next
          n = split($0, p, "="); out = ""
          for (i = 1; i < n; i++) if (p[i] != svc) out = out p[i] "="; else if (mode == "port") { print p[n]; exit }
          if (out != "" && mode == "without") { printf "%s%s", sep, out p[n]; sep = ", " } }'
}

# pf_save KEY: "KEY<TAB>set<TAB>VALUE" ("KEY =": set to nothing) or "KEY<TAB>unset", as main.cf has it.
pf_save() {
    line=$(postconf -n "$1" 2>/dev/null || true)
    case "$line" in
        '') printf '%s%sunset\n' "$1" "$TAB" ;;
        *" = "*) printf '%s%sset%s%s\n' "$1" "$TAB" "$TAB" "${line#*" = "}" ;;
        *) printf '%s%sset%s\n' "$1" "$TAB" "$TAB" ;;
    esac
}

# One postconf run reads every setting the adapter needs: each run costs
# ~7 ms of CPU (it parses main.cf and every default), and a look at a
# converged host used to run it five times. Read in the main shell (by
# detect_mta) so that pipelines and substitutions inherit it; forgotten after
# every postconf -e/-X. A Postfix before 3.6 has no known_tcp_ports: postconf
# warns on stderr and leaves it out.
PF_READ=""
# pf_read: the PF_* settings, read once.
pf_read() {
    [ -z "$PF_READ" ] || return 0
    PF_MAIL_VERSION="" PF_HAS_KNOWN=no PF_KNOWN_TCP_PORTS="" PF_SMTP_TCP_PORT=""
    PF_INET_INTERFACES=all PF_INET_PROTOCOLS=all
    pf_out=$(postconf mail_version known_tcp_ports smtp_tcp_port inet_interfaces inet_protocols 2>/dev/null) || return 1
    while IFS= read -r line; do
        case "$line" in
            "mail_version = "*) PF_MAIL_VERSION=${line#* = } ;;
            "known_tcp_ports = "*) PF_HAS_KNOWN=yes PF_KNOWN_TCP_PORTS=${line#* = } ;;
            "known_tcp_ports =") PF_HAS_KNOWN=yes ;;
            "smtp_tcp_port = "*) PF_SMTP_TCP_PORT=${line#* = } ;;
            "inet_interfaces = "*) PF_INET_INTERFACES=${line#* = } ;;
            "inet_protocols = "*) PF_INET_PROTOCOLS=${line#* = } ;;
        esac
    done <<EOF
$pf_out
EOF
    PF_READ=yes
}

# pf_forget: read the settings again next time (after postconf -e/-X).
pf_forget() { PF_READ=""; }

# pf_set KEY VALUE|-: postconf -e (or -X for -) as the admin runs it (their umask).
pf_set() {
    if [ "$2" = - ]; then
        (umask "$ORIG_UMASK" && postconf -X "$1")
    else
        (umask "$ORIG_UMASK" && postconf -e "$1 = $2")
    fi
    pf_forget
    MTA_CHANGED=true
}

# pf_listen_addresses: the addresses Postfix's smtpd listens on that the host
# can reach itself (inet_interfaces, inet_protocols): loopback for "all".
pf_listen_addresses() {
    pf_read || true
    v4=no v6=no
    case "$PF_INET_PROTOCOLS" in *all*) v4=yes v6=yes ;; esac
    case "$PF_INET_PROTOCOLS" in *ipv4*) v4=yes ;; esac
    case "$PF_INET_PROTOCOLS" in *ipv6*) v6=yes ;; esac
    out=""
    for a in $(printf '%s\n' "$PF_INET_INTERFACES" | tr ',' ' '); do
        case "$a" in \[*\]) a=${a#?}; a=${a%?} ;; esac
        case "$a" in
            all | loopback-only | localhost)
                [ "$v4" = no ] || out="$out 127.0.0.1"
                [ "$v6" = no ] || out="$out ::1"
                ;;
            *'$'*) ;;
            *:*) [ "$v6" = no ] || out="$out $a" ;;
            *[!0-9.]*) out="$out $a" ;;
            *) [ "$v4" = no ] || out="$out $a" ;;
        esac
    done
    printf '%s\n' "${out# }"
}

# pf_value KEY: the value postconf -h would print.
pf_value() {
    pf_read || true
    case "$1" in
        known_tcp_ports) printf '%s\n' "$PF_KNOWN_TCP_PORTS" ;;
        smtp_tcp_port) printf '%s\n' "$PF_SMTP_TCP_PORT" ;;
        *) postconf -h "$1" ;;
    esac
}

# pf_has_known_ports: whether this Postfix has known_tcp_ports (3.6+).
pf_has_known_ports() {
    pf_read || return 1
    [ "$PF_HAS_KNOWN" = yes ]
}

# pf_keys: the settings the adapter may change.
pf_keys() {
    if pf_has_known_ports; then echo known_tcp_ports; fi
    [ "$SERVICE" != smtp ] || echo smtp_tcp_port
}

# pf_wanted: "KEY<TAB>VALUE" for each setting that must change: Postfix 3.6+ maps
# smtp=25 before it reads the services file, so that mapping goes and the
# listener follows the file; the SMTP client is pinned to 25 so that
# outbound mail does not follow it.
pf_wanted() {
    if pf_has_known_ports; then
        have=$(pf_value known_tcp_ports)
        want=$(printf '%s\n' "$have" | pf_known_ports without)
        [ "$have" = "$want" ] || printf 'known_tcp_ports%s%s\n' "$TAB" "$want"
    fi
    if [ "$SERVICE" = smtp ] && [ "$(pf_value smtp_tcp_port)" = smtp ]; then
        printf 'smtp_tcp_port%s25\n' "$TAB"
    fi
}

# pf_unsaved FILE: the lines of a pf_save record that main.cf no longer matches.
pf_unsaved() {
    while IFS= read -r line; do
        [ "$(pf_save "${line%%"$TAB"*}")" = "$line" ] || printf '%s\n' "$line"
    done < "$1"
}

# mta_save: the saved values of the keys we may change, to put back later.
mta_save() {
    case "$MTA" in
        postfix) for k in $(pf_keys); do pf_save "$k"; done ;;
    esac
}

# mta_restore SAVED: put the MTA settings back as mta_save recorded them.
mta_restore() {
    [ -s "$1" ] && [ "$MTA" = postfix ] || return 0
    pf_unsaved "$1" > "$WORK/mta.undo"
    while IFS="$TAB" read -r key how value; do
        if [ "$how" = set ]; then pf_set "$key" "$value"; else pf_set "$key" -; fi
    done < "$WORK/mta.undo"
}

# mta_manage: make the MTA settings follow the services file (pf_wanted).
mta_manage() {
    [ "$MTA" = postfix ] || return 0
    pf_wanted > "$WORK/mta.want"
    while IFS="$TAB" read -r key value; do
        pf_set "$key" "$value"
    done < "$WORK/mta.want"
}

# mta_sync_chroot: refresh the copy of the services file in Postfix's chroot
# (Debian; a restart through the init script refreshes it, a reload or a
# plain `postfix start` does not).
mta_sync_chroot() {
    [ "$MTA" = postfix ] && [ "$FILE" = /etc/services ] || return 0
    q=$(postconf -h queue_directory 2>/dev/null) || return 0
    if [ -f "$q/etc/services" ] && ! cmp -s "$FILE" "$q/etc/services"; then
        cat "$FILE" > "$q/etc/services"
    fi
}

# --- checks on the host ---------------------------------------------------------

# banner ADDRESS PORT: the first line the server at ADDRESS (IPv4, IPv6 or a
# name) sends. Exit 2 when nothing listens there (refused, or the address
# is not on this host), 3 on timeout, 4 when no tool can connect, 5 when
# the peer hangs up without a line. Perl's IO::Socket::IP (perl-base on
# Debian and Ubuntu) speaks IPv4 and IPv6.
banner() {
    if [ "$PROBE" = perl ]; then
        perl -MIO::Socket::IP -e '
            use Errno;
            $SIG{ALRM} = sub { exit 3 }; alarm 5;
            my $s = IO::Socket::IP->new(PeerHost => $ARGV[0], PeerPort => $ARGV[1], Proto => "tcp", Timeout => 4);
            if (!$s) { exit 3 if $!{ETIMEDOUT}; exit 2 }
            my $l = <$s>; defined $l or exit 5; $l =~ s/\r?\n$//; print "$l\n"; print $s "QUIT\r\n"; exit 0' "$1" "$2" </dev/null
    elif [ "$PROBE" = python3 ]; then
        python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 4)
except socket.timeout:
    sys.exit(3)
except OSError:
    sys.exit(2)
s.settimeout(4)
try:
    line = s.makefile("rb").readline()
except OSError:
    sys.exit(3)
if not line:
    sys.exit(5)
print(line.decode("latin-1").rstrip("\r\n"))' "$1" "$2" </dev/null
    elif [ "$PROBE" = nc ]; then
        # nc's exit codes differ between variants: judge by what came back.
        out=$(printf 'QUIT\r\n' | nc -w 4 "$1" "$2" 2>/dev/null) || [ -n "$out" ] || return 2
        [ -n "$out" ] || return 3
        printf '%s\n' "$out" | head -n 1 | tr -d '\r'
    else
        return 4
    fi
}

PROBE=""
# probe_tool: PROBE, what banner connects with (perl, python3, nc or none).
probe_tool() {
    if command -v perl >/dev/null 2>&1 && perl -MIO::Socket::IP -e 1 2>/dev/null; then PROBE=perl
    elif command -v python3 >/dev/null 2>&1; then PROBE=python3
    elif command -v nc >/dev/null 2>&1; then PROBE=nc
    else PROBE=none
    fi
}

# verify_addresses: the addresses the on-host check probes: --verify-address,
# or (auto) where Postfix listens, or loopback over IPv4 and IPv6.
verify_addresses() {
    case "$VERIFY_ADDRESS" in
        auto) ;;
        \[*\]) a=${VERIFY_ADDRESS#?}; printf '%s\n' "${a%?}"; return 0 ;;
        *) printf '%s\n' "$VERIFY_ADDRESS"; return 0 ;;
    esac
    a=""
    [ "$MTA" != postfix ] || a=$(pf_listen_addresses)
    printf '%s\n' "${a:-127.0.0.1 ::1}"
}

SEEN=""
# greeting PORT: SEEN, the 220 greeting on PORT, or why not (false). Every
# address must greet or refuse (nothing there): a squatter on one of them
# (another program on IPv4 while the MTA is on ::1) is a failure.
greeting() {
    SEEN="" good="" bad="" refused=""
    for addr in $ADDRESSES; do
        # Not rc: the caller keeps its own rc across this call (sh has no locals).
        prc=0
        line=$(banner "$addr" "$1") || prc=$?
        at=$(show_addr "$addr" "$1")
        # A reply code is three digits, then space, dash or the line's end: 2201 is not 220.
        case "$prc:$line" in
            0:220 | 0:"220 "* | 0:220-*) good=${good:-$line} ;;
            0:*) bad="$bad${bad:+, }$at: wrong banner '$line'" ;;
            2:*) refused="$refused${refused:+, }$at: connection refused" ;;
            3:*) bad="$bad${bad:+, }$at: timeout" ;;
            5:*) bad="$bad${bad:+, }$at: closed without a greeting" ;;
            4:*) SEEN="no perl, python3 or nc to check with"; return 2 ;;
            *) bad="$bad${bad:+, }$at: error $prc" ;;
        esac
    done
    if [ -n "$good" ] && [ -z "$bad" ]; then SEEN=$good; return 0; fi
    SEEN="$bad${bad:+${refused:+, }}$refused"
    return 1
}

# show_addr ADDRESS PORT: ADDRESS:PORT, IPv6 in brackets.
show_addr() {
    case "$1" in
        *:*) printf '[%s]:%s' "$1" "$2" ;;
        *) printf '%s:%s' "$1" "$2" ;;
    esac
}

# wait_greeting PORT: wait up to VERIFY_TIMEOUT seconds for a 220 greeting (greeting).
wait_greeting() {
    deadline=$(($(date +%s) + VERIFY_TIMEOUT))
    while :; do
        rc=0
        greeting "$1" || rc=$?
        [ "$rc" != 0 ] || return 0
        [ "$rc" != 2 ] || return 2
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        # A fifth of a second where sleep takes fractions (GNU, busybox).
        sleep 0.2 2>/dev/null || sleep 1
    done
}

# open_on PORT: the addresses where PORT still accepts connections (none: closed everywhere).
open_on() {
    for addr in $ADDRESSES; do
        rc=0
        banner "$addr" "$1" >/dev/null || rc=$?
        [ "$rc" = 2 ] || printf ' %s' "$(show_addr "$addr" "$1")"
    done
}

# restart_if CHANGED: run the restart command when something changed (false when it fails).
restart_if() {
    RESTARTED=false
    [ "$1" = true ] && [ -n "$RESTART" ] || return 0
    say "restarting the mail service: $RESTART"
    run_restart || return 1
    RESTARTED=true
}

# run_restart: the restart command, as the admin wrote it (their umask and
# locale), its output on stderr (stdout is the result; stdin may be the
# script itself, as with `sh -s`).
run_restart() {
    (
        umask "$ORIG_UMASK"
        if [ "$ORIG_LC_ALL_SET" = yes ]; then LC_ALL=$ORIG_LC_ALL; else unset LC_ALL; fi
        exec sh -c "$RESTART" </dev/null >&2
    )
}

# verify NEW OLD: after a restart, the new port greets and the old one is
# closed; FAILED says why not.
verify() {
    FAILED=""
    [ "$RESTARTED" = true ] && [ "$VERIFY" = yes ] || return 0
    rc=0
    wait_greeting "$1" || rc=$?
    case "$rc" in
        0) VERIFIED="$SEEN" ;;
        2) say "not verified on the host: $SEEN"; return 0 ;;
        *) FAILED="no SMTP greeting on port $1 after ${VERIFY_TIMEOUT}s ($SEEN)"; return 0 ;;
    esac
    if [ "$REQUIRE_OLD_PORT_CLOSED" = yes ] && [ -n "$2" ] && [ "$2" != - ] && [ "$2" != "$1" ]; then
        open=$(open_on "$2")
        [ -z "$open" ] || FAILED="the old port $2 still accepts connections on${open} (--require-old-port-closed no if that is intended)"
    fi
}

# --- the change token -------------------------------------------------------------
# What a look reports as the host's change: the number of changes so far.
# An apply that changes something records the token Pulumi gave it
# (--change), so that the next look reports exactly what Pulumi holds in its
# state (no diff) even when that token marks a retry ("3@<time>"); without a
# token (by hand, revert) the number goes up by one. Kept beside the state
# folder ($STATE_DIR.change) so that it outlives a revert.

# current_change: the recorded change token ("0" when none).
current_change() {
    c=0
    f=$CHANGE_FILE
    # Hosts managed by the first versions have $STATE_DIR.generation.
    [ -f "$f" ] || f="$STATE_DIR.generation"
    # A builtin read, not cat: a look runs this on every host every preview.
    [ ! -f "$f" ] || { read -r c < "$f" || [ -n "$c" ]; } 2>/dev/null || c=0
    case "$c" in
        [0-9]*) printf '%s\n' "$c" ;;
        *) echo 0 ;;
    esac
}

# record_change: record --change, or the next number.
record_change() {
    case "$CHANGE" in
        [0-9]*) next=$CHANGE ;;
        *) next=$(($(current_change | sed 's/[^0-9].*//') + 1)) ;;
    esac
    printf '%s\n' "$next" > "$CHANGE_FILE.tmp"
    mv -f "$CHANGE_FILE.tmp" "$CHANGE_FILE"
    rm -f "$STATE_DIR.generation"
}

# --- what apply does ---------------------------------------------------------------

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

# mta_plan EDITS: "key: old -> new" for each MTA setting an apply would change.
mta_plan() {
    case "$MTA" in
        postfix) ;;
        *) return 0 ;;
    esac
    if [ -s "$1" ]; then
        pf_wanted | while IFS="$TAB" read -r key value; do
            printf 'postfix %s: %s -> %s\n' "$key" "$(pf_value "$key")" "$value"
        done
    elif [ -f "$STATE_DIR/mta" ]; then
        pf_unsaved "$STATE_DIR/mta" | while IFS="$TAB" read -r key how value; do
            printf 'postfix %s: %s -> %s\n' "$key" "$(pf_value "$key")" "${value:-(default)}"
        done
    fi
}

# mta_port RESOLVED: the port the MTA listens on for the service (Postfix
# maps known_tcp_ports first, then the services file), "-" when unknown.
mta_port() {
    case "$MTA" in
        postfix)
            p=$(pf_value known_tcp_ports 2>/dev/null | pf_known_ports port)
            printf '%s\n' "${p:-$1}"
            ;;
        exim | sendmail) printf '%s\n' "$1" ;;
        *) printf -- '-\n' ;;
    esac
}

# plan_change: the file as read (WORK/snap), its base and the file apply
# would write (WORK/new, WORK/edits), or stop saying why apply refuses.
plan_change() {
    cp "$FILE" "$WORK/snap"
    compute_base "$WORK/snap" "$WORK/base"
    : > "$WORK/edits"
    rc=0
    plan "$WORK/base" "$WORK/new" "$WORK/edits" "$WORK/managed" || rc=$?
    case "$rc" in
        0) ;;
        3) err "refusing to change $FILE: other entries hold $PORT/$PROTOCOL (see above); use --conflicts comment to comment them out" ;;
        4) err "refusing to change $FILE: a $SERVICE entry cannot be parsed (see above); fix it by hand" ;;
        *) err "could not compute the new $FILE (awk exit $rc)" ;;
    esac
}

# rollback WHY OLD: put the host back as it was before this run (file,
# state, MTA settings, restart, the old port greeting again), then fail.
rollback() {
    t0=$(date +%s)
    say "rolling back: $1"
    if ! cmp -s "$WORK/snap" "$FILE"; then
        replace_file "$WORK/snap" || err "$1; ROLLBACK FAILED: could not restore $FILE ($REPLACE_FAILED; its content before: $WORK/snap)"
    fi
    rm -rf "$STATE_DIR"
    [ ! -d "$WORK/state.prev" ] || cp -Rp "$WORK/state.prev" "$STATE_DIR"
    marker_sync
    mta_restore "$WORK/mta.prev"
    mta_sync_chroot
    back=""
    if [ -n "$RESTART" ]; then
        say "restarting the mail service: $RESTART"
        if run_restart; then
            RESTARTED=true
            if [ "$VERIFY" = yes ] && [ -n "$2" ] && [ "$2" != - ]; then
                if wait_greeting "$2"; then back=", greeting on $2 again ('$SEEN')"; else back=", but no greeting on $2 yet ($SEEN)"; fi
            fi
        else
            back=", but the restart after the rollback failed too"
        fi
    fi
    fail true "$1; rolled back in $(($(date +%s) - t0))s: $FILE and the $MTA configuration are as before$back"
}

# write_services NEW: replace the file with NEW through the journal, with the
# state that goes with it (WORK/edits, WORK/base, BASE_FROM).
write_services() {
    txn="$STATE_DIR/txn"
    rm -rf "$txn"
    mkdir -p "$txn"
    if [ ! -s "$WORK/edits" ]; then
        : > "$txn/clear"
    else
        [ "$BASE_FROM" = backup ] || put_backup "$WORK/base" "$txn"
        put_state "$WORK/edits" "$txn/edits"
        # What we wrote, our lines tagged: tells them from the user's after
        # a hand edit (unmanage).
        put_state "$WORK/managed" "$txn/managed"
    fi
    sum_of "$1"
    printf '%s\n' "$SUM" > "$txn/written"
    put_state "$WORK/snap" "$txn/prev"
    : > "$txn/ready"
    flush "$txn/ready"
    # Somebody else may have written the file since we read it.
    if ! cmp -s "$WORK/snap" "$FILE"; then
        rm -rf "$txn"
        err "$FILE changed while smtp-port was working on it; nothing was written, run again"
    fi
    # The copy beside the file exists before the file is moved.
    if [ -s "$WORK/edits" ]; then
        if [ -f "$txn/orig" ]; then cp "$txn/orig" "$WORK/orig.next"; else cp "$STATE_DIR/orig" "$WORK/orig.next"; fi
        marker_put "$WORK/orig.next"
    fi
    replace_file "$1" || undo_write
    commit_txn
}

# undo_write: replace_file failed in this run; an in-place rewrite may have
# got some or all of the way (its bytes in, the flush failed), so put the
# file back from the journal's prev, then fail. Not recover: it would take a
# complete write for a finished one and keep it.
undo_write() {
    # Not "why": replace_file sets that (sh has no local variables).
    failed_write=$REPLACE_FAILED
    txn="$STATE_DIR/txn"
    if ! cmp -s "$txn/prev" "$FILE"; then
        say "putting $FILE back as it was"
        replace_file "$txn/prev" || err "could not write $FILE: $failed_write; putting it back failed too ($REPLACE_FAILED): the next run completes or undoes the change (journal: $txn)"
    fi
    rm -rf "$txn"
    err "could not write $FILE: $failed_write; it was left as it was"
}

# start_work: the lock, a repaired journal, no debris, a checked backup and WORK.
start_work() {
    lock
    clean_debris
    WORK=$(mktemp -d "$STATE_DIR.work.XXXXXX")
    recover
    check_backup write
}

# --- the actions ---------------------------------------------------------------------

# do_apply: make the file (and the MTA) match the declared port.
do_apply() {
    check_file
    check_writable
    detect_mta
    mta_preflight
    [ -n "$RESTART" ] || RESTART=$(default_restart)
    start_work
    [ -f "$STATE_DIR/written" ] || marker_check "run apply"
    plan_change
    old=$(lookup "$WORK/snap" | cut -d' ' -f1)
    # What a rollback needs: the state and the MTA settings of before.
    [ ! -f "$STATE_DIR/written" ] || cp -Rp "$STATE_DIR" "$WORK/state.prev"
    rm -rf "$WORK/state.prev/txn"
    mta_save > "$WORK/mta.prev"
    # The MTA's original settings, kept while smtp-port manages the host.
    saved_mta="$STATE_DIR/mta"
    if [ -f "$saved_mta" ]; then cp "$saved_mta" "$WORK/mta.orig"; else cp "$WORK/mta.prev" "$WORK/mta.orig"; fi

    changed=false
    if ! cmp -s "$WORK/new" "$WORK/snap"; then
        changed=true
        write_services "$WORK/new"
    elif [ ! -s "$WORK/edits" ] && [ -f "$STATE_DIR/written" ]; then
        # Nothing of ours is left in the file: forget the old state.
        mta_restore "$WORK/mta.orig"
        rm -rf "$STATE_DIR"
    elif [ -s "$WORK/edits" ]; then
        # Unchanged but the base moved (somebody else's edit): remember it.
        mkdir -p "$STATE_DIR"
        if [ "$BASE_FROM" = merge ] || [ ! -f "$STATE_DIR/orig" ]; then
            put_backup "$WORK/base" "$STATE_DIR"
        fi
        put_state "$WORK/edits" "$STATE_DIR/edits"
        # (Before the checksum: an interrupted run leaves drift, and a copy
        # of what is in the file to merge from.)
        cmp -s "$WORK/managed" "$STATE_DIR/managed" 2>/dev/null || put_state "$WORK/managed" "$STATE_DIR/managed"
        sum_of "$WORK/snap"
        printf '%s\n' "$SUM" > "$WORK/written"
        put_state "$WORK/written" "$STATE_DIR/written"
    fi
    if [ -s "$WORK/edits" ]; then
        mta_manage
        put_state "$WORK/mta.orig" "$STATE_DIR/mta"
    else
        mta_restore "$WORK/mta.orig"
        [ -f "$STATE_DIR/written" ] || rm -rf "$STATE_DIR"
    fi
    marker_sync
    ADDRESSES=$(verify_addresses)
    probe_tool
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then
        mta_sync_chroot
        restart_if true || rollback "$HOST_LABEL: the restart command failed" "$old"
    fi
    verify "$PORT" "$old"
    [ -z "$FAILED" ] || rollback "$HOST_LABEL: $FAILED" "$old"
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then record_change; fi
    backup=""
    [ ! -f "$STATE_DIR/orig" ] || backup="$STATE_DIR/orig"
    added=$(awk 'substr($0, 1, 1) == "I" { print substr($0, 3); exit }' "$WORK/edits")
    after=$(lookup "$FILE" | cut -d' ' -f1)
    status=unchanged
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then status=changed; fi
    result "$status" "$(printf '"service":"%s","protocol":"%s","port":%s,"old_port":%s,"changed":%s,"added":%s,"commented":[%s],"backup":%s,"mta":"%s","mta_changed":%s,"restarted":%s,"verified":%s,"resolver_port":%s,"mta_port":%s,"change":%s' \
        "$SERVICE" "$PROTOCOL" "$PORT" "$(num_or_null "$old")" "$changed" "$(json_str_or_null "$added")" \
        "$(json_lines "$WORK/edits" C)" "$(json_str_or_null "$backup")" "$MTA" "$MTA_CHANGED" "$RESTARTED" \
        "$(json_str_or_null "$VERIFIED")" "$(num_or_null "$after")" "$(num_or_null "$(mta_port "$after")")" "$(json_str "$(current_change)")")"
}

# do_revert: put the file and the MTA settings back as the user had them.
do_revert() {
    check_file
    check_state
    if [ ! -d "$STATE_DIR" ]; then
        marker_check "run revert"
        detect_mta
        result unchanged "$(printf '"changed":false,"mode":"none","mta":"%s","mta_changed":false,"restarted":false' "$MTA")"
        return 0
    fi
    check_writable
    detect_mta
    [ -n "$RESTART" ] || RESTART=$(default_restart)
    start_work
    cp "$FILE" "$WORK/snap"
    changed=false
    mode=none
    [ ! -f "$STATE_DIR/mta" ] || cp "$STATE_DIR/mta" "$WORK/mta.orig"
    if [ -f "$STATE_DIR/written" ]; then
        compute_base "$WORK/snap" "$WORK/base"
        mode="$BASE_FROM"
        if ! cmp -s "$WORK/base" "$WORK/snap"; then
            changed=true
            : > "$WORK/edits"
            write_services "$WORK/base"
        fi
    fi
    rm -rf "$STATE_DIR"
    marker_sync
    [ ! -f "$WORK/mta.orig" ] || mta_restore "$WORK/mta.orig"
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then
        record_change
        mta_sync_chroot
        restart_if true || err "$HOST_LABEL: $FILE and the $MTA configuration were put back, but the restart command failed: the mail service may be down"
    fi
    status=unchanged
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then status=reverted; fi
    result "$status" "$(printf '"changed":%s,"mode":"%s","mta":"%s","mta_changed":%s,"restarted":%s' \
        "$changed" "$mode" "$MTA" "$MTA_CHANGED" "$RESTARTED")"
}

# do_status: what the resolver sees now (read-only).
do_status() {
    check_file
    check_state
    found=$(lookup "$FILE")
    set -- "${found% *}" "${found#* }"
    status=not_managed
    [ ! -f "$STATE_DIR/written" ] || status=managed
    interrupted=false
    [ ! -f "$STATE_DIR/txn/ready" ] || interrupted=true
    name=""
    [ "$2" = - ] || name=$2
    result "$status" "$(printf '"service":"%s","protocol":"%s","service_port":%s,"port":%s,"port_name":%s,"drift":%s,"interrupted":%s' \
        "$SERVICE" "$PROTOCOL" "$(num_or_null "$1")" "$(num_or_null "$PORT")" "$(json_str_or_null "$name")" "$(drifted "$FILE")" "$interrupted")"
}

# do_preview: what apply would do, for `pulumi preview` (read-only).
do_preview() {
    check_file
    check_state
    check_backup read
    detect_mta
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/smtp-port.XXXXXX")
    plan_change
    now_port=$(lookup "$WORK/snap" | cut -d' ' -f1)
    status=no_change
    cmp -s "$WORK/new" "$WORK/snap" || status=would_change
    mta_plan "$WORK/edits" > "$WORK/mta.plan"
    [ ! -s "$WORK/mta.plan" ] || status=would_change
    drift=false
    [ "$DRIFT" != true ] || drift=true
    [ ! -d "$STATE_DIR/txn" ] || drift=true
    # Unified diff hunks, with each line shown next to its commented-out self.
    : > "$WORK/diff"
    [ "$status" = no_change ] || diff -U0 "$WORK/snap" "$WORK/new" 2>/dev/null | tr -d '\r' | awk '
        function flush(   i, j) {
            for (i = 1; i <= nr; i++) {
                print "-" r[i]
                for (j = 1; j <= na; j++) if (!used[j] && a[j] == "#" r[i]) { print "+" a[j]; used[j] = 1; break }
            }
            for (j = 1; j <= na; j++) if (!used[j]) print "+" a[j]
            nr = na = 0; split("", used)
        }
        /^(---|\+\+\+)/ { next }
        /^@@/ { flush(); next }
        /^-/ { r[++nr] = substr($0, 2); next }
        /^\+/ { a[++na] = substr($0, 2); next }
        END { flush() }' > "$WORK/diff" || true
    result "$status" "$(printf '"port":%s,"drift":%s,"change":%s,"service_port":%s,"mta":"%s","mta_port":%s,"diff":[%s],"mta_diff":[%s]' \
        "$PORT" "$drift" "$(json_str "$(current_change)")" "$(num_or_null "$now_port")" "$MTA" \
        "$(num_or_null "$(mta_port "$now_port")")" "$(json_lines "$WORK/diff")" "$(json_lines "$WORK/mta.plan")")"
}

# main ARGS: parse, check, run the action.
main() {
    [ "$#" -ge 1 ] || { usage; exit 2; }
    case "$1" in
        apply | revert | status | preview) ;;
        -h | --help | help) usage; exit 0 ;;
        *) usage; printf '%s: error: unknown command %s\n' "$PROG" "'$1'" >&2; exit 2 ;;
    esac
    action=$1
    shift
    bad=""
    while [ "$#" -gt 0 ]; do
        [ "$#" -ge 2 ] || { bad=${bad:-"option $1 needs a value"}; break; }
        case "$1" in
            --port) PORT="$2" ;;
            --file) FILE="$2" ;;
            --service) SERVICE="$2" ;;
            --protocol) PROTOCOL="$2" ;;
            --aliases) ALIASES="$2" ;;
            --conflicts) CONFLICTS="$2" ;;
            --restart) RESTART="$2" ;;
            --state-dir) STATE_ROOT="$2" ;;
            --mta) MTA="$2" ;;
            --verify) VERIFY="$2" ;;
            --verify-timeout) VERIFY_TIMEOUT="$2" ;;
            --verify-address) VERIFY_ADDRESS="$2" ;;
            --require-old-port-closed) REQUIRE_OLD_PORT_CLOSED="$2" ;;
            --host-label) HOST_LABEL="$2" ;;
            --report-failure)
                case "$2" in
                    yes | no) REPORT_FAILURE="$2" ;;
                    *) bad=${bad:-"[report-failure] must be yes or no, got '$2'"} ;;
                esac
                ;;
            # The change token Pulumi expects this apply to make: a number,
            # or a number and a retry mark; recorded by an apply that changes
            # something (anything else, like "unknown", is not recorded).
            --change)
                case "$2" in
                    [0-9]*[!0-9A-Za-z@:.+-]*) bad=${bad:-"[change] must be a number with an optional mark of letters, digits and @:.+-, got '$2'"} ;;
                    [0-9]*) CHANGE="$2" ;;
                esac
                ;;
            *) [ -n "$bad" ] || { bad="unknown option '$1'"; usage; } ;;
        esac
        # On after a bad option: the first is reported, with the host label
        # and --report-failure given after it.
        shift 2
    done
    [ -n "$HOST_LABEL" ] || HOST_LABEL=$(hostname 2>/dev/null || uname -n)
    ACTION=$action
    trap on_exit EXIT
    trap 'exit 130' INT TERM HUP
    [ -z "$bad" ] || err "$bad"
    check_args
    # One state folder per managed file, named after its path.
    STATE_DIR="$STATE_ROOT/$(state_key "$FILE")"
    CHANGE_FILE="$STATE_DIR.change"
    "do_$ACTION"
}

main "$@"
