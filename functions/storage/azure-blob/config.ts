import { envInteger, envList } from '@circle-core/core';
import * as z from 'zod';
import { MAX_INLINE_BYTES, MAX_PRESIGN_EXPIRES_SECONDS } from '#shared/models/object-storage.ts';
import { AzureContainerName } from './models.ts';

/**
 * The Azure Blob connector's settings; keys are the environment variable names. The credential (a
 * connection string, or account name and key, or a SAS) lives in the Secrets Manager secret
 * `AZURE_BLOB_SECRET` names, never here.
 */
export const AzureBlobConfig = z.object({
  AZURE_BLOB_CONTAINER: AzureContainerName.describe(
    'Container every operation uses when a request names none',
  ),
  AZURE_BLOB_ALLOWED_CONTAINERS: envList([])
    .pipe(z.array(AzureContainerName))
    .describe(
      'Comma-separated other containers a request may name with `bucket`; AZURE_BLOB_CONTAINER is always allowed',
    ),
  AZURE_BLOB_SECRET: z
    .string()
    .min(1)
    .default('circle-core/azure-blob/credentials')
    .describe(
      'Name or ARN of the secret holding the credential: a connection string, or JSON { accountName, accountKey } or { accountName, sasToken }',
    ),
  AZURE_BLOB_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "Blob service endpoint, e.g. azurite's `http://127.0.0.1:10000/devstoreaccount1`; unset means the connection string's, or `https://<account>.blob.core.windows.net`",
    ),
  AZURE_BLOB_GET_MAX_BYTES: envInteger(1_048_576, { min: 0, max: MAX_INLINE_BYTES }).describe(
    'Largest blob `get-object` returns inline; a larger one comes back as a SAS URL',
  ),
  AZURE_BLOB_PRESIGN_EXPIRES_SECONDS: envInteger(900, { min: 1, max: MAX_PRESIGN_EXPIRES_SECONDS }).describe(
    'Default lifetime of SAS URLs, in seconds',
  ),
  AZURE_BLOB_TIMEOUT_MS: envInteger(10_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  AZURE_BLOB_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's exponential retry on 5xx, 503 ServerBusy and network failures)",
  ),
  AZURE_BLOB_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long the fetched secret is served from the container cache, in seconds',
  ),
});
export type AzureBlobConfig = z.output<typeof AzureBlobConfig>;
