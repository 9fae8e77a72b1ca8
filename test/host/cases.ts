// Services files for the host script tests: real ones and hand-made traps.
import * as fs from "fs";
import * as path from "path";
import { ianaServicesText } from "../support/ianaServices";

export interface Case {
    name: string;
    text: string;
    port: number;
    /** Lines (without CR) that apply must comment out, in file order. */
    commented: string[];
    /** The line apply must add, or null when a matching entry already exists. */
    added: string | null;
    /** What the resolver answered before, for `previous_port`. */
    previous: number | null;
}

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", f), "utf8");
const crlf = (s: string) => s.replace(/\n/g, "\r\n");

export function cases(): Case[] {
    return [
        {
            name: "Debian netbase /etc/services",
            text: fixture("services.debian"), port: 17, previous: 25,
            commented: ["qotd\t\t17/tcp\t\tquote", "smtp\t\t25/tcp\t\tmail"], added: "smtp\t\t17/tcp\t\tmail",
        },
        {
            name: "full IANA registry (~11,500 lines), smtp 25/udp left alone",
            text: ianaServicesText(), port: 17, previous: 25,
            commented: ["qotd            17/tcp                          # Quote of the Day",
                "smtp            25/tcp          mail            # Simple Mail Transfer"],
            added: "smtp            17/tcp          mail            # Simple Mail Transfer",
        },
        {
            name: "Windows CRLF file with #comment columns (stays CRLF)",
            text: crlf(fixture("services.windows")), port: 17, previous: 25,
            commented: ["qotd               17/tcp    quote                  #Quote of the day",
                "smtp               25/tcp    mail                   #Simple Mail Transfer Protocol"],
            added: "smtp               17/tcp    mail                   #Simple Mail Transfer Protocol",
        },
        {
            name: "an earlier entry carrying smtp as an alias wins the lookup: it is commented too",
            text: "echo 7/tcp\nrelay 24/tcp smtp relay-in\nqotd 17/tcp quote\nsmtp 25/tcp mail\n", port: 17, previous: 24,
            commented: ["relay 24/tcp smtp relay-in", "qotd 17/tcp quote", "smtp 25/tcp mail"], added: "smtp 17/tcp mail",
        },
        {
            name: "smtp as a second alias (relay 24/tcp relay-in smtp) wins the lookup too: it is commented",
            text: "echo 7/tcp\nrelay 24/tcp relay-in smtp\nqotd 17/tcp quote\nsmtp 25/tcp mail\n", port: 17, previous: 24,
            commented: ["relay 24/tcp relay-in smtp", "qotd 17/tcp quote", "smtp 25/tcp mail"], added: "smtp 17/tcp mail",
        },
        {
            name: "names that merely start with smtp and udp entries are not touched",
            text: "smtps 465/tcp ssmtp\nsmtp-stats 2599/tcp\nsmtp 25/udp mail\nsmtp 25/tcp mail\nsubmission 587/tcp\nqotd 17/udp quote\n", port: 17, previous: 25,
            commented: ["smtp 25/tcp mail"], added: "smtp 17/tcp mail",
        },
        {
            name: "tabs, spaces, indentation and trailing comments",
            text: "# header\n   qotd \t 17/tcp\tquote   # indented, mixed\n\tsmtp\t 25/tcp   mail  # Simple Mail Transfer\nssh 22/tcp\n", port: 17, previous: 25,
            commented: ["   qotd \t 17/tcp\tquote   # indented, mixed", "\tsmtp\t 25/tcp   mail  # Simple Mail Transfer"],
            added: "\tsmtp\t 17/tcp   mail  # Simple Mail Transfer",
        },
        {
            name: "no final newline, smtp on the last line",
            text: "qotd 17/tcp quote\nsmtp 25/tcp mail", port: 17, previous: 25,
            commented: ["qotd 17/tcp quote", "smtp 25/tcp mail"], added: "smtp 17/tcp mail",
        },
        {
            name: "an entry on the target port already exists further down: kept, the earlier one commented",
            text: "smtp 25/tcp mail\nfoo 1/tcp\nsmtp 2525/tcp mail\n", port: 2525, previous: 25,
            commented: ["smtp 25/tcp mail"], added: null,
        },
        {
            name: "duplicate smtp entries and an already commented line",
            text: "#smtp 17/tcp disabled\nsmtp 25/tcp mail\nsmtp 25/tcp\nqotd 17/tcp quote\n", port: 17, previous: 25,
            commented: ["smtp 25/tcp mail", "smtp 25/tcp", "qotd 17/tcp quote"], added: "smtp 17/tcp mail",
        },
        {
            name: "no smtp entry at all: appended at the end",
            text: "echo 7/tcp\nqotd 17/tcp quote\n", port: 17, previous: null,
            commented: ["qotd 17/tcp quote"], added: "smtp\t\t17/tcp\t\tmail",
        },
        {
            name: "empty file",
            text: "", port: 2525, previous: null,
            commented: [], added: "smtp\t\t2525/tcp\t\tmail",
        },
        {
            name: "different aliases on the old line: the new line gets the declared ones",
            text: "smtp 25/tcp mail mailer\n", port: 17, previous: 25,
            commented: ["smtp 25/tcp mail mailer"], added: "smtp\t\t17/tcp\t\tmail",
        },
    ];
}
