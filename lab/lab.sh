#!/bin/sh
# lab.sh - a fleet of real mail hosts (Postfix, and Exim if asked) on this
# machine, one network namespace each, reachable over SSH, for testing
# smtp-port end to end.
#
# Usage (as root, Debian 12):
#   sh lab/lab.sh install        apt-install what the lab needs, if missing,
#                                and unpack Debian's exim4 packages into
#                                $SMTP_PORT_LAB_CACHE/exim4-root (default
#                                /var/cache/smtp-port-lab; not installed:
#                                they conflict with postfix)
#   sh lab/lab.sh up [N] [--exim mxA,mxB]
#                                create or repair hosts mx1..mxN (default 3,
#                                at most 240); healthy hosts are left alone.
#                                --exim (or SMTP_PORT_LAB_EXIM_HOSTS="mxA mxB")
#                                makes exactly those hosts Exim hosts and every
#                                other one Postfix; without it each existing
#                                host keeps its mail server, new ones get Postfix
#   sh lab/lab.sh down           remove every namespace, process, link, mount
#                                and file the lab made (safe when half-built)
#   sh lab/lab.sh status         print the lab state
#   sh lab/lab.sh dir            print the lab's state folder
#   sh lab/lab.sh exec mxK -- CMD...
#                                run CMD inside mxK (its network, mount, UTS
#                                and PID namespaces),
#                                e.g. `exec mx1 -- getent services smtp/tcp`
#
# Host mxK: namespace smtplab-mxK, address 198.18.0.(10+K)/24 on eth0, joined
# to bridge smtplab0 (198.18.0.1) in the root namespace. sshd on port 22 (key
# only, root allowed), Postfix 3.7 (stock Debian settings: smtp-port has to
# make its listener follow /etc/services), private /etc, /var, /run and /tmp
# (see host-init.sh).
#
# An Exim host runs Debian's Exim 4.96 (exim4-daemon-light) instead: Postfix's
# programs are hidden from it (no postconf, no postfix), Exim's are at the
# Debian paths (/usr/sbin/exim4, /etc/exim4, /etc/init.d/exim4) through a
# private overlay on /usr, configured the Debian way (update-exim4.conf.conf,
# exim4.conf.localmacros, the unsplit template): type 'internet', listening
# on every address on daemon_smtp_ports = smtp (so it follows /etc/services
# on restart), remote_smtp pinned to port 25 (smtp-port refuses otherwise),
# lab domains routed by /etc/exim4/hubbed_hosts (no DNS here). Its restart
# command, /usr/local/sbin/exim4-restart, stops every Exim daemon of the host,
# starts a new one and waits until it listens on the smtp port (exit 1 if not
# within 10 s).
#
# State lives in $SMTP_PORT_LAB_DIR (default: <repo>/.lab, which ignores
# itself for git). `up` writes there:
#   hosts.json   {"keyPath","publicKeyPath","knownHostsPath","hosts":[{"name",
#                "address","port","user","hostKey","restartCommand",
#                "servicesFile","namespace","mta"}]}   (mta: postfix | exim)
#   known_hosts  pins for every host, for ssh -o UserKnownHostsFile=
#   hosts/mxK/   services (the file mxK sees as /etc/services), init.log, mta,
#                overlay upper dirs (var.upper/log/postfix.log is a Postfix
#                host's mail log, var.upper/log/exim4/mainlog an Exim host's)
set -eu

# SMTP_PORT_LAB_ID (0-9, default 0) lets labs run side by side, e.g. the
# benchmarks beside the tests: lab N uses bridge smtplabN, namespaces
# smtplabN-mxK (smtplab-mxK for 0), 198.18.N.0/24 and .lab-N.
LAB_ID=${SMTP_PORT_LAB_ID:-0}
case "$LAB_ID" in
    [0-9]) ;;
    *) printf 'lab: error: SMTP_PORT_LAB_ID must be a digit 0-9, got %s\n' "$LAB_ID" >&2; exit 1 ;;
esac
BRIDGE=smtplab$LAB_ID
NET=198.18.$LAB_ID
PREFIX_LEN=24
if [ "$LAB_ID" = 0 ]; then NS_PREFIX=smtplab-; else NS_PREFIX=smtplab$LAB_ID-; fi
# Whole lab range: an unreachable route keeps stray lab traffic off eth0.
LAB_RANGE=198.18.0.0/15
MAX_HOSTS=240
MARKER=.smtplab
RESTART_COMMAND='service postfix restart'
EXIM_RESTART_COMMAND=/usr/local/sbin/exim4-restart
PACKAGES='postfix openssh-server openssh-client iproute2 socat netcat-openbsd busybox shellcheck util-linux mawk gawk attr acl python3-venv'
# Debian's Exim, unpacked (never installed: exim4 and postfix conflict). Kept
# outside every lab dir: `down` deletes those, and all labs share it.
EXIM_PACKAGES='exim4-base exim4-config exim4-daemon-light'
LAB_CACHE=${SMTP_PORT_LAB_CACHE:-/var/cache/smtp-port-lab}
EXIM_ROOT=$LAB_CACHE/exim4-root

say() { printf '%s\n' "lab: $*" >&2; }
err() { say "error: $*"; exit 1; }

# sudo and cron may leave the sbin dirs out; sshd, postfix, ip live there.
PATH=$PATH:/usr/sbin:/sbin
export PATH

script_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
repo_root=$(dirname -- "$script_dir")
if [ "$LAB_ID" = 0 ]; then default_lab_dir=$repo_root/.lab; else default_lab_dir=$repo_root/.lab-$LAB_ID; fi
# Hosts mount their own /etc, /var, /run, /tmp and /root: a clone in one of those
# (CI may clone into /tmp) keeps its lab in /srv instead.
case "$repo_root/" in
    /etc/* | /var/* | /run/* | /tmp/* | /root/* | *[!A-Za-z0-9/._-]*) default_lab_dir=/srv/smtp-port-lab-$LAB_ID ;;
esac
lab_dir=${SMTP_PORT_LAB_DIR:-$default_lab_dir}

usage() {
    sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit "${1:-2}"
}

need_root() {
    [ "$(id -u)" = 0 ] || err "run as root (namespaces, mounts, sshd)"
}

check_lab_dir() {
    # Paths end up in overlay mount options (',' ':' break them) and in JSON.
    case "$lab_dir" in
        /*) ;;
        *) err "SMTP_PORT_LAB_DIR must be absolute: $lab_dir" ;;
    esac
    case "$lab_dir" in
        *[!A-Za-z0-9/._-]*) err "lab dir has unsupported characters: $lab_dir" ;;
    esac
    # Hosts mount over these; a lab dir inside them would vanish in the host.
    case "$lab_dir/" in
        /etc/* | /var/* | /run/* | /tmp/*) err "lab dir must not be under /etc, /var, /run or /tmp: $lab_dir" ;;
    esac
}

host_addr() { printf '%s.%s' "$NET" "$((10 + $1))"; }
host_dir() { printf '%s/hosts/mx%s' "$lab_dir" "$1"; }

# --- install ---------------------------------------------------------------

missing_packages() {
    for pkg in $PACKAGES; do
        status=$(dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || printf '%s ' "$pkg"
    done
}

# PIDs of processes named $1 in our (the root) network namespace: the
# daemons a package install may start, as opposed to the lab's own. Not
# /proc/1: PID 1 of a sandbox may be unreadable.
root_ns_pids() {
    root_net=$(readlink /proc/self/ns/net)
    for proc in /proc/[0-9]*; do
        [ "$(cat "$proc/comm" 2>/dev/null)" = "$1" ] || continue
        [ "$(readlink "$proc/ns/net" 2>/dev/null)" = "$root_net" ] || continue
        printf '%s\n' "${proc#/proc/}"
    done
}

cmd_install() {
    need_root
    install_packages
    install_exim
}

# A fresh CI image has no package lists yet.
apt_lists() {
    if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
        apt-get update -q >&2
    fi
}

install_packages() {
    missing=$(missing_packages)
    if [ -z "$missing" ]; then
        say "all packages present: $PACKAGES"
        return 0
    fi
    before_sshd=$(root_ns_pids sshd)
    before_master=$(root_ns_pids master)
    say "installing: $missing"
    apt_lists
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
    # The lab runs its own daemons in namespaces; a system-wide sshd/postfix
    # started by the install would only confuse (never stop pre-existing ones).
    for pid in $(root_ns_pids sshd); do
        printf '%s\n' "$before_sshd" | grep -qx "$pid" && continue
        say "stopping sshd $pid started by the install"
        kill "$pid" 2>/dev/null || true
    done
    for pid in $(root_ns_pids master); do
        printf '%s\n' "$before_master" | grep -qx "$pid" && continue
        say "stopping postfix master $pid started by the install"
        postfix stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    done
}

# Is the unpacked Exim complete and runnable here (its libraries present)?
exim_ready() {
    [ -f "$EXIM_ROOT/.complete" ] && [ -x "$EXIM_ROOT/usr/sbin/exim4" ] || return 1
    ! ldd "$EXIM_ROOT/usr/sbin/exim4" 2>/dev/null | grep -q 'not found'
}

# The libraries the exim4 .debs in $1 depend on (first alternative of each
# lib* dependency) that are not installed. Libraries do not conflict with
# postfix, so apt installs them normally and resolves their own dependencies.
exim_missing_libs() {
    for deb in "$1"/*.deb; do
        dpkg-deb -f "$deb" Depends
    done | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/[[:space:]]//g' | grep '^lib' | sort -u |
        while IFS= read -r lib; do
            status=$(dpkg-query -W -f '${Status}' "$lib" 2>/dev/null || true)
            [ "$status" = "install ok installed" ] || printf '%s ' "$lib"
        done
}

# Debian's exim4 packages, fetched with apt-get download and unpacked with
# dpkg -x into $EXIM_ROOT: Exim hosts see them at the Debian paths through an
# overlay (host-init.sh); the machine itself keeps postfix.
install_exim() {
    if exim_ready; then
        say "exim4 present: $EXIM_ROOT ($(cat "$EXIM_ROOT/.complete"))"
        return 0
    fi
    debs=$LAB_CACHE/debs
    rm -rf "$debs" "$EXIM_ROOT.new"
    mkdir -p "$debs" "$EXIM_ROOT.new"
    apt_lists
    say "downloading: $EXIM_PACKAGES"
    # Root downloads into a root-owned dir: apt's _apt sandbox could not write it.
    # shellcheck disable=SC2086 # one word per package
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root $EXIM_PACKAGES >&2) ||
        err "apt-get download $EXIM_PACKAGES failed"
    libs=$(exim_missing_libs "$debs")
    if [ -n "$libs" ]; then
        say "installing exim4's libraries: $libs"
        # shellcheck disable=SC2086 # one word per package
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $libs >&2
    fi
    for deb in "$debs"/*.deb; do
        dpkg -x "$deb" "$EXIM_ROOT.new"
    done
    version=$(dpkg-deb -f "$debs"/exim4-daemon-light_*.deb Version)
    rm -rf "$EXIM_ROOT"
    mv "$EXIM_ROOT.new" "$EXIM_ROOT"
    printf 'exim4-daemon-light %s\n' "$version" >"$EXIM_ROOT/.complete"
    exim_ready || err "unpacked exim4 cannot run: $(ldd "$EXIM_ROOT/usr/sbin/exim4" | grep 'not found' | tr '\n' ' ')"
    say "exim4 $version unpacked into $EXIM_ROOT (not installed)"
}

ensure_installed() {
    if [ -n "$(exim_wanted_any)" ] && ! exim_ready; then
        say "exim4 not unpacked yet: running install"
        cmd_install
        return 0
    fi
    for tool in ip nsenter unshare sshd ssh ssh-keygen postfix socat nc; do
        command -v "$tool" >/dev/null 2>&1 || {
            say "$tool missing: running install"
            cmd_install
            return 0
        }
    done
}

# --- probes ----------------------------------------------------------------

# First line the server at $1:$2 sends, or nothing.
greeting() {
    printf 'QUIT\r\n' | timeout 5 nc -w 3 "$1" "$2" 2>/dev/null | head -n 1 | tr -d '\r' || true
}

lab_ssh() {
    _addr=$1
    shift
    ssh -q -i "$lab_dir/ssh/id_ed25519" -o BatchMode=yes -o ConnectTimeout=3 \
        -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$lab_dir/known_hosts" \
        -o IdentitiesOnly=yes -o LogLevel=ERROR "root@$_addr" "$@"
}

# Root-namespace PID of host $1's init (PID 1 of its PID namespace). It is
# found, not recorded at start: `unshare --fork` hides it behind a child.
init_pid() {
    _net=$(netns_id "$1") || return 1
    _pidfile=$(host_dir "$1")/init.pid
    _ipid=$(cat "$_pidfile" 2>/dev/null || true)
    if [ -n "$_ipid" ] && is_init_of "$_ipid" "$_net"; then
        printf '%s' "$_ipid"
        return 0
    fi
    _ipid=$(
        grep -lE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' /proc/[0-9]*/status 2>/dev/null |
            while IFS= read -r _status; do
                _ipid=${_status#/proc/}
                _ipid=${_ipid%/status}
                if is_init_of "$_ipid" "$_net"; then
                    printf '%s' "$_ipid"
                    break
                fi
            done
    )
    [ -n "$_ipid" ] || return 1
    [ ! -d "$(host_dir "$1")" ] || printf '%s\n' "$_ipid" >"$_pidfile"
    printf '%s' "$_ipid"
}

# Is $1 PID 1 of a child PID namespace, in network namespace $2?
is_init_of() {
    [ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$2" ] &&
        grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$1/status" 2>/dev/null
}

netns_id() {
    _inode=$(stat -L -c %i "/run/netns/$NS_PREFIX""mx$1" 2>/dev/null) || return 1
    printf 'net:[%s]' "$_inode"
}

in_host() {
    _host=$1
    shift
    _pid=$(init_pid "$_host") || err "mx$_host is not running"
    nsenter --target "$_pid" --net --mount --uts --pid -- "$@"
}

smtp_port() {
    in_host "$1" getent services smtp/tcp 2>/dev/null | awk '{ sub("/.*", "", $2); print $2 }'
}

host_healthy() {
    init_pid "$1" >/dev/null || return 1
    # A host running the other mail server than the one wanted is rebuilt.
    mta=$(host_mta "$1")
    [ "$mta" = "$(wanted_mta "$1")" ] || return 1
    # shellcheck disable=SC2016 # expanded inside the host
    case "$mta" in
        exim) in_host "$1" sh -c 'kill -0 "$(cat /run/exim4/exim.pid)"' >/dev/null 2>&1 || return 1 ;;
        *) in_host "$1" postfix status >/dev/null 2>&1 || return 1 ;;
    esac
    lab_ssh "$(host_addr "$1")" true 2>/dev/null || return 1
    # A running master can still be wedged (seen once among 30 hosts under
    # load: connections queue, nothing answers): it must greet.
    port=$(smtp_port "$1" 2>/dev/null || true)
    case "$(greeting "$(host_addr "$1")" "${port:-25}")" in
        220*ESMTP*) ;;
        *) return 1 ;;
    esac
}

# --- which mail server -------------------------------------------------------

# --exim / SMTP_PORT_LAB_EXIM_HOSTS: host numbers, and whether it was given.
EXIM_HOSTS=''
EXIM_GIVEN=no

# set_exim_hosts LIST: "mx2,mx3", "mx2 mx3" or "2 3".
set_exim_hosts() {
    EXIM_GIVEN=yes
    EXIM_HOSTS=''
    for h in $(printf '%s' "$1" | tr ',' ' '); do
        k=${h#mx}
        case "$k" in
            '' | *[!0-9]*) err "--exim wants host names like mx2, got '$h'" ;;
        esac
        EXIM_HOSTS="$EXIM_HOSTS $k"
    done
}

# The mail server host $1 runs now (recorded when it was made).
host_mta() { cat "$(host_dir "$1")/mta" 2>/dev/null || echo postfix; }

# The mail server host $1 should run: as --exim says, else what it runs.
wanted_mta() {
    if [ "$EXIM_GIVEN" = yes ]; then
        case " $EXIM_HOSTS " in
            *" $1 "*) echo exim ;;
            *) echo postfix ;;
        esac
    else
        host_mta "$1"
    fi
}

# Non-empty when some host is or will be an Exim host.
exim_wanted_any() {
    printf '%s' "$EXIM_HOSTS"
    [ "$EXIM_GIVEN" = yes ] || grep -lx exim "$lab_dir"/hosts/mx*/mta 2>/dev/null || true
}

# --- network ---------------------------------------------------------------

network_up() {
    if [ ! -e /run/netns ]; then
        # ip creates /run/netns (and a shared mount on it); down undoes it.
        : >"$lab_dir/created-run-netns"
    fi
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$NET.1/$PREFIX_LEN" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    ip route replace unreachable "$LAB_RANGE" metric 4000
}

network_down() {
    ip link del "$BRIDGE" 2>/dev/null || true
    # The catch-all route is shared by all labs: the last one out removes it.
    if ! ip -o link show type bridge 2>/dev/null | grep -q ': smtplab[0-9]:'; then
        ip route del unreachable "$LAB_RANGE" metric 4000 2>/dev/null || true
    fi
    for link in $(ip -o link show | awk -F': ' '{ sub("@.*", "", $2); print $2 }' | grep "^$NS_PREFIX" || true); do
        ip link del "$link" 2>/dev/null || true
    done
    if [ -e "$lab_dir/created-run-netns" ] && [ -z "$(ip netns list)" ]; then
        umount /run/netns 2>/dev/null || true
        rmdir /run/netns 2>/dev/null || true
    fi
}

# --- one host --------------------------------------------------------------

write_sshd_config() {
    cat >"$1/sshd_config" <<EOF
# Lab sshd for mx$2. Key only; root allowed with a key.
ListenAddress $(host_addr "$2"):22
HostKey $1/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $lab_dir/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthenticationMethods publickey
# Key auth needs no PAM; Debian's PAM session modules (loginuid, systemd,
# limits) expect a booted system and only add ways to fail in a namespace.
UsePAM no
PrintMotd no
PrintLastLog no
UseDNS no
# A deployment opens one connection per operation, many at once.
MaxStartups 200:30:400
MaxSessions 50
Subsystem sftp internal-sftp
LogLevel INFO
EOF
}

# Hosts mount their own /tmp, /etc, /var, /run and /root: a repo under one of
# those would vanish from their view, so they start from a copy kept in the
# lab dir. Written once per `up`, before any host starts, and each file
# replaced by rename: copied per host, a file was truncated while hosts
# started a moment earlier read it (one got an empty main.cf, so Postfix ran
# on defaults and never greeted; `sh` could as well read a cut host-init.sh).
write_templates() {
    _tpl="$lab_dir/templates"
    mkdir -p "$_tpl/postfix" "$_tpl/exim"
    for _file in host-init.sh postfix/main.cf exim/update-exim4.conf.conf \
        exim/exim4.conf.localmacros exim/exim4-restart; do
        cp -p "$script_dir/$_file" "$_tpl/$_file.tmp"
        mv -f "$_tpl/$_file.tmp" "$_tpl/$_file"
    done
    # The hosts' /etc is an overlay on this copy, not on the machine's own:
    # what changes in /etc while the lab runs (a package installed, a file
    # a test left beside /etc/services) must not show up on the hosts.
    rm -rf "${_tpl:?}/etc" "${_tpl:?}/etc.tmp"
    cp -a /etc "$_tpl/etc.tmp"
    mv "$_tpl/etc.tmp" "$_tpl/etc"
}

host_create() {
    name=mx$1
    ns=$NS_PREFIX$name
    dir=$(host_dir "$1")
    addr=$(host_addr "$1")
    # Keep the host key across a rebuild so existing pins stay valid.
    mkdir -p "$dir"
    find "$dir" -mindepth 1 -maxdepth 1 ! -name 'ssh_host_ed25519_key*' -exec rm -rf {} +
    if [ ! -f "$dir/ssh_host_ed25519_key" ]; then
        ssh-keygen -q -t ed25519 -N '' -C "$name.lab.test" -f "$dir/ssh_host_ed25519_key"
    fi
    write_sshd_config "$dir" "$1"
    cp /etc/services "$dir/services"
    chmod 0644 "$dir/services"
    mta=$(wanted_mta "$1")
    printf '%s\n' "$mta" >"$dir/mta"

    ip netns add "$ns"
    ip link add "$ns" type veth peer name eth0 netns "$ns"
    ip link set "$ns" master "$BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr/$PREFIX_LEN" dev eth0
    ip -n "$ns" link set eth0 up

    tpl="$lab_dir/templates"
    setsid ip netns exec "$ns" unshare --mount --uts --pid --fork --mount-proc --propagation private -- \
        sh "$tpl/host-init.sh" "$name" "$addr" "$dir" "$tpl" "$mta" "$EXIM_ROOT" \
        </dev/null >>"$dir/init.log" 2>&1 &
}

# PIDs of every process of hosts "$@" (numbers): those in their network
# namespaces (the init among them), plus any left in their mount namespaces.
hosts_pids() {
    hosts_pids_unsorted "$@" 2>/dev/null | { grep -vx "$$" || true; } | sort -un
}

hosts_pids_unsorted() {
    _inodes=''
    for _k in "$@"; do
        ip netns pids "$NS_PREFIX""mx$_k" 2>/dev/null || true
        _inodes="$_inodes $(cat "$(host_dir "$_k")/mntns" 2>/dev/null || true)"
    done
    # One stat over /proc: a fork per process would take seconds at 30 hosts.
    stat -L -c '%i %n' /proc/[0-9]*/ns/mnt 2>/dev/null |
        awk -v inodes="$_inodes" 'BEGIN { n = split(inodes, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
            ($1 in want) { split($2, p, "/"); print p[3] }'
}

# Wait up to $1 seconds for the processes of hosts $2... to go.
wait_gone() {
    _deadline=$(($(date +%s) + $1))
    shift
    while [ -n "$(hosts_pids "$@")" ]; do
        [ "$(date +%s)" -lt "$_deadline" ] || return 1
        sleep 0.1
    done
}

# Stop hosts "$@" (numbers) together: one host takes about a second to stop
# Postfix, so doing them one by one would make `down` of 30 hosts slow.
hosts_down() {
    [ $# -gt 0 ] || return 0
    # TERM lets the init stop postfix cleanly. An init still busy starting
    # postfix runs its trap late, so it gets KILL, which as PID 1 of the
    # host's PID namespace takes every process of the host with it.
    _inits=''
    for _k in "$@"; do
        if _pid=$(init_pid "$_k"); then
            _inits="$_inits $_pid"
        fi
    done
    if [ -n "$_inits" ]; then
        # shellcheck disable=SC2086 # one word per pid
        kill $_inits 2>/dev/null || true
        if ! wait_gone 3 "$@"; then
            # shellcheck disable=SC2086
            kill -9 $_inits 2>/dev/null || true
        fi
    fi
    # Leftovers (a half-built host has no init): TERM, then KILL.
    if ! wait_gone 1 "$@"; then
        # shellcheck disable=SC2046 # one word per pid
        kill $(hosts_pids "$@") 2>/dev/null || true
        if ! wait_gone 2 "$@"; then
            # shellcheck disable=SC2046
            kill -9 $(hosts_pids "$@") 2>/dev/null || true
            wait_gone 2 "$@" || say "processes left: $(hosts_pids "$@" | tr '\n' ' ')"
        fi
    fi
    for _k in "$@"; do
        ip netns del "$NS_PREFIX""mx$_k" 2>/dev/null || true
        ip link del "$NS_PREFIX""mx$_k" 2>/dev/null || true
    done
}

# --- up --------------------------------------------------------------------

ensure_lab_dir() {
    # down deletes the lab dir wholesale: never adopt a dir that has other
    # content (SMTP_PORT_LAB_DIR=. would otherwise delete the repo).
    if [ -d "$lab_dir" ] && [ ! -e "$lab_dir/$MARKER" ] && [ -n "$(ls -A "$lab_dir")" ]; then
        err "$lab_dir exists and is not a lab dir (no $MARKER); pick another SMTP_PORT_LAB_DIR"
    fi
    mkdir -p "$lab_dir/hosts" "$lab_dir/ssh"
    : >"$lab_dir/$MARKER"
    # sshd's StrictModes rejects keys under group/world-writable dirs.
    chmod 0755 "$lab_dir" "$lab_dir/hosts"
    chmod 0700 "$lab_dir/ssh"
    [ -e "$lab_dir/.gitignore" ] || printf '*\n' >"$lab_dir/.gitignore"
    if [ ! -f "$lab_dir/ssh/id_ed25519" ]; then
        ssh-keygen -q -t ed25519 -N '' -C smtplab-client -f "$lab_dir/ssh/id_ed25519"
    fi
    cp "$lab_dir/ssh/id_ed25519.pub" "$lab_dir/ssh/authorized_keys"
}

# Host numbers with a state dir, ascending.
existing_hosts() {
    for dir in "$lab_dir"/hosts/mx*; do
        [ -d "$dir" ] && printf '%s\n' "${dir##*/mx}"
    done | sort -n
}

host_key() { cut -d ' ' -f 1,2 "$(host_dir "$1")/ssh_host_ed25519_key.pub"; }

write_known_hosts() {
    for k in $(existing_hosts); do
        printf '%s %s\n' "$(host_addr "$k")" "$(host_key "$k")"
    done >"$lab_dir/known_hosts"
}

write_hosts_json() {
    {
        printf '{\n  "keyPath": "%s",\n' "$lab_dir/ssh/id_ed25519"
        printf '  "publicKeyPath": "%s",\n' "$lab_dir/ssh/id_ed25519.pub"
        printf '  "knownHostsPath": "%s",\n' "$lab_dir/known_hosts"
        printf '  "hosts": ['
        sep=''
        for k in $(existing_hosts); do
            printf '%s\n    {"name": "mx%s", "address": "%s", "port": 22, "user": "root", ' \
                "$sep" "$k" "$(host_addr "$k")"
            mta=$(host_mta "$k")
            restart=$RESTART_COMMAND
            [ "$mta" != exim ] || restart=$EXIM_RESTART_COMMAND
            printf '"hostKey": "%s", "restartCommand": "%s", ' "$(host_key "$k")" "$restart"
            printf '"servicesFile": "/etc/services", "namespace": "%s", "mta": "%s"}' "$NS_PREFIX""mx$k" "$mta"
            sep=','
        done
        printf '\n  ]\n}\n'
    } >"$lab_dir/hosts.json.tmp"
    mv "$lab_dir/hosts.json.tmp" "$lab_dir/hosts.json"
}

# Wait until every host in $1 answers SSH and greets 220 on its smtp port.
wait_ready() {
    pending=$1
    deadline=$(($(date +%s) + 90))
    while [ -n "$pending" ]; do
        still=''
        for k in $pending; do
            addr=$(host_addr "$k")
            port=$(smtp_port "$k" 2>/dev/null || true)
            case "$(greeting "$addr" "${port:-25}")" in
                220*ESMTP*) lab_ssh "$addr" true 2>/dev/null || still="$still $k" ;;
                *) still="$still $k" ;;
            esac
        done
        pending=$still
        [ -z "$pending" ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            for k in $pending; do
                say "mx$k not ready; last log lines:"
                tail -n 5 "$(host_dir "$k")/init.log" >&2 || true
            done
            err "hosts not ready:$pending"
        fi
        sleep 0.2
    done
}

# Prints the numbers among "$@" whose host is missing or unhealthy. Probes
# run in parallel: an SSH handshake each, 30 in a row would take seconds.
unhealthy_hosts() {
    probes=$(mktemp -d "$lab_dir/probes.XXXXXX")
    for k in "$@"; do
        if [ -d "$(host_dir "$k")" ]; then
            (host_healthy "$k" && : >"$probes/$k") &
        fi
    done
    wait
    for k in "$@"; do
        if [ -e "$probes/$k" ]; then
            say "mx$k healthy, left alone"
        else
            printf '%s ' "$k"
        fi
    done
    rm -rf "$probes"
}

cmd_up() {
    [ -z "${SMTP_PORT_LAB_EXIM_HOSTS+set}" ] || set_exim_hosts "$SMTP_PORT_LAB_EXIM_HOSTS"
    count=3
    while [ $# -gt 0 ]; do
        case "$1" in
            --exim)
                [ $# -ge 2 ] || err "--exim needs a list of hosts, e.g. --exim mx2,mx3"
                set_exim_hosts "$2"
                shift 2
                ;;
            *)
                count=$1
                shift
                ;;
        esac
    done
    case "$count" in
        '' | *[!0-9]*) err "N must be a number: $count" ;;
    esac
    if [ "$count" -lt 1 ] || [ "$count" -gt "$MAX_HOSTS" ]; then
        err "N must be 1..$MAX_HOSTS"
    fi
    need_root
    check_lab_dir
    ensure_installed
    ensure_lab_dir
    network_up
    # Pins are needed by the health probe of existing hosts.
    write_known_hosts
    # Hosts beyond N that already exist are kept (and repaired): up grows.
    wanted=$({
        seq 1 "$count"
        existing_hosts
    } | sort -nu)
    # shellcheck disable=SC2086 # one word per host number
    broken=$(unhealthy_hosts $wanted)
    # shellcheck disable=SC2086 # one word per host number
    hosts_down $broken
    [ -z "$broken" ] || write_templates
    for k in $broken; do
        host_create "$k"
    done
    write_known_hosts
    [ -z "$broken" ] || say "started:$broken"
    wait_ready "$broken"
    write_hosts_json
    # Every host must greet on the port its own services file names (25
    # unless a test moved it).
    for k in $(existing_hosts); do
        port=$(smtp_port "$k")
        banner=$(greeting "$(host_addr "$k")" "$port")
        say "mx$k $(host_addr "$k"):$port $banner"
        case "$banner" in
            220*ESMTP*) ;;
            *) err "mx$k does not greet 220 ESMTP on port $port" ;;
        esac
    done
    say "wrote $lab_dir/hosts.json"
}

# --- down, status, exec ----------------------------------------------------

cmd_down() {
    need_root
    check_lab_dir
    hosts=$(
        existing_hosts 2>/dev/null
        ip netns list 2>/dev/null | awk '{ print $1 }' | sed -n "s/^$NS_PREFIX""mx\([0-9][0-9]*\)$/\1/p"
    )
    # shellcheck disable=SC2046 # one word per host number
    hosts_down $(printf '%s\n' "$hosts" | sort -nu)
    network_down
    if [ -e "$lab_dir/$MARKER" ]; then
        rm -rf "$lab_dir"
    elif [ -e "$lab_dir" ]; then
        say "left $lab_dir alone: no $MARKER in it"
    fi
    say "down"
}

cmd_status() {
    check_lab_dir
    printf 'lab dir: %s\n' "$lab_dir"
    if ip link show "$BRIDGE" >/dev/null 2>&1; then
        printf 'bridge:  %s %s/%s\n' "$BRIDGE" "$NET.1" "$PREFIX_LEN"
    else
        printf 'bridge:  absent\n'
    fi
    printf '%-6s %-13s %-8s %-8s %-4s %-5s %s\n' HOST ADDRESS INIT MTA SSH SMTP GREETING
    for k in $(existing_hosts 2>/dev/null); do
        addr=$(host_addr "$k")
        pid=$(init_pid "$k" || echo down)
        ssh=no
        port=-
        banner=''
        if [ "$pid" != down ]; then
            lab_ssh "$addr" true 2>/dev/null && ssh=yes
            port=$(smtp_port "$k" || true)
            banner=$(greeting "$addr" "${port:-25}")
        fi
        printf '%-6s %-13s %-8s %-8s %-4s %-5s %s\n' "mx$k" "$addr" "$pid" "$(host_mta "$k")" "$ssh" "${port:--}" "$banner"
    done
    stray=$(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$NS_PREFIX" | tr '\n' ' ' || true)
    printf 'namespaces: %s\n' "${stray:-none}"
}

cmd_exec() {
    [ $# -ge 1 ] || usage
    name=$1
    shift
    [ "${1:-}" = -- ] && shift
    [ $# -ge 1 ] || usage
    case "$name" in
        mx[0-9]*) ;;
        *) err "host name must be mxK: $name" ;;
    esac
    need_root
    check_lab_dir
    in_host "${name#mx}" "$@"
}

main() {
    [ $# -ge 1 ] || usage
    command=$1
    shift
    case "$command" in
        install) cmd_install ;;
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        status) cmd_status ;;
        dir) printf '%s\n' "$lab_dir" ;;
        exec) cmd_exec "$@" ;;
        -h | --help | help) usage 0 ;;
        *) usage ;;
    esac
}

main "$@"
