#!/bin/sh
# The init process of one lab mail host. lab.sh starts it as
#   ip netns exec smtplab-mxK unshare --mount --uts --pid --fork --mount-proc \
#     --propagation private -- sh host-init.sh NAME ADDRESS HOST_DIR TEMPLATE_DIR \
#     [MTA [EXIM_ROOT]]
# so it is PID 1 of its own network, mount, UTS and PID namespaces. MTA is
# postfix (default) or exim; EXIM_ROOT is where lab.sh unpacked Debian's
# exim4 packages.
# Everything it starts (postfix, sshd, and every SSH login) shares them, so an
# SSH login sees the same /etc/services that postfix reads. The PID namespace
# matters: Debian's init script uses start-stop-daemon, which refuses to start
# postfix while *any* visible /usr/sbin/postmulti runs, so hosts restarting
# at the same time would fail each other. It also makes killing the init
# take down everything the host started.
#
# Per-host state, all under HOST_DIR:
#   /etc        overlay on lab.sh's copy of this machine's /etc, taken at
#               `up` (upper: etc.upper), so what changes in the machine's
#               /etc while the lab runs stays out of the hosts. Gives a private
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
#   /root       fresh tmpfs with Debian's stock .bashrc and .profile.
#   /usr        (Exim hosts only) overlay: EXIM_ROOT/usr over the real /usr
#               (upper: usr.upper), so Exim's programs are at the Debian paths
#               (/usr/sbin/exim4, /usr/sbin/sendmail -> exim4) and Postfix's
#               are deleted from this host's view: like a real Exim host, it
#               has no postconf, which smtp-port's `auto` would pick first.
set -eu

name=${1:?usage: host-init.sh NAME ADDRESS HOST_DIR TEMPLATE_DIR}
address=${2:?missing ADDRESS}
host_dir=${3:?missing HOST_DIR}
template_dir=${4:?missing TEMPLATE_DIR}
mta=${5:-postfix}
exim_root=${6:-}

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
        lower=/$dir
        # lab.sh's copy of /etc, taken at `up`.
        if [ "$dir" = etc ] && [ -d "$template_dir/etc" ]; then lower=$template_dir/etc; fi
        mkdir -p "$host_dir/$dir.upper" "$host_dir/$dir.work"
        mount -t overlay "smtplab-$dir" \
            -o "lowerdir=$lower,upperdir=$host_dir/$dir.upper,workdir=$host_dir/$dir.work" "/$dir"
    done
    mount --bind "$host_dir/services" /etc/services
    # A fresh root home, as on a new Debian host: this machine's own start-up
    # files (a pyenv init in /root/.bashrc cost every SSH session ~0.1 s of
    # CPU, for every tool) and tool caches must not leak into the mail hosts.
    case "$host_dir/" in
        /root/*) ;;
        *)
            mount -t tmpfs -o mode=0700,nosuid,nodev smtplab-root /root
            cp /usr/share/base-files/dot.bashrc /root/.bashrc
            cp /usr/share/base-files/dot.profile /root/.profile
            ;;
    esac
    if [ "$mta" = exim ]; then
        mkdir -p "$host_dir/usr.upper" "$host_dir/usr.work"
        mount -t overlay smtplab-usr \
            -o "lowerdir=$exim_root/usr:/usr,upperdir=$host_dir/usr.upper,workdir=$host_dir/usr.work" /usr
    fi
}

# Names of every possible lab host, so that mail between lab hosts needs no
# DNS (the outbound tests send from one host to another).
lab_hosts_file() {
    net=${address%.*}
    k=1
    while [ "$k" -le 240 ]; do
        printf '%s.%s\tmx%s.lab.test\n' "$net" "$((10 + k))" "$k"
        k=$((k + 1))
    done
}

configure_postfix() {
    cp "$template_dir/postfix/main.cf" /etc/postfix/main.cf
    postconf -e "myhostname = $name.lab.test" "mydestination = \$myhostname, localhost"
    printf '%s.lab.test\n' "$name" >/etc/mailname
    lab_hosts_file >>/etc/hosts
    # State dir of smtp-port: must exist, empty, root-only writable.
    mkdir -p /var/lib/smtp-port
    chmod 0755 /var/lib/smtp-port
}

# /etc and /var are overlays on this machine's own (/etc on a copy taken
# at `up`): smtp-port's files there
# (left by an interrupted host-script test or mutant on this machine, which
# bind-mounts a test file over /etc/services beside the real /etc) would be
# every lab host's, and its first apply would refuse the marker of a change
# it never made. Removed from this host's view only (whiteouts in its upper
# layers); the machine's files stay as they are.
hide_machine_state() {
    for f in /etc/.services.smtp-port* /var/lib/smtp-port/* /var/lib/smtp-port/.[!.]*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        say "hiding this machine's $f from the lab host (smtp-port state left on the machine)"
        rm -rf -- "$f"
    done
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

# Postfix is installed on the machine (the Exim packages conflict with it),
# so an Exim host deletes it from its own view: its programs (in the /usr
# overlay) and its /etc files (in the /etc overlay). Exim's own files win
# where both have one (sendmail, mailq, newaliases).
hide_postfix() {
    dpkg -L postfix | while IFS= read -r f; do
        case "$f" in
            /usr/sbin/* | /usr/bin/* | /usr/lib/sendmail) ;;
            *) continue ;;
        esac
        [ -e "$exim_root$f" ] || [ -L "$exim_root$f" ] || rm -f "$f"
    done
    rm -rf /usr/lib/postfix /etc/postfix /etc/init.d/postfix
}

# What exim4-base's and exim4-config's maintainer scripts would have done,
# then the lab's answers to Debian's questions, then update-exim4.conf.
configure_exim() {
    [ -x "$exim_root/usr/sbin/exim4" ] || err "no unpacked exim4 in '$exim_root' (run lab.sh install)"
    hide_postfix
    cp -R "$exim_root/etc/exim4" /etc/exim4
    cp "$exim_root/etc/init.d/exim4" /etc/init.d/exim4
    cp "$exim_root/etc/email-addresses" /etc/email-addresses
    groupadd --system Debian-exim
    useradd --system --gid Debian-exim --home-dir /var/spool/exim4 --no-create-home \
        --shell /usr/sbin/nologin Debian-exim
    install -d -o Debian-exim -g Debian-exim -m 0750 /var/spool/exim4 \
        /var/spool/exim4/db /var/spool/exim4/input /var/spool/exim4/msglog /run/exim4
    install -d -o Debian-exim -g adm -m 2750 /var/log/exim4
    install -d -m 0755 /var/lib/exim4
    cp "$template_dir/exim/update-exim4.conf.conf" "$template_dir/exim/exim4.conf.localmacros" /etc/exim4/
    # Outbound mail must stay on port 25 when smtp moves: remote_smtp's port
    # defaults to the smtp service. Debian's template has no macro for it, so
    # the admin's way is a line in the template (a conffile) itself.
    awk '{ print }
        /^remote_smtp:/ { in_t = 1 }
        in_t && /^  driver = smtp$/ { print "  # smtp-port: outbound mail stays on 25 whatever /etc/services says."; print "  port = 25"; in_t = 0 }' \
        "$exim_root/etc/exim4/exim4.conf.template" >/etc/exim4/exim4.conf.template
    grep -q '^  port = 25$' /etc/exim4/exim4.conf.template || err "could not pin remote_smtp to port 25"
    # No DNS here: the hubbed_hosts router sends each lab domain to its
    # address (through remote_smtp, as dnslookup would).
    lab_hosts_file | awk '{ print $2 ": " $1 }' >/etc/exim4/hubbed_hosts
    printf '%s.lab.test\n' "$name" >/etc/mailname
    lab_hosts_file >>/etc/hosts
    mkdir -p /usr/local/sbin /var/lib/smtp-port
    cp "$template_dir/exim/exim4-restart" /usr/local/sbin/exim4-restart
    chmod 0755 /usr/local/sbin/exim4-restart /var/lib/smtp-port
    update-exim4.conf
}

start_exim() {
    /usr/local/sbin/exim4-restart || err "exim4 did not start"
}

stop_all() {
    trap - TERM INT HUP
    [ -z "${sshd_pid:-}" ] || kill "$sshd_pid" 2>/dev/null || true
    if [ "$mta" = exim ]; then
        service exim4 stop >/dev/null 2>&1 || true
    else
        postfix stop >/dev/null 2>&1 || true
    fi
    say "stopped"
    exit 0
}

main() {
    private_mounts
    hide_machine_state
    hostname "$name.lab.test"
    # lab.sh uses this to find the host's processes when tearing down.
    stat -L -c %i /proc/self/ns/mnt >"$host_dir/mntns"
    if [ "$mta" = exim ]; then
        configure_exim
        start_exim
    else
        configure_postfix
        start_postfix
    fi
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
