export { SmtpPort, SmtpHostResult, describe, parseApplyResult } from "./smtpPort";
export { SmtpPortArgs, SmtpHostArgs, ListenerCheckArgs, ConflictPolicy, MailServer, defaults } from "./args";
export { validateSmtpPortArgs, assertValidSmtpPortArgs, SmtpPortArgsError, portProblem } from "./validate";
export { hostCommand, hostScript, hostScriptPath } from "./hostScript";
export { shellQuote, shellWords } from "./shell";
export { RolloutArgs, planWaves, rolloutProblems } from "./rollout";
