"""pyinfra deploy for the benchmark: the same job as bench/ansible.

  pyinfra INVENTORY deploy.py --data action=apply --data port=17 --data old_port=25
  pyinfra INVENTORY deploy.py --data action=revert --data port=17

files.replace / files.line edit the services file and Postfix's main.cf
(known_tcp_ports without smtp=25, smtp_tcp_port = 25), the restart runs only
when one of them changed something, then the 220 greeting is awaited on the new
port from the control machine (python.call runs here, not on the host).

pyinfra edits with `sed -i`, which renames a temporary file over the target:
on the lab hosts /etc/services is a bind mount and the rename fails (EBUSY).
pyinfra has no unsafe_writes, so its shell commands get a PATH on which
`sed` is bench/pyinfra/shim/sed (sed to a temp file, then an in-place
rewrite). The lab hosts see this repository at the same path.
"""
import os
import socket
import time

from pyinfra import host
from pyinfra.operations import files, python, server
from pyinfra.operations.util import any_changed

SERVICES = "/etc/services"
MAIN_CF = "/etc/postfix/main.cf"
SHIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim")
ENV = {"PATH": SHIM + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
# Every edit: POSIX extended regexes, and the sed shim on PATH.
EDIT = {"extended_regex": True, "_env": ENV}

action = host.data.get("action", "apply")
port = int(host.data.get("port", 17))
old_port = int(host.data.get("old_port", 25))
restart_command = host.data.get("restart_command", "service postfix restart")
address = host.data.get("address", host.name)


def wait_banner(addr, want_port, timeout=30.0):
    """Connect until the first line is an SMTP greeting 220."""
    deadline = time.monotonic() + timeout
    last = "nothing"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, want_port), timeout=5) as s:
                s.settimeout(5)
                line = s.makefile("rb").readline().decode("latin1").rstrip("\r\n")
                if line.startswith("220"):
                    s.sendall(b"QUIT\r\n")
                    return
                last = repr(line)
        except OSError as e:
            last = str(e)
        time.sleep(0.2)
    raise RuntimeError(f"no 220 greeting on {addr}:{want_port}: {last}")


# Names that are not "smtp" (ERE has no negative lookahead).
NOT_SMTP = r"([^s#[:space:]]|s[^m[:space:]]|sm[^t[:space:]]|smt[^p[:space:]]|smtp[^[:space:]])[^[:space:]]*"

if action == "apply":
    old = files.replace(
        name=f"comment out smtp on {old_port}/tcp",
        path=SERVICES,
        text=rf"^(smtp[[:space:]]+{old_port}/tcp([[:space:]].*)?)$",
        replace=r"#\1",
        **EDIT,
    )
    conflict = files.replace(
        name=f"comment out other entries on {port}/tcp",
        path=SERVICES,
        text=rf"^({NOT_SMTP}[[:space:]]+{port}/tcp([[:space:]].*)?)$",
        replace=r"#\1",
        **EDIT,
    )
    new = files.line(
        name=f"smtp on {port}/tcp",
        path=SERVICES,
        line=rf"^smtp[[:space:]]+{port}/tcp([[:space:]].*)?$",
        replace=f"smtp\t\t{port}/tcp\t\tmail",
        **EDIT,
    )
    known = files.line(
        name="Postfix listener follows the services file",
        path=MAIN_CF,
        line=r"^known_tcp_ports[[:space:]]*=.*$",
        replace="known_tcp_ports = lmtp=24, smtps=submissions=465, submission=587",
        **EDIT,
    )
    client = files.line(
        name="Postfix client stays on 25",
        path=MAIN_CF,
        line=r"^smtp_tcp_port[[:space:]]*=.*$",
        replace="smtp_tcp_port = 25",
        **EDIT,
    )
    changed = any_changed(old, conflict, new, known, client)
    wait_port = port
else:
    new = files.line(
        name=f"drop smtp on {port}/tcp",
        path=SERVICES,
        line=rf"^smtp[[:space:]]+{port}/tcp([[:space:]].*)?$",
        present=False,
        **EDIT,
    )
    back = files.replace(
        name="uncomment smtp 25 and the entries on the port",
        path=SERVICES,
        text=rf"^#((smtp[[:space:]]+25|qotd[[:space:]]+{port})/tcp([[:space:]].*)?)$",
        replace=r"\1",
        **EDIT,
    )
    settings = files.line(
        name="Postfix settings back to their defaults",
        path=MAIN_CF,
        line=r"^(known_tcp_ports|smtp_tcp_port)[[:space:]]*=.*$",
        present=False,
        **EDIT,
    )
    changed = any_changed(new, back, settings)
    wait_port = 25

server.shell(name="restart the mail service", commands=[restart_command], _if=changed)
python.call(name=f"wait for 220 on {wait_port}", function=wait_banner, addr=address, want_port=wait_port)
