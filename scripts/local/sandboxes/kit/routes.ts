/**
 * Routes: an HTTP method (or several) and a path pattern with `:name` segments and an optional trailing
 * `*name` rest, matched in the order declared.
 */

/** A compiled route pattern. */
export interface PathPattern {
  readonly source: string;
  /** The decoded parameters of `path`, or undefined when it does not match. */
  match(path: string): Record<string, string> | undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles `/repos/:owner/:repo/issues` (one segment per `:name`) or `/repos/:owner/:repo/contents/*path`
 * (the rest of the path, possibly empty, slashes included). Parameters are percent-decoded; a path that
 * does not decode does not match.
 *
 * @example
 * ```ts
 * compilePath('/repos/:owner/:repo/contents/*path').match('/repos/o/r/contents/a/b.md');
 * // { owner: 'o', repo: 'r', path: 'a/b.md' }
 * ```
 */
export function compilePath(source: string): PathPattern {
  const names: string[] = [];
  let pattern = '';
  const segments = source.split('/').slice(1);
  segments.forEach((segment, index) => {
    if (segment.startsWith('*')) {
      if (index !== segments.length - 1) throw new Error(`fake kit: "${segment}" must end the pattern`);
      names.push(segment.slice(1));
      pattern += '(?:/(.*))?';
      return;
    }
    if (segment.startsWith(':')) {
      names.push(segment.slice(1));
      pattern += '/([^/]+)';
      return;
    }
    pattern += `/${escapeRegExp(segment)}`;
  });
  const regex = new RegExp(`^${pattern === '' ? '/' : pattern}$`);
  return {
    source,
    match(path) {
      const found = regex.exec(path);
      if (found === null) return undefined;
      try {
        return Object.fromEntries(
          names.map((name, index) => [name, decodeURIComponent(found[index + 1] ?? '')]),
        );
      } catch {
        return undefined;
      }
    },
  };
}

/** The methods a route answers, upper-case. */
export function methodsOf(method: string | readonly string[]): ReadonlySet<string> {
  return new Set((typeof method === 'string' ? [method] : method).map((verb) => verb.toUpperCase()));
}
