#!/bin/sh
# The init process of one lab mail host. lab.sh starts it as
#   ip netns exec smtplab-mxK unshare --mount --uts --pid --fork --mount-proc \
#     --propagation private -- sh host-init.sh NAME ADDRESS HOST_DIR TEMPLATE_DIR
# so it is PID 1 of its own network, mount, UTS and PID namespaces.
# Everything it starts (postfix, sshd, and every SSH login) shares them, so an
# SSH login sees the same /etc/services that postfix reads. The PID namespace
# matters: Debian's init script uses start-stop-daemon, which refuses to start
# postfix while *any* visible /usr/sbin/postmulti runs, so hosts restarting
# at the same time would fail each other. It also makes killing the init
# take down everything the host started.
#
# Per-host state, all under HOST_DIR:
#   /etc        overlay on the real /etc (upper: etc.upper). Gives a private
#               /etc/postfix and /etc/mailname, and lets a writer put its
#               temp file next to /etc/services without touching the real /etc.
#   /etc/services  bind mount of HOST_DIR/services, like `ip netns exec` does
#               with /etc/netns/NAME/services: rename(2) over it fails with
#               EBUSY, so writers must fall back to rewriting it in place.
#   /var        overlay on the real /var (upper: var.upper): private
#               /var/spool/postfix, /var/lib/postfix, /var/lib/smtp-port,
#               /var/log/postfix.log, /var/mail.
#   /run, /tmp  fresh tmpfs: sshd's privilege separation dir (/run/sshd),
#               its pid file and temp files never collide between hosts.
set -eu

name=${1:?usage: host-init.sh NAME ADDRESS HOST_DIR TEMPLATE_DIR}
address=${2:?missing ADDRESS}
host_dir=${3:?missing HOST_DIR}
template_dir=${4:?missing TEMPLATE_DIR}

say() { printf '%s\n' "host-init[$name]: $*" >&2; }
err() { say "error: $*"; exit 1; }

private_mounts() {
    # The copies of other hosts' /run/netns handles would pin their network
    # namespaces for as long as this host lives.
    umount -R -l /run/netns 2>/dev/null || true
    mount -t tmpfs -o mode=0755,nosuid,nodev smtplab-run /run
    mkdir -m 0755 /run/sshd /run/lock
    mount -t tmpfs -o mode=1777,nosuid,nodev smtplab-tmp /tmp
    for dir in etc var; do
        mkdir -p "$host_dir/$dir.upper" "$host_dir/$dir.work"
        mount -t overlay "smtplab-$dir" \
            -o "lowerdir=/$dir,upperdir=$host_dir/$dir.upper,workdir=$host_dir/$dir.work" "/$dir"
    done
    mount --bind "$host_dir/services" /etc/services
}

configure_postfix() {
    cp "$template_dir/postfix/main.cf" /etc/postfix/main.cf
    postconf -e "myhostname = $name.lab.test" "mydestination = \$myhostname, localhost"
    printf '%s.lab.test\n' "$name" >/etc/mailname
    # Names of every possible lab host, so that mail between lab hosts
    # needs no DNS (the outbound tests send from one host to another).
    net=${address%.*}
    k=1
    while [ "$k" -le 240 ]; do
        printf '%s.%s\tmx%s.lab.test\n' "$net" "$((10 + k))" "$k"
        k=$((k + 1))
    done >>/etc/hosts
    # State dir of smtp-port: must exist, empty, root-only writable.
    mkdir -p /var/lib/smtp-port
    chmod 0755 /var/lib/smtp-port
}

# Debian's master.cf keeps its default chroot column (y for smtpd and the
# smtp client), because that is what real Debian hosts run. The init script
# calls configure-instance.sh, which copies /etc/services into the chroot
# (/var/spool/postfix/etc/services) on every start, as systemd's
# postfix@.service does. So the restart command is `service postfix restart`,
# the same words that work on a real Debian host with systemd.
start_postfix() {
    service postfix start >&2 || err "postfix did not start"
}

stop_all() {
    trap - TERM INT HUP
    [ -z "${sshd_pid:-}" ] || kill "$sshd_pid" 2>/dev/null || true
    postfix stop >/dev/null 2>&1 || true
    say "stopped"
    exit 0
}

main() {
    private_mounts
    hostname "$name.lab.test"
    # lab.sh uses this to find the host's processes when tearing down.
    stat -L -c %i /proc/self/ns/mnt >"$host_dir/mntns"
    configure_postfix
    start_postfix
    trap stop_all TERM INT HUP
    # sshd -D stays a child so the trap above can stop postfix with it.
    /usr/sbin/sshd -D -e -f "$host_dir/sshd_config" &
    sshd_pid=$!
    say "up on $address (init $$, sshd $sshd_pid)"
    wait "$sshd_pid" || true
    say "sshd exited"
    stop_all
}

main "$@"
