import * as z from 'zod';
import { ConfigurationError } from '../errors.ts';
import { parseOptions } from '../schema-parse.ts';
import type { Secret } from '../secrets.ts';
import type { RequestAuth } from './types.ts';

/** The JSON shape of a basic-auth secret. */
// Built on first parse (z.lazy): a function that never reads this secret skips building it at cold start.
export const BasicCredentials = z.lazy(() =>
  z.object({
    username: z
      .string()
      .min(1)
      // RFC 7617: the first colon separates the user-id from the password, so a user-id cannot contain one.
      .refine((value) => !value.includes(':'), 'must not contain a colon')
      .describe('The user-id'),
    password: z.string().describe('The password'),
  }),
);
export type BasicCredentials = z.infer<typeof BasicCredentials>;

export interface BasicAuthOptions {
  /** A secret holding `{ "username": "...", "password": "..." }`, or the pair itself. */
  credentials: Secret | BasicCredentials;
}

function encode({ username, password }: BasicCredentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * HTTP Basic authentication (RFC 7617, UTF-8). A secret source is validated on first use; a bad shape
 * throws a ConfigurationError naming the field, never the value.
 *
 * @example
 * ```ts
 * const auth = basicAuth({ credentials: defineSecret(config.JIRA_CREDENTIALS_SECRET) });
 * const literal = basicAuth({ credentials: { username: 'ci', password: 'local-only' } });
 * ```
 */
export function basicAuth(options: BasicAuthOptions): RequestAuth {
  const { credentials } = options;
  if (!('text' in credentials)) {
    const result = BasicCredentials.safeParse(credentials, parseOptions());
    if (!result.success) {
      const fields = result.error.issues.map((issue) => issue.path.join('.')).join(', ');
      throw new ConfigurationError(`basicAuth credentials are invalid: ${fields}`);
    }
    const header = encode(result.data);
    return {
      async apply(request) {
        request.headers['authorization'] = header;
      },
      refresh: async () => false,
    };
  }
  return {
    async apply(request) {
      request.headers['authorization'] = encode(await credentials.json(BasicCredentials));
    },
    async refresh() {
      await credentials.refresh();
      return true;
    },
  };
}
