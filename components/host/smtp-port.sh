#!/bin/sh
# smtp-port.sh - move a service (smtp by default) to another port in a
# services file, safely and idempotently, and put it back again.
#
#   sh smtp-port.sh apply  --port 17 [--file /etc/services] [--service smtp]
#                          [--protocol tcp] [--aliases mail]
#                          [--conflicts comment|fail] [--restart CMD]
#                          [--state-dir /var/lib/smtp-port]
#                          [--mta postfix|exim|sendmail|auto|none]
#                          [--verify yes|no] [--old-port closed|any]
#                          [--check-address 127.0.0.1] [--check-timeout 20]
#   sh smtp-port.sh revert [--file /etc/services] [--restart CMD] [--mta ...]
#                          [--state-dir ...]
#   sh smtp-port.sh status [--file /etc/services] [--port N] [--service smtp]
#                          [--protocol tcp] [--state-dir ...]
#   sh smtp-port.sh preview (the apply options): what apply would change,
#                          read-only (a diff, drift, the change number)
#
# Every command prints exactly one JSON line on stdout. Errors go to stderr
# and exit non-zero, leaving the services file as it was.
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
                           [--state-dir DIR] [--mta postfix|exim|sendmail|auto|none]
                           [--verify yes|no] [--old-port closed|any]
                           [--check-address 127.0.0.1] [--check-timeout 20]
                           [--host-label NAME] [--change TOKEN]
       smtp-port.sh revert [--file PATH] [--restart CMD] [--state-dir DIR]
       smtp-port.sh status [--file PATH] [--port N] [--service NAME] [--protocol tcp|udp]
                           [--state-dir DIR]
       smtp-port.sh preview (apply's options): what apply would change, writing nothing
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
        apply | preview)
            [ -n "$PORT" ] || err "[port] is required for $ACTION"
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
    # One space between aliases (word splitting; globbing is off).
    # shellcheck disable=SC2086
    set -- $ALIASES
    ALIASES="$*"
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
    case "$MTA" in
        postfix | exim | sendmail | auto | none) ;;
        *) err "[mta] must be postfix, exim, sendmail, auto or none, got '$MTA'" ;;
    esac
    case "$VERIFY" in
        yes | no) ;;
        *) err "[verify] must be yes or no, got '$VERIFY'" ;;
    esac
    case "$OLD_PORT" in
        closed | any) ;;
        *) err "[old-port] must be closed or any, got '$OLD_PORT'" ;;
    esac
    case "$CHECK_TIMEOUT" in
        '' | *[!0-9]*) err "[check-timeout] must be a number of seconds, got '$CHECK_TIMEOUT'" ;;
    esac
    case "$CHECK_ADDRESS" in
        '' | *[!A-Za-z0-9.:_-]*) err "[check-address] must be a host name or address, got '$CHECK_ADDRESS'" ;;
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
    # The sum's words joined by "-", without the "-" naming stdin: the text
    # kept in $STATE_DIR/written since the first version (was tr | sed).
    # shellcheck disable=SC2086
    set -- $s
    s=$1
    shift
    for w in "$@"; do
        [ "$w" = - ] || s="$s-$w"
    done
    printf '%s:%s\n' "$SUM_TOOL" "$s"
}

# 1 if the file ends in a newline (or is empty), 0 if its last line is bare.
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
# txn/ holds the next state (orig, edits, managed, written) and prev, a copy of the
# file before replacement. It counts only once txn/ready exists, which is
# written before the file is touched.

commit_txn() {
    txn="$STATE_DIR/txn"
    if [ -f "$txn/clear" ]; then
        # Nothing of ours is left in the file: forget it entirely.
        rm -rf "$STATE_DIR"
        return 0
    fi
    # The checksum last: until it moves, a run sees drift and merges.
    for f in orig edits managed written; do
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

# plan BASE NEW EDITS MANAGED: compute the managed file from BASE. MANAGED
# gets NEW line by line, each tagged "U" (the base's), "C" (the base's,
# commented out by us) or "I" (added by us), and a tab: how a later run
# tells our lines from the user's after a hand edit (see unmanage).
# Exit 3 when conflicts are refused, 4 when a target line cannot be parsed.
plan() {
    awk -v svc="$SERVICE" -v port="$PORT" -v proto="$PROTOCOL" -v aliases="$ALIASES" \
        -v conflicts="$CONFLICTS" -v final_nl="$(final_newline "$1")" -v edits="$3" -v managed="$4" -v file="$FILE" '
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

# unmanage CURRENT BASE MANAGED: the base as the user owns it, from
# CURRENT, a file somebody edited after smtp-port wrote MANAGED (see plan:
# what it wrote, line by line, tagged U, C or I). A three-way merge by line:
# CURRENT is aligned with what we wrote (a patience diff, a longest common
# subsequence inside small gaps), and each run of changed lines attributed:
# - a line that is not ours (kept, changed or deleted) and any line added:
#   the user's, carried into the base;
# - a line of ours that was changed, moved, uncommented or deleted: not the
#   user's content; the base keeps its original line (a commented one comes
#   back active, an added one is dropped). A changed line is recognized by
#   the entry it holds (name and protocol, commented or not), first among
#   the lines of its run, then among lines deleted anywhere (a move), then
#   by the name alone.
# Exit 5, saying why line by line on stderr, when an edit cannot be
# attributed safely: a changed line could be ours or the user's, an entry
# stands in the place of one of our lines without being recognizably that
# line, or the base would get a second active entry for a name our lines
# carry (revert would then leave two). Exit 6 when MANAGED is malformed.
# Notes on stderr name our lines that were edited.
unmanage() {
    awk -v prog="$PROG" -v fin="$(final_newline "$1")" '
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
    function refuse(msg) { print msg > "/dev/stderr"; refused = 1 }
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

# unmanage_by_text CURRENT EDITS BASE: undo our edits by their text, for a
# state written before smtp-port kept a copy of what it wrote (managed)
# when that copy cannot be rebuilt: an edit to one of our lines is
# then taken as the user's.
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
    if [ "$(sum_of "$1")" = "$w" ]; then echo false; else echo true; fi
}

# compute_base FILE BASE: the base as the user owns it in BASE: our backup if
# the file is exactly what we wrote, otherwise the current file with our
# edits undone (unmanage). Sets DRIFT (see drifted) for FILE, read once.
# Stops with an error, writing nothing, when a hand edit cannot be
# attributed safely.
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
            # backup with the same options, if that matches its checksum.
            managed="$2.managed"
            if ! { [ -f "$STATE_DIR/orig" ] && [ -n "$PORT" ] && plan "$STATE_DIR/orig" "$2.wrote" "$2.edits" "$managed" 2>/dev/null \
                && [ "$(sum_of "$2.wrote")" = "$(cat "$STATE_DIR/written")" ]; }; then
                say "no copy of what smtp-port last wrote (state of an older version): undoing its edits by their text"
                unmanage_by_text "$1" "$STATE_DIR/edits" "$2"
                return 0
            fi
        fi
        rc=0
        unmanage "$1" "$2" "$managed" || rc=$?
        case "$rc" in
            0) ;;
            5) err "refusing to change $FILE: a hand edit next to smtp-port's own lines cannot be told apart from them (see above); nothing was written" ;;
            *) err "smtp-port's copy of what it wrote to $FILE ($managed) is damaged (awk exit $rc); nothing was written. If $FILE is as it should be, remove $STATE_DIR to make it the base" ;;
        esac
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
    case "$1" in
        *[\\\"$TAB$CR]* | *"
"*) ;;
        *) printf '%s' "$1"; return 0 ;;
    esac
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

# --- mail servers -------------------------------------------------------------
# What makes a services-file change take effect, per mail server, and what
# keeps outbound mail on 25. Everything an adapter changes is saved in
# $STATE_DIR/mta and put back by revert (and by a rollback).

TAB=$(printf '\t')
CR=$(printf '\r')

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
            pf_read || true
            ;;
        exim)
            exim_bin >/dev/null || err "[mta] exim: neither exim4 nor exim is installed on this host"
            ;;
    esac
}

exim_bin() {
    for b in exim4 exim; do
        if command -v "$b" >/dev/null 2>&1; then
            printf '%s\n' "$b"
            return 0
        fi
    done
    return 1
}

# The restart that makes the mail server resolve the service again.
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

# Refuse, before anything changes, a mail server whose listener will not
# follow the services file or whose outbound mail would follow it.
mta_preflight() {
    case "$MTA" in
        postfix) pf_preflight ;;
        exim) exim_preflight ;;
        sendmail)
            err "[mta] sendmail: not handled automatically: its daemon follows the services file on restart (DaemonPortOptions=Port=smtp), but its mailers would send outbound mail to the new port too; pin them to 25 by hand, then use --mta none --restart 'systemctl restart sendmail'"
            ;;
    esac
}

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

# A known_tcp_ports value (stdin) without the mappings of --service:
# "lmtp=24, smtp=25, smtps=submissions=465" -> "lmtp=24, smtps=submissions=465".
pf_without_service() {
    awk -v svc="$SERVICE" 'BEGIN { RS = "," }
        { gsub(/^[ \t\n]+|[ \t\n]+$/, ""); if ($0 == "") next
          n = split($0, p, "="); out = ""
          for (i = 1; i < n; i++) if (p[i] != svc) out = out p[i] "="
          if (out != "") { printf "%s%s", sep, out p[n]; sep = ", " } }'
}

# pf_save KEY: "KEY<TAB>set<TAB>VALUE" or "KEY<TAB>unset", as main.cf has it.
pf_save() {
    line=$(postconf -n "$1" 2>/dev/null || true)
    if [ -n "$line" ]; then
        printf '%s%sset%s%s\n' "$1" "$TAB" "$TAB" "${line#*= }"
    else
        printf '%s%sunset\n' "$1" "$TAB"
    fi
}

# The Postfix settings the adapter reads, from one postconf run: each run
# costs ~7 ms of CPU (it parses main.cf and every default), and a look at a
# converged host used to run it five times. Read in the main shell (by
# detect_mta) so that pipelines and substitutions inherit it; forgotten after
# every postconf -e/-X. A Postfix before 3.6 has no known_tcp_ports: postconf
# warns on stderr and leaves it out.
PF_READ=""
pf_read() {
    [ -z "$PF_READ" ] || return 0
    PF_MAIL_VERSION="" PF_HAS_KNOWN=no PF_KNOWN_TCP_PORTS="" PF_SMTP_TCP_PORT=""
    pf_out=$(postconf mail_version known_tcp_ports smtp_tcp_port 2>/dev/null) || return 1
    while IFS= read -r line; do
        case "$line" in
            "mail_version = "*) PF_MAIL_VERSION=${line#* = } ;;
            "known_tcp_ports = "*) PF_HAS_KNOWN=yes PF_KNOWN_TCP_PORTS=${line#* = } ;;
            "known_tcp_ports =") PF_HAS_KNOWN=yes ;;
            "smtp_tcp_port = "*) PF_SMTP_TCP_PORT=${line#* = } ;;
        esac
    done <<EOF
$pf_out
EOF
    PF_READ=yes
}

pf_forget() { PF_READ=""; }

# pf_value KEY: the value postconf -h would print.
pf_value() {
    pf_read || true
    case "$1" in
        known_tcp_ports) printf '%s\n' "$PF_KNOWN_TCP_PORTS" ;;
        smtp_tcp_port) printf '%s\n' "$PF_SMTP_TCP_PORT" ;;
        *) postconf -h "$1" ;;
    esac
}

# Whether this Postfix has known_tcp_ports (3.6+).
pf_has_known_ports() {
    pf_read || return 1
    [ "$PF_HAS_KNOWN" = yes ]
}

pf_keys() {
    if pf_has_known_ports; then echo known_tcp_ports; fi
    [ "$SERVICE" != smtp ] || echo smtp_tcp_port
}

# "KEY<TAB>VALUE" for each setting that must change: Postfix 3.6+ maps
# smtp=25 before it reads the services file, so that mapping goes and the
# listener follows the file; the SMTP client is pinned to 25 so that
# outbound mail does not follow it.
pf_wanted() {
    if pf_has_known_ports; then
        have=$(pf_value known_tcp_ports)
        want=$(printf '%s\n' "$have" | pf_without_service)
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

# The saved values of the keys we may change, to put back later.
mta_save() {
    case "$MTA" in
        postfix) for k in $(pf_keys); do pf_save "$k"; done ;;
    esac
}

mta_restore() {
    [ -s "$1" ] && [ "$MTA" = postfix ] || return 0
    pf_unsaved "$1" > "$WORK/mta.undo"
    while IFS="$TAB" read -r key how value; do
        if [ "$how" = set ]; then postconf -e "$key = $value"; else postconf -X "$key"; fi
        pf_forget
        MTA_CHANGED=true
    done < "$WORK/mta.undo"
}

mta_manage() {
    [ "$MTA" = postfix ] || return 0
    pf_wanted > "$WORK/mta.want"
    while IFS="$TAB" read -r key value; do
        postconf -e "$key = $value"
        pf_forget
        MTA_CHANGED=true
    done < "$WORK/mta.want"
}

# Debian runs Postfix chrooted with a copy of the services file; a restart
# through the init script refreshes it, a reload or a plain `postfix start`
# does not.
mta_sync_chroot() {
    [ "$MTA" = postfix ] && [ "$FILE" = /etc/services ] || return 0
    q=$(postconf -h queue_directory 2>/dev/null) || return 0
    if [ -f "$q/etc/services" ] && ! cmp -s "$FILE" "$q/etc/services"; then
        cat "$FILE" > "$q/etc/services"
    fi
}

# --- checks on the host ---------------------------------------------------------

# banner ADDRESS PORT: the first line the server sends. Exit 2 when the
# connection is refused, 3 on timeout, 4 when no tool can connect.
banner() {
    if command -v perl >/dev/null 2>&1; then
        perl -MIO::Socket::INET -e '
            $SIG{ALRM} = sub { exit 3 }; alarm 5;
            my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], Proto => "tcp", Timeout => 4) or exit 2;
            my $l = <$s>; defined $l or exit 3; $l =~ s/\r?\n$//; print "$l\n"; print $s "QUIT\r\n"; exit 0' "$1" "$2" </dev/null
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 4)
except ConnectionRefusedError:
    sys.exit(2)
except OSError:
    sys.exit(3)
s.settimeout(4)
try:
    print(s.makefile("rb").readline().decode("latin-1").rstrip("\r\n"))
except OSError:
    sys.exit(3)' "$1" "$2" </dev/null
    elif command -v nc >/dev/null 2>&1; then
        # nc's exit codes differ between variants: judge by what came back.
        out=$(printf 'QUIT\r\n' | nc -w 4 "$1" "$2" 2>/dev/null) || [ -n "$out" ] || return 2
        [ -n "$out" ] || return 3
        printf '%s\n' "$out" | head -n 1 | tr -d '\r'
    else
        return 4
    fi
}

SEEN=""
# wait_greeting PORT: wait up to CHECK_TIMEOUT seconds for a 220 greeting.
wait_greeting() {
    deadline=$(($(date +%s) + CHECK_TIMEOUT))
    while :; do
        rc=0
        line=$(banner "$CHECK_ADDRESS" "$1") || rc=$?
        case "$rc:$line" in
            0:220*) SEEN="$line"; return 0 ;;
            0:*) SEEN="wrong banner '$line'" ;;
            2:*) SEEN="connection refused" ;;
            3:*) SEEN="timeout" ;;
            4:*) SEEN="no perl, python3 or nc to check with"; return 2 ;;
            *) SEEN="error $rc" ;;
        esac
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        # A fifth of a second where sleep takes fractions (GNU, busybox).
        sleep 0.2 2>/dev/null || sleep 1
    done
}

# --- commands -----------------------------------------------------------------

# The change token a look reports. An apply that changes something records
# the token Pulumi gave it (--change), so that the next look reports exactly
# what Pulumi holds in its state (no diff) even when that token marks a retry
# ("3@<time>"); without a token (by hand, revert) the number goes up by one.
generation() {
    g=0
    # A builtin read, not cat: a look runs this on every host every preview.
    [ ! -f "$GENERATION_FILE" ] || { read -r g < "$GENERATION_FILE" || [ -n "$g" ]; } 2>/dev/null || g=0
    case "$g" in
        [0-9]*) printf '%s\n' "$g" ;;
        *) echo 0 ;;
    esac
}

generation_json() {
    g=$(generation)
    case "$g" in
        *[!0-9]*) printf '"%s"' "$g" ;;
        *) printf '%s' "$g" ;;
    esac
}

bump_generation() {
    case "$CHANGE" in
        [0-9]*) next=$CHANGE ;;
        *) next=$(($(generation | sed 's/[^0-9].*//') + 1)) ;;
    esac
    printf '%s\n' "$next" > "$GENERATION_FILE.tmp"
    mv -f "$GENERATION_FILE.tmp" "$GENERATION_FILE"
}

# mta_plan: "key: old -> new" for each MTA setting an apply would change.
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

# The port the MTA listens on for the service: Postfix maps known_tcp_ports
# first, then the services file.
mta_port() {
    case "$MTA" in
        postfix)
            p=$(pf_value known_tcp_ports 2>/dev/null | awk -v svc="$SERVICE" 'BEGIN { RS = "," }
                { gsub(/^[ \t\n]+|[ \t\n]+$/, ""); n = split($0, q, "="); for (i = 1; i < n; i++) if (q[i] == svc) { print q[n]; exit } }')
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

# Read-only: what apply would do, for `pulumi preview`.
do_preview() {
    check_file
    detect_mta
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/smtp-port.XXXXXX")
    plan_change
    now_port=$(lookup "$WORK/snap" | cut -d' ' -f1)
    would=false
    cmp -s "$WORK/new" "$WORK/snap" || would=true
    mta_plan "$WORK/edits" > "$WORK/mta.plan"
    [ ! -s "$WORK/mta.plan" ] || would=true
    drift=false
    [ "$DRIFT" != true ] || drift=true
    [ ! -d "$STATE_DIR/txn" ] || drift=true
    # Unified diff hunks, with each line shown next to its commented-out self.
    : > "$WORK/diff"
    [ "$would" = false ] || diff -U0 "$WORK/snap" "$WORK/new" 2>/dev/null | tr -d '\r' | awk '
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
    lines_json() {
        [ -s "$1" ] || return 0
        awk 'BEGIN { ORS = "" } { s = $0; gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); printf "%s\"%s\"", (n++ ? "," : ""), s }' "$1"
    }
    printf '{"action":"preview","file":"%s","port":%s,"would_change":%s,"drift":%s,"generation":%s,"service_port":%s,"mta":"%s","mta_port":%s,"diff":[%s],"mta_diff":[%s]}\n' \
        "$(json_str "$FILE")" "$PORT" "$would" "$drift" "$(generation_json)" "$(num_or_null "$now_port")" "$MTA" \
        "$(num_or_null "$(mta_port "$now_port")")" "$(lines_json "$WORK/diff")" "$(lines_json "$WORK/mta.plan")"
}


# restart_if CHANGED: run the restart command when something changed.
# Returns non-zero when the restart command fails.
restart_if() {
    RESTARTED=false
    [ "$1" = true ] && [ -n "$RESTART" ] || return 0
    say "restarting the mail service: $RESTART"
    # stdin is the script itself when run as `sh -s`: keep it away.
    sh -c "$RESTART" </dev/null >&2 || return 1
    RESTARTED=true
}

# After a restart: the new port greets, the old one is closed. Sets FAILED.
verify() {
    FAILED=""
    [ "$RESTARTED" = true ] && [ "$VERIFY" = yes ] || return 0
    rc=0
    wait_greeting "$1" || rc=$?
    case "$rc" in
        0) VERIFIED="$SEEN" ;;
        2) say "not verified on the host: $SEEN"; return 0 ;;
        *) FAILED="no SMTP greeting on $CHECK_ADDRESS:$1 after ${CHECK_TIMEOUT}s ($SEEN)"; return 0 ;;
    esac
    if [ "$OLD_PORT" = closed ] && [ -n "$2" ] && [ "$2" != - ] && [ "$2" != "$1" ]; then
        rc=0
        banner "$CHECK_ADDRESS" "$2" >/dev/null || rc=$?
        [ "$rc" = 2 ] || FAILED="the old port $2 still accepts connections (set old port checking to 'any' if that is intended)"
    fi
}

# Put the host back as it was before this run: file, state, MTA
# configuration, restart, and the old port greeting again. Then fail.
rollback() {
    t0=$(date +%s)
    say "rolling back: $1"
    if ! cmp -s "$WORK/snap" "$FILE"; then
        replace_file "$WORK/snap" || err "$1; ROLLBACK FAILED: could not restore $FILE (backup: $WORK/snap)"
    fi
    rm -rf "$STATE_DIR"
    [ ! -d "$WORK/state.prev" ] || cp -Rp "$WORK/state.prev" "$STATE_DIR"
    mta_restore "$WORK/mta.prev"
    mta_sync_chroot
    back=""
    if [ -n "$RESTART" ]; then
        say "restarting the mail service: $RESTART"
        if sh -c "$RESTART" </dev/null >&2; then
            RESTARTED=true
            if [ "$VERIFY" = yes ] && [ -n "$2" ] && [ "$2" != - ]; then
                if wait_greeting "$2"; then back=", greeting on $2 again ('$SEEN')"; else back=", but no greeting on $2 yet ($SEEN)"; fi
            fi
        else
            back=", but the restart after the rollback failed too"
        fi
    fi
    err "$1; rolled back in $(($(date +%s) - t0))s: $FILE and the $MTA configuration are as before$back"
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
        [ "$BASE_FROM" = backup ] || put_state "$WORK/base" "$txn/orig"
        put_state "$WORK/edits" "$txn/edits"
        # What we wrote, our lines tagged: tells them from the user's after
        # a hand edit (unmanage).
        put_state "$WORK/managed" "$txn/managed"
    fi
    sum_of "$1" > "$txn/written"
    put_state "$WORK/snap" "$txn/prev"
    : > "$txn/ready"
    flush "$txn/ready"
    # Somebody else may have written the file since we read it.
    if ! cmp -s "$WORK/snap" "$FILE"; then
        rm -rf "$txn"
        err "$FILE changed while smtp-port was working on it; nothing was written, run again"
    fi
    replace_file "$1" || { recover; err "could not write $FILE; it was left as it was"; }
    commit_txn
}

do_apply() {
    check_file
    check_writable
    detect_mta
    mta_preflight
    [ -n "$RESTART" ] || RESTART=$(default_restart)
    mkdir -p "$STATE_DIR"
    lock
    recover
    WORK=$(mktemp -d "$STATE_DIR.work.XXXXXX")
    plan_change
    previous=$(lookup "$WORK/snap" | cut -d' ' -f1)
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
        if [ "$BASE_FROM" = merge ] || [ ! -f "$STATE_DIR/orig" ]; then
            put_state "$WORK/base" "$STATE_DIR/orig"
        fi
        put_state "$WORK/edits" "$STATE_DIR/edits"
        # (Before the checksum: an interrupted run leaves drift, and a copy
        # of what is in the file to merge from.)
        cmp -s "$WORK/managed" "$STATE_DIR/managed" 2>/dev/null || put_state "$WORK/managed" "$STATE_DIR/managed"
        sum_of "$WORK/snap" > "$WORK/written"
        put_state "$WORK/written" "$STATE_DIR/written"
    fi
    if [ -s "$WORK/edits" ]; then
        mta_manage
        put_state "$WORK/mta.orig" "$STATE_DIR/mta"
    else
        mta_restore "$WORK/mta.orig"
        [ -f "$STATE_DIR/written" ] || rm -rf "$STATE_DIR"
    fi
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then
        mta_sync_chroot
        restart_if true || rollback "$HOST_LABEL: the restart command failed" "$previous"
    fi
    verify "$PORT" "$previous"
    [ -z "$FAILED" ] || rollback "$HOST_LABEL: $FAILED" "$previous"
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then bump_generation; fi
    backup=null
    [ ! -f "$STATE_DIR/orig" ] || backup="\"$(json_str "$STATE_DIR/orig")\""
    added=$(awk 'substr($0, 1, 1) == "I" { print substr($0, 3); exit }' "$WORK/edits")
    after=$(lookup "$FILE" | cut -d' ' -f1)
    printf '{"action":"apply","file":"%s","service":"%s","protocol":"%s","port":%s,"changed":%s,"previous_port":%s,"added":%s,"commented":[%s],"backup":%s,"mta":"%s","mta_changed":%s,"restarted":%s,"verified":%s,"resolver_port":%s,"mta_port":%s,"generation":%s}\n' \
        "$(json_str "$FILE")" "$SERVICE" "$PROTOCOL" "$PORT" "$changed" "$(num_or_null "$previous")" \
        "$(if [ -n "$added" ]; then printf '"%s"' "$(json_str "$added")"; else printf null; fi)" \
        "$(json_edits "$WORK/edits" C)" "$backup" "$MTA" "$MTA_CHANGED" "$RESTARTED" \
        "$(if [ -n "$VERIFIED" ]; then printf '"%s"' "$(json_str "$VERIFIED")"; else printf null; fi)" \
        "$(num_or_null "$after")" "$(num_or_null "$(mta_port "$after")")" "$(generation_json)"
}

do_revert() {
    check_file
    if [ ! -d "$STATE_DIR" ]; then
        printf '{"action":"revert","file":"%s","changed":false,"managed":false,"restarted":false}\n' "$(json_str "$FILE")"
        return 0
    fi
    check_writable
    detect_mta
    [ -n "$RESTART" ] || RESTART=$(default_restart)
    lock
    recover
    WORK=$(mktemp -d "$STATE_DIR.work.XXXXXX")
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
    [ ! -f "$WORK/mta.orig" ] || mta_restore "$WORK/mta.orig"
    if [ "$changed" = true ] || [ "$MTA_CHANGED" = true ]; then
        bump_generation
        mta_sync_chroot
        restart_if true || err "$HOST_LABEL: $FILE and the $MTA configuration were put back, but the restart command failed: the mail service may be down"
    fi
    printf '{"action":"revert","file":"%s","changed":%s,"managed":true,"mode":"%s","mta":"%s","mta_changed":%s,"restarted":%s}\n' \
        "$(json_str "$FILE")" "$changed" "$mode" "$MTA" "$MTA_CHANGED" "$RESTARTED"
}

do_status() {
    check_file
    found=$(lookup "$FILE")
    set -- "${found% *}" "${found#* }"
    managed=false
    [ ! -f "$STATE_DIR/written" ] || managed=true
    drift=$(drifted "$FILE")
    printf '{"action":"status","file":"%s","service":"%s","protocol":"%s","service_port":%s,"port":%s,"port_name":%s,"managed":%s,"drift":%s}\n' \
        "$(json_str "$FILE")" "$SERVICE" "$PROTOCOL" "$(num_or_null "$1")" "$(num_or_null "$PORT")" \
        "$(if [ "$2" = - ]; then printf null; else printf '"%s"' "$2"; fi)" "$managed" "$drift"
}

main() {
    [ "$#" -ge 1 ] || { usage; exit 2; }
    ACTION="$1"
    shift
    case "$ACTION" in
        apply | revert | status | preview) ;;
        -h | --help | help) usage; exit 0 ;;
        *) usage; err "unknown command '$ACTION'" ;;
    esac
    PORT="" FILE="/etc/services" SERVICE="smtp" PROTOCOL="tcp" ALIASES="mail"
    CONFLICTS="comment" RESTART="" STATE_ROOT="/var/lib/smtp-port"
    MTA="none" VERIFY="yes" OLD_PORT="closed" CHECK_ADDRESS="127.0.0.1" CHECK_TIMEOUT=20 CHANGE=""
    HOST_LABEL=""
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
            --mta) MTA="$2" ;;
            --verify) VERIFY="$2" ;;
            --old-port) OLD_PORT="$2" ;;
            --check-address) CHECK_ADDRESS="$2" ;;
            --check-timeout) CHECK_TIMEOUT="$2" ;;
            --host-label) HOST_LABEL="$2" ;;
            # The change token Pulumi expects this apply to make: a number,
            # or a number and a retry mark; recorded by an apply that changes
            # something (anything else, like "unknown", is not recorded).
            --change)
                case "$2" in
                    [0-9]*[!0-9A-Za-z@:.+-]*) err "[change] must be a number with an optional mark of letters, digits and @:.+-, got '$2'" ;;
                    [0-9]*) CHANGE="$2" ;;
                esac
                ;;
            *) usage; err "unknown option '$1'" ;;
        esac
        shift 2
    done
    [ -n "$HOST_LABEL" ] || HOST_LABEL=$(hostname 2>/dev/null || uname -n)
    check_args
    # One state folder per managed file, named after its path.
    STATE_DIR="$STATE_ROOT/$(printf '%s' "$FILE" | sed 's|^/||; s|[^A-Za-z0-9._-]|_|g')"
    # Changes made so far, kept beside the state folder so that it outlives
    # a revert: `pulumi preview` uses it to tell drift from no change.
    GENERATION_FILE="$STATE_DIR.generation"
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    RESTARTED=false MTA_CHANGED=false VERIFIED="" FAILED=""
    "do_$ACTION"
}

main "$@"
