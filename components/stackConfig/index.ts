// Stack config: the declared keys, reading and checking them, and turning
// them into the component's arguments. One module per part; this index
// exports what the module exported as one file. Types are exported as
// types, so that a transpiler that sees one file at a time exports no name
// tsc would not.

export { NAMESPACE, STACK_CONFIG } from "./keys";
export type { ConfigKeySpec } from "./keys";
export { HOST_FIELDS } from "./hostConfig";
export type { HostConfig } from "./hostConfig";
export { wholeNumberFromConfig, booleanFromConfig, fleetFromConfig } from "./componentArgs";
export type { FleetSecrets } from "./componentArgs";
export { describeConfigProblem, StackConfigError } from "./configProblem";
export type { ConfigProblem } from "./configProblem";
export { editDistance, closest } from "./suggest";
export { configKeyOfArg, inventoryProblem } from "./problemKey";
export { configIsSecret, readStackConfig } from "./read";
export type { StackConfigRead } from "./read";
export type { StackFiles } from "./fleetHosts";
export type { ArgProblem } from "../validate";
