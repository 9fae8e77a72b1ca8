// Behaviour a mutation pass found unpinned in the host-script tests (issue 18):
// the errors of single options, the checksum and check tools the script falls
// back to when the first choice is missing, the wait for a greeting, what a
// preview reports, and what a rollback or a revert leaves behind. Each test
// is a real run of the script on a real temporary services file. (The file
// name sorts first so that a mutant these tests kill stops early.)
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { SCRIPT, SHELLS, Shell, resultOf, runScript, shimDir, tempDir } from "../support/hostScript";

const FIX = path.join(__dirname, "..", "fixtures");
const SMTPD = "smtp       inet  n       -       y       -       -       smtpd\n";
const sha = (s: string | Buffer) => crypto.createHash("sha256").update(s).digest("hex");

function q(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A PATH with every tool of `shell`'s PATH but `hide` (one folder of links,
 * first one found wins), as on a host where those are not installed.
 */
function pathWithout(shell: Shell, hide: string[]): string {
    const d = tempDir();
    fs.chmodSync(d, 0o755);
    for (const dir of shell.path.split(":")) {
        let names: string[] = [];
        try { names = fs.readdirSync(dir); } catch { continue; }
        for (const n of names) {
            if (hide.includes(n) || fs.existsSync(path.join(d, n))) continue;
            const p = path.join(dir, n);
            try { if (!fs.statSync(p).isFile()) continue; } catch { continue; }
            fs.symlinkSync(fs.realpathSync(p), path.join(d, n));
        }
    }
    return d;
}

/** A folder whose `postconf` is the stand-in (test/fixtures/fake-postconf.sh). */
function postconfBin(): string {
    const d = tempDir();
    fs.chmodSync(d, 0o755);
    fs.writeFileSync(path.join(d, "postconf"), `#!/bin/sh\nexec /bin/sh ${q(path.join(FIX, "fake-postconf.sh"))} "$@"\n`, { mode: 0o755 });
    return d;
}

function setup(text: string | Buffer) {
    const dir = tempDir();
    const file = path.join(dir, "services");
    fs.writeFileSync(file, text);
    const state = path.join(dir, "state");
    return { dir, file, state, args: ["--file", file, "--state-dir", state] };
}

/** The one state folder of a run (STATE_ROOT/<key of the file>). */
function stateDirOf(state: string): string {
    const dirs = fs.readdirSync(state).filter(n => fs.statSync(path.join(state, n)).isDirectory());
    assert.equal(dirs.length, 1, `one state folder in ${state}: ${dirs.join(", ")}`);
    return path.join(state, dirs[0]);
}

/** A restart command that (re)starts a listener on the port the file gives smtp/tcp, saying `say` (its lines; nothing: a silent one) after `delay` seconds. */
function listenerRestart(file: string, pid: string, opts: { say?: string; delay?: number; failOn?: number; greetAfter?: number } = {}): string {
    const script = path.join(path.dirname(file), "restart.sh");
    // /bin/sleep: a test's sleep shim on the script's PATH (which the restart inherits) then records the script's sleeps only.
    const reply = opts.say === undefined ? "/bin/sleep 10" : `/bin/sleep ${opts.greetAfter ?? 0}; ${opts.say.split("\n").map(l => `echo '${l}'`).join("; ")}; /bin/sleep 1`;
    fs.writeFileSync(script, [
        "set -eu",
        `port=$(awk '{ sub(/#.*/, "") } $1 == "smtp" && $2 ~ /\\/tcp$/ { split($2, p, "/"); print p[1]; exit }' ${q(file)})`,
        opts.failOn ? `[ "$port" != ${opts.failOn} ] || exit 1` : ":",
        `[ ! -f ${q(pid)} ] || { kill "$(cat ${q(pid)})" 2>/dev/null || true; rm -f ${q(pid)}; /bin/sleep 0.2; }`,
        `[ -z "$port" ] || { ( /bin/sleep ${opts.delay ?? 0}; exec /usr/bin/socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork SYSTEM:${q(reply)} ) </dev/null >/dev/null 2>&1 & echo "$!" > ${q(pid)}; }`,
        "",
    ].join("\n"));
    return `sh ${q(script)}`;
}
const stop = (pid: string) => spawnSync("sh", ["-c", `[ ! -f ${q(pid)} ] || pkill -P "$(cat ${q(pid)})"; [ ! -f ${q(pid)} ] || kill "$(cat ${q(pid)})" 2>/dev/null; true`]);

for (const shell of SHELLS) {
    describe(`host script arguments and fallbacks under ${shell.name}`, function () {
        this.timeout(60_000);

        describe("an option's bad value is refused, naming the field, before anything is read", () => {
            const refuses = (args: string[], message: string) => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, ...args]);
                assert.equal(r.code, 1, r.stderr);
                assert.equal(r.stderr, `smtp-port: error: ${message}\n`);
                assert.equal(r.json.status, "failed");
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
                assert.ok(!fs.existsSync(s.state), "no state folder");
            };
            it("--state-dir relative/dir", () => refuses(["--state-dir", "relative/dir"], "[state-dir] must be an absolute path, got 'relative/dir'"));
            it("--mta qmail", () => refuses(["--mta", "qmail"], "[mta] must be postfix, exim, sendmail, auto or none, got 'qmail'"));
            it("--require-old-port-closed maybe", () => refuses(["--require-old-port-closed", "maybe"], "[require-old-port-closed] must be yes or no, got 'maybe'"));
            it("--verify maybe", () => refuses(["--verify", "maybe"], "[verify] must be yes or no, got 'maybe'"));
            it("--report-failure maybe", () => refuses(["--report-failure", "maybe"], "[report-failure] must be yes or no, got 'maybe'"));
            // Seconds from 1 to 999999999: no leading zero (so no octal), at most nine digits.
            for (const v of ["", "0", "07", "1.5", "-1", "5s", "1000000000"]) {
                it(`--verify-timeout '${v}'`, () => refuses(["--verify-timeout", v], `[verify-timeout] must be a whole number of seconds from 1 to 999999999, got '${v}'`));
            }
            it("an option with no value (the last word)", () => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "none", "--verify"], { asIs: true });
                assert.equal(r.code, 1, r.stderr);
                assert.equal(r.stderr, "smtp-port: error: option --verify needs a value\n");
                assert.equal(r.json.status, "failed");
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
            });
            it("--verify-address '' (empty)", () => refuses(["--verify-address", ""], "[verify-address] must be auto, a host name or an address, got ''"));
        });

        it("--aliases with extra spaces: the added line has them one space apart, and a rerun with either spelling changes nothing", () => {
            const s = setup("smtp 25/tcp mail\n");
            const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--aliases", "  mail   relay ", "--verify", "no"]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.added, "smtp\t\t17/tcp\t\tmail relay");
            assert.equal(fs.readFileSync(s.file, "utf8"), "#smtp 25/tcp mail\nsmtp\t\t17/tcp\t\tmail relay\n");
            for (const aliases of ["mail relay", "  mail   relay "]) {
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args, "--aliases", aliases, "--verify", "no"]).json.changed, false, aliases);
            }
        });

        it("without --host-label, the result names the host as hostname prints it, or as uname -n where hostname fails", () => {
            const s = setup("smtp 25/tcp mail\n");
            const name = spawnSync("uname", ["-n"], { encoding: "utf8" }).stdout.trim();
            assert.equal(runScript(shell, ["status", "--port", "17", ...s.args]).json.host, name);
            const broken = tempDir();
            fs.writeFileSync(path.join(broken, "hostname"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
            assert.equal(runScript(shell, ["status", "--port", "17", ...s.args], { pathPrefix: broken }).json.host, name);
        });

        it("--help alone prints the usage and exits 0, as do -h and help; no argument exits 2", () => {
            const help = runScript(shell, ["--help"], { asIs: true });
            assert.equal(help.code, 0, help.stderr);
            assert.match(help.stderr, /^usage: smtp-port.sh apply --port N /);
            assert.equal(help.stdout, "");
            for (const word of ["-h", "help"]) {
                const same = runScript(shell, [word], { asIs: true });
                assert.deepEqual([same.code, same.stdout, same.stderr], [0, "", help.stderr], word);
            }
            const none = runScript(shell, [], { asIs: true });
            assert.equal(none.code, 2);
            assert.equal(none.stderr, help.stderr);
        });

        it("an unknown command fails with exit 2, the usage and its name", () => {
            const help = runScript(shell, ["--help"], { asIs: true });
            const r = runScript(shell, ["frobnicate", "--port", "17"], { asIs: true });
            assert.equal(r.code, 2);
            assert.equal(r.stdout, "");
            assert.equal(r.stderr, `${help.stderr}smtp-port: error: unknown command 'frobnicate'\n`);
        });

        it("--protocol udp moves the udp entry and leaves tcp alone", () => {
            const s = setup("smtp 25/tcp mail\nsmtp 25/udp mail\n");
            const r = runScript(shell, ["apply", "--port", "17", "--protocol", "udp", ...s.args]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.json.protocol, "udp");
            assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n#smtp 25/udp mail\nsmtp 17/udp mail\n");
        });

        // GNU ls marks an ACL with "+": where getfattr is missing, the script
        // reads that mark. (busybox's ls has no such mark; docs/host-script.md.)
        if (!shell.name.startsWith("busybox")) {
            it("no getfattr: an ACL, seen by ls's \"+\", is kept by rewriting in place, through apply and revert", () => {
                const s = setup("qotd 17/tcp quote\nsmtp 25/tcp mail\n");
                assert.equal(spawnSync("setfacl", ["-m", "u:65534:r", s.file]).status, 0, "setfacl (Debian package acl)");
                const acl = () => spawnSync("getfacl", ["-cp", s.file], { encoding: "utf8" }).stdout;
                const before = acl();
                assert.match(before, /user:nobody:r--/);
                const bin = pathWithout(shell, ["getfattr"]);
                for (const action of [["apply", "--port", "17"], ["revert"]]) {
                    const ino = fs.statSync(s.file).ino;
                    const r = runScript(shell, [...action, ...s.args], { env: { PATH: bin } });
                    assert.equal(r.code, 0, r.stderr);
                    assert.ok(r.stderr.includes(`smtp-port: rewriting ${s.file} in place: a copy cannot keep its extended attributes\n`), r.stderr);
                    assert.equal(fs.statSync(s.file).ino, ino, `${action[0]}: the same file`);
                    assert.equal(acl(), before, `${action[0]}: the ACL is kept`);
                }
                assert.equal(fs.readFileSync(s.file, "utf8"), "qotd 17/tcp quote\nsmtp 25/tcp mail\n");
            });
        }

        describe("checksums", () => {
            it("the state's checksum is sha256sum's, in the format of the first versions: sha256sum:<hex>", () => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args]);
                assert.equal(r.code, 0, r.stderr);
                const written = fs.readFileSync(path.join(stateDirOf(s.state), "written"), "utf8");
                assert.equal(written, `sha256sum:${sha(fs.readFileSync(s.file))}\n`);
            });

            it("a host with no sha256sum, cksum or md5sum: apply fails saying so, the file untouched", () => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args], { env: { PATH: pathWithout(shell, ["sha256sum", "cksum", "md5sum"]) } });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, "smtp-port: error: no checksum tool on this host (sha256sum, cksum or md5sum)\n");
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
            });
        });

        describe("lines the plan must or must not refuse", () => {
            it("an unparseable line that is not about smtp is kept as it is", () => {
                const s = setup("garbage\nfoo 12tcp\nsmtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(fs.readFileSync(s.file, "utf8"), "garbage\nfoo 12tcp\n#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
            });
            it("an unparseable line with smtp as its last word is refused", () => {
                const s = setup("mail 25tcp smtp\nsmtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args]);
                assert.equal(r.code, 1);
                assert.equal(r.stderr, `line 1: cannot parse "mail 25tcp smtp"\nsmtp-port: error: refusing to change ${s.file}: a smtp entry cannot be parsed (see above); fix it by hand\n`);
                assert.equal(fs.readFileSync(s.file, "utf8"), "mail 25tcp smtp\nsmtp 25/tcp mail\n");
            });
        });

        describe("status", () => {
            it("after apply: managed, no drift; an emptied checksum file is drift, not an error", () => {
                const s = setup("smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                const st = runScript(shell, ["status", ...s.args]);
                assert.equal(st.code, 0, st.stderr);
                assert.equal(st.json.status, "managed");
                assert.equal(st.json.drift, false);
                fs.writeFileSync(path.join(stateDirOf(s.state), "written"), "");
                const emptied = runScript(shell, ["status", ...s.args]);
                assert.equal(emptied.code, 0, emptied.stderr);
                assert.equal(emptied.json.drift, true);
            });
            it("a malformed 'smtp x/tcp' line before the real entry: the real entry's port", () => {
                const s = setup("smtp x/tcp\nsmtp 2525/tcp mail\n");
                const st = runScript(shell, ["status", ...s.args]);
                assert.equal(st.code, 0, st.stderr);
                assert.equal(st.json.service_port, 2525);
            });
        });

        describe("the change token a preview reports", () => {
            for (const [what, content] of [["empty", ""], ["garbage", "x\n"]]) {
                it(`a change file holding ${what}: change "0"`, () => {
                    const s = setup("smtp 25/tcp mail\n");
                    assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                    const change = stateDirOf(s.state) + ".change";
                    assert.equal(fs.readFileSync(change, "utf8"), "1\n");
                    fs.writeFileSync(change, content);
                    const p = runScript(shell, ["preview", "--port", "17", ...s.args]);
                    assert.equal(p.code, 0, p.stderr);
                    assert.equal(p.json.change, "0");
                });
            }
            it("a change file without its final newline (as an editor may leave it): its number", () => {
                const s = setup("smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                fs.writeFileSync(stateDirOf(s.state) + ".change", "5");
                const p = runScript(shell, ["preview", "--port", "17", ...s.args]);
                assert.equal(p.code, 0, p.stderr);
                assert.equal(p.json.change, "5");
            });
        });

        describe("preview", () => {
            it("the diff shows each line next to its commented-out self, the last one of a run too, and the added line after them", () => {
                // smtp-port adds its line after the first line it comments, so the
                // second commented line is the last of the run's added lines.
                const s = setup("w 4/tcp smtp\nw 4/tcp smtp\nx 1/tcp\n");
                const p = runScript(shell, ["preview", "--port", "17", ...s.args]);
                assert.equal(p.code, 0, p.stderr);
                assert.deepEqual(p.json.diff, ["-w 4/tcp smtp", "+#w 4/tcp smtp", "-w 4/tcp smtp", "+#w 4/tcp smtp", "+smtp\t\t17/tcp\t\tmail"]);
            });
            it("--mta sendmail (no preflight in a preview): mta_port is the service port", () => {
                const s = setup("smtp 25/tcp mail\n");
                const p = runScript(shell, ["preview", "--port", "17", ...s.args, "--mta", "sendmail"]);
                assert.equal(p.code, 0, p.stderr);
                assert.equal(p.json.mta, "sendmail");
                assert.equal(p.json.mta_port, 25);
            });
            it("--mta exim: mta_port is the service port", () => {
                const s = setup("smtp 25/tcp mail\n");
                const d = tempDir();
                fs.writeFileSync(path.join(d, "exim4"), `#!/bin/sh\nexec /bin/sh ${q(path.join(FIX, "fake-exim.sh"))} "$@"\n`, { mode: 0o755 });
                const p = runScript(shell, ["preview", "--port", "17", ...s.args, "--mta", "exim"], { pathPrefix: d, env: { FAKE_EXIM_PORTS: "smtp", FAKE_EXIM_TRANSPORT_PORT: "25" } });
                assert.equal(p.code, 0, p.stderr);
                assert.equal(p.json.mta, "exim");
                assert.equal(p.json.mta_port, 25);
            });
            it("--mta exim on a host without exim4 or exim fails saying so", () => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "exim"], { env: { PATH: pathWithout(shell, ["exim4", "exim"]) } });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, "smtp-port: error: [mta] exim: neither exim4 nor exim is installed on this host\n");
            });
            it("--mta auto on a host with no postconf, exim or sendmail.cf: mta none", () => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "auto", "--verify", "no"], { env: { PATH: pathWithout(shell, ["postconf", "exim4", "exim"]) } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.mta, "none");
            });
            it("--mta postfix: mta_diff lists the main.cf changes; after a hand revert of main.cf only, it would still change", () => {
                const s = setup("smtp 25/tcp mail\n");
                fs.writeFileSync(path.join(s.dir, "main.cf"), "myhostname = mx1\n");
                fs.writeFileSync(path.join(s.dir, "master"), SMTPD);
                const env = { FAKE_MAIN_CF: path.join(s.dir, "main.cf"), FAKE_MASTER: path.join(s.dir, "master") };
                const opts = { env, pathPrefix: postconfBin() };
                const p = runScript(shell, ["preview", "--port", "17", ...s.args, "--mta", "postfix"], opts);
                assert.equal(p.code, 0, p.stderr);
                assert.equal(p.json.status, "would_change");
                assert.deepEqual(p.json.mta_diff, [
                    "postfix known_tcp_ports: lmtp=24, smtp=25, smtps=submissions=465, submission=587 -> lmtp=24, smtps=submissions=465, submission=587",
                    "postfix smtp_tcp_port: smtp -> 25",
                ]);
                const a = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "postfix", "--restart", "true", "--verify", "no"], opts);
                assert.equal(a.code, 0, a.stderr);
                fs.writeFileSync(path.join(s.dir, "main.cf"), "myhostname = mx1\n");
                const again = runScript(shell, ["preview", "--port", "17", ...s.args, "--mta", "postfix"], opts);
                assert.equal(again.code, 0, again.stderr);
                assert.deepEqual(again.json.diff, []);
                assert.equal(again.json.status, "would_change", JSON.stringify(again.json));
            });
            it("after an interrupted run (txn/ left): drift is true", () => {
                const s = setup("smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                const clean = runScript(shell, ["preview", "--port", "17", ...s.args]);
                assert.equal(clean.json.drift, false);
                fs.mkdirSync(path.join(stateDirOf(s.state), "txn"));
                const p = runScript(shell, ["preview", "--port", "17", ...s.args]);
                assert.equal(p.code, 0, p.stderr);
                assert.equal(p.json.drift, true);
            });
        });


        describe("adapters' less common answers", () => {
            it("exim whose routers name no transport: every smtp transport in transport_list must be pinned", () => {
                const s = setup("smtp 25/tcp mail\n");
                const d = tempDir();
                fs.chmodSync(d, 0o755);
                fs.writeFileSync(path.join(d, "exim4"), [
                    "#!/bin/sh",
                    'case "$*" in',
                    '    "-bP daemon_smtp_ports") echo "daemon_smtp_ports = smtp" ;;',
                    '    "-bP router_list") echo dnslookup ;;',
                    "    \"-bP router dnslookup\") printf 'driver = dnslookup\\n' ;;",
                    "    \"-bP transport_list\") printf '%s\\n' remote_smtp other_smtp ;;",
                    "    \"-bP transport remote_smtp\") printf 'driver = smtp\\nport = 25\\n' ;;",
                    "    \"-bP transport other_smtp\") printf 'driver = smtp\\n' ;;",
                    "    *) exit 1 ;;",
                    "esac",
                    "",
                ].join("\n"), { mode: 0o755 });
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "exim", "--restart", "true", "--verify", "no"], { pathPrefix: d });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, "smtp-port: error: [mta] exim: transport other_smtp sends to port 'smtp', which would follow the services file to 17; set 'port = 25' on other_smtp first\n");
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
            });
            it("--mta postfix whose postconf cannot read the settings: refused before anything changes", () => {
                const s = setup("smtp 25/tcp mail\n");
                const d = tempDir();
                fs.chmodSync(d, 0o755);
                fs.writeFileSync(path.join(d, "postconf"), "#!/bin/sh\necho 'postconf: fatal: open /etc/postfix/main.cf: No such file or directory' >&2\nexit 1\n", { mode: 0o755 });
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "postfix", "--restart", "true", "--verify", "no"], { pathPrefix: d });
                assert.equal(r.code, 1);
                assert.equal(r.stderr, "smtp-port: error: [mta] postfix: postconf cannot read this host's Postfix settings; run 'postconf mail_version' to see why\n");
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
            });
            it("main.cf with 'known_tcp_ports =' (Postfix's mapping turned off, printed as 'KEY ='): revert puts back exactly that after a hand change", () => {
                const s = setup("smtp 25/tcp mail\n");
                const cf = path.join(s.dir, "main.cf");
                fs.writeFileSync(cf, "known_tcp_ports =\nmyhostname = mx1\n");
                fs.writeFileSync(path.join(s.dir, "master"), SMTPD);
                const d = tempDir();
                fs.chmodSync(d, 0o755);
                // A postconf over "KEY = VALUE" and "KEY =" lines that prints
                // a value set to nothing as "KEY =", as Postfix's does.
                fs.writeFileSync(path.join(d, "postconf"), [
                    "#!/bin/sh",
                    'cf=$FAKE_MAIN_CF',
                    'has() { grep -q "^$1 =" "$cf"; }',
                    'val() { sed -n "s/^$1 = //p" "$cf"; }',
                    "dflt() {",
                    '    case "$1" in',
                    '        known_tcp_ports) echo "lmtp=24, smtp=25, smtps=submissions=465, submission=587" ;;',
                    "        smtp_tcp_port) echo smtp ;;",
                    "        mail_version) echo 3.7.11 ;;",
                    "        inet_interfaces | inet_protocols) echo all ;;",
                    "        queue_directory) echo /nonexistent ;;",
                    "        *) return 1 ;;",
                    "    esac",
                    "}",
                    'show() { v=$(val "$1"); if [ -n "$v" ]; then echo "$1 = $v"; else echo "$1 ="; fi; }',
                    'case "$1" in',
                    '    -M) cat "$FAKE_MASTER" ;;',
                    '    -n) if has "$2"; then show "$2"; fi ;;',
                    '    -h) if has "$2"; then val "$2"; else dflt "$2"; fi ;;',
                    "    -e) key=${2%% =*}; { grep -v \"^$key =\" \"$cf\" || true; printf '%s\\n' \"$2\" | sed 's/ *$//'; } > \"$cf.new\"; mv \"$cf.new\" \"$cf\" ;;",
                    '    -X) { grep -v "^$2 =" "$cf" || true; } > "$cf.new"; mv "$cf.new" "$cf" ;;',
                    '    -*) exit 2 ;;',
                    '    *) for k in "$@"; do if has "$k"; then show "$k"; elif v=$(dflt "$k"); then echo "$k = $v"; fi; done ;;',
                    "esac",
                    "",
                ].join("\n"), { mode: 0o755 });
                const opts = { env: { FAKE_MAIN_CF: cf, FAKE_MASTER: path.join(s.dir, "master") }, pathPrefix: d };
                const a = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "postfix", "--restart", "true", "--verify", "no"], opts);
                assert.equal(a.code, 0, a.stderr);
                assert.equal(fs.readFileSync(cf, "utf8"), "known_tcp_ports =\nmyhostname = mx1\nsmtp_tcp_port = 25\n", "no smtp mapping to remove; the client pinned");
                fs.writeFileSync(cf, "known_tcp_ports = lmtp=24\nmyhostname = mx1\nsmtp_tcp_port = 25\n");
                const back = runScript(shell, ["revert", ...s.args, "--mta", "postfix", "--restart", "true"], opts);
                assert.equal(back.code, 0, back.stderr);
                assert.deepEqual(fs.readFileSync(cf, "utf8").split("\n").sort(), ["", "known_tcp_ports =", "myhostname = mx1"]);
            });
            it("a postconf whose 'postconf -n KEY' fails for an unset key: the key is saved as unset and revert puts main.cf back", () => {
                const s = setup("smtp 25/tcp mail\n");
                fs.writeFileSync(path.join(s.dir, "main.cf"), "myhostname = mx1\n");
                fs.writeFileSync(path.join(s.dir, "master"), SMTPD);
                const env = { FAKE_MAIN_CF: path.join(s.dir, "main.cf"), FAKE_MASTER: path.join(s.dir, "master") };
                const d = tempDir();
                fs.chmodSync(d, 0o755);
                const fake = q(path.join(FIX, "fake-postconf.sh"));
                fs.writeFileSync(path.join(d, "postconf"), `#!/bin/sh\nif [ "$1" = -n ]; then v=$(/bin/sh ${fake} -n "$2"); [ -n "$v" ] || exit 1; echo "$v"; exit 0; fi\nexec /bin/sh ${fake} "$@"\n`, { mode: 0o755 });
                const a = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "postfix", "--restart", "true", "--verify", "no"], { env, pathPrefix: d });
                assert.equal(a.code, 0, a.stderr);
                assert.equal(a.json.mta_changed, true);
                const back = runScript(shell, ["revert", ...s.args, "--mta", "postfix", "--restart", "true"], { env, pathPrefix: d });
                assert.equal(back.code, 0, back.stderr);
                assert.equal(fs.readFileSync(env.FAKE_MAIN_CF, "utf8"), "myhostname = mx1\n");
            });
        });

        describe("a state of an older version (no copy of what it wrote): edits undone by their text", () => {
            const older = (text: string, edit: (now: string) => string) => {
                const s = setup(text);
                assert.equal(runScript(shell, ["apply", "--port", "2525", ...s.args]).code, 0);
                const st = stateDirOf(s.state);
                fs.rmSync(path.join(st, "managed"));
                fs.rmSync(path.join(st, "orig"));
                fs.writeFileSync(s.file, edit(fs.readFileSync(s.file, "utf8")));
                const r = runScript(shell, ["revert", ...s.args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.mode, "merge");
                assert.match(r.stderr, /no copy of what smtp-port last wrote \(state of an older version\): undoing its edits by their text\n/);
                return fs.readFileSync(s.file, "utf8");
            };
            it("CRLF lines stay CRLF, and another editor's line is kept", () => {
                assert.equal(older("smtp 25/tcp mail\r\nfoo 1/tcp\r\n", now => now + "bar 2/tcp\r\n"), "smtp 25/tcp mail\r\nfoo 1/tcp\r\nbar 2/tcp\r\n");
            });
            it("a file without a final newline keeps none", () => {
                assert.equal(older("smtp 25/tcp mail\nfoo 1/tcp", now => "bar 2/tcp\n" + now), "bar 2/tcp\nsmtp 25/tcp mail\nfoo 1/tcp");
            });
            it("a line smtp-port commented that the user also has commented: one of the two is uncommented, not both", () => {
                const after = older("#smtp 25/tcp mail\nsmtp 25/tcp mail\n", now => now);
                // By text, the two "#smtp 25/tcp mail" lines cannot be told apart: the first is taken.
                assert.equal(after, "smtp 25/tcp mail\n#smtp 25/tcp mail\n");
            });
        });

        describe("the check on the host with each tool (a listener that follows the file)", function () {
            // Ports of their own: no other test listens there.
            const withListener = (port: number, opts: { say?: string; delay?: number; failOn?: number; greetAfter?: number }, run: (s: ReturnType<typeof setup>, restart: string) => void) => {
                const s = setup(`smtp ${port}/tcp mail\n`);
                const pid = path.join(s.dir, "mta.pid");
                const restart = listenerRestart(s.file, pid, opts);
                assert.equal(spawnSync("sh", ["-c", restart]).status, 0, "listener starts");
                try { run(s, restart); } finally { stop(pid); }
            };
            const check = ["--verify-address", "127.0.0.1"];

            it("python3 (no perl, no nc): verified, and the old port counts as closed", () => withListener(27701, { say: "220 py ESMTP" }, (s, restart) => {
                // busybox's PATH (its applets only) has no python3: the system's.
                const bin = pathWithout(shell, ["perl", "nc"]);
                if (!fs.existsSync(path.join(bin, "python3"))) fs.symlinkSync("/usr/bin/python3", path.join(bin, "python3"));
                const r = runScript(shell, ["apply", "--port", "27702", ...s.args, "--restart", restart, "--verify-timeout", "5", ...check], { env: { PATH: bin } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.verified, "220 py ESMTP");
            }));
            it("nc only (no perl, no python3): verified, and the old port counts as closed", () => withListener(27703, { say: "220 nc ESMTP" }, (s, restart) => {
                const r = runScript(shell, ["apply", "--port", "27704", ...s.args, "--restart", restart, "--verify-timeout", "5", ...check], { env: { PATH: pathWithout(shell, ["perl", "python3"]) } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.verified, "220 nc ESMTP");
            }));
            // Not busybox's nc: it ends when its input does, so it sees only
            // a greeting sent at once (docs/host-script.md, below the options).
            if (!shell.name.startsWith("busybox")) {
                it("nc only (netcat-openbsd): a greeting 3.3 s after the connection is seen (nc waits 4 s for it, as the perl and python3 checks do)", () => withListener(27723, { say: "220 slow", greetAfter: 3.3 }, (s, restart) => {
                    const r = runScript(shell, ["apply", "--port", "27724", ...s.args, "--restart", restart, "--verify-timeout", "5", ...check], { env: { PATH: pathWithout(shell, ["perl", "python3"]) } });
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.json.verified, "220 slow");
                }));
            }
            if (!shell.name.startsWith("busybox")) {
                it("nc only (netcat-openbsd): a greeting 4.6 s after the connection is too late (nc waits 4 s for it): a timeout, rolled back", () => withListener(27731, { say: "220 slow", greetAfter: 4.6 }, (s, restart) => {
                    const r = runScript(shell, ["apply", "--port", "27732", ...s.args, "--restart", restart, "--verify-timeout", "5", ...check, "--host-label", "mx1"], { env: { PATH: pathWithout(shell, ["perl", "python3"]) } });
                    assert.equal(r.code, 1);
                    assert.match(r.stderr, /smtp-port: error: mx1: no SMTP greeting on port 27732 after 5s \(127\.0\.0\.1:27732: timeout\); rolled back in \d+s: /);
                    assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27731/tcp mail\n");
                }));
            }
            it("nc only: a server that also answers the QUIT (221): the greeting line alone is what was verified", () => withListener(27725, { say: "220 nc ESMTP\n221 2.0.0 Bye" }, (s, restart) => {
                const r = runScript(shell, ["apply", "--port", "27726", ...s.args, "--restart", restart, "--verify-timeout", "5", ...check], { env: { PATH: pathWithout(shell, ["perl", "python3"]) } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.verified, "220 nc ESMTP");
            }));
            it("nc only: a listener that accepts and says nothing is a timeout", () => withListener(27705, {}, (s, restart) => {
                // 3 s, not 1: the restart starts the silent listener in the
                // background, and under load it once took over a second to
                // listen (the last attempt then said "connection refused").
                const r = runScript(shell, ["apply", "--port", "27706", ...s.args, "--restart", restart, "--verify-timeout", "3", ...check, "--host-label", "mx1"], { env: { PATH: pathWithout(shell, ["perl", "python3"]) } });
                assert.equal(r.code, 1);
                assert.match(r.stderr, /smtp-port: error: mx1: no SMTP greeting on port 27706 after 3s \(127\.0\.0\.1:27706: timeout\); rolled back in \d+s: /);
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27705/tcp mail\n");
            }));
            it("no perl, python3 or nc: apply succeeds at once, not verified, and says why", () => withListener(27707, { say: "220 x" }, (s, restart) => {
                const t0 = Date.now();
                const r = runScript(shell, ["apply", "--port", "27708", ...s.args, "--restart", restart, "--verify-timeout", "5", ...check], { env: { PATH: pathWithout(shell, ["perl", "python3", "nc"]) } });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.verified, null);
                assert.equal(r.json.restarted, true);
                assert.match(r.stderr, /smtp-port: not verified on the host: no perl, python3 or nc to check with\n/);
                assert.ok(Date.now() - t0 < 4000, `not after the check timeout: ${Date.now() - t0} ms`);
            }));
            it("a server that greets only a second after the restart: apply waits for it", () => withListener(27709, { say: "220 late" }, (s) => {
                const pid = path.join(s.dir, "mta.pid");
                const late = listenerRestart(s.file, pid, { say: "220 late", delay: 1.5 });
                const r = runScript(shell, ["apply", "--port", "27710", ...s.args, "--restart", late, "--verify-timeout", "6", ...check]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.verified, "220 late");
            }));
            // The wait for a late greeting: what it sleeps between checks (a sleep shim records it, then sleeps).
            const waitSleeps = (port: number, sleep: string): string[] => {
                let sleeps: string[] = [];
                withListener(port, { say: "220 late" }, (s) => {
                    const record = path.join(s.dir, "sleeps");
                    const shims = shimDir({ sleep: `printf '%s\\n' "$*" >> ${q(record)}\n${sleep}` });
                    const late = listenerRestart(s.file, path.join(s.dir, "mta.pid"), { say: "220 late", delay: 1.5 });
                    const r = runScript(shell, ["apply", "--port", String(port + 1), ...s.args, "--restart", late, "--verify-timeout", "8", ...check], { pathPrefix: shims });
                    assert.equal(r.code, 0, r.stderr);
                    assert.equal(r.json.verified, "220 late");
                    sleeps = fs.readFileSync(record, "utf8").split("\n").filter(Boolean);
                });
                assert.ok(sleeps.length > 0, "the greeting came late: the wait slept");
                return sleeps;
            };
            it("waiting for a late greeting, it checks every fifth of a second, where sleep takes fractions", () => {
                assert.deepEqual([...new Set(waitSleeps(27727, 'exec sleep "$@"'))], ["0.2"]);
            });
            it("waiting for a late greeting, it checks every second where sleep takes whole seconds only", () => {
                const sleeps = waitSleeps(27729, 'case "$1" in *.*) echo "sleep: invalid time interval \'$1\'" >&2; exit 1 ;; esac\nexec sleep "$@"');
                assert.equal(sleeps.join(" "), Array(sleeps.length / 2).fill("0.2 1").join(" "));
            });
            it("a check tool that fails in a way it never reports (perl exit 9): not verified, rolled back, the code named", () => withListener(27721, { say: "220 x" }, (s, restart) => {
                const bin = pathWithout(shell, ["perl"]);
                // Passes the tool test (IO::Socket::IP loads), then dies as a broken perl would.
                fs.writeFileSync(path.join(bin, "perl"), '#!/bin/sh\n[ "$*" != "-MIO::Socket::IP -e 1" ] || exit 0\nexit 9\n', { mode: 0o755 });
                const r = runScript(shell, ["apply", "--port", "27722", ...s.args, "--restart", restart, "--verify-timeout", "1", ...check, "--host-label", "mx1"], { env: { PATH: bin } });
                assert.equal(r.code, 1);
                assert.match(r.stderr, /smtp-port: error: mx1: no SMTP greeting on port 27722 after 1s \(127\.0\.0\.1:27722: error 9\); rolled back in \d+s: /);
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27721/tcp mail\n");
            }));
            it("the restart succeeds but nothing greets on the new port: rolled back", () => {
                const s = setup("smtp 27711/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "27712", ...s.args, "--restart", "true", "--verify-timeout", "1", ...check, "--host-label", "mx1"]);
                assert.equal(r.code, 1);
                assert.match(r.stderr, new RegExp(`smtp-port: error: mx1: no SMTP greeting on port 27712 after 1s \\(127\\.0\\.0\\.1:27712: connection refused\\); rolled back in \\d+s: ${s.file} and the none configuration are as before, but no greeting on 27711 yet \\(127\\.0\\.0\\.1:27711: connection refused\\)\\n$`));
                assert.equal(r.json.rolled_back, true);
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27711/tcp mail\n");
            });
            it("a rollback where smtp had no entry before: no greeting is awaited on a port it never had", () => {
                const s = setup("qotd 17/tcp quote\n");
                const pid = path.join(s.dir, "mta.pid");
                const restart = listenerRestart(s.file, pid, { say: "220 x", failOn: 27714 });
                try {
                    const r = runScript(shell, ["apply", "--port", "27714", ...s.args, "--restart", restart, "--verify-timeout", "1", ...check, "--host-label", "mx1"]);
                    assert.equal(r.code, 1);
                    assert.match(r.stderr, new RegExp(`smtp-port: error: mx1: the restart command failed; rolled back in \\d+s: ${s.file} and the none configuration are as before\\n$`));
                    assert.equal(fs.readFileSync(s.file, "utf8"), "qotd 17/tcp quote\n");
                } finally { stop(pid); }
            });
        });

        describe("rollbacks and reverts", () => {
            const pf = (s: ReturnType<typeof setup>) => {
                fs.writeFileSync(path.join(s.dir, "main.cf"), "myhostname = mx1\n");
                fs.writeFileSync(path.join(s.dir, "master"), SMTPD);
                return { env: { FAKE_MAIN_CF: path.join(s.dir, "main.cf"), FAKE_MASTER: path.join(s.dir, "master") }, pathPrefix: postconfBin() };
            };
            // What revert reports when the services file was put back by hand first.
            const putBackByHand = (s: ReturnType<typeof setup>, extra: string[], opts: object) => {
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, ...extra, "--restart", "true", "--verify", "no"], opts);
                assert.equal(r.code, 0, r.stderr);
                fs.writeFileSync(s.file, "smtp 25/tcp mail\n");
                const back = runScript(shell, ["revert", ...s.args, ...extra, "--restart", "true"], opts);
                assert.equal(back.code, 0, back.stderr);
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
                return back.json;
            };
            it("revert after the file was put back by hand, no mail server: nothing to do, unchanged", () => {
                const s = setup("smtp 25/tcp mail\n");
                const back = putBackByHand(s, ["--mta", "none"], {});
                assert.deepEqual([back.status, back.changed, back.mta_changed, back.restarted], ["unchanged", false, false, false]);
            });
            it("revert after the file was put back by hand, Postfix's settings still smtp-port's: only those are undone, reverted", () => {
                const s = setup("smtp 25/tcp mail\n");
                const opts = pf(s);
                const back = putBackByHand(s, ["--mta", "postfix"], opts);
                assert.deepEqual([back.status, back.changed, back.mta_changed, back.restarted], ["reverted", false, true, true]);
                assert.equal(fs.readFileSync(opts.env.FAKE_MAIN_CF, "utf8"), "myhostname = mx1\n");
            });
            it("the rollback of a first apply removes the copy beside the file that the apply made", () => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--restart", "false", "--verify", "no"]);
                assert.equal(r.code, 1);
                assert.equal(r.json.rolled_back, true);
                assert.deepEqual(fs.readdirSync(s.dir).filter(f => f.startsWith(".services")), [], "no copy (marker) left: nothing is managed");
                assert.deepEqual(fs.readdirSync(s.state).filter(f => !f.endsWith(".lock")), [], "no state left");
            });
            it("--mta postfix, the restart fails: main.cf is byte-identical afterwards", () => {
                const s = setup("smtp 25/tcp mail\n");
                const opts = pf(s);
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "postfix", "--restart", "false", "--verify", "no"], opts);
                assert.equal(r.code, 1);
                assert.equal(r.json.rolled_back, true);
                assert.equal(fs.readFileSync(opts.env.FAKE_MAIN_CF, "utf8"), "myhostname = mx1\n");
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
            });
            it("a second apply that rolls back keeps the first one's state: revert still gives back the original bytes", () => {
                const s = setup("smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                const r = runScript(shell, ["apply", "--port", "18", ...s.args, "--restart", "false", "--verify", "no"]);
                assert.equal(r.code, 1);
                assert.equal(fs.readFileSync(s.file, "utf8"), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                const back = runScript(shell, ["revert", ...s.args]);
                assert.equal(back.code, 0, back.stderr);
                assert.equal(back.json.status, "reverted");
                assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 25/tcp mail\n");
            });
            it("edits undone by hand, then apply with the original port: the state is forgotten", () => {
                const s = setup("smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                fs.writeFileSync(s.file, "smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "25", ...s.args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.changed, false);
                assert.equal(runScript(shell, ["status", ...s.args]).json.status, "not_managed");
                assert.equal(runScript(shell, ["revert", ...s.args]).json.mode, "none");
            });
            it("apply to the port smtp already has, on an unmanaged file: no state folder is left", () => {
                const s = setup("smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "25", ...s.args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.changed, false);
                assert.deepEqual(fs.existsSync(s.state) ? fs.readdirSync(s.state).filter(n => !n.endsWith(".change") && !n.endsWith(".lock")) : [], []);
            });
            it("revert of a state folder without its checksum (an interrupted run): mode none", () => {
                const s = setup("smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                fs.rmSync(path.join(stateDirOf(s.state), "written"));
                const r = runScript(shell, ["revert", ...s.args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.mode, "none");
                assert.equal(r.json.changed, false);
            });
            it("a state folder left without its checksum and the file as it was: apply to the port smtp has removes the folder", () => {
                const s = setup("smtp 25/tcp mail\n");
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args]).code, 0);
                const st = stateDirOf(s.state);
                fs.rmSync(path.join(st, "written"));
                fs.writeFileSync(s.file, "smtp 25/tcp mail\n");
                const r = runScript(shell, ["apply", "--port", "25", ...s.args]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.changed, false);
                assert.ok(!fs.existsSync(st), "the state folder is gone");
            });
            it("a rollback with --verify no awaits no greeting on the old port", () => {
                const s = setup("smtp 27715/tcp mail\n");
                const pid = path.join(s.dir, "mta.pid");
                const restart = listenerRestart(s.file, pid, { say: "220 x", failOn: 27716 });
                try {
                    const r = runScript(shell, ["apply", "--port", "27716", ...s.args, "--restart", restart, "--verify", "no", "--verify-timeout", "1", "--verify-address", "127.0.0.1", "--host-label", "mx1"]);
                    assert.equal(r.code, 1);
                    assert.match(r.stderr, new RegExp(`smtp-port: error: mx1: the restart command failed; rolled back in \\d+s: ${s.file} and the none configuration are as before\\n$`));
                    assert.equal(fs.readFileSync(s.file, "utf8"), "smtp 27715/tcp mail\n");
                } finally { stop(pid); }
            });
            it("revert with --mta postfix and no --restart runs the default restart (service postfix restart)", () => {
                const s = setup("smtp 25/tcp mail\n");
                const opts = pf(s);
                assert.equal(runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "postfix", "--restart", "true", "--verify", "no"], opts).code, 0);
                const log = path.join(s.dir, "restart.log");
                fs.writeFileSync(path.join(opts.pathPrefix, "service"), `#!/bin/sh\necho "service $*" >> ${q(log)}\n`, { mode: 0o755 });
                fs.writeFileSync(path.join(opts.pathPrefix, "systemctl"), `#!/bin/sh\necho "systemctl $*" >> ${q(log)}\n`, { mode: 0o755 });
                const r = runScript(shell, ["revert", ...s.args, "--mta", "postfix"], opts);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.json.restarted, true);
                assert.match(fs.readFileSync(log, "utf8"), /^(service postfix restart|systemctl restart postfix)\n$/);
            });
        });

        describe("Postfix's chroot copy of /etc/services (a temp file bind-mounted there)", () => {
            const inNs = (shell: Shell, s: ReturnType<typeof setup>, env: Record<string, string>, pathPrefix: string, args: string[]) => {
                const inner = [...shell.argv, SCRIPT, ...args].map(q).join(" ");
                // A private /etc: links to the real one's entries, and the
                // services file bind-mounted in it. What the script writes
                // beside /etc/services (its copies, the marker of a managed
                // file) lands in that temporary folder, never in this
                // machine's /etc (read-only under the mutation runner).
                const etc = path.join(s.dir, "etc"), real = path.join(s.dir, "real-etc");
                const setupEtc = `mkdir -p ${q(etc)} ${q(real)} && mount --bind /etc ${q(real)} && ` +
                    `for f in ${q(real)}/* ${q(real)}/.[!.]*; do [ ! -e "$f" ] || ln -sfn "$f" ${q(etc)}/"\${f##*/}"; done && ` +
                    `rm -f ${q(etc)}/services && : > ${q(etc)}/services && mount --bind ${q(etc)} /etc && mount --bind ${q(s.file)} /etc/services`;
                const r = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", `${setupEtc} && exec ${inner}`],
                    { encoding: "utf8", env: { PATH: `${pathPrefix}:${shell.path}`, LC_ALL: "C", ...env } });
                return r;
            };
            /** A Postfix (the fake postconf's files) whose chroot holds a copy of the services file. */
            const chrootFixture = (s: ReturnType<typeof setup>) => {
                fs.writeFileSync(path.join(s.dir, "main.cf"), "myhostname = mx1\n");
                fs.writeFileSync(path.join(s.dir, "master"), SMTPD);
                const queue = path.join(s.dir, "queue");
                fs.mkdirSync(path.join(queue, "etc"), { recursive: true });
                const copy = path.join(queue, "etc", "services");
                fs.writeFileSync(copy, "smtp 25/tcp mail\n");
                return { copy, env: { FAKE_MAIN_CF: path.join(s.dir, "main.cf"), FAKE_MASTER: path.join(s.dir, "master"), FAKE_QUEUE: queue } };
            };
            it("apply, a failed apply's rollback and revert refresh the copy; with no copy none is made", () => {
                const s = setup("smtp 25/tcp mail\n");
                const { copy, env } = chrootFixture(s);
                const bin = postconfBin();
                const common = ["--file", "/etc/services", "--state-dir", s.state, "--mta", "postfix", "--verify", "no"];
                const a = inNs(shell, s, env, bin, ["apply", "--port", "17", ...common, "--restart", "true"]);
                assert.equal(a.status, 0, a.stderr);
                assert.equal(fs.readFileSync(copy, "utf8"), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                const failed = inNs(shell, s, env, bin, ["apply", "--port", "18", ...common, "--restart", "false"]);
                assert.equal(failed.status, 1, failed.stderr);
                assert.equal(fs.readFileSync(s.file, "utf8"), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                assert.equal(fs.readFileSync(copy, "utf8"), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n", "the rollback put the copy back too");
                const back = inNs(shell, s, env, bin, ["revert", ...common.filter(x => x !== "--verify" && x !== "no"), "--restart", "true"]);
                assert.equal(back.status, 0, back.stderr);
                assert.equal(fs.readFileSync(copy, "utf8"), "smtp 25/tcp mail\n");
                fs.rmSync(copy);
                const again = inNs(shell, s, env, bin, ["apply", "--port", "17", ...common, "--restart", "true"]);
                assert.equal(again.status, 0, again.stderr);
                assert.ok(!fs.existsSync(copy), "no copy made where there was none");
            });
            it("a postconf that cannot tell the queue_directory leaves the copy alone and the apply goes on", () => {
                const s = setup("smtp 25/tcp mail\n");
                const { copy, env } = chrootFixture(s);
                const shim = path.join(s.dir, "shim");
                fs.mkdirSync(shim);
                // Fails for queue_directory only, as a damaged main.cf would make it; the rest is the fake postconf.
                fs.writeFileSync(path.join(shim, "postconf"), `#!/bin/sh\nPATH=\${PATH#*:}\n[ "$*" != "-h queue_directory" ] || exit 1\nexec postconf "$@"\n`, { mode: 0o755 });
                const a = inNs(shell, s, env, `${shim}:${postconfBin()}`,
                    ["apply", "--port", "17", "--file", "/etc/services", "--state-dir", s.state, "--mta", "postfix", "--verify", "no", "--restart", "true"]);
                assert.equal(a.status, 0, a.stderr);
                assert.equal(resultOf(a.stdout).changed, true);
                assert.equal(fs.readFileSync(s.file, "utf8"), "#smtp 25/tcp mail\nsmtp 17/tcp mail\n");
                assert.equal(fs.readFileSync(copy, "utf8"), "smtp 25/tcp mail\n");
            });
            it("with --file not /etc/services the chroot copy is left alone", () => {
                const s = setup("smtp 25/tcp mail\n");
                const { copy, env } = chrootFixture(s);
                const r = runScript(shell, ["apply", "--port", "17", ...s.args, "--mta", "postfix", "--restart", "true", "--verify", "no"], { env, pathPrefix: postconfBin() });
                assert.equal(r.code, 0, r.stderr);
                assert.equal(fs.readFileSync(copy, "utf8"), "smtp 25/tcp mail\n");
            });
        });
    });
}
