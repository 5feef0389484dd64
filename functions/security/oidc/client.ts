/**
 * An OpenID Connect issuer as data for the core's REST kit, and what the operations ask of it: the only
 * file that talks to the issuer. Tokens are verified here with `jose` against the issuer's published keys
 * (fetched through the core's HTTP client, so timeouts, retries and the circuit breaker are the core's);
 * opaque tokens are introspected (RFC 7662) with the client's credentials.
 */
import {
  AuthError,
  ClientCredentials,
  ConfigurationError,
  ConnectorError,
  defineRestProvider,
  type HttpResponse,
  NotSupportedError,
  type RestClient,
  type Secret,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import type { CryptoKey, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import type * as z from 'zod';
import { OIDC_ERRORS } from './errors.ts';
import {
  type DescribeIssuerOutput,
  DiscoveryAnswer,
  type GetUserinfoOutput,
  IntrospectionAnswer,
  type IntrospectTokenInput,
  type IntrospectTokenOutput,
  type InvalidReason,
  JwksAnswer,
  UserinfoAnswer,
  type VerifyTokenInput,
  type VerifyTokenOutput,
} from './models.ts';

/** The issuer as data; its settings are `OIDC_API_URL` (the issuer URL), `OIDC_TIMEOUT_MS`, ... */
export const oidcApi = defineRestProvider({
  name: 'OIDC issuer',
  settingsPrefix: 'OIDC',
  // `.example` never resolves: a deployed stage fails loudly until the issuer is set.
  baseUrl: 'https://issuer.example',
  baseUrlNote: 'the issuer URL, e.g. https://login.example.com/realms/main; discovery is read below it',
  auth: { kind: 'none' },
  // RFC 6749 errors: `{ "error": "invalid_client", "error_description": "..." }`.
  errors: { codeIn: 'body', codeField: 'error', rows: OIDC_ERRORS },
});

/** An unknown `kid` fetches the keys again at most this often (a flood of forged kids costs one fetch). */
export const JWKS_REFETCH_COOLDOWN_MS = 30_000;

export interface OidcSettings {
  issuer: string;
  audiences: string[];
  algorithms: string[];
  clockSkewSeconds: number;
  jwksMaxAgeMs: number;
}

interface Keys {
  resolve: JWTVerifyGetKey;
  keys: JwksAnswer['keys'];
  fetchedAt: number;
}

/** What jose's error codes mean for a caller. */
function reasonOf(error: { code?: string; claim?: string; reason?: string }): InvalidReason | undefined {
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm-not-allowed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': // several fit and none could be imported
      return 'unknown-key';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad-signature';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'malformed';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (error.reason === 'missing') return 'missing-claim';
      if (error.claim === 'nbf') return 'not-yet-valid';
      if (error.claim === 'iss') return 'wrong-issuer';
      if (error.claim === 'aud') return 'wrong-audience';
      return 'malformed';
    default:
      return undefined;
  }
}

function scopesOf(claims: JWTPayload): string[] {
  const scope = claims['scope'];
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  const scp = claims['scp'];
  // Okta issues `scp` as an array; Microsoft Entra ID as a space-separated string, like `scope`.
  if (typeof scp === 'string') return scp.split(' ').filter(Boolean);
  return Array.isArray(scp) ? scp.filter((item): item is string => typeof item === 'string') : [];
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * The issuer's calls on parsed input.
 *
 * @example
 * ```ts
 * const issuer = new OidcIssuer(oidcApi.client({ baseUrl }), settings, defineSecret('circle-core/oidc/client'));
 * const { valid, reason } = await issuer.verify({ token });
 * ```
 */
export class OidcIssuer {
  readonly #rest: RestClient;
  readonly #settings: OidcSettings;
  readonly #client: Secret;
  readonly #now: () => number;
  #discovery: Promise<DiscoveryAnswer> | undefined;
  /**
   * The last key set fetched, shared by every invocation of the container (concurrent ones too, under
   * Lambda Managed Instances); only a successful fetch replaces it.
   */
  #keys: Keys | undefined;
  /** The one key fetch in flight: concurrent misses and refreshes wait for it instead of fetching again. */
  #fetching: Promise<Keys> | undefined;

  constructor(rest: RestClient, settings: OidcSettings, client: Secret, now: () => number = Date.now) {
    this.#rest = rest;
    this.#settings = { ...settings, issuer: trimSlash(settings.issuer) };
    this.#client = client;
    this.#now = now;
  }

  /** Verifies a JWT: signature by a published key, pinned algorithms, issuer, audience, time, scopes. */
  async verify(input: VerifyTokenInput): Promise<VerifyTokenOutput> {
    const { audiences, algorithms, clockSkewSeconds } = this.#settings;
    // `iss` must equal the issuer identifier exactly (OIDC Core 3.1.3.7): the one discovery states, which
    // matches OIDC_API_URL up to a trailing "/" (Auth0's identifiers end in one; the setting may not).
    const { issuer } = await this.#discover();
    let keyId: string | undefined;
    const resolve: JWTVerifyGetKey = async (header, token) => {
      keyId = header.kid;
      return this.#resolveKey(header, token);
    };
    const options = {
      issuer,
      ...(audiences.length === 0 ? {} : { audience: audiences }),
      algorithms,
      clockTolerance: clockSkewSeconds,
      requiredClaims: ['exp'],
      currentDate: new Date(this.#now()),
    };
    let claims: JWTPayload;
    try {
      claims = await this.#jwtVerify(input.token, resolve, options);
    } catch (error) {
      const reason = reasonOf(error as { code?: string });
      if (reason === undefined) throw error;
      // jose's messages name the check, never the token.
      return { valid: false, reason, detail: (error as Error).message.slice(0, 200) };
    }
    const scopes = scopesOf(claims);
    const missing = (input.requiredScopes ?? []).filter((scope) => !scopes.includes(scope));
    // jose has checked both: iss against the pinned issuer, exp as a required claim.
    const { iss, exp } = claims as JWTPayload & { iss: string; exp: number };
    const described = {
      ...(claims.sub === undefined ? {} : { subject: claims.sub }),
      issuer: iss,
      ...(claims.aud === undefined ? {} : { audience: [claims.aud].flat() }),
      expiresAt: iso(exp),
      scopes,
      ...(keyId === undefined ? {} : { keyId }),
    };
    if (missing.length > 0) {
      return {
        valid: false,
        reason: 'missing-scope',
        detail: `missing scope(s): ${missing.join(', ')}`,
        ...described,
      };
    }
    return { valid: true, ...described, claims: { ...claims } };
  }

  /** RFC 7662 introspection with the client's credentials (client_secret_basic). */
  async introspect(input: IntrospectTokenInput): Promise<IntrospectTokenOutput> {
    const endpoint = (await this.#discover()).introspection_endpoint;
    if (endpoint === undefined) {
      throw new NotSupportedError('The issuer publishes no introspection_endpoint; verify-token checks JWTs');
    }
    const form = new URLSearchParams({ token: input.token });
    if (input.tokenTypeHint !== undefined) form.set('token_type_hint', input.tokenTypeHint);
    const ask = async () => {
      const credentials = await this.#client.json(ClientCredentials);
      const basic = Buffer.from(
        `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
      ).toString('base64');
      return this.#call('POST', endpoint, IntrospectionAnswer, 'an introspection answer', {
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      });
    };
    let answer: z.output<typeof IntrospectionAnswer>;
    try {
      answer = await ask();
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      // The client secret may have rotated: read it again once, then the refusal stands.
      await this.#client.refresh();
      answer = await ask();
    }
    if (!answer.active) return { active: false };
    return {
      active: true,
      ...(answer.scope === undefined ? {} : { scopes: answer.scope.split(' ').filter(Boolean) }),
      ...(answer.client_id === undefined ? {} : { clientId: answer.client_id }),
      ...(answer.sub === undefined ? {} : { subject: answer.sub }),
      ...(answer.exp === undefined ? {} : { expiresAt: iso(answer.exp) }),
      ...(answer.token_type === undefined ? {} : { tokenType: answer.token_type }),
    };
  }

  /** The userinfo endpoint with the user's access token. */
  async userinfo(accessToken: string): Promise<GetUserinfoOutput> {
    const endpoint = (await this.#discover()).userinfo_endpoint;
    if (endpoint === undefined) throw new NotSupportedError('The issuer publishes no userinfo_endpoint');
    let response: HttpResponse;
    try {
      response = await this.#send('GET', endpoint, 'a userinfo answer', {
        headers: { authorization: `Bearer ${accessToken}` },
      });
    } catch (error) {
      // The caller's token, not this connector's credential, was refused.
      if (error instanceof AuthError) {
        throw new ValidationError(
          'The issuer refused the access token (invalid_token): it is expired, revoked or not its own',
        );
      }
      throw error;
    }
    // OIDC Core 5.3.2: a signed (or encrypted) answer is a JWT with Content-Type application/jwt.
    const signed = /^application\/jwt\s*(;|$)/i.test(response.headers['content-type'] ?? '');
    const body = signed ? await this.#signedUserinfo(String(response.body ?? '')) : response.body;
    const claims = UserinfoAnswer.safeParse(body);
    if (!claims.success) {
      throw new UnexpectedResponseError('The issuer answered a userinfo answer in an unexpected shape', {
        details: { provider: 'OIDC issuer', httpStatus: response.status },
      });
    }
    return { subject: claims.data.sub, claims: { ...claims.data } };
  }

  /**
   * The claims of a signed userinfo answer (OIDC Core 5.3.2): signed by a key the issuer publishes with a
   * pinned algorithm, and its `iss` and `aud`, when present, the issuer and this connector's client.
   * An answer that fails is a 502 naming the check (never the answer).
   */
  async #signedUserinfo(jwt: string): Promise<JWTPayload> {
    const refuse = (reason: string, detail: string) =>
      new UnexpectedResponseError(
        `The issuer's signed userinfo answer failed verification (${reason}): ${detail.slice(0, 200)}`,
        { details: { provider: 'OIDC issuer' } },
      );
    if (jwt.split('.').length === 5) {
      throw refuse('malformed', 'it is encrypted (JWE), which this connector does not decrypt');
    }
    const { issuer } = await this.#discover();
    let claims: JWTPayload;
    try {
      // No exp is required: a userinfo answer is fresh from the issuer; one it has is still checked.
      claims = await this.#jwtVerify(jwt, (...args) => this.#resolveKey(...args), {
        algorithms: this.#settings.algorithms,
        clockTolerance: this.#settings.clockSkewSeconds,
        currentDate: new Date(this.#now()),
      });
    } catch (error) {
      if (error instanceof ConnectorError) throw error; // the keys could not be fetched
      throw refuse(reasonOf(error as { code?: string }) ?? 'malformed', (error as Error).message);
    }
    // 5.3.2: "The iss value SHOULD be the OP's Issuer Identifier URL" (compared exactly, as for tokens).
    if (claims.iss !== undefined && claims.iss !== issuer) {
      throw refuse('wrong-issuer', `iss is not the issuer ${issuer}`);
    }
    // 5.3.2: "The aud value SHOULD be or include the RP's Client ID value": the client in OIDC_CLIENT_SECRET.
    if (claims.aud !== undefined) {
      const { clientId } = await this.#client.json(ClientCredentials);
      if (![claims.aud].flat().includes(clientId)) {
        throw refuse('wrong-audience', 'aud does not name the client id stored in OIDC_CLIENT_SECRET');
      }
    }
    return claims;
  }

  /**
   * jose's verification; without a kid and with several published keys that fit (a rotation window), the
   * first whose signature holds decides, as jose's error offers them; none holding is a bad signature.
   */
  async #jwtVerify(token: string, key: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(token, key, options).catch(async (error) => {
      if ((error as { code?: string }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
      let failure: unknown = error;
      for await (const candidate of error as AsyncIterable<CryptoKey>) {
        try {
          return await jwtVerify(token, candidate, options);
        } catch (attempt) {
          failure = attempt;
          if ((attempt as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw attempt;
        }
      }
      throw failure;
    });
    return payload;
  }

  /** The issuer's metadata and published keys (no key material). */
  async describe(): Promise<DescribeIssuerOutput> {
    const discovery = await this.#discover();
    const { keys } = await this.#loadKeys(false);
    return {
      issuer: discovery.issuer,
      jwksUri: discovery.jwks_uri,
      keys: keys.map((key) => ({
        kty: key.kty,
        ...(typeof key.kid === 'string' ? { kid: key.kid } : {}),
        ...(typeof key['alg'] === 'string' ? { alg: key['alg'] } : {}),
        ...(typeof key['use'] === 'string' ? { use: key['use'] } : {}),
      })),
      allowedAlgorithms: this.#settings.algorithms,
      introspection: discovery.introspection_endpoint !== undefined,
      userinfo: discovery.userinfo_endpoint !== undefined,
    };
  }

  /** Discovery and keys: proves the issuer URL and that keys are published. */
  async ping(): Promise<void> {
    await this.#loadKeys(false);
  }

  close(): void {
    this.#rest.close();
  }

  async #resolveKey(...args: Parameters<JWTVerifyGetKey>) {
    const cached = await this.#loadKeys(false);
    try {
      return await cached.resolve(...args);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      // A key rotated in since the last fetch: join the fetch in flight, try a set another invocation
      // fetched since, or fetch again, at most once per cooldown (a flood of forged kids costs one fetch).
      const latest = this.#keys ?? cached;
      if (this.#fetching === undefined && this.#now() - latest.fetchedAt < JWKS_REFETCH_COOLDOWN_MS) {
        if (latest === cached) throw error;
        return latest.resolve(...args);
      }
      return (await this.#loadKeys(true)).resolve(...args);
    }
  }

  /**
   * The key set: the cached one while younger than `jwksMaxAgeMs` (unless `force`), else the one fetch in
   * flight, started here when there is none. A failed fetch is not kept and does not touch the cached set,
   * which other invocations go on reading; the next caller that needs a fetch tries again.
   */
  #loadKeys(force: boolean): Promise<Keys> {
    const keys = this.#keys;
    if (!force && keys !== undefined && this.#now() - keys.fetchedAt < this.#settings.jwksMaxAgeMs) {
      return Promise.resolve(keys);
    }
    if (this.#fetching === undefined) {
      const fetching = this.#fetchKeys().then((fetched) => {
        this.#keys = fetched;
        return fetched;
      });
      this.#fetching = fetching;
      const done = () => {
        if (this.#fetching === fetching) this.#fetching = undefined;
      };
      fetching.then(done, done);
    }
    return this.#fetching;
  }

  async #fetchKeys(): Promise<Keys> {
    const { jwks_uri } = await this.#discover();
    const { createLocalJWKSet } = await import('jose');
    const answer = await this.#call('GET', jwks_uri, JwksAnswer, 'a JWK set');
    try {
      return {
        resolve: createLocalJWKSet(answer as Parameters<typeof createLocalJWKSet>[0]),
        keys: answer.keys,
        fetchedAt: this.#now(),
      };
    } catch (error) {
      throw new UnexpectedResponseError('The issuer published a JWK set jose cannot read', {
        details: { provider: 'OIDC issuer' },
        cause: error,
      });
    }
  }

  #discover(): Promise<DiscoveryAnswer> {
    this.#discovery ??= this.#call(
      'GET',
      `${this.#settings.issuer}/.well-known/openid-configuration`,
      DiscoveryAnswer,
      'its discovery document',
    ).then((discovery) => {
      // OIDC Discovery section 4.3: the document's issuer must be the one asked about.
      if (trimSlash(discovery.issuer) !== this.#settings.issuer) {
        throw new ConfigurationError(
          `The discovery document names issuer ${discovery.issuer.slice(0, 200)}, not OIDC_API_URL ${this.#settings.issuer}`,
        );
      }
      return discovery;
    });
    this.#discovery.catch(() => {
      this.#discovery = undefined;
    });
    return this.#discovery;
  }

  /**
   * One call to an absolute URL the issuer published. Its own origin is trusted as config; another
   * origin must be https and goes through the SSRF guard (a hostile discovery document cannot aim the
   * connector at internal addresses).
   */
  async #call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    url: string,
    schema: S,
    what: string,
    options: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<z.output<S>> {
    const response = await this.#send(method, url, what, options);
    const parsed = schema.safeParse(response.body);
    if (!parsed.success) {
      throw new UnexpectedResponseError(`The issuer answered ${what} in an unexpected shape`, {
        details: { provider: 'OIDC issuer', httpStatus: response.status },
      });
    }
    return parsed.data;
  }

  /** One call as {@link OidcIssuer.#call} makes it, answered as received. */
  async #send(
    method: 'GET' | 'POST',
    url: string,
    what: string,
    options: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<HttpResponse> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new UnexpectedResponseError(`The issuer published an endpoint that is not a URL for ${what}`);
    }
    const own = target.origin === new URL(this.#settings.issuer).origin;
    if (!own && target.protocol !== 'https:') {
      throw new UnexpectedResponseError(
        `The issuer published a non-https endpoint on another host for ${what}`,
      );
    }
    return this.#rest.http.request({
      method,
      url: target.href,
      untrustedUrl: !own,
      // Every call here is a read (introspection included): retried like a GET after a 429 or a 5xx.
      readOnly: true,
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  }
}
