// The package's public API: what `import ... from "smtp-port"` gives (the
// README's "API" section lists every name; test/unit/api.test.ts keeps the
// two equal). Types are exported as types, so that a transpiler that sees
// one file at a time (swc, ts-node's transpile-only) exports no name that
// tsc would not.
export { SmtpPort, describe } from "./smtpPort";
export type { SmtpHostResult } from "./smtpPort";
export type { HostPreview } from "./hostPreview";
export { defaults, resolveHosts, resolveFleet } from "./args";
export type { SmtpPortArgs, SmtpHostArgs, ListenerCheckArgs, ConflictPolicy, MailServer, ResolvedHost, ResolvedFleet } from "./args";
export { validateSmtpPortArgs, assertValidSmtpPortArgs, SmtpPortArgsError, portProblem } from "./validate";
export type { ArgProblem } from "./validate";
export { hostScript, hostScriptPath } from "./hostScript";
export { decodeHostResult, HostResultError, HOST_RESULT_SCHEMA } from "./hostResult";
export type { HostResult } from "./hostResult";
export { decodeCheckLines } from "./checkLines";
export type { CheckLine, CheckTarget } from "./checkLines";
export { shellQuote, shellWords } from "./shell";
export { planWaves, rolloutProblems } from "./rollout";
export type { RolloutArgs } from "./rollout";
export { readStackConfig, configIsSecret, StackConfigError } from "./stackConfig";
export type { StackConfigRead, StackFiles, ConfigProblem } from "./stackConfig";
