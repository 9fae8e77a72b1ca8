import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { defaults, resolveFleet, resolveHosts, SmtpPortArgs } from "../../components/args";
import { HOST_KEY } from "../support/testConfig";


function args(over: Partial<SmtpPortArgs> = {}): SmtpPortArgs {
    return {
        port: 17,
        hosts: [
            { name: "mx1", connection: { host: "198.18.0.11", hostKey: HOST_KEY } },
            {
                name: "mx2", connection: { host: "198.18.0.12", hostKey: HOST_KEY }, port: 2525, servicesFile: "/srv/services", restartCommand: "rc",
                sudo: true, mta: "exim", stateDir: "/srv/state", requireOldPortClosed: false, checkAddress: "mx2.example", verifyAddress: "::1",
                insecureIgnoreHostKey: true,
            },
        ],
        ...over,
    };
}

describe("resolveHosts: every setting decided once", () => {
    it("gives a host without settings every default, from `defaults`", () => {
        assert.deepEqual(resolveHosts(args())[0], {
            name: "mx1", connection: { host: "198.18.0.11", hostKey: HOST_KEY }, insecureIgnoreHostKey: false,
            port: 17, servicesFile: "/etc/services", service: "smtp", protocol: "tcp", aliases: ["mail"], conflicts: "comment",
            restartCommand: null, sudo: false, mta: "auto", stateDir: "/var/lib/smtp-port", verifyOnHost: true, verifyTimeout: 20,
            verifyAddress: "auto", requireOldPortClosed: true, checkAddress: "198.18.0.11",
        });
        const h = resolveHosts(args())[0];
        for (const k of ["servicesFile", "service", "protocol", "aliases", "conflicts", "restartCommand", "sudo", "mta", "stateDir",
            "verifyOnHost", "verifyTimeout", "verifyAddress", "requireOldPortClosed", "insecureIgnoreHostKey"] as const) {
            assert.deepEqual(h[k], defaults[k], `${k} comes from defaults`);
        }
    });

    it("lets the host's own settings win over the component's, and the component's over the defaults", () => {
        const fleetWide = args({
            servicesFile: "/opt/services", restartCommand: "systemctl restart postfix", sudo: true, mta: "postfix", stateDir: "/opt/state",
            requireOldPortClosed: false, service: "mail", protocol: "udp", aliases: ["a", "b"], conflicts: "fail", verifyOnHost: false, verifyTimeout: 5,
        });
        const [mx1, mx2] = resolveHosts(fleetWide);
        assert.deepEqual(
            [mx1.servicesFile, mx1.restartCommand, mx1.sudo, mx1.mta, mx1.stateDir, mx1.requireOldPortClosed, mx1.service, mx1.protocol, mx1.aliases, mx1.conflicts, mx1.verifyOnHost, mx1.verifyTimeout],
            ["/opt/services", "systemctl restart postfix", true, "postfix", "/opt/state", false, "mail", "udp", ["a", "b"], "fail", false, 5]);
        assert.deepEqual(
            [mx2.port, mx2.servicesFile, mx2.restartCommand, mx2.sudo, mx2.mta, mx2.stateDir, mx2.requireOldPortClosed, mx2.checkAddress, mx2.verifyAddress, mx2.insecureIgnoreHostKey],
            [2525, "/srv/services", "rc", true, "exim", "/srv/state", false, "mx2.example", "::1", true]);
        const own = resolveHosts(args({ sudo: true, requireOldPortClosed: true }));
        assert.equal(own[1].sudo, true);
        assert.equal(own[1].requireOldPortClosed, false, "a host's false beats the component's true");
    });

    it("checks a host given by an Output at its resolved address", async () => {
        const [h] = resolveHosts({ port: 17, hosts: [{ name: "mx1", connection: pulumi.output({ host: "10.0.0.9", hostKey: HOST_KEY, privateKey: pulumi.secret("k") }) }] });
        const address = await new Promise(res => pulumi.output(h.checkAddress).apply(res));
        assert.equal(address, "10.0.0.9");
        assert.equal(await pulumi.isSecret(pulumi.output(h.checkAddress)), false, "an address is not a secret, even next to a key");
    });
});

describe("resolveFleet", () => {
    it("fills the listener check setting by setting, even from explicit undefineds", () => {
        assert.deepEqual(resolveFleet(args()), {
            listenerCheck: { enabled: true, timeoutMs: 5000, attempts: 10, delayMs: 1000 }, previewHosts: true, failOnDrift: false, rollout: undefined, failureBudget: undefined,
        });
        const f = resolveFleet(args({ listenerCheck: { attempts: 3, timeoutMs: undefined }, rollout: { failureBudget: 2 }, previewHosts: false }));
        assert.deepEqual(f.listenerCheck, { enabled: true, timeoutMs: 5000, attempts: 3, delayMs: 1000 });
        assert.equal(f.failureBudget, 2);
        assert.equal(f.previewHosts, false);
    });
});
