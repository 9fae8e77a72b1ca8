/**
 * Quote one value for a POSIX shell: single quotes, with embedded single
 * quotes closed, escaped and reopened. Plain words stay bare so that the
 * command lines in `pulumi preview --diff` stay readable.
 * @param value one word of a command line
 */
export function shellQuote(value: string | number): string {
    const s = String(value);
    if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command line from words, each quoted.
 * @param words the command and its arguments
 */
export function shellWords(words: (string | number)[]): string {
    return words.map(shellQuote).join(" ");
}
