/** How a fleet changes: a canary first, then batches, each after the previous one passed. */
export interface RolloutArgs {
    /**
     * Name of a host that changes, and passes its checks, before any other
     * host starts. Default: none.
     */
    canary?: string;
    /**
     * At most this many hosts change at the same time: a count (`5`) or a
     * share of the fleet (`"20%"`, rounded up). Each batch starts only after
     * every host of the previous batch passed its checks; a failed host
     * stops the rollout there (the hosts after it are not touched).
     * Default: all hosts at once.
     */
    batchSize?: number | string;
}

/** Problems with rollout settings, each naming the field. */
export function rolloutProblems(r: RolloutArgs | undefined, hostNames: string[]): string[] {
    if (r === undefined) return [];
    const out: string[] = [];
    if (r.canary !== undefined && !hostNames.includes(r.canary)) {
        out.push(`[rollout.canary] must name a host of the fleet, got ${JSON.stringify(r.canary)}`);
    }
    if (r.batchSize !== undefined && batchCount(r.batchSize, Math.max(hostNames.length, 1)) === undefined) {
        out.push(`[rollout.batchSize] must be a positive integer or a percentage like "20%", got ${JSON.stringify(r.batchSize)}`);
    }
    return out;
}

function batchCount(size: number | string, fleet: number): number | undefined {
    if (typeof size === "number") return Number.isInteger(size) && size > 0 ? size : undefined;
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(String(size));
    if (m) {
        const pct = Number(m[1]);
        return pct > 0 && pct <= 100 ? Math.max(1, Math.ceil((fleet * pct) / 100)) : undefined;
    }
    return /^\s*\d+\s*$/.test(String(size)) && Number(size) > 0 ? Number(size) : undefined;
}

/**
 * The waves of a rollout, in order: the canary alone, then the other hosts in
 * the order given, in batches. Every host is in exactly one wave.
 */
export function planWaves(hostNames: string[], r: RolloutArgs | undefined): string[][] {
    const rest = hostNames.filter(h => h !== r?.canary);
    const waves: string[][] = r?.canary !== undefined && hostNames.includes(r.canary) ? [[r.canary]] : [];
    const size = r?.batchSize === undefined ? rest.length : (batchCount(r.batchSize, hostNames.length) ?? rest.length);
    for (let i = 0; i < rest.length; i += Math.max(size, 1)) waves.push(rest.slice(i, i + Math.max(size, 1)));
    return waves;
}
