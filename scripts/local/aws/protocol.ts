/** Shared pieces of the AWS wire protocols the local endpoint speaks (JSON 1.0/1.1, restJson, query). */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An AWS service error: `__type` for the JSON protocols, a code and message for the query protocol. */
export class AwsError extends Error {
  readonly type: string;
  readonly status: number;
  /** `x-amzn-query-error` for services that kept query-compatible codes (SQS). */
  readonly queryError: string | undefined;

  constructor(type: string, message: string, options: { status?: number; queryError?: string } = {}) {
    super(message);
    this.name = 'AwsError';
    this.type = type;
    this.status = options.status ?? 400;
    this.queryError = options.queryError;
  }
}

/** One parsed request to a JSON-protocol operation. */
export interface JsonRequest {
  operation: string;
  body: Record<string, unknown>;
}

/** A JSON-protocol service: operation name -> handler. */
export type JsonService = (request: JsonRequest) => Promise<unknown>;

/**
 * Reads a request body, up to `limit` bytes.
 *
 * @example
 * ```ts
 * const bytes = await readBody(req, 10 * 1024 * 1024);
 * ```
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(
          new AwsError('RequestEntityTooLarge', `Request body larger than ${limit} bytes`, { status: 413 }),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The media type of a `content-type` header, lower-cased and without parameters (`''` when absent).
 *
 * @example
 * ```ts
 * mediaType('Application/JSON; charset=utf-8'); // 'application/json'
 * ```
 */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Answers a JSON-protocol request (`application/x-amz-json-1.0` or `-1.1`).
 *
 * @example
 * ```ts
 * sendJson(res, 200, { QueueUrl: url }, '1.0');
 * ```
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, version: '1.0' | '1.1'): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': `application/x-amz-json-${version}`,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

/**
 * Answers an error the way the JSON protocols do (`{ __type, message }`).
 *
 * @example
 * ```ts
 * sendJsonError(res, new AwsError('QueueDoesNotExist', 'The specified queue does not exist.'), '1.0', 'com.amazonaws.sqs#');
 * ```
 */
export function sendJsonError(
  res: ServerResponse,
  error: AwsError,
  version: '1.0' | '1.1',
  prefix = '',
): void {
  const text = JSON.stringify({ __type: `${prefix}${error.type}`, message: error.message });
  const headers: Record<string, string | number> = {
    'content-type': `application/x-amz-json-${version}`,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': error.type,
  };
  if (error.queryError !== undefined) headers['x-amzn-query-error'] = error.queryError;
  res.writeHead(error.status, headers);
  res.end(text);
}

/**
 * Answers a query-protocol (XML) error, as STS and CloudFormation do.
 *
 * @example
 * ```ts
 * sendXmlError(res, new AwsError('ValidationError', 'Stack does not exist'));
 * ```
 */
export function sendXmlError(res: ServerResponse, error: AwsError): void {
  const text =
    `<ErrorResponse><Error><Type>Sender</Type><Code>${escapeXml(error.type)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  res.writeHead(error.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Escapes text for an XML element.
 *
 * @example
 * ```ts
 * escapeXml('a<b'); // 'a&lt;b'
 * ```
 */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/**
 * A required string field of a request, or a validation error naming it.
 *
 * @example
 * ```ts
 * const url = requireString(body, 'QueueUrl', 'MissingParameter');
 * ```
 */
export function requireString(body: Record<string, unknown>, field: string, errorType: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new AwsError(errorType, `The request must contain the parameter ${field}.`);
  }
  return value;
}

/**
 * Epoch seconds (with a fraction), the timestamp format of the JSON protocols.
 *
 * @example
 * ```ts
 * epochSeconds(Date.now()); // 1700000000.123
 * ```
 */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

/** One request to a restJson service (SES v2, the IoT data plane). */
export interface RestRequest {
  method: string;
  /** As sent, still percent-encoded: an IoT topic's own slashes arrive as %2F inside one segment. */
  path: string;
  query: URLSearchParams;
  body: Buffer;
  headers: Headers;
}

/** A restJson service: answers `{ status, body }` or throws an AwsError. */
export type RestService = (request: RestRequest) => Promise<{ status: number; body: unknown }>;

/**
 * Answers a restJson request: a JSON body, errors with `x-amzn-errortype` (which the SDK's restJson1
 * parser reads) and the body `errorBody` makes of them (`{ message }` unless told).
 *
 * @example
 * ```ts
 * await serveRestJson(req, res, services.ses, await readBody(req, BODY_LIMIT));
 * ```
 */
export async function serveRestJson(
  req: IncomingMessage,
  res: ServerResponse,
  service: RestService,
  body: Buffer,
  errorBody: (error: AwsError) => unknown = (error) => ({ message: error.message }),
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
  }
  const reply = (status: number, answer: unknown, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(answer);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...extra,
    });
    res.end(text);
  };
  try {
    const method = (req.method ?? 'GET').toUpperCase();
    const answer = await service({ method, path: url.pathname, query: url.searchParams, body, headers });
    reply(answer.status, answer.body);
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    reply(error.status, errorBody(error), { 'x-amzn-errortype': error.type });
  }
}
