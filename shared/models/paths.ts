/**
 * Path-like inputs (object keys, key prefixes, file paths in a repository): one set of rules for every
 * connector field that names a place by `/`-separated segments, so that no accepted value can climb out of
 * the place it addresses when a store, a proxy or an HTTP library normalises the path (on s3rver, which
 * normalises, the key `a/../../other-bucket/x` read another bucket). Every such field is built with
 * {@link safePath}, which also marks it, so the hardening suite finds each one in every connector's schemas.
 */
import * as z from 'zod';

/** What a path-like field addresses; the mark {@link safePath} leaves on the schema. */
export type PathKind = 'object-key' | 'key-prefix' | 'repository-path';

const PATH_KINDS: ReadonlySet<unknown> = new Set<PathKind>(['object-key', 'key-prefix', 'repository-path']);

export interface SafePathOptions {
  /**
   * `refuse` (the default): a leading `/` is an empty first segment and refused. `ignore`: leading slashes
   * are dropped before the check, for a provider whose client strips them itself (GitHub's contents API).
   */
  leadingSlashes?: 'refuse' | 'ignore';
}

/** The message for text with a lone surrogate, which no UTF-8 encoder (nor `encodeURIComponent`) accepts. */
export const NOT_WELL_FORMED = 'expected well-formed Unicode (no lone surrogates)';

/**
 * A string that is well-formed UTF-16, so it can be encoded as UTF-8 (a URL, a header, an XML body):
 * for free-text fields that reach a request but are not paths (a list delimiter, a continuation token).
 *
 * @example
 * ```ts
 * const Delimiter = WellFormedText.min(1).max(16);
 * ```
 */
export const WellFormedText = z.string().refine((value) => value.isWellFormed(), NOT_WELL_FORMED);

const CONTROL_CHARACTERS = /\p{Cc}/u;
/** `\` separates segments on Windows file systems and in WHATWG URL parsing of http(s) URLs. */
const SEPARATORS = /[/\\]/;

/**
 * Why a path breaks the rules, or undefined when it keeps them. The rules:
 * - well-formed Unicode and no control characters (XML listings, headers and URLs cannot carry them);
 * - the segments are read as a store or proxy that normalises would read them: after NFKC normalisation
 *   (`．．` and `‥` become `..`) and with `\` as a separator too (Windows file systems, WHATWG URL parsing);
 * - no `.` or `..` segment; `a..b` and `...` are ordinary names, which neither RFC 3986 nor a file system
 *   resolves;
 * - no empty segment except the last one: a trailing `/` is how S3 users mark "folders" (the console's
 *   "Create folder" stores `photos/`), while a leading `/` or `a//b` are keys that stores and proxies
 *   which merge slashes address as another key (s3rver answers them with an unreadable body).
 *
 * @example
 * ```ts
 * pathProblem('a/../../other-bucket/x'); // 'expected no "." or ".." segments'
 * pathProblem('folder/'); // undefined
 * pathProblem('/docs/README.md', { leadingSlashes: 'ignore' }); // undefined
 * ```
 */
export function pathProblem(path: string, options: SafePathOptions = {}): string | undefined {
  if (!path.isWellFormed()) return NOT_WELL_FORMED;
  if (CONTROL_CHARACTERS.test(path)) return 'expected no control characters';
  const body = options.leadingSlashes === 'ignore' ? path.replace(/^\/+/, '') : path;
  const segments = body.normalize('NFKC').split(SEPARATORS);
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return 'expected no "." or ".." segments';
  }
  if (segments.slice(0, -1).includes('')) {
    return segments[0] === '' ? 'expected no leading "/"' : 'expected no empty segments ("//")';
  }
  return undefined;
}

/**
 * A string schema that applies {@link pathProblem} and marks the field as a path of the given kind (zod
 * metadata, which `.min()`, `.refine()` and `.describe()` keep; `.optional()` wraps the marked schema).
 * Lengths are the caller's: they differ per store.
 *
 * @example
 * ```ts
 * const FilePath = safePath('repository-path', { leadingSlashes: 'ignore' }).min(1).max(4096);
 * FilePath.parse('docs/../../etc/passwd'); // throws: expected no "." or ".." segments
 * ```
 */
export function safePath(kind: PathKind, options: SafePathOptions = {}): z.ZodString {
  return z
    .string()
    .superRefine((path, context) => {
      const problem = pathProblem(path, options);
      if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
    })
    .meta({ pathKind: kind });
}

/**
 * The kind of path a schema was built for with {@link safePath}, or undefined for any other schema.
 * Wrappers (`.optional()`, `.default()`) are schemas of their own: unwrap them first.
 *
 * @example
 * ```ts
 * pathKindOf(ObjectKey); // 'object-key'
 * pathKindOf(z.string()); // undefined
 * ```
 */
export function pathKindOf(schema: z.ZodType): PathKind | undefined {
  const kind = z.globalRegistry.get(schema)?.['pathKind'];
  return PATH_KINDS.has(kind) ? (kind as PathKind) : undefined;
}
