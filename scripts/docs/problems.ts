/**
 * The error answers the documents promise, taken from the core's taxonomy itself (one instance of each
 * class, mapped by the core's own `toProblem`), and the shapes of a problem and of a health report.
 */
import {
  AuthError,
  CircuitOpenError,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
  PayloadTooLargeError,
  RateLimitedError,
  TimeoutError,
  toProblem,
  UnavailableError,
  UnexpectedResponseError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';

/** Every class of the taxonomy, plus the base class unknown failures become. */
export const TAXONOMY: readonly ConnectorError[] = [
  new ValidationError('example'),
  new AuthError('example'),
  new ForbiddenError('example'),
  new NotFoundError('example'),
  new ConflictError('example'),
  new PayloadTooLargeError(1),
  new UnsupportedMediaTypeError('example'),
  new RateLimitedError('example'),
  new ConfigurationError('example'),
  new ConnectorError('example'),
  new NotSupportedError('example'),
  new UnexpectedResponseError('example'),
  new UnavailableError('example'),
  new CircuitOpenError('example.com'),
  new TimeoutError('example'),
];

/** One HTTP status of the taxonomy: its title and the error classes and codes that answer it. */
export interface ErrorStatus {
  readonly status: number;
  readonly title: string;
  readonly errors: readonly { name: string; code: string; retryable: boolean }[];
}

/**
 * The statuses the taxonomy answers with, ascending.
 *
 * @example
 * ```ts
 * errorStatuses().map((s) => s.status); // [400, 401, 403, 404, 409, 413, 415, 429, 500, 501, 502, 503, 504]
 * ```
 */
export function errorStatuses(): ErrorStatus[] {
  const byStatus = new Map<number, ErrorStatus & { errors: ErrorStatus['errors'][number][] }>();
  for (const error of TAXONOMY) {
    const { status, title } = toProblem(error);
    const entry = byStatus.get(status) ?? { status, title, errors: [] };
    entry.errors.push({ name: error.name, code: error.code, retryable: error.retryable });
    byStatus.set(status, entry);
  }
  return [...byStatus.values()].sort((a, b) => a.status - b.status);
}

/** RFC 9457 problem details as every connector and the gateway answer them (`Problem` in the core). */
export const ProblemSchema = z
  .object({
    type: z
      .string()
      .describe('URI naming the kind of problem, e.g. https://circle-core.dev/problems/not-found'),
    title: z.string().describe('Short summary of the HTTP status, e.g. "Not Found"'),
    status: z.number().int().describe('The HTTP status code'),
    detail: z
      .string()
      .describe(
        'What went wrong, safe to show; below 500 it names the field or resource, above it is generic',
      ),
    code: z.string().describe('Stable machine code of the error class, e.g. "rate_limited"'),
    instance: z.string().optional().describe('The correlation id of the request, to find it in the logs'),
    errors: z
      .array(
        z.object({
          pointer: z.string().describe('RFC 6901 JSON pointer to the invalid field, e.g. "/items/0/name"'),
          message: z.string().describe('What is wrong with that field'),
        }),
      )
      .optional()
      .describe('Each invalid field of a 400 validation_error'),
    retryAfterMs: z
      .number()
      .int()
      .optional()
      .describe('Milliseconds to wait before trying again (429 rate_limited); also sent as Retry-After'),
  })
  .catchall(z.unknown())
  .describe('An RFC 9457 problem (application/problem+json)');

/** What `health` answers (`HealthReport` in the core). */
export const HealthReportSchema = z
  .object({
    connector: z.string().describe('The connector name'),
    version: z.string().describe('Semver of the connector'),
    status: z
      .enum(['ok', 'failing'])
      .describe('"ok" when every check passed (200), otherwise "failing" (503)'),
    capabilities: z.array(z.string()).describe('Optional abilities this connector offers'),
    checks: z
      .array(
        z.object({
          name: z.string().describe('config, setup (secrets, connections) or provider'),
          ok: z.boolean().describe('Whether the check passed'),
          detail: z.string().optional().describe('Why it failed, when it did'),
        }),
      )
      .describe('Each check in the order it ran; a failed check ends the list'),
  })
  .describe('The health of one connector');
