// fleetFromConfig: stack config values (strings where `config set --path`
// stored them) to the component's arguments, field by field, with each
// host's credentials (per-host hostSecrets over the fleet-wide ones).
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { booleanFromConfig, fleetFromConfig, FleetSecrets, HostConfig, wholeNumberFromConfig } from "../../components/stackConfig";
import { isSecret, valueOf } from "./mocks";
import { HOST_KEY } from "../support/testConfig";


describe("stack config to the component's arguments (fleetFromConfig)", () => {
    it("maps every field of a host entry, numbers and booleans from strings", () => {
        const entry = { name: "mx1", host: "10.0.0.1", sshPort: "2222", user: "admin", hostKey: HOST_KEY, dialErrorLimit: "3", perDialTimeout: " 20 ",
            insecureIgnoreHostKey: "false", port: "2525", servicesFile: "/etc/services.mx1", restartCommand: "systemctl restart exim4",
            sudo: "true", checkAddress: "198.18.0.1", verifyAddress: "::1", stateDir: "/var/lib/smtp-port-mx1", mta: "exim",
            requireOldPortClosed: "false" } as unknown as HostConfig;
        const args = fleetFromConfig({ port: "17", hosts: [entry] }, {});
        assert.deepEqual(args.hosts, [{
            name: "mx1",
            connection: { host: "10.0.0.1", port: 2222, user: "admin", hostKey: HOST_KEY, dialErrorLimit: 3, perDialTimeout: 20, privateKey: undefined, password: undefined },
            insecureIgnoreHostKey: false, port: 2525, servicesFile: "/etc/services.mx1", restartCommand: "systemctl restart exim4", sudo: true,
            checkAddress: "198.18.0.1", verifyAddress: "::1", stateDir: "/var/lib/smtp-port-mx1", mta: "exim", requireOldPortClosed: false,
        }]);
    });

    it("passes the top-level values on, the port as a number", () => {
        const args = fleetFromConfig({ port: "2525", hosts: [], restartCommand: "r", servicesFile: "/s", sudo: true, conflicts: "replace", mta: "postfix",
            verifyOnHost: false, requireOldPortClosed: true, previewHosts: true, failOnDrift: false }, {});
        assert.deepEqual(args, { port: 2525, hosts: [], restartCommand: "r", servicesFile: "/s", sudo: true, conflicts: "replace", mta: "postfix",
            verifyOnHost: false, requireOldPortClosed: true, rollout: undefined, previewHosts: true, failOnDrift: false });
    });

    it("rollout: unset stays unset, a value that is not an object stays as written (for validation to name), a budget string becomes a number", () => {
        const base = { port: 17, hosts: [] };
        assert.equal(fleetFromConfig(base, {}).rollout, undefined);
        assert.equal(fleetFromConfig({ ...base, rollout: null as any }, {}).rollout, null);
        assert.equal(fleetFromConfig({ ...base, rollout: "fast" as any }, {}).rollout, "fast");
        assert.equal(fleetFromConfig({ ...base, rollout: 3 as any }, {}).rollout, 3);
        assert.deepEqual(fleetFromConfig({ ...base, rollout: { batchSize: 2, failureBudget: "1" as any } }, {}).rollout, { batchSize: 2, failureBudget: 1 });
        assert.deepEqual(fleetFromConfig({ ...base, rollout: { batchSize: 2 } }, {}).rollout, { batchSize: 2, failureBudget: undefined });
    });

    it("hosts: not a list is no host; an entry that is not an object stays at its index; user defaults to root", () => {
        assert.deepEqual(fleetFromConfig({ port: 17, hosts: "mx1" as any }, {}).hosts, []);
        const args = fleetFromConfig({ port: 17, hosts: [null, "mx2", ["mx3"], { name: "mx4", host: "h" }] as any }, {});
        assert.deepEqual(args.hosts.slice(0, 3), [null, "mx2", ["mx3"]]);
        assert.equal((args.hosts[3].connection as any).user, "root");
    });

    it("credentials: the fleet-wide ones as they are, or per host from hostSecrets over them, secret", async () => {
        const privateKey = pulumi.secret("fleet-key");
        const plain = fleetFromConfig({ port: 17, hosts: [{ name: "mx1", host: "h" }] }, { privateKey });
        assert.equal((plain.hosts[0].connection as any).privateKey, privateKey, "without hostSecrets, the fleet's Output itself");
        assert.equal((plain.hosts[0].connection as any).password, undefined);

        const perHost: FleetSecrets["perHost"] = pulumi.secret<Record<string, { privateKey?: string; password?: string }>>({ mx1: { privateKey: "mx1-key" }, mx2: { password: "mx2-pw" } });
        const args = fleetFromConfig({ port: 17, hosts: [{ name: "mx1", host: "a" }, { name: "mx2", host: "b" }, { name: "mx3", host: "c" }] },
            { privateKey, password: pulumi.secret("fleet-pw"), perHost });
        const got = await Promise.all(args.hosts.map(async h => {
            const c = h.connection as any;
            return [await valueOf(c.privateKey), await valueOf(c.password), await isSecret(c.privateKey), await isSecret(c.password)];
        }));
        assert.deepEqual(got, [
            ["mx1-key", "fleet-pw", true, true],
            ["fleet-key", "mx2-pw", true, true],
            ["fleet-key", "fleet-pw", true, true],
        ]);
        const none = fleetFromConfig({ port: 17, hosts: [{ name: "mx9", host: "z" }] }, { perHost });
        assert.equal(await valueOf((none.hosts[0].connection as any).privateKey), undefined, "no per-host entry and no fleet-wide key");
        // Secret even when hostSecrets reached it as a plain Output: a credential never leaves in plain text.
        const plainMap = fleetFromConfig({ port: 17, hosts: [{ name: "mx1", host: "a" }] }, { perHost: pulumi.output<Record<string, { privateKey?: string }>>({ mx1: { privateKey: "k1" } }) });
        const c = plainMap.hosts[0].connection as any;
        assert.equal(await valueOf(c.privateKey), "k1");
        assert.equal(await isSecret(c.privateKey), true);
    });

    it("wholeNumberFromConfig and booleanFromConfig convert only what they recognize", () => {
        assert.deepEqual([" 17 ", "0", "17", "17a", "-1", "", "1.0", 17, true].map(wholeNumberFromConfig), [17, 0, 17, "17a", "-1", "", "1.0", 17, true]);
        assert.deepEqual(["true", "false", "yes", "", true, false, undefined, "TRUE"].map(booleanFromConfig), [true, false, "yes", "", true, false, undefined, "TRUE"]);
    });
});
