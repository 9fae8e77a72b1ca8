import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { connectionProblems, credentialSecrecy } from "../../components/connectionCheck";
import { HOST_KEY } from "../support/testConfig";

const PIN = "is required: pin the host's SSH key (ssh-keyscan), or set insecureIgnoreHostKey: true to accept any key";
const PLAIN = "must be a Pulumi secret (pulumi.secret(...) or `pulumi config set --secret`), not a plain string";

describe("connection checks once the values resolve", () => {
    it("requires the host's pinned key and the bastion's, unless the host opts out", () => {
        assert.deepEqual(connectionProblems("mx1", { host: "a", privateKey: "k" }, false, { privateKey: true }), [`host "mx1": [connection.hostKey] ${PIN}`]);
        assert.deepEqual(connectionProblems("mx1", { host: "a", hostKey: HOST_KEY, proxy: { host: "bastion" } }, false, {}), [`host "mx1": [connection.proxy.hostKey] ${PIN}`]);
        assert.deepEqual(connectionProblems("mx1", { host: "a", hostKey: HOST_KEY, proxy: { host: "bastion", hostKey: HOST_KEY } }, false, {}), []);
        assert.deepEqual(connectionProblems("mx1", { host: "a", proxy: { host: "bastion" } }, true, {}), [], "the same explicit opt-out covers the bastion");
    });

    it("refuses malformed keys and addresses, the bastion's too", () => {
        const problems = connectionProblems("mx1", { host: "", hostKey: "AAAA", proxy: { host: "b", hostKey: "ssh-ed25519 @@@@" } }, false, {});
        assert.deepEqual(problems.map(p => /\[([^\]]+)\]/.exec(p)![1]), ["connection.host", "connection.hostKey", "connection.proxy.hostKey"]);
    });

    it("refuses credentials that did not reach the program as secrets, the bastion's too", () => {
        const conn = { host: "a", hostKey: HOST_KEY, privateKey: "k", password: "p", proxy: { host: "b", hostKey: HOST_KEY, privateKey: "k2" } };
        assert.deepEqual(connectionProblems("mx1", conn, false, { privateKey: true, password: false, "proxy.privateKey": false }), [
            `host "mx1": [connection.password] ${PLAIN}`,
            `host "mx1": [connection.proxy.privateKey] ${PLAIN}`,
        ]);
        assert.deepEqual(connectionProblems("mx1", conn, false, { privateKey: true, password: true, "proxy.privateKey": true }), []);
    });

    it("tells which credentials are secrets, down to the first Output", async () => {
        assert.deepEqual(await credentialSecrecy({ host: "a", privateKey: pulumi.secret("k"), password: pulumi.output("p"), proxy: { host: "b", privateKey: "plain" } }), {
            privateKey: true, password: false, privateKeyPassword: false, "proxy.privateKey": false, "proxy.password": false, "proxy.privateKeyPassword": false,
        });
        const whole = await credentialSecrecy(pulumi.output({ host: "a", privateKey: pulumi.secret("k") }) as any);
        assert.equal(whole.privateKey, true);
        assert.equal(whole["proxy.password"], true, "an Output decides for everything inside it");
        assert.equal((await credentialSecrecy(pulumi.output({ host: "a", privateKey: "k" }) as any)).privateKey, false);
        const proxied = await credentialSecrecy({ host: "a", proxy: pulumi.secret({ host: "b", privateKey: "k" }) });
        assert.deepEqual([proxied["proxy.privateKey"], proxied.privateKey], [true, false]);
    });

    it("a bastion given as null has no credentials to tell", async () => {
        const s = await credentialSecrecy({ host: "a", privateKey: pulumi.secret("k"), proxy: null as any });
        assert.deepEqual(s, { privateKey: true, password: false, privateKeyPassword: false });
    });
});
