import { envInteger, envList } from '@circle-core/core';
import * as z from 'zod';
import { oidcApi } from './client.ts';

/**
 * The OIDC connector's settings. Keys are the environment variable names; the client secret is named,
 * never held (its value lives in Secrets Manager).
 */
export const OidcConfig = z.object({
  /** OIDC_API_URL: the issuer URL (its discovery document is below it); _TIMEOUT_MS, _MAX_ATTEMPTS, ... */
  ...oidcApi.settings,
  OIDC_AUDIENCE: envList([]).describe(
    'Audiences a token must name (any one of them, comma-separated); empty = the audience is not checked',
  ),
  OIDC_ALGORITHMS: envList(['RS256', 'ES256'], { nonEmpty: true }).describe(
    'Signature algorithms accepted (pinned: a token signed otherwise, "none" or HS256 included, is invalid)',
  ),
  OIDC_CLOCK_SKEW_SECONDS: envInteger(60, { min: 0, max: 300 }).describe(
    'Tolerance for exp and nbf against this clock, in seconds',
  ),
  OIDC_JWKS_MAX_AGE_SECONDS: envInteger(600, { min: 0, max: 86_400 }).describe(
    'How long the published keys are cached; an unknown kid fetches them again at most every 30 s',
  ),
  OIDC_CLIENT_SECRET: z
    .string()
    .min(1)
    .default('circle-core/oidc/client')
    .describe('Name or ARN of the secret holding {"clientId","clientSecret"} for token introspection'),
  OIDC_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
});

/** The parsed settings. */
export type OidcSettings = z.output<typeof OidcConfig>;
