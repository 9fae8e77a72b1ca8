// Registering a resource costs more than it should in @pulumi/pulumi: for
// every input of every resource, its runtime/debuggable.ts keeps a formatted
// stack trace (`new Error().stack`) in case the program later leaks that
// promise, and the source-map support that `pulumi` installs maps every frame
// of every one of them. A remote.Command has about 15 inputs; at 30 hosts
// (60 commands) that was ~0.45 s of CPU per program run, measured with the
// V8 profiler, and `pulumi up` runs the program twice.
//
// The traces are read only to explain a leaked promise, and only when
// PULUMI_DEBUG_PROMISE_LEAKS is set: then they are kept. The source position
// Pulumi records for each resource is unaffected (the SDK lifts the limit
// itself when it takes it).

/** Run `register` (a resource constructor) without the SDK's per-input stack traces. */
export function withoutPromiseStacks<T>(register: () => T): T {
    if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return register();
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return register();
    } finally {
        Error.stackTraceLimit = limit;
    }
}
