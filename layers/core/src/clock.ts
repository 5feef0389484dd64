/**
 * Milliseconds on a monotonic clock, for durations (a difference of two readings) only. `process.hrtime()`
 * rather than `performance.now()`: the `performance` global loads Node's perf_hooks internals on its first
 * use, about 1 ms of CPU in a connector's first invocation, which nothing else in a cold start needs.
 *
 * @example
 * ```ts
 * const started = monotonicMs();
 * await work();
 * const durationMs = monotonicMs() - started;
 * ```
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}
