/**
 * A request as a fake sees it (everything, the credential included) and as its log keeps it (secret
 * headers and body fields dropped, the credential in `token`).
 */
import type { IncomingMessage } from 'node:http';

/** One request, read and parsed; handed to hooks and route handlers. */
export interface FakeRequest {
  /** Upper-case. */
  method: string;
  /** The path as received (not decoded). */
  path: string;
  query: Record<string, string>;
  /** The query string as received (`?a[]=1&a[]=2`), for parameters that repeat; `query` keeps the last. */
  search?: string;
  /** Lower-cased names; repeated headers joined with `, `. Secrets included: this is what a handler checks. */
  headers: Record<string, string>;
  rawBody: string;
  /** The body's bytes as received (binary uploads, multipart media), empty when there is none. */
  bytes: Buffer;
  /** A form body as an object, else JSON when it parses, else the text; undefined when empty. */
  body: unknown;
  /** The name of the route that matched, undefined when none did. */
  route: string | undefined;
  params: Record<string, string>;
  /** The credential the fake's token hook read, if any. */
  token: string | undefined;
}

/** What the request log keeps of one request: safe to print (the local stack shows it). */
export interface LoggedRequest {
  /** Epoch ms when the request arrived. */
  at: number;
  route: string | undefined;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Without the secret headers (authorization, cookies, API keys). */
  headers: Record<string, string>;
  /** The parsed body without its secret fields. */
  body: unknown;
  /** The credential presented (a sandbox or test token), so a test can tell which one was used. */
  token: string | undefined;
  /** The fault that answered, if one did. */
  fault?: string;
  /** The status answered; undefined while pending, or when the fault answered nothing. */
  status?: number;
  /** What went wrong inside the fake itself (it then answered the dialect's server error). */
  error?: string;
}

/** Header names the log never keeps. */
export const SECRET_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-amz-security-token',
];

/** Body fields the log never keeps (a form-encoded Slack call may carry its token in the body). */
export const SECRET_FIELDS: readonly string[] = [
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
  'password',
];

/**
 * The bearer credential of `Authorization: Bearer <token>` (or GitHub's older `token <token>`).
 *
 * @example
 * ```ts
 * bearerToken({ authorization: 'Bearer ghp_x' }); // 'ghp_x'
 * ```
 */
export function bearerToken(headers: Record<string, string>): string | undefined {
  return /^(?:bearer|token)\s+(\S+)$/i.exec(headers['authorization']?.trim() ?? '')?.[1];
}

/** Reads the body; undefined when it is over `limit` bytes (read to the end all the same, so 413 can be sent). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

/** Lower-cased single-valued headers. */
export function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** A form body as an object, else JSON when it parses, else the text; undefined when empty. */
export function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return undefined;
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded') === true) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function withoutKeys(value: Record<string, unknown>, secret: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !secret.has(key.toLowerCase())));
}

/** The log entry of `request`, without the secrets named here and by default. */
export function logEntryOf(
  request: FakeRequest,
  secrets: { headers: ReadonlySet<string>; fields: ReadonlySet<string> },
): LoggedRequest {
  const { body } = request;
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  return {
    at: Date.now(),
    route: request.route,
    method: request.method,
    path: request.path,
    query: withoutKeys(request.query, secrets.fields) as Record<string, string>,
    headers: withoutKeys(request.headers, secrets.headers) as Record<string, string>,
    body: isObject ? withoutKeys(body as Record<string, unknown>, secrets.fields) : body,
    token: request.token,
  };
}
