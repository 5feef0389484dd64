/**
 * OAuth 2.0 client credentials grant (RFC 6749 §4.4) on the core's token cache: one token per auth
 * instance, cached until shortly before it expires, one token request at a time per container, renewed
 * with a re-read client secret after a provider 401/403. The token endpoint transport, its error mapping
 * and the answer parsing are shared with the refresh-token grant.
 */
import type { IncomingHttpHeaders } from 'node:http';
import sjson from 'secure-json-parse';
import * as z from 'zod';
import { callBudget } from '../budget.ts';
import type { TokenShare } from '../coordination/tokens.ts';
import {
  AuthError,
  ConfigurationError,
  type ConnectorError,
  ForbiddenError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
} from '../errors.ts';
import { http, https } from '../http/node-http.ts';
import { parseOptions } from '../schema-parse.ts';
import type { Secret } from '../secrets.ts';
import { type CachedTokenAuth, cachedTokenAuth, type IssuedToken } from './cached-token.ts';

/** The JSON shape of a client-credentials secret. */
// Built on first parse (z.lazy): a function that never reads this secret skips building it at cold start.
export const ClientCredentials = z.lazy(() =>
  z.object({
    clientId: z.string().min(1).describe('The OAuth client id'),
    clientSecret: z.string().min(1).describe('The OAuth client secret'),
  }),
);
export type ClientCredentials = z.infer<typeof ClientCredentials>;

/** One form POST to the token endpoint, as the injectable transport sees it. */
export interface TokenRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** The token endpoint's answer, as the injectable transport returns it. */
export interface TokenResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends a token request; may be replaced (tests, or a later wiring to the core HTTP client). */
export type TokenPost = (request: TokenRequest) => Promise<TokenResponse>;

export interface OAuth2ClientCredentialsOptions {
  tokenUrl: string;
  /** A secret holding `{ "clientId": "...", "clientSecret": "..." }`, or the pair itself. */
  credentials: Secret | ClientCredentials;
  scope?: string;
  /** Sent as `audience` (Auth0, Okta and others use it to pick the API the token is for). */
  audience?: string;
  /** Renew a cached token when fewer than this many milliseconds remain. Default 60 000. */
  refreshAheadMs?: number;
  /**
   * How the client authenticates to the token endpoint: HTTP Basic (RFC 6749 §2.3.1, the default, which
   * every server must support) or `client_id`/`client_secret` in the form body for servers that require it.
   */
  clientAuthentication?: 'basic' | 'body';
  /** Upper bound of one token request, further capped by the invocation's remaining time. Default 10 000. */
  timeoutMs?: number;
  /** Replaces the built-in `node:http(s)` transport. */
  post?: TokenPost;
  /** Shares the token with the connector's other containers (see {@link cachedTokenAuth}). */
  share?: TokenShare;
}

// The token endpoint's answers, built on first parse (z.lazy): not at the cold start of every function.
const TokenAnswer = z.lazy(() =>
  z.object({
    access_token: z.string().min(1),
    token_type: z.string().min(1),
    // RFC 6749 makes it a number; some servers send a numeric string.
    expires_in: z.union([z.number().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
    // A rotating refresh token (RFC 6749 §6): the refresh-token grant stores it back.
    refresh_token: z.string().min(1).optional(),
  }),
);
export type TokenAnswer = z.output<typeof TokenAnswer>;

const ErrorAnswer = z.lazy(() =>
  z.object({
    error: z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/),
    error_description: z.string().optional(),
  }),
);

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_DESCRIPTION_CHARS = 200;

/** `application/x-www-form-urlencoded` encoding of one value, as RFC 6749 §2.3.1 asks for the Basic pair. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * The `Basic` header value for client authentication at a token endpoint (RFC 6749 §2.3.1: id and secret
 * form-encoded first).
 *
 * @example
 * ```ts
 * headers['authorization'] = clientBasic({ clientId: 'id', clientSecret: 's' });
 * ```
 */
export function clientBasic(client: ClientCredentials): string {
  const pair = `${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Checks a token endpoint URL: valid, and https (plain http only on loopback, for a local stand-in),
 * since client secrets and refresh tokens travel in its requests.
 *
 * @example
 * ```ts
 * const url = parseTokenUrl('https://login.example.com/oauth/token', 'oauth2RefreshToken');
 * ```
 */
export function parseTokenUrl(tokenUrl: string, owner = 'oauth2ClientCredentials'): URL {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new ConfigurationError(`${owner} tokenUrl is not a valid URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new ConfigurationError(
      `${owner} tokenUrl must use https (plain http only on loopback), got ${url.protocol}//${url.host}`,
    );
  }
  return url;
}

/**
 * The built-in transport: one POST with `node:http(s)` (the global agents keep connections alive), a
 * timeout on the whole exchange and a cap on the answer's size.
 */
export const nodePost: TokenPost = ({ url, headers, body, timeoutMs }) =>
  new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? https.request : http.request;
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    let settled = false;
    const fail = (error: Error): void => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      if (error instanceof TimeoutError || error instanceof UnexpectedResponseError) reject(error);
      else {
        const code = (error as NodeJS.ErrnoException).code ?? error.name;
        reject(new UnavailableError(`token request to ${url.host} failed (${code})`, { cause: error }));
      }
    };
    const timer = setTimeout(() => {
      fail(new TimeoutError(`token request to ${url.host} timed out after ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        else {
          fail(new UnexpectedResponseError(`token endpoint answer exceeds ${MAX_RESPONSE_BYTES} bytes`));
          req.destroy();
        }
      });
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.end(body);
  });

function parseJson(body: string): unknown {
  try {
    return sjson.parse(body);
  } catch {
    return undefined;
  }
}

function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Maps a token endpoint answer that carries no token to the taxonomy, keeping credentials out of it:
 * `redact` (the client secret, a refresh token) never reaches the message.
 *
 * @example
 * ```ts
 * if (response.status >= 300) throw tokenError(response, url.host, [client.clientSecret]);
 * ```
 */
export function tokenError(response: TokenResponse, host: string, redact: readonly string[]): ConnectorError {
  const { status } = response;
  if (status === 429) {
    return new RateLimitedError(`token endpoint ${host} is rate limiting`, {
      retryAfterMs: retryAfterMs(response.headers['retry-after'], Date.now()),
    });
  }
  if (status >= 500) return new UnavailableError(`token endpoint ${host} answered ${status}`);
  const answer = ErrorAnswer.safeParse(parseJson(response.body));
  if ((status === 400 || status === 401 || status === 403) && answer.success) {
    const { error, error_description: description } = answer.data;
    let message = `token endpoint ${host} rejected the request (${error})`;
    if (description !== undefined) {
      let clean = description;
      for (const value of redact) if (value !== '') clean = clean.replaceAll(value, '[redacted]');
      clean = clean
        // biome-ignore lint/suspicious/noControlCharactersInRegex: log lines must stay one line.
        .replace(/[\u0000-\u001f\u007f]+/g, ' ')
        .slice(0, MAX_DESCRIPTION_CHARS);
      message += `: ${clean}`;
    }
    const options = { details: { oauthError: error, status } };
    return status === 403 ? new ForbiddenError(message, options) : new AuthError(message, options);
  }
  if (status === 401) return new AuthError(`token endpoint ${host} answered 401`, { details: { status } });
  if (status === 403)
    return new ForbiddenError(`token endpoint ${host} answered 403`, { details: { status } });
  return new UnexpectedResponseError(`token endpoint ${host} answered ${status}`, { details: { status } });
}

/**
 * Posts one form to a token endpoint within the time left ({@link callBudget}) and returns the parsed
 * bearer token answer; any other answer maps through {@link tokenError}.
 *
 * @example
 * ```ts
 * const answer = await postTokenForm({ url, form, headers, timeoutMs: 10_000, post: nodePost, redact: [secret] });
 * ```
 */
export async function postTokenForm(request: {
  url: URL;
  form: URLSearchParams;
  headers: Record<string, string>;
  timeoutMs: number;
  post: TokenPost;
  redact: readonly string[];
}): Promise<TokenAnswer> {
  const { url } = request;
  const budgetMs = callBudget(request.timeoutMs, `A token request to ${url.host}`);
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    ...request.headers,
  };
  const response = await request.post({ url, headers, body: request.form.toString(), timeoutMs: budgetMs });
  if (response.status < 200 || response.status >= 300) throw tokenError(response, url.host, request.redact);
  const answer = TokenAnswer.safeParse(parseJson(response.body));
  if (!answer.success) {
    const fields = [...new Set(answer.error.issues.map((issue) => issue.path.join('.') || '(body)'))];
    throw new UnexpectedResponseError(
      `token endpoint ${url.host} answered without a usable token (${fields.join(', ')})`,
    );
  }
  if (answer.data.token_type.toLowerCase() !== 'bearer') {
    throw new UnexpectedResponseError(
      `token endpoint ${url.host} issued an unsupported token_type ${JSON.stringify(answer.data.token_type.slice(0, 32))}`,
    );
  }
  return answer.data;
}

/**
 * The token an answer issued, for the cache: its life counts from the request (RFC 6749 §5.1 leaves
 * `expires_in` optional; the cache then assumes a short life).
 *
 * @example
 * ```ts
 * return issuedFrom(await postTokenForm(request));
 * ```
 */
export function issuedFrom(answer: TokenAnswer): IssuedToken {
  return {
    value: answer.access_token,
    expiresInMs: answer.expires_in === undefined ? undefined : answer.expires_in * 1000,
  };
}

/**
 * OAuth 2.0 client credentials: fetches a bearer token from `tokenUrl`, caches it per auth instance and
 * renews it `refreshAheadMs` before it expires (or halfway through a shorter life). Concurrent callers
 * share one token request ({@link cachedTokenAuth}). After a provider 401/403, `refresh()` drops the token
 * and re-reads a secret source (the client secret may have rotated), so the retry gets a new token.
 *
 * @example
 * ```ts
 * const auth = oauth2ClientCredentials({
 *   tokenUrl: 'https://login.example.com/oauth/token',
 *   credentials: defineSecret(config.CLIENT_CREDENTIALS_SECRET),
 *   scope: 'read:orders',
 * });
 * await auth.apply({ url, headers }); // headers['authorization'] = 'Bearer ...'
 * ```
 */
export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): CachedTokenAuth {
  const url = parseTokenUrl(options.tokenUrl);
  const { credentials, scope, audience, refreshAheadMs = 60_000, clientAuthentication = 'basic' } = options;
  const { timeoutMs = 10_000, post = nodePost } = options;
  let literal: ClientCredentials | undefined;
  if (!('text' in credentials)) {
    const result = ClientCredentials.safeParse(credentials, parseOptions());
    if (!result.success) {
      const fields = result.error.issues.map((issue) => issue.path.join('.')).join(', ');
      throw new ConfigurationError(`oauth2ClientCredentials credentials are invalid: ${fields}`);
    }
    literal = result.data;
  }
  const secret = literal === undefined ? (credentials as Secret) : undefined;

  async function exchange(): Promise<IssuedToken> {
    const client = literal ?? (await (credentials as Secret).json(ClientCredentials));
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) form.set('scope', scope);
    if (audience !== undefined) form.set('audience', audience);
    const headers: Record<string, string> = {};
    if (clientAuthentication === 'basic') headers['authorization'] = clientBasic(client);
    else {
      form.set('client_id', client.clientId);
      form.set('client_secret', client.clientSecret);
    }
    const redact = [client.clientSecret];
    return issuedFrom(await postTokenForm({ url, form, headers, timeoutMs, post, redact }));
  }

  return cachedTokenAuth({
    exchange,
    refreshAheadMs,
    ...(options.share === undefined ? {} : { share: options.share }),
    ...(secret === undefined ? {} : { onRefresh: () => secret.refresh() }),
  });
}
