/**
 * Google service account credentials: the key file (JSON, from Secrets Manager) read once per exchange,
 * its OAuth2 JWT bearer grant through the core (`oauth2JwtBearer`, token from the key file's `token_uri`
 * unless `GCS_TOKEN_URL` overrides it), and the same key signing V4 URLs (`signing.ts`).
 */
import { type CachedTokenAuth, oauth2JwtBearer, type Secret } from '@circle-core/core';
import * as z from 'zod';

/** The scope of reads and writes on objects (no bucket administration, no ACL changes). */
export const GCS_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';

/** Google's token endpoint, the default of a key file without `token_uri`. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** The fields of a service account key file this connector uses (Google adds others). */
export const ServiceAccountKey = z.looseObject({
  type: z.literal('service_account').optional(),
  client_email: z.string().email(),
  private_key: z.string().min(1),
  private_key_id: z.string().min(1).optional(),
  token_uri: z.url({ protocol: /^https?$/ }).default(GOOGLE_TOKEN_URL),
});
export type ServiceAccountKey = z.output<typeof ServiceAccountKey>;

/**
 * Bearer tokens for the JSON API from the service account's JWT bearer grant, cached until five minutes
 * before expiry; after a 401 the secret is read again (a rotated key) and a new token fetched.
 *
 * @example
 * ```ts
 * const auth = serviceAccountAuth(defineSecret('prod/gcs/service-account'));
 * ```
 */
export function serviceAccountAuth(secret: Secret, tokenUrl?: string): CachedTokenAuth {
  return oauth2JwtBearer({
    key: async () => {
      const key = await secret.json(ServiceAccountKey);
      return {
        tokenUrl: tokenUrl ?? key.token_uri,
        // Google checks `aud` against its token endpoint: the key file's, whatever URL it is posted to.
        audience: key.token_uri,
        privateKey: key.private_key,
        issuer: key.client_email,
        scope: GCS_SCOPE,
        keyId: key.private_key_id,
        source: `secret ${secret.name}`,
      };
    },
    onRefresh: () => secret.refresh(),
  });
}
