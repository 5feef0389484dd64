/**
 * How the core runs its own zod parses (configuration, secrets, credentials, operation input and output,
 * provider responses). zod compiles a parser (`new Function`) for each object schema the first time it parses
 * one: that pays off over a warm container's many parses and is pure cost on a cold start, where each schema
 * is parsed once. Until the container has answered an invocation the core's parses are interpreted (zod's
 * `jitless`); from then on zod compiles as usual. Both paths give the same results (zod's own guarantee,
 * and schema-parse.test.ts).
 *
 * @example
 * ```ts
 * const result = schema.safeParse(raw, parseOptions());
 * ```
 */
let options: { readonly jitless: true } | undefined = { jitless: true };

/** The options for one of the core's `safeParse` calls now: interpreted on a cold container, nothing after. */
export function parseOptions(): { readonly jitless: true } | undefined {
  return options;
}

/** The container has answered an invocation: later parses may compile. Called by the handler. */
export function containerWarmed(): void {
  options = undefined;
}
