import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { stripeApi } from './client.ts';

/**
 * The Stripe connector's settings. Keys are the environment variable names; secrets are named, never held
 * (their values live in Secrets Manager).
 */
export const StripeConfig = z.object({
  /** STRIPE_API_URL, STRIPE_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS, _RATE_LIMIT. */
  ...stripeApi.settings,
  STRIPE_TOKEN_SECRET: z
    .string()
    .min(1)
    .default('circle-core/stripe/api-key')
    .describe(
      'Name or ARN of the secret holding the API key (a restricted key rk_..., README: Auth) as plain text',
    ),
  STRIPE_WEBHOOK_SECRET_SECRET: z
    .string()
    .min(1)
    .default('circle-core/stripe/webhook-secret')
    .describe("Name or ARN of the secret holding the webhook endpoint's signing secret (whsec_...)"),
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: envInteger(300, { min: 1, max: 3600 }).describe(
    'A Stripe-Signature whose timestamp is further than this from now is refused (replay window)',
  ),
  STRIPE_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  /** STRIPE_STATE_TABLE (event ids), STRIPE_EVENTS_QUEUE_URL / _STATE_MACHINE_ARN, _DELIVERY_TTL_DAYS. */
  ...eventSettings('STRIPE', { ttlDays: 4 }),
});

/** The parsed settings. */
export type StripeSettings = z.output<typeof StripeConfig>;
