// group_vars/ and host_vars/ files can set a host's address, port or user:
// read so that the host list agrees with what Ansible connects to.
import { YamlDoc, isMapping, loadYaml, yamlError, yamlVars } from "./ansibleYaml";
import { Vars, show } from "./values";

/** The variables of one group_vars/ or host_vars/ entry (all its files, merged in order). */
export interface VarsLayer {
    vars: Vars;
    problems: string[];
    /** Files smtp-port could not read but Ansible can (vault-encrypted). */
    skipped: string[];
}

/**
 * One group_vars/ or host_vars/ file: a YAML (or JSON) mapping of variable
 * names to values. An empty file has none; a vault-encrypted file is
 * reported in `skipped` (smtp-port has no vault password).
 */
export function parseVarsFile(text: string, file: string): VarsLayer {
    const layer: VarsLayer = { vars: new Map(), problems: [], skipped: [] };
    if (text.startsWith("$ANSIBLE_VAULT;")) {
        layer.skipped.push(file);
        return layer;
    }
    let doc: YamlDoc;
    try {
        // Ansible reads every vars file (.yml, .yaml, .json or none) with a JSON parser first, then YAML.
        try {
            const data = JSON.parse(text);
            doc = { data, lines: new WeakMap(), text: text.split(/\r\n|\n|\r/), json: true };
        } catch {
            doc = loadYaml(text, file);
        }
    } catch (e) {
        layer.problems.push(yamlError(e, file));
        return layer;
    }
    if (doc.data === null || doc.data === undefined) return layer;
    if (!isMapping(doc.data)) {
        layer.problems.push(`${file}:1: must be a mapping of variable names to values, got ${show(doc.data)}`);
        return layer;
    }
    for (const [k, v] of yamlVars(doc, doc.data, file)) layer.vars.set(k, v);
    return layer;
}

export function mergeLayers(layers: VarsLayer[]): VarsLayer {
    const out: VarsLayer = { vars: new Map(), problems: [], skipped: [] };
    for (const l of layers) {
        for (const [k, v] of l.vars) out.vars.set(k, v);
        out.problems.push(...l.problems);
        out.skipped.push(...l.skipped);
    }
    return out;
}
