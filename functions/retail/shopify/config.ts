import { envBoolean, envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { SHOPIFY_API_VERSION, type ShopifyApiOptions, shopifyApi } from './client.ts';

/**
 * The Shopify connector's settings. Keys are the environment variable names; secrets are named, never held
 * (their values live in Secrets Manager).
 */
export const ShopifyConfig = z.object({
  /** SHOPIFY_API_URL (the shop's `/admin/api`), SHOPIFY_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS. */
  ...shopifyApi.settings,
  SHOPIFY_API_VERSION: z
    .string()
    .regex(/^\d{4}-(01|04|07|10)$/, 'expected a Shopify API version such as 2026-04')
    .default(SHOPIFY_API_VERSION)
    .describe('The Admin API version every call pins (YYYY-MM, quarterly; each is supported 12 months)'),
  SHOPIFY_TOKEN_SECRET: z
    .string()
    .min(1)
    .default('circle-core/shopify/access-token')
    .describe('Name or ARN of the secret holding the Admin API access token (shpat_...) as plain text'),
  SHOPIFY_WEBHOOK_SECRET_SECRET: z
    .string()
    .min(1)
    .default('circle-core/shopify/webhook-secret')
    .describe("Name or ARN of the secret holding the app's client secret, which signs its webhooks"),
  SHOPIFY_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  SHOPIFY_EXPORT_BUCKET: z
    .string()
    .min(3)
    .optional()
    .describe(
      'The S3 bucket bulk export results are copied to (claim check); unset: get-bulk-export cannot store',
    ),
  SHOPIFY_EXPORT_PREFIX: z
    .string()
    .max(200)
    .default('shopify/exports/')
    .describe('Key prefix of stored bulk results (the role may write only under it)'),
  SHOPIFY_EXPORT_MAX_BYTES: envInteger(200 * 1024 * 1024, { min: 1024, max: 1024 * 1024 * 1024 }).describe(
    'The largest bulk result copied, in bytes (it is held in memory once: keep under the function memory)',
  ),
  SHOPIFY_S3_FORCE_PATH_STYLE: envBoolean(false).describe(
    '`https://host/bucket/key` addressing for the export bucket (S3-compatible stores; the local stack)',
  ),
  /** SHOPIFY_STATE_TABLE (event ids), SHOPIFY_EVENTS_QUEUE_URL / _STATE_MACHINE_ARN, _DELIVERY_TTL_DAYS. */
  ...eventSettings('SHOPIFY', { ttlDays: 3 }),
});

/** The parsed settings. */
export type ShopifySettings = z.output<typeof ShopifyConfig>;

/** The client's options from the settings. */
export function apiOptions(config: ShopifySettings): ShopifyApiOptions {
  return {
    version: config.SHOPIFY_API_VERSION,
    baseUrl: config.SHOPIFY_API_URL,
    timeoutMs: config.SHOPIFY_TIMEOUT_MS,
    exports: {
      bucket: config.SHOPIFY_EXPORT_BUCKET,
      prefix: config.SHOPIFY_EXPORT_PREFIX,
      maxBytes: config.SHOPIFY_EXPORT_MAX_BYTES,
      forcePathStyle: config.SHOPIFY_S3_FORCE_PATH_STYLE,
    },
  };
}
