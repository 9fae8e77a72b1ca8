// What the end-to-end suites (test/e2e) share: a stack of this repository
// whose every pulumi run is kept, its set-up and teardown, and the reads of
// what the hosts answer. The assertions stay in the suites.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Lab, LabById, ROOT } from "./lab";
import { Stack, PulumiRun } from "./pulumi";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { checkListener } = require("../../components/listener/listener-check.js");

/** What a pulumi run may be given besides its arguments. */
export interface E2eRunOptions {
    /** Text on pulumi's stdin (`pulumi config set --secret KEY` reads the value there). Default: none */
    input?: string;
    /** Variables added to the engine's environment for this run only. Default: none */
    env?: Record<string, string>;
}

/** `pulumi destroy` that goes on past a host it cannot change: the teardown of a suite whose hosts were changed. */
export const DESTROY = ["destroy", "--yes", "--continue-on-error"];
/** `pulumi stack rm` of a stack that may still hold resources: the teardown of a suite that registers none, or after DESTROY. */
export const STACK_RM = ["stack", "rm", "--yes", "--force"];

/**
 * A stack of this repository's program for one suite. Made at describe
 * time, which costs nothing; `open()` in `before` makes the real stack (it
 * reads the engine's environment, and may build the engine). `run`, `must`,
 * `writeConfig`, `stateTypes` and `refusedPreview` are bound, so a suite can destructure them.
 */
export class E2eStack {
    /** Every run made through `run` and `must`, in order: the scans for secrets read them all. */
    readonly runs: PulumiRun[] = [];
    private opened?: Stack;

    /**
     * @param name the stack's name; its config is `Pulumi.<name>.yaml` at the repository root
     * @param hosts the lab hosts in the stack, as `writeConfig` lists them
     * @param lab the lab the hosts are in, for `writeConfig`. Default: lab 0, through this process's environment
     */
    constructor(readonly name: string, readonly hosts: string[], private readonly lab?: LabById) {}

    /** The stack's config file. */
    get configFile(): string {
        return path.join(ROOT, `Pulumi.${this.name}.yaml`);
    }

    /** The stack, on a throwaway file backend of its own: made once, in `before`. */
    open(): Stack {
        this.opened = new Stack(this.name);
        return this.opened;
    }

    /** The stack `open()` made. */
    get stack(): Stack {
        if (!this.opened) throw new Error(`stack ${this.name}: open() it first (in before)`);
        return this.opened;
    }

    /** `pulumi ARGS` for this stack, kept in `runs`, whatever its exit code. */
    readonly run = async (args: string[], opts: E2eRunOptions = {}): Promise<PulumiRun> => {
        const r = await this.stack.run(args, opts);
        this.runs.push(r);
        return r;
    };

    /** `run`, which fails the test with the tail of pulumi's output unless pulumi exits 0. */
    readonly must = async (args: string[], opts: E2eRunOptions = {}): Promise<PulumiRun> => {
        const r = await this.run(args, opts);
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
        return r;
    };

    /**
     * The stack config for the lab's hosts, as a user has it: lab/stack-config.js
     * writes it (every host with its pinned key) for the port.
     * @param extra more arguments of stack-config.js (`--override mx2=2526`, `--rollout JSON`). Default: none
     */
    readonly writeConfig = (port: number, extra: string[] = []): void => {
        const r = spawnSync("node", [path.join(ROOT, "lab", "stack-config.js"), this.name, String(port), "--hosts", this.hosts.join(","), ...extra],
            { encoding: "utf8", env: this.lab?.env });
        if (r.status !== 0) throw new Error(r.stderr);
    };

    /** Resource types in the stack's state (`pulumi stack export`). */
    readonly stateTypes = async (): Promise<string[]> => {
        const r = await this.must(["stack", "export"]);
        return (JSON.parse(r.stdout).deployment.resources ?? []).map((x: { type: string }) => x.type);
    };

    /**
     * What `pulumi preview` (and `pulumi up`'s preview) prints, less the
     * progress lines (`steady`), when the program stops on the stack config
     * with these problem lines: nothing registered, no host contacted.
     */
    readonly refusedPreview = (problems: string[]): string => {
        const n = problems.length;
        const stack = this.name;
        const head = `smtp-port: the stack config of stack "${stack}" has ${n} problem${n === 1 ? "" : "s"}; no host was contacted or changed:`;
        return [
            `Previewing update (${stack}):`,
            "",
            ` +  pulumi:pulumi:Stack smtp-port-${stack} create `,
            ` +  pulumi:pulumi:Stack smtp-port-${stack} create error: ${head}`,
            ` +  pulumi:pulumi:Stack smtp-port-${stack} create 1 error`,
            "Diagnostics:",
            `  pulumi:pulumi:Stack (smtp-port-${stack}):`,
            `    error: ${head}`,
            ...problems.map(p => `      ${p}`),
            "",
            "Resources:",
            "    + 1 to create",
            "    1 errored",
            "",
            "",
        ].join("\n");
    };

    /**
     * A new stack with the lab's config for the port and the private key as a
     * secret: an old config file removed, `stack init`, `writeConfig(port)`,
     * `config set --secret smtp-port:privateKey`.
     * @param key the private key's text (the lab's key file)
     */
    async init(port: number, key: string): Promise<void> {
        fs.rmSync(this.configFile, { force: true });
        await this.must(["stack", "init"]);
        this.writeConfig(port);
        await this.must(["config", "set", "--secret", "smtp-port:privateKey"], { input: key });
    }

    /**
     * The suite's teardown: each of the commands (DESTROY, STACK_RM), if the
     * stack was opened, its failures ignored and the runs not kept; then the
     * config file removed. The suite takes its lab down itself.
     */
    async close(...commands: string[][]): Promise<void> {
        if (this.opened) {
            for (const c of commands) await this.opened.run(c).catch(() => undefined);
        }
        fs.rmSync(this.configFile, { force: true });
    }
}

/** stdout without the progress lines (`@ previewing update....`), whose number depends on timing. */
export function steady(stdout: string): string {
    return stdout.split("\n").filter(l => !l.startsWith("@ ")).join("\n");
}

/** The SMTP greeting on address:port (one attempt, 3 s), or what was seen instead in parentheses: `(connection refused)`. */
export async function greeting(address: string, port: number): Promise<string> {
    const r = await checkListener({ host: address, port, attempts: 1, timeoutMs: 3000 });
    return r.ok ? r.banner : `(${r.seen})`;
}

/** The address of the lab host named host. */
export function addressOf(lab: Lab, host: string): string {
    const h = lab.hosts.find(x => x.name === host);
    if (!h) throw new Error(`no host ${host} in the lab (${lab.hosts.map(x => x.name).join(", ")})`);
    return h.address;
}

/** A host's files that a refused or undone change must leave byte-identical. */
export interface HostFiles {
    services: string;
    mainCf: string;
}

/** Each host's services file and Postfix main.cf as they are now. */
export function hostFiles(lab: LabById, hosts: string[]): Record<string, HostFiles> {
    return Object.fromEntries(hosts.map(h => [h, { services: lab.servicesOf(h), mainCf: lab.inHost(h, "cat", "/etc/postfix/main.cf") }]));
}

/**
 * Asserts each host's services file and main.cf are byte-identical to `original`.
 * @param hosts the hosts to compare: each must be in `original` (`hostFiles`), so that the check cannot pass on an empty snapshot
 * @param when what has just run, for the failure message
 */
export function assertHostFilesUnchanged(lab: LabById, hosts: string[], original: Record<string, HostFiles>, when: string): void {
    for (const h of hosts) {
        if (!original[h]) throw new Error(`${when}: ${h}: no snapshot of its files to compare with (hostFiles)`);
        assert.equal(lab.servicesOf(h), original[h].services, `${when}: ${h}: services file byte-identical`);
        assert.equal(lab.inHost(h, "cat", "/etc/postfix/main.cf"), original[h].mainCf, `${when}: ${h}: main.cf byte-identical`);
    }
}
