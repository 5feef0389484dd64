/**
 * Core variant with a secret: the benchmark operation behind a connector whose setup prefetches an API
 * token during init and whose operation reads it on every invocation (served from the container cache).
 * Used for the cold start comparison and for counting Secrets Manager calls.
 */
import { defineConnector, defineSecret, type Secret } from '@circle-core/core';
import * as z from 'zod';
import { CreateItemInput, CreateItemOutput, createItem, OPERATION } from '../operation.ts';

const Config = z.object({
  BENCH_SECRET_NAME: z.string().min(1).default('bench/api-token'),
  BENCH_SECRET_MAX_AGE_SECONDS: z.coerce.number().positive().default(300),
});

export const connector = defineConnector({
  name: 'bench',
  version: '1.0.0',
  config: Config,
  setup: async (config): Promise<{ token: Secret }> => {
    const token = defineSecret(config.BENCH_SECRET_NAME, {
      maxAgeSeconds: config.BENCH_SECRET_MAX_AGE_SECONDS,
    });
    await token.prefetch();
    return { token };
  },
  operations: (op) => ({
    [OPERATION]: op({
      description: 'Reads the API token, validates a small item and answers it with its id',
      input: CreateItemInput,
      output: CreateItemOutput,
      run: async (input, { client }) => {
        const token = await client.token.text();
        if (token.length === 0) throw new Error('No API token');
        return createItem(input);
      },
    }),
  }),
});

export const handler = connector.handler;
