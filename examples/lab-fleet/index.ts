import * as pulumi from "@pulumi/pulumi";
import { SmtpPort } from "smtp-port";

const config = new pulumi.Config();
const privateKey = config.requireSecret("privateKey");
const mail = new SmtpPort("mail", {
    port: config.requireNumber("port"),
    restartCommand: config.require("restartCommand"),
    hosts: config.requireObject<{ name: string; host: string; user: string; hostKey: string }[]>("hosts")
        .map(h => ({ name: h.name, connection: { host: h.host, user: h.user, hostKey: h.hostKey, privateKey } })),
});
export const summary = mail.summary;
