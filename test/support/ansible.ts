// The real ansible-inventory (ansible-core, which .ci/run installs in
// bench/.venv), run the way the inventory tests compare with it: in an empty
// folder, with no ansible.cfg and none of the caller's ANSIBLE_* variables.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");

/**
 * A command of ansible-core or OpenSSH: $SMTP_PORT_ANSIBLE_BIN, then the
 * benchmark's venv (bench/.venv/bin), then PATH. Missing is a failure, not
 * a skip: .ci/run installs ansible-core.
 */
export function tool(name: string): string {
    const dirs = [process.env.SMTP_PORT_ANSIBLE_BIN, path.join(ROOT, "bench", ".venv", "bin"), ...(process.env.PATH ?? "").split(path.delimiter)];
    for (const d of dirs) {
        if (!d) continue;
        const p = path.join(d, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            return p;
        } catch {
            // next
        }
    }
    throw new Error(`${name} not found (looked in $SMTP_PORT_ANSIBLE_BIN, bench/.venv/bin and PATH): the inventory tests compare with ` +
        (name === "ssh-keygen" ? "OpenSSH's ssh-keygen (apt-get install openssh-client)"
            : "ansible-core's ansible-inventory; install it: python3 -m venv bench/.venv && bench/.venv/bin/pip install ansible-core==2.19.14"));
}

/** What `ansible-inventory --list` prints. */
export interface AnsibleList {
    _meta: { hostvars: Record<string, Record<string, unknown>> };
    [group: string]: { hosts?: string[]; children?: string[] } | AnsibleList["_meta"];
}

/**
 * `ansible-inventory -i FILE --list [...more]`, failing (a non-zero code)
 * when the file does not parse. With `files` (path -> text), they are
 * written into the empty folder first and FILE is relative to it.
 */
export function ansibleInventory(file: string, opts: { more?: string[]; files?: Record<string, string> } = {}): Promise<{ code: number; out: string; err: string }> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-port-ansible-"));
    fs.writeFileSync(path.join(tmp, "ansible.cfg"), "");
    for (const [f, text] of Object.entries(opts.files ?? {})) {
        fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
        fs.writeFileSync(path.join(tmp, f), text);
    }
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ANSIBLE_")) env[k] = v;
    Object.assign(env, {
        ANSIBLE_CONFIG: path.join(tmp, "ansible.cfg"), ANSIBLE_HOME: path.join(tmp, "home"), ANSIBLE_LOCAL_TEMP: path.join(tmp, "tmp"),
        ANSIBLE_INVENTORY_UNPARSED_FAILED: "true", ANSIBLE_NOCOLOR: "1", ANSIBLE_FORCE_COLOR: "0",
    });
    const bin = tool("ansible-inventory");
    return new Promise(res => execFile(bin, ["-i", path.resolve(tmp, file), "--list", ...(opts.more ?? [])], { cwd: tmp, env, timeout: 120000 }, (e, out, err) => {
        fs.rmSync(tmp, { recursive: true, force: true });
        res({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, out, err });
    }));
}

/** ansible-inventory's listing of `text` written as `name`: rejected, with its stderr, when Ansible refuses the file. */
export async function ansibleListOf(text: string, name: string): Promise<AnsibleList> {
    const r = await ansibleInventory(name, { files: { [name]: text } });
    if (r.code !== 0) throw new Error(`ansible-inventory refused ${name}: ${r.err}`);
    return JSON.parse(r.out) as AnsibleList;
}

/** Each host of a listing and its groups, sorted: those it is in, their parents in turn, and `all`. */
export function hostGroups(list: AnsibleList): Map<string, string[]> {
    const parents = new Map<string, string[]>();
    const direct = new Map<string, string[]>();
    for (const [g, v] of Object.entries(list)) {
        if (g === "_meta") continue;
        const grp = v as { hosts?: string[]; children?: string[] };
        for (const c of grp.children ?? []) parents.set(c, [...(parents.get(c) ?? []), g]);
        for (const h of grp.hosts ?? []) direct.set(h, [...(direct.get(h) ?? []), g]);
    }
    const out = new Map<string, string[]>();
    for (const [name, ds] of direct) {
        const groups = new Set<string>(["all"]);
        const todo = [...ds];
        while (todo.length) {
            const g = todo.pop()!;
            if (!groups.has(g)) todo.push(...(parents.get(g) ?? []));
            groups.add(g);
        }
        out.set(name, [...groups].sort());
    }
    return out;
}
