import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { pagerdutyApi, pagerdutyEvents } from './client.ts';

/**
 * The PagerDuty connector's settings. Keys are the environment variable names; secrets are named, never
 * held (their values live in Secrets Manager).
 */
export const PagerDutyConfig = z.object({
  /** PAGERDUTY_API_URL (REST API v2), PAGERDUTY_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS, _RATE_LIMIT. */
  ...pagerdutyApi.settings,
  /** PAGERDUTY_EVENTS_API_URL (Events API v2) and its timeout and retry settings. */
  ...pagerdutyEvents.settings,
  PAGERDUTY_TOKEN_SECRET: z
    .string()
    .min(1)
    .default('circle-core/pagerduty/api-key')
    .describe('Name or ARN of the secret holding the REST API key, as plain text'),
  PAGERDUTY_ROUTING_KEY_SECRET: z
    .string()
    .min(1)
    .default('circle-core/pagerduty/routing-key')
    .describe('Name or ARN of the secret holding the Events API v2 integration (routing) key, as plain text'),
  PAGERDUTY_WEBHOOK_SECRET_SECRET: z
    .string()
    .min(1)
    .default('circle-core/pagerduty/webhook-secret')
    .describe(
      'Name or ARN of the secret holding the webhook subscription secret (verifies X-PagerDuty-Signature)',
    ),
  PAGERDUTY_FROM_EMAIL: z
    .email()
    .describe('The From header of incident changes: the email of a PagerDuty user the changes are made as'),
  PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS: envInteger(3600, { min: 60, max: 86_400 }).describe(
    'A webhook whose event occurred longer ago than this is refused as stale (ids are remembered longer)',
  ),
  PAGERDUTY_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  /** PAGERDUTY_STATE_TABLE (delivery ids), PAGERDUTY_EVENTS_QUEUE_URL / _STATE_MACHINE_ARN, _DELIVERY_TTL_DAYS. */
  ...eventSettings('PAGERDUTY', { ttlDays: 2 }),
});

/** The parsed settings. */
export type PagerDutySettings = z.output<typeof PagerDutyConfig>;
