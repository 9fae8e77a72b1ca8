// The stack program: the port and the fleet come from version-controlled
// stack config (Pulumi.<stack>.yaml); credentials are config secrets.
import * as pulumi from "@pulumi/pulumi";
import { SmtpPort } from "./components";
import { fleetFromConfig, HostConfig } from "./components/stackConfig";
import { RolloutArgs } from "./components/rollout";

const cfg = new pulumi.Config("smtp-port");

const fleet = new SmtpPort("smtp", fleetFromConfig({
    port: cfg.require("port"),
    hosts: cfg.requireObject<HostConfig[]>("hosts"),
    restartCommand: cfg.get("restartCommand"),
    servicesFile: cfg.get("servicesFile"),
    sudo: cfg.getBoolean("sudo"),
    conflicts: cfg.get("conflicts"),
    mta: cfg.get("mta"),
    verifyOnHost: cfg.getBoolean("verifyOnHost"),
    requireOldPortClosed: cfg.getBoolean("requireOldPortClosed"),
    rollout: cfg.getObject<RolloutArgs>("rollout"),
    // SMTP_PORT_PREVIEW_HOSTS=0: preview without contacting hosts.
    previewHosts: process.env.SMTP_PORT_PREVIEW_HOSTS === "0" ? false : cfg.getBoolean("previewHosts"),
    // SMTP_PORT_FAIL_ON_DRIFT=1 pulumi preview: a CI drift check.
    failOnDrift: process.env.SMTP_PORT_FAIL_ON_DRIFT === "1" ? true : cfg.getBoolean("failOnDrift"),
}, {
    privateKey: cfg.getSecret("privateKey"),
    password: cfg.getSecret("password"),
    perHost: cfg.getSecretObject<Record<string, { privateKey?: string; password?: string }>>("hostSecrets"),
}));

export const hosts = fleet.results;
export const summary = fleet.summary;
/** Per host: declared port, what the resolver and the MTA answer, last banner, changed in this update. */
export const fleetStatus = fleet.results.apply(rs => Object.fromEntries(Object.values(rs).map(r => [r.name, {
    declaredPort: r.port, resolverPort: r.resolverPort, mtaPort: r.mtaPort, banner: r.banner, changedThisUpdate: r.changedThisUpdate,
}])));
