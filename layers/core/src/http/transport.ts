/** One HTTP exchange over `node:http`/`node:https`: send, enforce the deadline and the size cap, read. */

import type { Agent, ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import type { LookupFunction, Socket } from 'node:net';
import type { Transform } from 'node:stream';
import parseJson from 'secure-json-parse';
import { ConnectorError, TimeoutError, toConnectorError, UnexpectedResponseError } from '../errors.ts';
import { http, https, zlib } from './node-http.ts';
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
  /**
   * Streaming mode: a 2xx answer resolves as soon as its headers arrived, its body left unread in
   * {@link RawResponse.stream}; `deadlineAt` then bounds only the headers, `bodyDeadlineAt` the body.
   * Any other answer is read whole as usual (for the error mapping and redirects).
   */
  stream?: { bodyDeadlineAt: number; signal?: AbortSignal | undefined } | undefined;
}

/** What came back, body still raw. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Streaming mode, 2xx only: the body's chunks as they arrive (`body` is then empty). */
  stream?: AsyncIterable<Buffer>;
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
 * Sends one request and reads the whole answer, decoding a body sent with `Content-Encoding` gzip, deflate
 * or br (no `Accept-Encoding` is sent: this is a provider compressing unasked). Rejects with TimeoutError
 * when `deadlineAt` passes, UnexpectedResponseError when the body received or decoded exceeds
 * `maxResponseBytes` or does not decode, UnavailableError for socket failures;
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
    const tooLarge = (): UnexpectedResponseError => tooLargeError(provider, maxResponseBytes);
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
    const signal = hop.stream?.signal;
    if (signal !== undefined) {
      const onAbort = (): void => settle(toConnectorError(signal.reason));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        request.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
    request.on('socket', hop.onSocket);
    request.on('error', (error) =>
      settle(error instanceof ConnectorError ? error : hostFailure(networkError(error, provider))),
    );
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (hop.stream !== undefined && status >= 200 && status < 300 && hop.method !== 'HEAD') {
        let coding: Coding | undefined;
        try {
          coding = contentCoding(response.headers['content-encoding'], provider);
        } catch (error) {
          settle(toConnectorError(error));
          return;
        }
        clearTimeout(timer);
        settled = true;
        resolve({
          status,
          headers: flattenHeaders(response.headers),
          body: Buffer.alloc(0),
          stream: streamBody(request, response, hop, hop.stream, coding),
        });
        return;
      }
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
      response.on('end', () => {
        const raw = Buffer.concat(chunks);
        const answer = (body: Buffer): void =>
          settle(undefined, { status, headers: flattenHeaders(response.headers), body });
        // No body (HEAD, 204, 304) has nothing to decode, whatever its Content-Encoding says.
        if (settled || hop.method === 'HEAD' || raw.length === 0) {
          answer(raw);
          return;
        }
        let coding: Coding | undefined;
        try {
          coding = contentCoding(response.headers['content-encoding'], provider);
        } catch (error) {
          settle(toConnectorError(error));
          return;
        }
        if (coding === undefined) answer(raw);
        else
          collect(decodeChunks([raw], coding, provider, maxResponseBytes)).then(answer, (error: unknown) =>
            settle(toConnectorError(error)),
          );
      });
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

/**
 * The chunks of a streamed body as they arrive, under the body's deadline, the size cap and the caller's
 * signal; a failure mid-body is the taxonomy's error (TimeoutError, UnavailableError for a reset,
 * UnexpectedResponseError past the cap), and the socket is destroyed unless the body was read to its end.
 */
async function* streamBody(
  request: ClientRequest,
  response: IncomingMessage,
  hop: Hop,
  stream: NonNullable<Hop['stream']>,
  coding: Coding | undefined,
): AsyncGenerator<Buffer> {
  const { provider, maxResponseBytes } = hop;
  const stop = (error: Error): void => {
    response.destroy(error);
  };
  const left = stream.bodyDeadlineAt - Date.now();
  const timer = Number.isFinite(left)
    ? setTimeout(
        () =>
          stop(
            hostFailure(
              new TimeoutError(`${provider} did not finish its streamed answer in the time left`, {
                details: { provider },
              }),
            ),
          ),
        Math.max(0, left),
      )
    : undefined;
  const onAbort = (): void => {
    const reason: unknown = stream.signal?.reason;
    stop(reason instanceof Error ? reason : new Error('aborted'));
  };
  if (stream.signal?.aborted === true) onAbort();
  else stream.signal?.addEventListener('abort', onAbort, { once: true });
  // The cap bounds the bytes received and, for a compressed body, the bytes it decodes to.
  const received = async function* (): AsyncGenerator<Buffer> {
    let size = 0;
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      if (size > maxResponseBytes) throw tooLargeError(provider, maxResponseBytes);
      yield chunk as Buffer;
    }
  };
  try {
    const chunks =
      coding === undefined ? received() : decodeChunks(received(), coding, provider, maxResponseBytes);
    for await (const chunk of chunks) yield chunk;
    if (!response.complete) throw new Error('aborted');
  } catch (error) {
    if (error instanceof ConnectorError) throw error;
    if (stream.signal?.aborted === true && error === stream.signal.reason) throw error;
    throw hostFailure(networkError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), provider));
  } finally {
    clearTimeout(timer);
    stream.signal?.removeEventListener('abort', onAbort);
    if (!response.complete) request.destroy();
  }
}

/** A content coding the transport decodes (RFC 9110 section 8.4.1). */
type Coding = 'gzip' | 'deflate' | 'br';

const CODINGS: Readonly<Record<string, Coding>> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
};

function tooLargeError(provider: string, maxResponseBytes: number): UnexpectedResponseError {
  return new UnexpectedResponseError(`response from ${provider} exceeds ${maxResponseBytes} bytes`, {
    details: { provider },
  });
}

/**
 * The coding a `Content-Encoding` header names: undefined for none or `identity`. One the transport
 * cannot decode (`compress`, `zstd`, several codings stacked) is an UnexpectedResponseError naming it.
 * No `Accept-Encoding` is sent, so this is a provider compressing unasked (Snowflake's result partitions).
 */
function contentCoding(header: string | undefined, provider: string): Coding | undefined {
  const codings = (header ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return undefined;
  const coding = codings.length === 1 ? CODINGS[codings[0] as string] : undefined;
  if (coding === undefined) {
    const encoding = (header ?? '').trim().slice(0, 100);
    throw new UnexpectedResponseError(
      `${provider} answered a body in Content-Encoding ${encoding}, which is not supported`,
      { details: { provider, encoding } },
    );
  }
  return coding;
}

/**
 * A streaming decompressor for `coding` (node:zlib, loaded on the first compressed answer). `deflate` is
 * the zlib format (RFC 9110), but some servers send raw deflate: the first byte tells them apart, as
 * browsers and undici do.
 */
function decoderFor(coding: Coding, first: Buffer): Transform {
  if (coding === 'gzip') return zlib.createGunzip();
  if (coding === 'br') return zlib.createBrotliDecompress();
  return ((first[0] ?? 0) & 0x0f) === 0x08 ? zlib.createInflate() : zlib.createInflateRaw();
}

/** Feeds `chunk` to `decoder` (or ends it), resolving once its output was emitted or it was destroyed. */
function feed(decoder: Transform, chunk: Buffer | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => {
      off();
      reject(error);
    };
    const done = (): void => {
      off();
      resolve();
    };
    const off = (): void => {
      decoder.off('error', fail);
      decoder.off('end', done);
      decoder.off('close', done);
    };
    decoder.once('error', fail);
    decoder.once('close', done);
    if (chunk === undefined) {
      decoder.once('end', done);
      decoder.end();
    } else {
      decoder.write(chunk, (error) => (error ? fail(error) : done()));
    }
  });
}

/**
 * The decoded chunks of a compressed body, as its raw chunks come. Decoding stops as soon as the decoded
 * bytes pass `maxResponseBytes` (a gzip bomb is refused without inflating it); a body that does not decode
 * (corrupt, truncated) is an UnexpectedResponseError naming the provider and the coding.
 */
async function* decodeChunks(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  coding: Coding,
  provider: string,
  maxResponseBytes: number,
): AsyncGenerator<Buffer> {
  let decoder: Transform | undefined;
  const out: Buffer[] = [];
  let size = 0;
  let tooLarge: UnexpectedResponseError | undefined;
  const step = async (chunk: Buffer | undefined): Promise<void> => {
    try {
      await feed(decoder as Transform, chunk);
      if (tooLarge !== undefined) throw tooLarge;
    } catch (error) {
      if (tooLarge !== undefined) throw tooLarge;
      if (error instanceof ConnectorError) throw error;
      throw new UnexpectedResponseError(`${provider} answered a ${coding} body that does not decode`, {
        cause: error,
        details: { provider, encoding: coding },
      });
    }
  };
  try {
    for await (const chunk of source) {
      if (chunk.length === 0) continue;
      if (decoder === undefined) {
        const created = decoderFor(coding, chunk);
        decoder = created;
        // A failure is read by `feed`; this one only keeps a late error from going unhandled.
        created.on('error', () => {});
        created.on('data', (piece: Buffer) => {
          size += piece.length;
          if (tooLarge !== undefined) return;
          if (size > maxResponseBytes) {
            tooLarge = tooLargeError(provider, maxResponseBytes);
            created.destroy();
          } else out.push(piece);
        });
      }
      await step(chunk);
      yield* out.splice(0);
    }
    if (decoder !== undefined) {
      await step(undefined);
      yield* out.splice(0);
    }
  } finally {
    decoder?.destroy();
  }
}

/** Every chunk of `chunks`, concatenated. */
async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return Buffer.concat(all);
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
