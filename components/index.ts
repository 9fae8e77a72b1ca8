export { SmtpPort, SmtpHostResult, describe } from "./smtpPort";
export { SmtpPortArgs, SmtpHostArgs, ListenerCheckArgs, ConflictPolicy, MailServer, defaults, resolveHosts, resolveFleet, ResolvedHost, ResolvedFleet } from "./args";
export { validateSmtpPortArgs, assertValidSmtpPortArgs, SmtpPortArgsError, portProblem } from "./validate";
export { hostCommand, hostScript, hostScriptPath } from "./hostScript";
export { decodeHostResult, HostResult, HostResultError, HOST_RESULT_SCHEMA } from "./hostResult";
export { decodeCheckLines, CheckLine, CheckTarget } from "./checkLines";
export { shellQuote, shellWords } from "./shell";
export { RolloutArgs, planWaves, planRollout, rolloutProblems } from "./rollout";
export { readStackConfig, configIsSecret, StackConfigError, StackConfigRead, StackFiles, ConfigProblem } from "./stackConfig";
