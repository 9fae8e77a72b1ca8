// The on-ramp from Ansible: the hosts of an Ansible inventory (INI or YAML,
// with the group_vars/ and host_vars/ folders beside it) and their keys from
// an OpenSSH known_hosts file, as the host list of stack config.
//
// Only what reaches the SSH connection is read: ansible_host, ansible_port,
// ansible_user (and their older ansible_ssh_* spellings), resolved through
// groups, children and Ansible's variable precedence. The tests compare
// every fixture with `ansible-inventory --list` and `ssh-keygen -F`.
//
// Everything here is pure except the readers of load.ts (loadInventory,
// readKnownHosts) and stackHosts.ts (inventoryHostsFromFiles, stackHosts).
//
// One module per step, in the order a host list is made; this index exports
// what the module exported as one file. Types are exported as types, so that
// a transpiler that sees one file at a time exports no name tsc would not.

export { OpaqueValue, UnsafeString } from "./values";
export type { Origin, VarValue, Vars } from "./values";
export { pyLiteral } from "./pythonLiteral";
export { shlexSplit } from "./shlex";
export { expandHostRange, expandHostPattern } from "./hostPatterns";
export type { InventoryGroup, InventoryHost, Inventory } from "./model";
export { parseIniInventory } from "./ini";
export { parseYamlInventory } from "./yaml";
export { parseInventory } from "./parse";
export { parseVarsFile } from "./varsFiles";
export type { VarsLayer } from "./varsFiles";
export { resolveInventory } from "./resolve";
export type { LoadedInventory, ResolvedHost, ResolvedInventory } from "./resolve";
export { parseKnownHosts, knownHostsName, entryMatches, lookupKnownHosts, PINNABLE_KEY_TYPES, pinHostKey } from "./knownHosts";
export type { KnownHostsEntry, KnownHosts } from "./knownHosts";
export { hostsFromInventory } from "./hostList";
export type { InventoryOptions } from "./hostList";
export { findVarsFiles, loadInventory, readKnownHosts } from "./load";
export { InventoryError, inventoryHostsFromFiles, stackHosts } from "./stackHosts";
export type { StackHostsConfig } from "./stackHosts";
