// Pulumi mocks for the unit tests: every registration is recorded with its
// parent, its dependencies and its raw (serialized) inputs, so tests can
// check parenting, ordering and that secrets stay secret. Calls to
// functions throw: the component must not need any.
import * as pulumi from "@pulumi/pulumi";
// Not the component: only the seam its SSH goes through (it loads no resource).
import * as hostPreview from "../../components/hostPreview";
import { copyCommand, remoteScriptPath } from "../../components/hostScript";

export interface Registration {
    type: string;
    name: string;
    parent: string;
    dependencies: string[];
    /** Inputs as sent to the engine (secrets still wrapped). */
    raw: Record<string, any>;
    /** Inputs as the mock sees them. */
    inputs: Record<string, any>;
    /** Where in the program the resource was created, as Pulumi records it (undefined: it was lost). */
    sourcePosition?: { uri: string; line: number; column: number };
    /** The stack trace Pulumi keeps in the state for the resource (its frames' positions). */
    stackTrace?: { framesList: { pc?: { uri: string; line: number; column: number } }[] };
}

export const registrations: Registration[] = [];

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/**
 * What the host script prints for an apply, by host label: tests set an
 * entry to make that host fail (or print anything); the rest succeed.
 */
export const applyOutputs: Record<string, string> = {};

/** A schema-1 ApplyResult line, as the host script prints it, for `create`. */
function fakeApply(create: string): string {
    const host = /--host-label (\S+)/.exec(create)?.[1] ?? "unknown";
    if (applyOutputs[host] !== undefined) return applyOutputs[host];
    const port = Number(/--port (\d+)/.exec(create)?.[1] ?? "0");
    return JSON.stringify({
        schema: 1, action: "apply", status: "changed", host, file: "/etc/services", service: "smtp", protocol: "tcp",
        port, old_port: 25, changed: true, added: `smtp\t\t${port}/tcp\t\tmail`, commented: ["smtp\t\t25/tcp\t\tmail"],
        backup: "/var/lib/smtp-port/etc_services/orig", mta: "postfix", mta_changed: true, restarted: true,
        verified: "220 mx.example ESMTP Postfix", resolver_port: port, mta_port: port, change: "1",
    }) + "\n";
}

/** A schema-1 FailedResult line for an apply. */
export function failedApply(host: string, reason: string, rolledBack: boolean): string {
    return JSON.stringify({ schema: 1, action: "apply", status: "failed", host, file: "/etc/services", reason, rolled_back: rolledBack }) + "\n";
}

// Wrap the mock monitor so that the registration request itself is kept.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const original = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (req: any, callback: any) {
    registrations.push({
        type: req.getType(),
        name: req.getName(),
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        raw: req.getObject()?.toJavaScript() ?? {},
        inputs: {},
        sourcePosition: req.getSourceposition()?.toObject(),
        stackTrace: req.getStacktrace()?.toObject(),
    });
    return original.call(this, req, callback);
};

/** The script copies the update run made (components/scriptCopy.ts), by host address, in order. */
export const copies: { host: string; command: string }[] = [];

/**
 * The unit tests contact no host: SSH goes to this stand-in, which takes
 * the script's copy (recorded in `copies`) and refuses anything else (a
 * test that wants looks replaces it, and puts it back).
 */
export async function copyOnlySsh(t: { host: string }, _stdin: unknown, command: string): Promise<string> {
    if (command !== copyCommand(remoteScriptPath())) throw new Error(`unexpected SSH command in a unit test: ${command}`);
    copies.push({ host: t.host, command });
    return "";
}
hostPreview.sshRunner.run = copyOnlySsh as typeof hostPreview.sshRunner.run;

/** What each component registered as its outputs (the state keeps them), by URN. */
export const registeredOutputs: Record<string, Record<string, unknown>> = {};
const originalOutputs = MockMonitor.prototype.registerResourceOutputs;
MockMonitor.prototype.registerResourceOutputs = function (req: any, callback: any) {
    registeredOutputs[req.getUrn()] = req.getOutputs()?.toJavaScript() ?? {};
    return originalOutputs.call(this, req, callback);
};

/** The engine's side of the unit tests. */
export const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: any } {
        const rec = [...registrations].reverse().find(r => r.name === args.name && r.type === args.type);
        if (rec) rec.inputs = args.inputs;
        switch (args.type) {
            case "command:remote:Command":
                return { id: `${args.name}-id`, state: { ...args.inputs, stdout: fakeApply(args.inputs.create), stderr: "" } };
            case "command:local:Command": {
                // A wave's listener check: one result line per host of its stdin.
                const hosts = /listener-check\.js/.test(args.inputs.create ?? "")
                    ? String(args.inputs.stdin ?? "").split("\n").filter(l => l).map(l => JSON.parse(l).name as string)
                    : [];
                const stdout = hosts.map(name => JSON.stringify({ name, ok: true, banner: "220 mx.example ESMTP Postfix" }) + "\n").join("");
                return { id: `${args.name}-id`, state: { ...args.inputs, stdout, stderr: "" } };
            }
            case "smtp-port:index:SmtpPort":
                return { id: "", state: {} };
            default:
                throw new Error(`unexpected resource type ${args.type} (${args.name})`);
        }
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        throw new Error(`unmocked call ${args.token}`);
    },
};

/** Run what follows as `pulumi preview` runs a program (true) or as an update (false, the default). */
export function setDryRun(dryRun: boolean): void {
    pulumi.runtime.setMocks(mocks, "smtp-port", "unit", dryRun);
}
setDryRun(false);

/** The value of an Output, for assertions. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise(resolve => o.apply(v => { resolve(v); return v; }));
}

/** Whether an Output is secret. */
export function isSecret<T>(o: pulumi.Output<T>): Promise<boolean> {
    return (o as any).isSecret as Promise<boolean>;
}
