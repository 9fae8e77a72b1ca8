// Ansible splits INI host lines with Python's shlex: split the same way here,
// so quotes, backslashes and `#` comments mean what they mean to Ansible.

/**
 * Python's `shlex.split(line, comments=True)` (POSIX mode), which Ansible
 * uses on INI host lines: quotes group, a backslash escapes, `#` starts a
 * comment even inside a word. Throws on an unclosed quote.
 */
export function shlexSplit(line: string): string[] {
    const out: string[] = [];
    let token = "";
    let quoted = false;
    let state: " " | "a" | "'" | "\"" = " ";
    const ws = " \t\r\n";
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (state === " " || state === "a") {
            if (ws.includes(c)) {
                if (state === "a" || quoted) {
                    out.push(token);
                    token = "";
                    quoted = false;
                }
                state = " ";
            } else if (c === "#") {
                break;
            } else if (c === "\\") {
                if (i + 1 >= line.length) throw new Error("No escaped character");
                token += line[++i];
                state = "a";
            } else if (c === "'" || c === "\"") {
                state = c;
                quoted = true;
            } else {
                token += c;
                state = "a";
            }
        } else if (state === "'") {
            if (c === "'") state = "a";
            else token += c;
        } else {
            if (c === "\"") state = "a";
            else if (c === "\\" && i + 1 < line.length && (line[i + 1] === "\"" || line[i + 1] === "\\")) token += line[++i];
            else token += c;
        }
    }
    if (state === "'" || state === "\"") throw new Error("No closing quotation");
    if (state === "a" || token !== "" || quoted) out.push(token);
    return out;
}
