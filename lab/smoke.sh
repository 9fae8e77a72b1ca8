#!/bin/sh
# smoke.sh - end-to-end check that the lab behaves like a fleet of real mail
# hosts. Run after `sh lab/lab.sh up 3` (needs mx1..mx3); leaves the hosts as
# it found them. Uses only hosts.json, SSH and the network, as smtp-port will.
#
#   sh lab/smoke.sh            exit 0 when every check passed
#
# By hand, it moves mx1's smtp entry to 17/tcp through SSH (writing
# /etc/services in place, since rename over the bind mount fails with EBUSY),
# runs the host's restartCommand, and checks that only mx1 moved.
set -eu

say() { printf '%s\n' "smoke: $*" >&2; }
err() { say "error: $*"; exit 1; }

script_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
lab_dir=${SMTP_PORT_LAB_DIR:-$(dirname -- "$script_dir")/.lab}
json=$lab_dir/hosts.json
failures=0

check() {
    label=$1
    shift
    if "$@"; then
        say "ok   $label"
    else
        say "FAIL $label"
        failures=$((failures + 1))
    fi
}

# hosts.json has one host per line; this reads field $2 of host $1.
host_field() {
    grep "\"name\": \"$1\"" "$json" | sed -n "s/.*\"$2\": \"\([^\"]*\)\".*/\1/p"
}

json_field() { sed -n "s/^  \"$1\": \"\([^\"]*\)\".*/\1/p" "$json"; }

host_names() { sed -n 's/.*"name": "\([^"]*\)".*/\1/p' "$json"; }

on() {
    host=$1
    shift
    ssh -q -i "$key" -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes \
        -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$tmp/known_hosts" \
        "root@$(host_field "$host" address)" "$@"
}

greeting() {
    printf 'QUIT\r\n' | timeout 5 nc -w 3 "$1" "$2" 2>/dev/null | head -n 1 | tr -d '\r' || true
}

greets() {
    case "$(greeting "$(host_field "$1" address)" "$2")" in
        220*ESMTP*) return 0 ;;
        *) return 1 ;;
    esac
}

closed() { ! greets "$1" "$2" && ! nc -z -w 2 "$(host_field "$1" address)" "$2"; }

smtp_port_is() {
    [ "$(on "$1" getent services smtp/tcp | awk '{ sub("/.*", "", $2); print $2 }')" = "$2" ]
}

# The edit smtp-port makes: smtp to 17/tcp, the old qotd 17/tcp commented.
move_to_17() {
    # shellcheck disable=SC2016 # expands on the host
    on "$1" 'set -e
        cp /etc/services /tmp/services.orig
        awk '\''$1 == "smtp" && $2 == "25/tcp" { print "smtp\t\t17/tcp\t\tmail"; next }
             $1 == "qotd" && $2 == "17/tcp" { print "#" $0; next } { print }'\'' \
            /etc/services >/etc/services.smoke
        if mv /etc/services.smoke /etc/services 2>/dev/null; then
            echo "rename over /etc/services unexpectedly worked" >&2; exit 1
        fi
        cat /etc/services.smoke >/etc/services
        rm /etc/services.smoke'
}

restore() {
    on "$1" 'cat /tmp/services.orig >/etc/services && rm /tmp/services.orig'
}

restart() {
    # Exactly how a remote command would run it.
    on "$1" "sh -c \"$(host_field "$1" restartCommand)\"" >/dev/null
}

chroot_copy_is() {
    [ "$(on "$1" awk "'\$1 == \"smtp\" { print \$2 }'" /var/spool/postfix/etc/services)" = "$2/tcp" ]
}

main() {
    [ -f "$json" ] || err "no $json: run sh lab/lab.sh up 3 first"
    key=$(json_field keyPath)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for host in $(host_names); do
        printf '%s %s\n' "$(host_field "$host" address)" "$(host_field "$host" hostKey)"
    done >"$tmp/known_hosts"
    for host in mx1 mx2 mx3; do
        [ -n "$(host_field "$host" address)" ] || err "$host not in $json"
    done

    for host in $(host_names); do
        check "$host: ssh with pinned host key, hostname" \
            test "$(on "$host" hostname)" = "$host.lab.test"
        check "$host: getent services smtp/tcp says 25" smtp_port_is "$host" 25
        # shellcheck disable=SC2016 # expands on the host
        check "$host: /var/lib/smtp-port exists and is empty" \
            on "$host" 'test -d /var/lib/smtp-port && test -z "$(ls -A /var/lib/smtp-port)"'
        check "$host: greets 220 ESMTP on 25" greets "$host" 25
    done
    check "mx2 reaches mx3 on 25" \
        on mx2 "printf 'QUIT\r\n' | nc -w 3 $(host_field mx3 address) 25 | grep -q '^220 mx3'"

    check "mx1: services moved to 17 in place (rename is EBUSY)" move_to_17 mx1
    check "mx1: getent says 17" smtp_port_is mx1 17
    check "mx1: restartCommand succeeds" restart mx1
    check "mx1: greets on 17" greets mx1 17
    check "mx1: 25 closed" closed mx1 25
    check "mx1: chroot copy of services says 17" chroot_copy_is mx1 17
    check "mx2: still 25" greets mx2 25
    check "mx3: still 25" greets mx3 25
    check "mx2: getent still 25" smtp_port_is mx2 25

    check "mx1: restore services" restore mx1
    check "mx1: restartCommand succeeds" restart mx1
    check "mx1: greets on 25 again" greets mx1 25
    check "mx1: 17 closed again" closed mx1 17
    check "mx1: services identical to /etc/services of this machine" \
        cmp -s /etc/services "$lab_dir/hosts/mx1/services"

    [ "$failures" -eq 0 ] || err "$failures check(s) failed"
    say "all checks passed"
}

main "$@"
