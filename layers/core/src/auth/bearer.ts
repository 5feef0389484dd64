import { type CredentialSource, type RequestAuth, readCredential, refreshCredential } from './types.ts';

export interface BearerAuthOptions {
  /** A secret, a literal, or a function that returns the current token (e.g. from another auth flow). */
  token: CredentialSource | (() => Promise<string>);
}

/**
 * A bearer token in the `authorization` header (RFC 6750). `refresh()` fetches a secret source again; a
 * literal or a function source reports that a retry would not help, since nothing here can renew it.
 *
 * @example
 * ```ts
 * const auth = bearerAuth({ token: defineSecret(config.SLACK_BOT_TOKEN_SECRET) });
 * ```
 */
export function bearerAuth(options: BearerAuthOptions): RequestAuth {
  const { token } = options;
  if (typeof token === 'function') {
    return {
      async apply(request) {
        request.headers['authorization'] =
          `Bearer ${await readCredential(await token(), 'the bearer token')}`;
      },
      refresh: async () => false,
    };
  }
  return {
    async apply(request) {
      request.headers['authorization'] = `Bearer ${await readCredential(token, 'the bearer token')}`;
    },
    refresh: () => refreshCredential(token),
  };
}
