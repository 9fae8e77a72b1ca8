// The real Pulumi CLI, offline, on a throwaway file backend.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./lab";

export interface PulumiRun {
    code: number;
    stdout: string;
    stderr: string;
    ms: number;
}

/** The environment `. engine/env.sh` makes, as a map. Builds the engine if needed. */
export function engineEnv(backend: string): NodeJS.ProcessEnv {
    const r = spawnSync("sh", ["-c", ". engine/env.sh >&2 && env -0"], {
        cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 24, timeout: 3_600_000,
        env: { ...process.env, SMTP_PORT_ROOT: ROOT, PULUMI_BACKEND_URL: backend, PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase" },
    });
    if (r.status !== 0) throw new Error(`engine/env.sh failed: ${r.stderr.slice(-3000)}`);
    const env: NodeJS.ProcessEnv = {};
    for (const kv of r.stdout.split("\0")) {
        const i = kv.indexOf("=");
        if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return env;
}

export class Stack {
    readonly backendDir: string;
    private env: NodeJS.ProcessEnv;

    /** @param cwd the project folder pulumi runs in. Default: this repository (its stack program) */
    constructor(readonly name: string, readonly cwd: string = ROOT) {
        this.backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-e2e-state-"));
        this.env = { ...engineEnv(`file://${this.backendDir}`), PULUMI_SKIP_CONFIRMATIONS: "true", NO_COLOR: "1" };
    }

    /** Run pulumi with args in the project, for this stack. */
    run(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<PulumiRun> {
        const start = Date.now();
        return new Promise(resolve => {
            const p = spawn("pulumi", [...args, "--stack", this.name, "--non-interactive", "--color", "never"], { cwd: this.cwd, env: { ...this.env, ...opts.env } });
            let stdout = "", stderr = "";
            p.stdout.on("data", d => stdout += d);
            p.stderr.on("data", d => stderr += d);
            const t = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
            p.on("close", code => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - start }); });
            p.stdin.end(opts.input ?? "");
        });
    }

    async must(args: string[], opts: { input?: string } = {}): Promise<PulumiRun> {
        const r = await this.run(args, opts);
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${r.code}):\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
        return r;
    }

    async outputs(): Promise<any> {
        const r = await this.run(["stack", "output", "--json"]);
        if (r.code !== 0) throw new Error(`stack output failed: ${r.stderr}`);
        return JSON.parse(r.stdout);
    }

    /** Every file of the backend (state, history, backups), for secret scans. */
    stateText(): string {
        const out: string[] = [];
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p);
                else out.push(fs.readFileSync(p, "latin1"));
            }
        };
        walk(this.backendDir);
        return out.join("\n");
    }
}
