// A misspelt key or field gets a "did you mean", so that a typo is fixed
// at once instead of being ignored.

/**
 * Edit distance with adjacent transpositions (optimal string alignment), so
 * that `prot` is one edit from `port`.
 */
export function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/**
 * The known name closest to `name`, ignoring case, if it is close enough to
 * be the likely intent (at most 2 edits, or a third of the name's length for
 * long names); the first in `known`'s order on a tie.
 */
export function closest(name: string, known: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const k of known) {
        const dist = editDistance(name.toLowerCase(), k.toLowerCase());
        if (dist < bestDistance) {
            best = k;
            bestDistance = dist;
        }
    }
    return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
