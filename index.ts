// The stack program: the port and the fleet come from version-controlled
// stack config (Pulumi.<stack>.yaml, keys declared in Pulumi.yaml);
// credentials are config secrets.
import * as pulumi from "@pulumi/pulumi";
// Only the package's public API (components/index.ts), as any program that
// installs smtp-port uses it.
import { configIsSecret, readStackConfig, SmtpPort, StackConfigError } from "./components";

// Every key is checked before anything is registered: a wrong config stops
// here with one line per problem, and no host is contacted. An inventory and
// known_hosts file are found relative to the project folder, as documented,
// wherever pulumi was started.
const config = readStackConfig(pulumi.runtime.allConfig(), configIsSecret, pulumi.getStack(), {
    baseDir: pulumi.runtime.getRootDirectory() || process.cwd(),
});
if (config.problems.length > 0) throw new StackConfigError(config.problems, pulumi.getStack());
// Only now: the engine (3.248) does not show a warning of a program that
// then fails, even one logged and delivered first; so a config with
// problems shows its problems, and the notes once it is usable.
for (const w of config.warnings) pulumi.log.warn(w);

const fleet = new SmtpPort("smtp", {
    ...config.args,
    // SMTP_PORT_PREVIEW_HOSTS=0: preview without contacting hosts.
    ...(process.env.SMTP_PORT_PREVIEW_HOSTS === "0" ? { previewHosts: false } : {}),
    // SMTP_PORT_FAIL_ON_DRIFT=1 pulumi preview: a CI drift check.
    ...(process.env.SMTP_PORT_FAIL_ON_DRIFT === "1" ? { failOnDrift: true } : {}),
});

export const hosts = fleet.results;
export const summary = fleet.summary;
/** Per host: declared port, what the resolver and the MTA answer, last banner, changed in this update. */
export const fleetStatus = fleet.results.apply(rs => Object.fromEntries(Object.values(rs).map(r => [r.name, {
    declaredPort: r.port, resolverPort: r.resolverPort, mtaPort: r.mtaPort, banner: r.banner, changedThisUpdate: r.changedThisUpdate,
}])));
