import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { qdrantApi } from './client.ts';

/**
 * The Qdrant connector's settings. Keys are the environment variable names; the API key is named, never
 * held (its value lives in Secrets Manager).
 */
export const QdrantConfig = z.object({
  /** QDRANT_API_URL (the cluster URL), QDRANT_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS, _RATE_LIMIT. */
  ...qdrantApi.settings,
  QDRANT_API_KEY_SECRET: z
    .string()
    .min(1)
    .default('circle-core/qdrant/api-key')
    .describe('Name or ARN of the secret holding the Qdrant API key as plain text'),
  QDRANT_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
});

/** The parsed settings. */
export type QdrantSettings = z.output<typeof QdrantConfig>;
