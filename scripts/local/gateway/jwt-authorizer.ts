/**
 * API Gateway HTTP API JWT authorizers, locally: a route whose `authorizer` names a JWT authorizer of
 * `provider.httpApi.authorizers` gets the token checked the way API Gateway documents it
 * (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
 *
 * 1. the token is taken from the identity source (`$request.header.Authorization` by default), with or
 *    without a `Bearer ` prefix;
 * 2. its signature must verify with a key of the issuer's JWKS (`jwks_uri` of
 *    `<issuerUrl>/.well-known/openid-configuration`; RSA and EC algorithms), picked by `kid`;
 * 3. `iss` must equal issuerUrl; `aud` (or `client_id` when there is no `aud`) must be one of the
 *    audience entries; `exp` in the future, `nbf` and `iat` in the past;
 * 4. when the route has scopes, the `scope` (space-separated) or `scp` claim must hold at least one.
 *
 * A missing or invalid token answers 401 `{"message":"Unauthorized"}`, a missing scope 403
 * `{"message":"Forbidden"}`, each with API Gateway's `www-authenticate` header; an accepted one puts
 * `requestContext.authorizer.jwt = { claims, scopes }` in the event, every claim a string as API Gateway
 * writes them (numbers and booleans as text, arrays as `[a b]`), `scopes` the token's on a route with
 * scopes and null on one without (as API Gateway does).
 *
 * The keys are jose's remote JWK set (cached, fetched again for an unknown `kid` at most every 30 s, so a
 * rotated key is picked up), one per issuer.
 */
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { JwtAuthorizerSpec } from '../config/model.ts';

/** What API Gateway accepts: RSA and EC signatures (never `none` or an HMAC secret). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** How long a discovery or JWKS fetch may take. */
const FETCH_TIMEOUT_MS = 5_000;

/** The request parts an identity source can name. */
export interface JwtRequest {
  /** Node's headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  rawQueryString: string;
}

/** `requestContext.authorizer` of an accepted request. */
export interface JwtAuthorizerContext {
  jwt: { claims: Record<string, string>; scopes: string[] | null };
}

/** The authorizer's answer: the event's authorizer context, or API Gateway's refusal. */
export type JwtDecision =
  | { allow: true; context: JwtAuthorizerContext }
  | {
      allow: false;
      status: 401 | 403;
      body: { message: 'Unauthorized' | 'Forbidden' };
      headers: Record<string, string>;
    };

function refusal(status: 401 | 403, error: string, description: string, scope = ''): JwtDecision {
  const quoted = description.replaceAll('"', "'");
  return {
    allow: false,
    status,
    body: { message: status === 401 ? 'Unauthorized' : 'Forbidden' },
    headers: {
      'www-authenticate': `Bearer scope="${scope}" error="${error}" error_description="${quoted}"`,
    },
  };
}

const invalid = (description: string): JwtDecision => refusal(401, 'invalid_token', description);

/** The token from the first identity source the request carries, without a `Bearer ` prefix. */
function tokenOf(sources: string[], request: JwtRequest): string | undefined {
  for (const source of sources) {
    let value: string | undefined;
    const header = /^\$request\.header\.(.+)$/i.exec(source)?.[1];
    const query = /^\$request\.querystring\.(.+)$/i.exec(source)?.[1];
    if (header !== undefined) {
      const raw = request.headers[header.toLowerCase()];
      value = Array.isArray(raw) ? raw.join(',') : raw;
    } else if (query !== undefined) {
      value = new URLSearchParams(request.rawQueryString).get(query) ?? undefined;
    }
    const token = value?.trim().replace(/^Bearer\s+/i, '');
    if (token !== undefined && token !== '') return token;
  }
  return undefined;
}

/** A claim as API Gateway passes it to the integration: text. */
function claimText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(claimText).join(' ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function scopesOf(claims: JWTPayload): string[] {
  const words = (value: unknown): string[] =>
    typeof value === 'string'
      ? value.split(' ').filter(Boolean)
      : Array.isArray(value)
        ? value.filter((item): item is string => typeof item === 'string')
        : [];
  const scope = words(claims['scope']);
  return scope.length > 0 ? scope : words(claims['scp']);
}

/** jose's error codes, in API Gateway's words (its `error_description`s). */
function describe(error: unknown): string | undefined {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return 'the token does not have a valid issuer';
      if (claim === 'nbf') return 'the token is not valid yet';
      if (claim === 'exp') return 'the token has no expiration';
      return `the token has an invalid ${claim ?? 'claim'}`;
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'no key of the issuer matches the token';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature is invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token is signed with an algorithm API Gateway does not accept';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'the token is not a valid JWT';
    default:
      return undefined;
  }
}

/**
 * The JWT authorizers of one gateway, with their issuers' keys.
 *
 * @example
 * ```ts
 * const authorizers = new JwtAuthorizers({ warn: (message, fields) => log.warn(message, fields) });
 * const decision = await authorizers.authorize(route.jwt, { headers: req.headers, rawQueryString });
 * ```
 */
export class JwtAuthorizers {
  readonly #keys = new Map<string, Promise<JWTVerifyGetKey>>();
  readonly #warn: (message: string, fields: Record<string, unknown>) => void;
  readonly #now: () => number;

  constructor(options: {
    warn: (message: string, fields: Record<string, unknown>) => void;
    now?: () => number;
  }) {
    this.#warn = options.warn;
    this.#now = options.now ?? Date.now;
  }

  /** Checks the request's token for a route with this authorizer and these scopes. */
  async authorize(
    route: { authorizer: JwtAuthorizerSpec; scopes: string[] },
    request: JwtRequest,
  ): Promise<JwtDecision> {
    const { authorizer, scopes } = route;
    const token = tokenOf(authorizer.identitySource, request);
    if (token === undefined) return invalid('the token is missing');
    let keys: JWTVerifyGetKey;
    try {
      keys = await this.#keysOf(authorizer.issuerUrl);
    } catch (error) {
      this.#warn('JWT authorizer: the issuer keys could not be read', {
        authorizer: authorizer.name,
        issuerUrl: authorizer.issuerUrl,
        error: (error as Error).message,
      });
      return invalid('the issuer keys could not be read');
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        issuer: authorizer.issuerUrl,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
        currentDate: new Date(this.#now()),
      }));
    } catch (error) {
      const description = describe(error);
      if (description !== undefined) return invalid(description);
      this.#warn('JWT authorizer: the issuer keys could not be read', {
        authorizer: authorizer.name,
        issuerUrl: authorizer.issuerUrl,
        error: (error as Error).message,
      });
      return invalid('the issuer keys could not be read');
    }
    if (typeof claims.iat === 'number' && claims.iat > this.#now() / 1000) {
      return invalid('the token was issued in the future');
    }
    // API Gateway reads client_id only when the token has no aud.
    const audiences =
      claims.aud !== undefined ? [claims.aud].flat() : [claims['client_id']].filter((id) => id !== undefined);
    if (!audiences.some((audience) => authorizer.audience.includes(String(audience)))) {
      return invalid('the token does not have a valid audience');
    }
    const granted = scopesOf(claims);
    if (scopes.length > 0 && !scopes.some((scope) => granted.includes(scope))) {
      return refusal(403, 'insufficient_scope', 'the token does not have a required scope', scopes.join(' '));
    }
    const text: Record<string, string> = {};
    for (const [name, value] of Object.entries(claims)) text[name] = claimText(value);
    // API Gateway passes the token's scopes only on routes that ask for scopes; elsewhere null.
    const passed = scopes.length > 0 ? granted : null;
    return { allow: true, context: { jwt: { claims: text, scopes: passed } } };
  }

  /** The issuer's keys: its discovery document's `jwks_uri`, as a jose remote JWK set (kept per issuer). */
  #keysOf(issuerUrl: string): Promise<JWTVerifyGetKey> {
    let keys = this.#keys.get(issuerUrl);
    if (keys === undefined) {
      keys = (async () => {
        const url = `${issuerUrl.replace(/\/+$/, '')}/.well-known/openid-configuration`;
        const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
        if (!response.ok) throw new Error(`${url} answered ${response.status}`);
        const discovery = (await response.json()) as { jwks_uri?: unknown };
        if (typeof discovery.jwks_uri !== 'string') throw new Error(`${url} names no jwks_uri`);
        return createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: FETCH_TIMEOUT_MS });
      })();
      this.#keys.set(issuerUrl, keys);
      // A failed discovery is not kept: the next request asks again (the issuer may start later).
      keys.catch(() => {
        if (this.#keys.get(issuerUrl) === keys) this.#keys.delete(issuerUrl);
      });
    }
    return keys;
  }
}
