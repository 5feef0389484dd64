import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { slackApi } from './client.ts';

/**
 * The Slack connector's settings. Keys are the environment variable names; secrets are referred to by
 * name only (their values live in Secrets Manager).
 */
export const SlackConfig = z.object({
  /** SLACK_API_URL (the contract fake's URL locally), SLACK_TIMEOUT_MS, SLACK_MAX_ATTEMPTS, SLACK_MAX_RETRY_AFTER_MS. */
  ...slackApi.settings,
  SLACK_BOT_TOKEN_SECRET: z
    .string()
    .min(1)
    .default('circle-core/slack/bot-token')
    .describe('Name or ARN of the secret holding the bot token (`xoxb-...`) as plain text'),
  SLACK_SIGNING_SECRET_SECRET: z
    .string()
    .min(1)
    .default('circle-core/slack/signing-secret')
    .describe('Name or ARN of the secret holding the signing secret (verifies events and slash commands)'),
  SLACK_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache',
  ),
  /**
   * Receiving: SLACK_STATE_TABLE (accepted event ids and command signatures, so a retry or a replay is
   * handed on once), SLACK_EVENTS_QUEUE_URL / SLACK_EVENTS_STATE_MACHINE_ARN (where accepted events go),
   * SLACK_DELIVERY_TTL_DAYS (Slack retries within an hour; a signed request is valid for five minutes).
   */
  ...eventSettings('SLACK', { ttlDays: 2 }),
});

/** The parsed settings. */
export type SlackSettings = z.output<typeof SlackConfig>;
