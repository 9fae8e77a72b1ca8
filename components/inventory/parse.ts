// Picks the inventory reader by the file's name, as Ansible picks its
// plugin, so that a file is read in the format Ansible would read it in.
import * as path from "path";
import { parseIniInventory } from "./ini";
import { Inventory } from "./model";
import { parseYamlInventory } from "./yaml";

/**
 * The inventory in `text`, by its file name as Ansible picks the plugin:
 * `.yml`, `.yaml`, `.json` are YAML; no extension is YAML when it reads as
 * a YAML mapping, else INI; anything else is INI.
 */
export function parseInventory(text: string, file: string): Inventory {
    const ext = path.extname(file).toLowerCase();
    if (ext === ".yml" || ext === ".yaml" || ext === ".json") return parseYamlInventory(text, file);
    if (ext === "") {
        const y = parseYamlInventory(text, file);
        if (y.problems.length === 0) return y;
    }
    return parseIniInventory(text, file);
}
