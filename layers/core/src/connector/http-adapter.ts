import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod';
import type { ConfigSchema } from '../config.ts';
import {
  AuthError,
  type ConnectorError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  toConnectorError,
  toProblem,
  UnsupportedMediaTypeError,
} from '../errors.ts';
import { parseJson } from '../json.ts';
import type { OperationSample } from '../observability.ts';
import { assertResponseFits, LAMBDA_RESPONSE_LIMIT_BYTES, serialisedBytes } from './limits.ts';
import type { ConnectorRuntime } from './runtime.ts';
import type { RouteDefinition, RouteRequest } from './types.ts';

/** Default request body limit; `CIRCLE_MAX_BODY_BYTES` overrides it. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** Summary of an HTTP invocation for the log line. */
export interface HttpOutcome {
  response: APIGatewayProxyStructuredResultV2;
  operation: string;
  error?: ConnectorError;
}

/**
 * Serves an API Gateway HTTP API (payload v2) event: `POST /<provider>/<operation>` (and `GET` for
 * `health`) with the operation input as the JSON body, plus the connector's extra routes. Every failure
 * becomes an RFC 9457 problem; nothing below a 5xx carries internals, and 5xx bodies never do.
 *
 * @example
 * ```ts
 * const { response } = await handleHttp(runtime, event, correlationId);
 * ```
 */
export async function handleHttp<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  event: APIGatewayProxyEventV2,
  correlationId: string,
  /** The invocation's own metric samples (see `ExecutionMeta.samples`). */
  samples?: OperationSample[],
): Promise<HttpOutcome> {
  const method = event.requestContext.http.method.toUpperCase();
  const path = normalisePath(event.rawPath);
  const route = runtime.routes.find((candidate) => candidate.method === method && candidate.path === path);
  const operation = route === undefined ? operationFromPath(runtime.name, path) : undefined;
  const label = operation ?? `${method} ${path.slice(0, 128)}`;
  try {
    if (route !== undefined) {
      if (route.auth === 'authorizer') requireAuthorizer(event);
      return { operation: label, response: await serveRoute(runtime, route, event, correlationId) };
    }
    if (operation === undefined || !(method === 'POST' || (method === 'GET' && operation === 'health'))) {
      throw new NotFoundError(`No route ${label}`);
    }
    requireAuthorizer(event);
    const input = method === 'GET' ? {} : readJsonBody(event, maxBodyBytes(runtime));
    const output = await runtime.execute(operation, input, {
      trigger: 'http',
      correlationId,
      idempotencyKey: headerValue(event, 'idempotency-key'),
      samples,
    });
    const failing = operation === 'health' && (output as { status?: string }).status !== 'ok';
    const response = json(failing ? 503 : 200, output, correlationId);
    assertResponseFits(operation, 'http', lambdaPayloadBytes(response));
    return { operation, response: withDeprecation(runtime, operation, response) };
  } catch (error) {
    const err = toConnectorError(error);
    const response = withDeprecation(runtime, operation, problemResponse(err, correlationId));
    return { operation: label, response, error: err };
  }
}

/** Every answer of a deprecated operation, failures included, says so (RFC 9745 `Deprecation`). */
function withDeprecation<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  operation: string | undefined,
  response: APIGatewayProxyStructuredResultV2,
): APIGatewayProxyStructuredResultV2 {
  const deprecation = operation === undefined ? undefined : runtime.deprecations.get(operation);
  return deprecation === undefined
    ? response
    : { ...response, headers: { ...response.headers, deprecation } };
}

/**
 * Operation routes need the gateway's authorizer (IAM SigV4 or JWT in AWS, the local API key locally).
 * Checking its trace in the event is defence in depth: a stage deployed without one fails closed.
 */
function requireAuthorizer(event: APIGatewayProxyEventV2): void {
  const authorizer: unknown = (event.requestContext as { authorizer?: unknown }).authorizer;
  const trace = (kind: string): boolean => {
    const value = isObject(authorizer) ? authorizer[kind] : undefined;
    return isObject(value);
  };
  if (!(trace('iam') || trace('jwt') || trace('lambda'))) {
    throw new AuthError('This route requires authorization (IAM, JWT or the local API key)');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function readJsonBody(event: APIGatewayProxyEventV2, limit: number): unknown {
  const contentType = headerValue(event, 'content-type');
  if (contentType !== undefined && !/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new UnsupportedMediaTypeError('Operation routes accept only application/json bodies');
  }
  return readJsonText(event, limit);
}

/**
 * The body of a payload 2.0 event as JSON, whatever its content type: `{}` when empty, a 413 over `limit`
 * bytes, a 400 for text that is not JSON, nests too deep or holds a prototype-polluting key (`parseJson`).
 * Operation routes check the content type first; a function URL's stream route takes any.
 */
export function readJsonText(event: APIGatewayProxyEventV2, limit: number): unknown {
  if (event.isBase64Encoded) {
    const raw = rawBody(event, limit);
    return raw.length === 0 ? {} : parseJson(raw.toString('utf8'), 'request body');
  }
  // The text as it is, without a round trip through a Buffer: UTF-8 takes at most 3 bytes per UTF-16 unit,
  // so only a body that could be over the limit is measured, and a lone surrogate (which the round trip
  // turned into U+FFFD) is replaced the same way.
  const body = event.body ?? '';
  if (body.length === 0) return {};
  if (body.length * 3 > limit && Buffer.byteLength(body) > limit) throw new PayloadTooLargeError(limit);
  return parseJson(body.isWellFormed() ? body : body.toWellFormed(), 'request body');
}

function rawBody(event: APIGatewayProxyEventV2, limit: number): Buffer {
  const body = event.body ?? '';
  // Cheap upper bound before decoding: base64 is 4/3 of the bytes.
  const estimate = event.isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
  if (estimate > limit + 3) throw new PayloadTooLargeError(limit);
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.length > limit) throw new PayloadTooLargeError(limit);
  return bytes;
}

async function serveRoute<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  route: RouteDefinition<z.output<S>, Client, Services>,
  event: APIGatewayProxyEventV2,
  correlationId: string,
): Promise<APIGatewayProxyStructuredResultV2> {
  const request: RouteRequest = {
    method: event.requestContext.http.method.toUpperCase(),
    path: normalisePath(event.rawPath),
    headers: lowerCaseHeaders(event.headers),
    query: Object.fromEntries(
      Object.entries(event.queryStringParameters ?? {}).filter(
        (entry): entry is [string, string] => !!entry[1],
      ),
    ),
    rawQuery: event.rawQueryString ?? '',
    rawBody: rawBody(event, maxBodyBytes(runtime)),
    correlationId,
  };
  const context = await runtime.context({ trigger: 'http', correlationId });
  const result = await route.handle(request, context);
  const isText = typeof result.body === 'string';
  return {
    statusCode: result.status,
    headers: {
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
      'x-correlation-id': correlationId,
      ...result.headers,
    },
    body: result.body === undefined ? '' : isText ? (result.body as string) : JSON.stringify(result.body),
  };
}

/**
 * An error as an HTTP response: RFC 9457 problem body, `Retry-After` for rate limits.
 *
 * @example
 * ```ts
 * return problemResponse(new NotFoundError('No such key'), correlationId);
 * ```
 */
export function problemResponse(
  error: ConnectorError,
  correlationId: string,
): APIGatewayProxyStructuredResultV2 {
  const problem = toProblem(error, { instance: correlationId });
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'x-correlation-id': correlationId,
  };
  if (error instanceof RateLimitedError && error.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.ceil(error.retryAfterMs / 1000));
  }
  return { statusCode: problem.status, headers, body: JSON.stringify(problem) };
}

function json(status: number, body: unknown, correlationId: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId },
    body: JSON.stringify(body),
  };
}

/**
 * The response as Lambda serialises it. The body is a string inside that JSON, so escaping can at most
 * double it: only a body near the limit pays for an exact measurement.
 */
function lambdaPayloadBytes(response: APIGatewayProxyStructuredResultV2): number {
  const bodyBytes = Buffer.byteLength(response.body ?? '');
  return bodyBytes * 2 + 4096 < LAMBDA_RESPONSE_LIMIT_BYTES ? bodyBytes : serialisedBytes(response);
}

function operationFromPath(provider: string, path: string): string | undefined {
  const prefix = `/${provider}/`;
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  return /^[a-z][a-z0-9-]{0,63}$/.test(rest) ? rest : undefined;
}

function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) result[name.toLowerCase()] = value;
  }
  return result;
}

/** Reads one header case-insensitively (API Gateway lower-cases them, other callers may not). *
 * @example
 * ```ts
 * const key = headerValue(event, 'idempotency-key');
 * ```
 */
export function headerValue(
  event: { version?: string; headers?: Record<string, string | undefined> },
  name: string,
): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  // API Gateway v2 lower-cases header names already; only other callers need the scan.
  if (direct !== undefined || event.version === '2.0') return direct;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** Each connector's body limit, read from the environment at its first request (once per container). */
const bodyLimits = new WeakMap<object, number>();

export function maxBodyBytes(runtime: object): number {
  let limit = bodyLimits.get(runtime);
  if (limit === undefined) {
    const configured = Number(process.env['CIRCLE_MAX_BODY_BYTES']);
    limit = Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_BODY_BYTES;
    bodyLimits.set(runtime, limit);
  }
  return limit;
}
