import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { twilioApi } from './client.ts';
import { E164 } from './models.ts';

/**
 * The Twilio connector's settings. Keys are the environment variable names; the secret is named, never
 * held (its value lives in Secrets Manager).
 */
export const TwilioConfig = z.object({
  /** TWILIO_API_URL (default https://api.twilio.com), TWILIO_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS. */
  ...twilioApi.settings,
  TWILIO_CREDENTIALS_SECRET: z
    .string()
    .min(1)
    .default('circle-core/twilio/credentials')
    .describe(
      'Name or ARN of the secret holding JSON { accountSid, authToken } (optionally apiKeySid + apiKeySecret for the REST calls; the auth token also verifies webhooks)',
    ),
  TWILIO_FROM_NUMBER: z
    .string()
    .regex(E164)
    .optional()
    .describe(
      'Default sender (E.164 Twilio number) of messages that name neither from nor messagingServiceSid',
    ),
  TWILIO_MESSAGING_SERVICE_SID: z
    .string()
    .regex(/^MG[0-9a-f]{32}$/)
    .optional()
    .describe('Default Messaging Service (MG...) when TWILIO_FROM_NUMBER is not set'),
  TWILIO_STATUS_CALLBACK_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe("Default StatusCallback of sent messages, e.g. this connector's public /twilio/webhook URL"),
  TWILIO_WEBHOOK_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'The public URL Twilio calls for /twilio/webhook, as configured at Twilio (signatures cover it); default: rebuilt from the Host and X-Forwarded-Proto headers',
    ),
  TWILIO_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  /** TWILIO_STATE_TABLE (delivery ids), TWILIO_EVENTS_QUEUE_URL / _STATE_MACHINE_ARN, _DELIVERY_TTL_DAYS. */
  ...eventSettings('TWILIO', { ttlDays: 2 }),
});

/** The parsed settings. */
export type TwilioSettings = z.output<typeof TwilioConfig>;
