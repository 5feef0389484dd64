import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { fhirApi } from './client.ts';

/**
 * The FHIR connector's settings. Keys are the environment variable names; the secret is named, never
 * held (its value lives in Secrets Manager).
 */
export const FhirConfig = z.object({
  /** FHIR_API_URL (the server's base URL), FHIR_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS. */
  ...fhirApi.settings,
  FHIR_AUTH: z
    .enum(['bearer', 'smart-backend'])
    .default('bearer')
    .describe(
      'bearer: the secret is a token; smart-backend: SMART Backend Services (client_credentials with a signed JWT assertion)',
    ),
  FHIR_CREDENTIALS_SECRET: z
    .string()
    .min(1)
    .default('circle-core/fhir/credentials')
    .describe(
      'Name or ARN of the secret: the bearer token as plain text, or with smart-backend { clientId, privateKey, keyId, algorithm }',
    ),
  FHIR_TOKEN_URL: z
    .preprocess((value) => (value === '' ? undefined : value), z.url({ protocol: /^https?$/ }).optional())
    .describe(
      "smart-backend: the token endpoint (token_endpoint in the server's .well-known/smart-configuration)",
    ),
  FHIR_SCOPES: z
    .string()
    .regex(/^[\w/*.:-]+( [\w/*.:-]+)*$/)
    .default('system/*.read')
    .describe(
      'smart-backend: the scopes asked for, space-separated; writes need a write scope such as system/*.write',
    ),
  FHIR_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
});

/** The parsed settings. */
export type FhirSettings = z.output<typeof FhirConfig>;
