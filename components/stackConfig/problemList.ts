// Problems in the order found, one per key, so that a misspelt field's hint
// is not followed by a redundant "is required" for the same key.
import { ConfigProblem } from "./configProblem";
import { fieldPath } from "./problemKey";
import { closest } from "./suggest";

/**
 * The problems {@link readStackConfig} finds, in the order found. Keys whose
 * problem is already named (a misspelt field suggests its right name) take
 * no second one: the component's "is required" for them would be noise.
 */
export class ProblemList {
    readonly list: ConfigProblem[] = [];
    private readonly named = new Set<string>();

    add(key: string, message: string, host?: string): void {
        if (this.named.has(key)) return;
        this.named.add(key);
        this.list.push({ key, message, ...(host ? { host } : {}) });
    }

    /** A field not in `fields`: the likely intent if one is close, else every field. */
    unknownField(at: string, field: string, fields: readonly string[], what: string, host?: string): void {
        const near = closest(field, fields);
        if (near) this.named.add(`${at}.${near}`);
        this.add(`${at}${fieldPath([field])}`, near ? `is not a field of ${what}: did you mean ${at}.${near}?` : `is not a field of ${what} (the fields: ${fields.join(", ")})`, host);
    }
}
