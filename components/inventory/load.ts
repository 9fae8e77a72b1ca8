// The inventory module's file reading, kept apart so that the parsers and
// checks stay pure and are tested on strings.
import * as fs from "fs";
import * as path from "path";
import { KnownHosts, parseKnownHosts } from "./knownHosts";
import { parseInventory } from "./parse";
import { LoadedInventory } from "./resolve";
import { VarsLayer, mergeLayers, parseVarsFile } from "./varsFiles";

/** Ansible's DataLoader.find_vars_files: `name`, `name.yml`, `.yaml`, `.json`, the first that exists; a folder gives all its files, sorted. */
export function findVarsFiles(dir: string, name: string): string[] {
    const exts = [".yml", ".yaml", ".json"];
    // Sorted as Python sorts str (by code point, which is UTF-8 byte order), not by UTF-16 units as .sort() does.
    const inFolder = (d: string): string[] => fs.readdirSync(d).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).flatMap(e => {
        if (e.startsWith(".") || e.endsWith("~")) return [];
        const full = path.join(d, e);
        const ext = path.extname(e);
        const st = fs.statSync(full);
        if (st.isDirectory()) return ext === "" ? inFolder(full) : [];
        return st.isFile() && (ext === "" || exts.includes(ext)) ? [full] : [];
    });
    if (name.startsWith("/")) return [];
    for (const ext of ["", ...exts]) {
        const p = path.join(dir, name + ext);
        if (!fs.existsSync(p)) continue;
        return fs.statSync(p).isDirectory() ? inFolder(p) : [p];
    }
    return [];
}

/**
 * Reads an inventory file and the group_vars/ and host_vars/ folders beside
 * it, as `ansible-inventory -i FILE` does. File names in problems are shown
 * relative to `baseDir` (default: as given).
 */
export function loadInventory(file: string, baseDir?: string): LoadedInventory {
    const shown = (p: string) => (baseDir ? path.relative(baseDir, p) || p : p);
    // Ansible normalizes the path as written (`..` drops the name before it,
    // even a symlink), then looks in the real folder. path.join normalizes
    // the same way, and the system resolves the symlinks left (and a `..` in
    // a link's target) as Ansible's realpath does; names are shown under the
    // folder as given.
    const inventory = parseInventory(fs.readFileSync(path.resolve(file), "utf8"), shown(file));
    const given = path.dirname(file);
    const layers = (sub: string, names: Iterable<string>) => {
        const out = new Map<string, VarsLayer>();
        const folder = path.join(given, sub);
        if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) return out;
        for (const n of names) {
            const files = findVarsFiles(folder, n);
            const read = (f: string) => parseVarsFile(fs.readFileSync(f, "utf8"), shown(f));
            if (files.length > 0) out.set(n, mergeLayers(files.map(read)));
        }
        return out;
    };
    return { inventory, groupVars: layers("group_vars", inventory.groups.keys()), hostVars: layers("host_vars", inventory.hosts.keys()) };
}

/** Reads a known_hosts file (shown relative to `baseDir`). */
export function readKnownHosts(file: string, baseDir?: string): KnownHosts {
    return parseKnownHosts(fs.readFileSync(file, "utf8"), baseDir ? path.relative(baseDir, file) || file : file);
}
