// validate.ts field by field: each value accepted at its edge, each refusal
// with its exact words and path, fleet-wide and per host.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { SmtpPortArgs } from "../../components/args";
import {
    assertValidSmtpPortArgs, describeArgProblem, portProblem, SmtpPortArgsError, smtpPortArgsProblems, validateSmtpPortArgs,
} from "../../components/validate";
import { HOST_KEY } from "../support/testConfig";

const conn = { host: "mx1.example.net", hostKey: HOST_KEY };
const ok = (): SmtpPortArgs => ({ port: 17, hosts: [{ name: "mx1", connection: conn }] });
const problems = (over: any) => validateSmtpPortArgs({ ...ok(), ...over });
/** The problems of a fleet whose one host has `over` (its connection merged with `connOver`). */
const hostProblems = (over: any, connOver: any = {}) =>
    validateSmtpPortArgs({ port: 17, hosts: [{ name: "mx1", ...over, connection: over.connection === undefined && "connection" in over ? undefined : { ...conn, ...connOver } }] });
const WRITABLE = "which every local user may write to (they could plant the state that root restores from)";

describe("validate: field by field", () => {
    it("arguments that are not an object are one problem", () => {
        for (const a of [null, undefined, "x", 17]) {
            assert.deepEqual(smtpPortArgsProblems(a as any), [{ path: [], message: "arguments are required" }], String(a));
            assert.deepEqual(validateSmtpPortArgs(a as any), ["arguments are required"]);
        }
    });

    it("host names: letters, digits, . _ - only, anchored at both ends", () => {
        for (const name of [";x", "x;", "mx 1", "mx+1", "mx1\n", "a/b"]) {
            assert.deepEqual(hostProblems({ name }), [`host "${name}": [name] must be letters, digits, . _ -, got ${JSON.stringify(name)}`], name);
        }
        for (const name of ["mx1", "MX-1.example_net", "1"]) assert.deepEqual(hostProblems({ name }), [], name);
        assert.deepEqual(hostProblems({ name: 7 }), ["hosts[0]: [name] is required"]);
        assert.deepEqual(hostProblems({ name: undefined }), ["hosts[0]: [name] is required"]);
    });

    it("a host that is not an object is named by its index", () => {
        for (const h of [null, "mx1", ["mx1"], 3]) {
            assert.deepEqual(validateSmtpPortArgs({ port: 17, hosts: [{ name: "mx1", connection: conn }, h as any] }), ["hosts[1]: must be an object with name and connection"]);
        }
    });

    it("host keys: every OpenSSH type, with or without a comment; nothing before the type or after the key", () => {
        const good = ["ssh-ed25519 AAAA", "ssh-rsa AAAA+/09==", "ssh-dss AAAA=", "ecdsa-sha2-nistp256 AAAA", "ecdsa-sha2-nistp384 AAAA", "ecdsa-sha2-nistp521 AAAA",
            "sk-ssh-ed25519@openssh.com AAAA", "sk-ecdsa-sha2-nistp256@openssh.com AAAA", `${HOST_KEY} root@mx1 (2024)`, ` ${HOST_KEY} `, "ssh-ed25519 AAA==="];
        for (const hostKey of good) assert.deepEqual(hostProblems({}, { hostKey }), [], hostKey);
        const bad = ["x ssh-ed25519 AAAA", "ssh-ed25519 AAAA!bad", "ssh-ed25519 AAAA====", "ssh-ed448 AAAA", "ecdsa-sha2-nistp128 AAAA", "sk- AAAA",
            "sk-SSH AAAA", "ssh-ed25519", "ssh-ed25519  AAAA", "AAAA"];
        for (const hostKey of bad) {
            assert.deepEqual(hostProblems({}, { hostKey }), [`host "mx1": [connection.hostKey] must be an OpenSSH public key like "ssh-ed25519 AAAA...", got ${JSON.stringify(hostKey)}`], hostKey);
        }
        assert.deepEqual(hostProblems({}, { hostKey: 5 }), [`host "mx1": [connection.hostKey] must be an OpenSSH public key like "ssh-ed25519 AAAA...", got 5`]);
        assert.deepEqual(hostProblems({}, { hostKey: pulumi.output("not a key") }), [], "an Output is checked where it resolves");
    });

    it("paths: absolute, without NUL or line breaks, fleet-wide and per host", () => {
        for (const servicesFile of ["/etc/services\n", "/etc/ser\0vices", "/etc/services\r", "/etc/a\nb"]) {
            assert.deepEqual(problems({ servicesFile }), ["[servicesFile] must not contain NUL or line breaks"], JSON.stringify(servicesFile));
            assert.deepEqual(hostProblems({ servicesFile }), [`host "mx1": [servicesFile] must not contain NUL or line breaks`]);
        }
        assert.deepEqual(problems({ servicesFile: 5 }), ["[servicesFile] must be an absolute path, got 5"]);
        assert.deepEqual(problems({ servicesFile: "/etc/services" }), []);
    });

    it("state folders: absolute, not /tmp, /var/tmp or /dev/shm nor directly in them; deeper is fine", () => {
        const cases: [string, string | undefined][] = [
            ["/tmp", `must not be /tmp, ${WRITABLE}, got "/tmp"`],
            ["/tmp/", `must not be /tmp, ${WRITABLE}, got "/tmp/"`],
            ["/tmp/state", `must not be directly in /tmp, ${WRITABLE}, got "/tmp/state"`],
            ["/var/tmp//", `must not be /var/tmp, ${WRITABLE}, got "/var/tmp//"`],
            ["/dev/shm/x", `must not be directly in /dev/shm, ${WRITABLE}, got "/dev/shm/x"`],
            ["state", `must be an absolute path, got "state"`],
            ["/var/lib/smtp\n", "must not contain NUL or line breaks"],
            ["/tmp/private/state", undefined],
            ["/var/lib/smtp-port", undefined],
            ["/", undefined],
            ["/tmpx", undefined],
        ];
        for (const [stateDir, message] of cases) {
            assert.deepEqual(problems({ stateDir }), message ? [`[stateDir] ${message}`] : [], stateDir);
            assert.deepEqual(hostProblems({ stateDir }), message ? [`host "mx1": [stateDir] ${message}`] : [], `per host ${stateDir}`);
        }
    });

    it("restart commands: a non-empty string, fleet-wide and per host", () => {
        for (const restartCommand of ["", "  ", 5, null]) {
            assert.deepEqual(problems({ restartCommand }), ["[restartCommand] must be a non-empty command"], String(restartCommand));
            assert.deepEqual(hostProblems({ restartCommand }), [`host "mx1": [restartCommand] must be a non-empty command`], String(restartCommand));
        }
        assert.deepEqual(problems({ restartCommand: "systemctl restart postfix" }), []);
        assert.deepEqual(hostProblems({ restartCommand: " x " }), []);
    });

    it("the connection: required, with a host; its port a port", () => {
        assert.deepEqual(validateSmtpPortArgs({ port: 17, hosts: [{ name: "mx1" } as any] }), [`host "mx1": [connection] is required`]);
        assert.deepEqual(validateSmtpPortArgs({ port: 17, hosts: [{ name: "mx1", connection: null } as any] }), [`host "mx1": [connection] is required`]);
        assert.deepEqual(hostProblems({}, { host: undefined }), [`host "mx1": [connection.host] is required`]);
        assert.deepEqual(hostProblems({}, { host: "" }), [`host "mx1": [connection.host] is required`]);
        assert.deepEqual(hostProblems({}, { host: "  " }), [`host "mx1": [connection.host] must be a host name or address, got "  "`]);
        assert.deepEqual(hostProblems({}, { port: 0 }), [`host "mx1": [connection.port] must be an integer from 1 to 65535, got 0`]);
        assert.deepEqual(hostProblems({}, { port: 22 }), []);
        assert.deepEqual(hostProblems({}, { host: pulumi.output(""), port: pulumi.output(0) }), [], "Outputs are checked where they resolve");
        assert.deepEqual(validateSmtpPortArgs({ port: 17, hosts: [{ name: "mx1", connection: pulumi.output({ host: "" }) as any }] }), []);
        assert.deepEqual(validateSmtpPortArgs({ port: 17, hosts: [{ name: "mx1", connection: Promise.resolve({ host: "" }) as any }] }), [], "nor a Promise");
    });

    it("dial limits: positive integers", () => {
        for (const v of [0, -1, 1.5, "3", true]) {
            assert.deepEqual(hostProblems({}, { dialErrorLimit: v }), [`host "mx1": [connection.dialErrorLimit] must be a positive integer, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`], String(v));
        }
        assert.deepEqual(hostProblems({}, { dialErrorLimit: 1, perDialTimeout: 30 }), []);
    });

    it("credentials: a plain string is refused for each; an empty one is no credential", () => {
        for (const f of ["privateKey", "password", "privateKeyPassword"]) {
            assert.deepEqual(hostProblems({}, { [f]: "x" }), [`host "mx1": [connection.${f}] must be a Pulumi secret (pulumi.secret(...) or \`pulumi config set --secret\`), not a plain string`], f);
            assert.deepEqual(hostProblems({}, { [f]: "" }), [], `${f} ""`);
            assert.deepEqual(hostProblems({}, { [f]: pulumi.secret("x") }), [], `${f} secret`);
        }
    });

    it("service, protocol, aliases, conflicts: the accepted values pass", () => {
        assert.deepEqual(problems({ service: "submission", protocol: "udp", aliases: ["mail", "smtp+x"], conflicts: "fail" }), []);
        assert.deepEqual(problems({ protocol: "tcp", conflicts: "comment", aliases: [] }), []);
        assert.deepEqual(problems({ protocol: "TCP" }), [`[protocol] must be "tcp" or "udp", got "TCP"`]);
        assert.deepEqual(problems({ conflicts: "replace" }), [`[conflicts] must be "comment" or "fail", got "replace"`]);
        assert.deepEqual(problems({ aliases: "mail" }), [`[aliases] must be a list of names, got "mail"`]);
        assert.deepEqual(problems({ aliases: { 0: "mail" } }), ["[aliases] must be a list of names, got [object Object]"]);
        assert.deepEqual(problems({ service: 25 }), ["[service] must be a plain name (letters, digits, . _ + -; no whitespace, # or shell characters), got 25"]);
    });

    it("verifyTimeout: seconds from 1 to 999999999", () => {
        for (const v of [1, 20, 999_999_999]) assert.deepEqual(problems({ verifyTimeout: v }), [], String(v));
        for (const v of [0, -5, 1_000_000_000, 2.5, "20"]) {
            assert.deepEqual(problems({ verifyTimeout: v }), [`[verifyTimeout] must be a whole number of seconds from 1 to 999999999, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`], String(v));
        }
    });

    it("listenerCheck: each of its numbers a positive integer", () => {
        assert.deepEqual(problems({ listenerCheck: { timeoutMs: 1, attempts: 3, delayMs: 500 } }), []);
        assert.deepEqual(problems({ listenerCheck: {} }), []);
        assert.deepEqual(problems({ listenerCheck: { timeoutMs: 0, attempts: 1.5, delayMs: "x" } }), [
            "[listenerCheck.timeoutMs] must be a positive integer, got 0",
            "[listenerCheck.attempts] must be a positive integer, got 1.5",
            `[listenerCheck.delayMs] must be a positive integer, got "x"`,
        ]);
        assert.deepEqual(smtpPortArgsProblems({ ...ok(), listenerCheck: { attempts: -1 } }).map(p => p.path), [["listenerCheck", "attempts"]]);
    });

    it("addresses: checkAddress a name or address, verifyAddress also auto", () => {
        for (const a of ["198.18.0.1", "::1", "[::1]", "mx1.example.net", "fe80::1"]) {
            assert.deepEqual(hostProblems({ checkAddress: a, verifyAddress: a }), [], a);
        }
        assert.deepEqual(hostProblems({ verifyAddress: "auto" }), []);
        assert.deepEqual(hostProblems({ checkAddress: "auto" }), [], "a host may be called auto");
        assert.deepEqual(hostProblems({ checkAddress: "a b", verifyAddress: "a;b" }), [
            `host "mx1": [checkAddress] must be a host name or an address (IPv6 may be in brackets), got "a b"`,
            `host "mx1": [verifyAddress] must be auto, a host name or an address (IPv6 may be in brackets), got "a;b"`,
        ]);
        assert.deepEqual(hostProblems({ checkAddress: pulumi.output("a b") }), [], "an Output is not known yet");
        assert.deepEqual(hostProblems({ checkAddress: "", verifyAddress: "" }), [
            `host "mx1": [checkAddress] must be a host name or an address (IPv6 may be in brackets), got ""`,
            `host "mx1": [verifyAddress] must be auto, a host name or an address (IPv6 may be in brackets), got ""`,
        ], "an empty address is refused, not taken for auto");
        assert.deepEqual(hostProblems({ verifyAddress: 5 }), [`host "mx1": [verifyAddress] must be auto, a host name or an address (IPv6 may be in brackets), got 5`]);
    });

    it("every fleet-wide and per-host boolean is named when it is not one", () => {
        for (const field of ["sudo", "verifyOnHost", "requireOldPortClosed", "previewHosts", "failOnDrift"]) {
            assert.deepEqual(problems({ [field]: "yes" }), [`[${field}] must be true or false, got "yes"`], field);
            assert.deepEqual(problems({ [field]: false }), [], field);
        }
        for (const field of ["sudo", "requireOldPortClosed", "insecureIgnoreHostKey"]) {
            assert.deepEqual(hostProblems({ [field]: 1 }), [`host "mx1": [${field}] must be true or false, got 1`], field);
            assert.deepEqual(hostProblems({ [field]: false }), [], field);
        }
    });

    it("portProblem: 1 to 65535, whole numbers only", () => {
        assert.deepEqual([1, 65535, 25].map(portProblem), [undefined, undefined, undefined]);
        assert.equal(portProblem(0), "must be an integer from 1 to 65535, got 0");
        assert.equal(portProblem("25"), `must be an integer from 1 to 65535, got "25"`);
    });
});

describe("validate: naming and the error", () => {
    it("names a host by its name, or by its index when the name is not usable", () => {
        const args: any = { port: 17, hosts: [{ name: "mx1", connection: conn }, { name: "", connection: conn }, { name: 5, connection: conn }] };
        assert.equal(describeArgProblem({ path: ["hosts", 0, "connection", "port"], message: "m" }, args), `host "mx1": [connection.port] m`);
        assert.equal(describeArgProblem({ path: ["hosts", 1, "name"], message: "m" }, args), "hosts[1]: [name] m");
        assert.equal(describeArgProblem({ path: ["hosts", 2], message: "m" }, args), "hosts[2]: m");
        assert.equal(describeArgProblem({ path: ["hosts", 0], message: "m" }, args), `host "mx1": m`);
        assert.equal(describeArgProblem({ path: ["hosts", 7], message: "m" }, args), "hosts[7]: m");
        assert.equal(describeArgProblem({ path: ["hosts"], message: "m" }, args), "[hosts] m");
        assert.equal(describeArgProblem({ path: ["hosts", 0], message: "m" }, null as any), "hosts[0]: m");
        assert.equal(describeArgProblem({ path: [], message: "whole" }, args), "whole");
        assert.equal(describeArgProblem({ path: ["aliases", 1], message: "m" }, args), "[aliases][1] m");
        assert.equal(describeArgProblem({ path: ["listenerCheck", "timeoutMs"], message: "m" }, args), "[listenerCheck.timeoutMs] m");
        assert.equal(describeArgProblem({ path: ["a", 1, "b", 2], message: "m" }, args), "[a.b][1][2] m");
    });

    it("assertValidSmtpPortArgs throws one SmtpPortArgsError listing every problem, with their paths; returns on valid arguments", () => {
        assert.equal(assertValidSmtpPortArgs("mail", ok()), undefined);
        try {
            assertValidSmtpPortArgs("mail", { ...ok(), port: 0, protocol: "sctp" as any });
            assert.fail("did not throw");
        } catch (e) {
            assert.ok(e instanceof SmtpPortArgsError);
            assert.ok(e instanceof pulumi.RunError);
            assert.equal(e.name, "SmtpPortArgsError");
            assert.equal(e.component, "mail");
            assert.equal(e.message, `smtp-port "mail": invalid arguments:\n  - [port] must be an integer from 1 to 65535, got 0\n  - [protocol] must be "tcp" or "udp", got "sctp"`);
            assert.deepEqual(e.problems, ["[port] must be an integer from 1 to 65535, got 0", `[protocol] must be "tcp" or "udp", got "sctp"`]);
            assert.deepEqual(e.details.map(p => p.path), [["port"], ["protocol"]]);
        }
        assert.deepEqual(new SmtpPortArgsError("x", ["p"]).details, []);
    });

    it("rollout problems come with their field's path; a previewHosts of false makes a budget a problem", () => {
        const args: SmtpPortArgs = { ...ok(), rollout: { canary: "mx9", failureBudget: 1 }, previewHosts: false };
        assert.deepEqual(smtpPortArgsProblems(args), [
            { path: ["rollout", "canary"], message: `must name a host of the fleet, got "mx9"` },
            { path: ["rollout", "failureBudget"], message: "needs previewHosts: the look at each host is what finds unreachable hosts and retries failed ones" },
        ]);
        assert.deepEqual(smtpPortArgsProblems({ ...ok(), rollout: "fast" as any }), [
            { path: ["rollout"], message: `must be an object like { canary: "mx1", batchSize: "10%", failureBudget: 2 }, got "fast"` },
        ]);
        assert.deepEqual(smtpPortArgsProblems({ ...ok(), rollout: { failureBudget: 1 } }), [], "previewHosts unset is true");
    });
});
