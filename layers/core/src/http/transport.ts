/** One HTTP exchange over `node:http`/`node:https`: send, enforce the deadline and the size cap, read. */

import type { Agent, IncomingHttpHeaders, RequestOptions } from 'node:http';
import type { LookupFunction, Socket } from 'node:net';
import parseJson from 'secure-json-parse';
import { ConnectorError, TimeoutError, UnexpectedResponseError } from '../errors.ts';
import { http, https } from './node-http.ts';
import { networkError } from './response-errors.ts';
import type { HttpMethod } from './types.ts';

/** One hop of a request, fully prepared (credentials applied, body encoded). */
export interface Hop {
  url: URL;
  method: HttpMethod;
  headers: Record<string, string>;
  body: Buffer | undefined;
  agent: Agent;
  /** Set when the SSRF guard applies. */
  lookup: LookupFunction | undefined;
  /** Epoch ms by which the answer must have been read completely. */
  deadlineAt: number;
  /** The attempt's timeout, for the message. */
  timeoutMs: number;
  maxResponseBytes: number;
  provider: string;
  onSocket: (socket: Socket) => void;
}

/** What came back, body still raw. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Failures that say the host is unwell (timeout, socket error), as opposed to refusals before sending. */
const hostFailures = new WeakSet<object>();

function hostFailure<E extends ConnectorError>(error: E): E {
  hostFailures.add(error);
  return error;
}

/**
 * True for a timeout or socket failure raised by {@link sendHop}: what a circuit breaker counts. An error
 * raised before anything was sent (credentials, SSRF refusal) is not the host's fault.
 *
 * @example
 * ```ts
 * if (isHostFailure(err)) breaker.onFailure();
 * ```
 */
export function isHostFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && hostFailures.has(error);
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/**
 * Sends one request and reads the whole answer. Rejects with TimeoutError when `deadlineAt` passes,
 * UnexpectedResponseError when the body exceeds `maxResponseBytes`, UnavailableError for socket failures;
 * on any failure the socket is destroyed so a half-read connection never returns to the pool.
 *
 * @example
 * ```ts
 * const raw = await sendHop({ url, method: 'GET', headers, body: undefined, agent, lookup: undefined,
 *   deadlineAt: Date.now() + 5_000, timeoutMs: 5_000, maxResponseBytes: 1 << 20, provider: 'Slack', onSocket });
 * ```
 */
export function sendHop(hop: Hop): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const { provider, maxResponseBytes } = hop;
    const options: RequestOptions = {
      method: hop.method,
      protocol: hop.url.protocol,
      hostname: hop.url.hostname.replace(/^\[|\]$/g, ''),
      port: hop.url.port === '' ? undefined : Number(hop.url.port),
      path: `${hop.url.pathname}${hop.url.search}`,
      headers: hop.headers,
      agent: hop.agent,
    };
    if (hop.lookup !== undefined) options.lookup = hop.lookup;
    const request = (hop.url.protocol === 'https:' ? https : http).request(options);
    let settled = false;
    const settle = (error: ConnectorError | undefined, response?: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined && response !== undefined) {
        resolve(response);
        return;
      }
      request.destroy();
      reject(error);
    };
    const tooLarge = (): UnexpectedResponseError =>
      new UnexpectedResponseError(`response from ${provider} exceeds ${maxResponseBytes} bytes`, {
        details: { provider },
      });
    const timer = setTimeout(
      () =>
        settle(
          hostFailure(
            new TimeoutError(`${provider} did not answer within ${hop.timeoutMs} ms`, {
              details: { provider },
            }),
          ),
        ),
      Math.max(0, hop.deadlineAt - Date.now()),
    );
    request.on('socket', hop.onSocket);
    request.on('error', (error) =>
      settle(error instanceof ConnectorError ? error : hostFailure(networkError(error, provider))),
    );
    request.on('response', (response) => {
      // A HEAD answer announces the length of a body it does not send.
      if (hop.method !== 'HEAD' && Number(response.headers['content-length']) > maxResponseBytes) {
        settle(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) settle(tooLarge());
        else chunks.push(chunk);
      });
      response.on('end', () =>
        settle(undefined, {
          status: response.statusCode ?? 0,
          headers: flattenHeaders(response.headers),
          body: Buffer.concat(chunks),
        }),
      );
      response.on('error', (error) => settle(hostFailure(networkError(error, provider))));
      response.on('close', () => {
        if (!response.complete)
          settle(
            hostFailure(networkError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), provider)),
          );
      });
    });
    request.end(hop.body);
  });
}

const JSON_CONTENT_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** A decoded body, and whether a JSON content-type failed to parse. */
export interface DecodedBody {
  body: unknown;
  malformed: boolean;
}

/**
 * Decodes a raw body: JSON for a JSON content-type (prototype-poisoning keys removed), else UTF-8 text,
 * `undefined` when empty or for HEAD. A JSON body that does not parse comes back as text, `malformed`.
 *
 * @example
 * ```ts
 * decodeBody({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"a":1}') }, 'GET');
 * // { body: { a: 1 }, malformed: false }
 * ```
 */
export function decodeBody(raw: RawResponse, method: HttpMethod): DecodedBody {
  if (method === 'HEAD' || raw.body.length === 0) return { body: undefined, malformed: false };
  const text = raw.body.toString('utf8');
  if (!JSON_CONTENT_TYPE.test(raw.headers['content-type'] ?? '')) return { body: text, malformed: false };
  try {
    return {
      body: parseJson(text, { protoAction: 'remove', constructorAction: 'remove' }),
      malformed: false,
    };
  } catch {
    return { body: text, malformed: true };
  }
}
