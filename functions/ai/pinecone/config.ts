import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { pineconeApi } from './client.ts';

/**
 * The Pinecone connector's settings. Keys are the environment variable names; the API key is named, never
 * held (its value lives in Secrets Manager).
 */
export const PineconeConfig = z.object({
  /** PINECONE_API_URL (the control plane), PINECONE_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS, _RATE_LIMIT. */
  ...pineconeApi.settings,
  PINECONE_API_KEY_SECRET: z
    .string()
    .min(1)
    .default('circle-core/pinecone/api-key')
    .describe('Name or ARN of the secret holding the Pinecone API key as plain text'),
  PINECONE_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  PINECONE_CLOUD: z
    .enum(['aws', 'gcp', 'azure'])
    .default('aws')
    .describe('Cloud of the serverless indexes it creates'),
  PINECONE_REGION: z
    .string()
    .regex(/^[a-z0-9-]{2,40}$/, 'expected a region name such as us-east-1')
    .default('us-east-1')
    .describe('Region of the serverless indexes it creates'),
});

/** The parsed settings. */
export type PineconeSettings = z.output<typeof PineconeConfig>;
