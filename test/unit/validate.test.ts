import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { validateSmtpPortArgs, SmtpPortArgs } from "../../components";
import { smtpPortArgsProblems, describeArgProblem } from "../../components/validate";
import { fleetFromConfig, wholeNumberFromConfig } from "../../components/stackConfig";
import { HOST_KEY } from "../support/testConfig";

const ok = (): SmtpPortArgs => ({ port: 17, hosts: [{ name: "mx1", connection: { host: "mx1.example.net", hostKey: HOST_KEY } }] });
const problems = (over: any) => validateSmtpPortArgs({ ...ok(), ...over });

describe("validateSmtpPortArgs", () => {
    it("accepts a valid fleet", () => assert.deepEqual(validateSmtpPortArgs(ok()), []));

    for (const [port, shown] of [[0, "0"], [65536, "65536"], [17.5, "17.5"], ["abc", `"abc"`], [-1, "-1"], [undefined, "undefined"], [NaN, "NaN"]] as const) {
        it(`rejects port ${shown}`, () => {
            assert.deepEqual(problems({ port }), [`[port] must be an integer from 1 to 65535, got ${shown}`]);
        });
    }

    it("accepts the edges 1 and 65535", () => {
        assert.deepEqual(problems({ port: 1 }), []);
        assert.deepEqual(problems({ port: 65535 }), []);
    });

    it("rejects an empty host list", () => {
        assert.deepEqual(problems({ hosts: [] }), ["[hosts] must list at least one host"]);
        assert.deepEqual(problems({ hosts: undefined }), ["[hosts] must list at least one host"]);
    });

    it("rejects empty and duplicate host names, naming both places", () => {
        const c = { host: "h", hostKey: HOST_KEY };
        assert.deepEqual(problems({ hosts: [{ name: "", connection: c }, { name: "mx1", connection: c }, { name: "mx1", connection: c }] }), [
            "hosts[0]: [name] is required",
            `host "mx1": [name] is used twice (hosts[1] and hosts[2])`,
        ]);
    });

    for (const bad of ["smtp mail", "smtp#", "smtp;reboot", "$(id)", "`id`", "smtp\tx", "", "a|b", "a'b"]) {
        it(`rejects service name ${JSON.stringify(bad)} and the same as an alias`, () => {
            assert.equal(problems({ service: bad })[0]?.startsWith("[service] must be a plain name"), true);
            assert.equal(problems({ aliases: ["mail", bad] })[0]?.startsWith("[aliases][1] must be a plain name"), true);
        });
    }

    it("rejects relative services paths, fleet-wide and per host", () => {
        assert.deepEqual(problems({ servicesFile: "etc/services" }), [`[servicesFile] must be an absolute path, got "etc/services"`]);
        const p = problems({ hosts: [{ name: "mx1", connection: { host: "h", hostKey: HOST_KEY }, servicesFile: "services", port: 0 }] });
        assert.deepEqual(p, [`host "mx1": [port] must be an integer from 1 to 65535, got 0`, `host "mx1": [servicesFile] must be an absolute path, got "services"`]);
    });

    it("requires a pinned, well-formed host key unless the host opts out", () => {
        assert.deepEqual(problems({ hosts: [{ name: "mx1", connection: { host: "h" } }] }),
            [`host "mx1": [connection.hostKey] is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key`]);
        assert.deepEqual(problems({ hosts: [{ name: "mx1", connection: { host: "h" }, insecureIgnoreHostKey: true }] }), []);
        assert.deepEqual(problems({ hosts: [{ name: "mx1", connection: { host: "h", hostKey: "AAAA" } }] }),
            [`host "mx1": [connection.hostKey] must be an OpenSSH public key like "ssh-ed25519 AAAA...", got "AAAA"`]);
    });

    it("refuses plain-text private keys and passwords", () => {
        assert.deepEqual(problems({ hosts: [{ name: "mx1", connection: { host: "h", hostKey: HOST_KEY, privateKey: "-----BEGIN", password: pulumi.secret("x") } }] }),
            [`host "mx1": [connection.privateKey] must be a Pulumi secret (pulumi.secret(...) or \`pulumi config set --secret\`), not a plain string`]);
    });

    it("rejects unknown conflict policies and protocols", () => {
        assert.deepEqual(problems({ conflicts: "ignore", protocol: "sctp" }), [
            `[protocol] must be "tcp" or "udp", got "sctp"`,
            `[conflicts] must be "comment" or "fail", got "ignore"`,
        ]);
    });

    it("rejects an unknown mail server, fleet-wide and per host", () => {
        assert.deepEqual(problems({ mta: "qmail", hosts: [{ name: "mx1", connection: { host: "h", hostKey: HOST_KEY }, mta: "courier" }] }), [
            `[mta] must be one of postfix, exim, sendmail, auto, none, got "qmail"`,
            `host "mx1": [mta] must be one of postfix, exim, sendmail, auto, none, got "courier"`,
        ]);
    });

    it("names wrongly typed booleans and connection fields, fleet-wide and per host", () => {
        assert.deepEqual(problems({ sudo: "yes", previewHosts: 1, hosts: [{ name: "mx1", connection: { host: 5, hostKey: HOST_KEY, user: "", perDialTimeout: 1.5 }, sudo: "no", checkAddress: "" }] }), [
            `[sudo] must be true or false, got "yes"`,
            "[previewHosts] must be true or false, got 1",
            `host "mx1": [sudo] must be true or false, got "no"`,
            `host "mx1": [checkAddress] must be a host name or an address (IPv6 may be in brackets), got ""`,
            "host \"mx1\": [connection.host] must be a host name or address, got 5",
            `host "mx1": [connection.user] must be a user name, got ""`,
            "host \"mx1\": [connection.perDialTimeout] must be a positive integer, got 1.5",
        ]);
    });

    it("does not ask for a host key when insecureIgnoreHostKey is there but of the wrong type", () => {
        assert.deepEqual(problems({ hosts: [{ name: "mx1", connection: { host: "h" }, insecureIgnoreHostKey: "yes" }] }),
            [`host "mx1": [insecureIgnoreHostKey] must be true or false, got "yes"`]);
    });

    it("gives each problem with the path of its field (the structured form validateSmtpPortArgs prints)", () => {
        const args: any = { ...ok(), port: 0, aliases: ["a b"], rollout: { canary: "mx9" }, hosts: [{ name: "mx1", connection: { host: "h", hostKey: HOST_KEY, port: 70000 } }, "x"] };
        const found = smtpPortArgsProblems(args);
        assert.deepEqual(found.map(p => p.path), [["port"], ["aliases", 0], ["hosts", 0, "connection", "port"], ["hosts", 1], ["rollout", "canary"]]);
        assert.deepEqual(found.map(p => describeArgProblem(p, args)), validateSmtpPortArgs(args));
        assert.deepEqual(validateSmtpPortArgs(args), [
            "[port] must be an integer from 1 to 65535, got 0",
            "[aliases][0] must be a plain name (letters, digits, . _ + -; no whitespace, # or shell characters), got \"a b\"",
            `host "mx1": [connection.port] must be an integer from 1 to 65535, got 70000`,
            "hosts[1]: must be an object with name and connection",
            `[rollout.canary] must name a host of the fleet, got "mx9"`,
        ]);
        assert.deepEqual(smtpPortArgsProblems(null as any), [{ path: [], message: "arguments are required" }]);
    });

    it("collects every problem into one list", () => {
        assert.equal(problems({ port: "abc", service: "a b", hosts: [] }).length, 3);
    });
});

describe("stack config", () => {
    it("turns whole-number strings into ports and keeps anything else for validation to name", () => {
        assert.equal(wholeNumberFromConfig("17"), 17);
        assert.equal(wholeNumberFromConfig("17.5"), "17.5");
        assert.equal(wholeNumberFromConfig("abc"), "abc");
    });

    it("maps hosts to connections with the fleet-wide secret key", async () => {
        const args = fleetFromConfig({ port: "2525", hosts: [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY, port: "26" }] },
            { privateKey: pulumi.secret("k") });
        assert.equal(args.port, 2525);
        assert.equal(args.hosts[0].port, 26);
        assert.equal((args.hosts[0].connection as any).user, "root");
        assert.deepEqual(validateSmtpPortArgs(args), []);
    });

    it("reads a failure budget set with `config set --path` (a string) as a number", () => {
        const args = fleetFromConfig({ port: 17, hosts: [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY }], rollout: { batchSize: "10%", failureBudget: "3" as any } }, {});
        assert.deepEqual(args.rollout, { batchSize: "10%", failureBudget: 3 });
        const bad = fleetFromConfig({ port: 17, hosts: [{ name: "mx1", host: "10.0.0.1", hostKey: HOST_KEY }], rollout: { failureBudget: "three" as any } }, {});
        assert.deepEqual(validateSmtpPortArgs(bad), [`[rollout.failureBudget] must be a whole number of hosts, at least 1, got "three"`]);
    });
});
