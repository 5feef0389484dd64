/**
 * API Gateway HTTP API route selection: the most specific route wins (static segments over `{param}` over
 * `{proxy+}`, a method over `ANY`), and `$default` catches the rest.
 */
import type { HttpRoute } from '../config/model.ts';

type Segment =
  | { kind: 'static'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'greedy'; name: string };

/** A route with its path split for matching. */
export interface CompiledRoute {
  route: HttpRoute;
  segments: Segment[];
}

/** The chosen route and its path parameters. */
export interface RouteMatch {
  route: HttpRoute;
  pathParameters: Record<string, string>;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

/**
 * Prepares routes for {@link matchRoute}.
 *
 * @example
 * ```ts
 * const compiled = compileRoutes(model.functions.flatMap((fn) => fn.routes));
 * ```
 */
export function compileRoutes(routes: HttpRoute[]): CompiledRoute[] {
  return routes.map((route) => ({
    route,
    segments:
      route.path === '$default'
        ? []
        : splitPath(route.path).map((segment): Segment => {
            const greedy = /^\{(\w+)\+\}$/.exec(segment);
            if (greedy?.[1] !== undefined) return { kind: 'greedy', name: greedy[1] };
            const param = /^\{(\w+)\}$/.exec(segment);
            if (param?.[1] !== undefined) return { kind: 'param', name: param[1] };
            return { kind: 'static', value: segment };
          }),
  }));
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function tryMatch(compiled: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (let index = 0; index < compiled.segments.length; index += 1) {
    const segment = compiled.segments[index] as Segment;
    if (segment.kind === 'greedy') {
      if (index >= parts.length) return undefined;
      parameters[segment.name] = parts.slice(index).map(decode).join('/');
      return parameters;
    }
    const part = parts[index];
    if (part === undefined) return undefined;
    if (segment.kind === 'static' && decode(part) !== segment.value) return undefined;
    if (segment.kind === 'param') parameters[segment.name] = decode(part);
  }
  return parts.length === compiled.segments.length ? parameters : undefined;
}

const RANK = { static: 0, param: 1, greedy: 2 } as const;

function moreSpecific(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let index = 0; index < length; index += 1) {
    const left = a.segments[index];
    const right = b.segments[index];
    if (left === undefined || right === undefined) return left === undefined ? 1 : -1;
    const difference = RANK[left.kind] - RANK[right.kind];
    if (difference !== 0) return difference;
  }
  return (a.route.method === 'ANY' ? 1 : 0) - (b.route.method === 'ANY' ? 1 : 0);
}

/**
 * Picks the route for a request, or undefined (API Gateway then answers 404).
 *
 * @example
 * ```ts
 * matchRoute(compiled, 'POST', '/s3/put-object'); // { route: POST /s3/{operation}, pathParameters: { operation: 'put-object' } }
 * ```
 */
export function matchRoute(routes: CompiledRoute[], method: string, path: string): RouteMatch | undefined {
  const parts = splitPath(path);
  const candidates: { compiled: CompiledRoute; pathParameters: Record<string, string> }[] = [];
  for (const compiled of routes) {
    if (compiled.route.path === '$default') continue;
    if (compiled.route.method !== 'ANY' && compiled.route.method !== method) continue;
    const pathParameters = tryMatch(compiled, parts);
    if (pathParameters !== undefined) candidates.push({ compiled, pathParameters });
  }
  candidates.sort((a, b) => moreSpecific(a.compiled, b.compiled));
  const best = candidates[0];
  if (best !== undefined) return { route: best.compiled.route, pathParameters: best.pathParameters };
  const fallback = routes.find((compiled) => compiled.route.path === '$default');
  return fallback === undefined ? undefined : { route: fallback.route, pathParameters: {} };
}

/**
 * The methods of the routes whose path matches (what a 405 lists in `Allow`); empty when none does.
 *
 * @example
 * ```ts
 * methodsFor(compiled, '/s3/put-object'); // ['POST']
 * ```
 */
export function methodsFor(routes: CompiledRoute[], path: string): string[] {
  const parts = splitPath(path);
  const methods = new Set<string>();
  for (const compiled of routes) {
    if (compiled.route.path !== '$default' && tryMatch(compiled, parts) !== undefined)
      methods.add(compiled.route.method);
  }
  return [...methods].sort();
}

/**
 * The first path segments the routes serve (`s3`, `postgres`, ...): the providers a 404 names when a path
 * starts with none of them. Routes that begin with a parameter are left out.
 *
 * @example
 * ```ts
 * routePrefixes(compiled); // ['github', 'postgres', 's3', 'slack']
 * ```
 */
export function routePrefixes(routes: CompiledRoute[]): string[] {
  const prefixes = new Set<string>();
  for (const compiled of routes) {
    const first = compiled.segments[0];
    if (first?.kind === 'static') prefixes.add(first.value);
  }
  return [...prefixes].sort();
}
