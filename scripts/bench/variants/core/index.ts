/**
 * Core variant: the benchmark operation as a Circle Core connector. One handler serves the HTTP route
 * `POST /bench/create-item` and SQS records `{ operation: 'create-item', input }`.
 */
import { defineConnector } from '@circle-core/core';
import * as z from 'zod';
import { CreateItemInput, CreateItemOutput, createItem, OPERATION } from '../operation.ts';

export const connector = defineConnector({
  name: 'bench',
  version: '1.0.0',
  config: z.object({}),
  setup: () => ({}),
  operations: (op) => ({
    [OPERATION]: op({
      description: 'Validates a small item and answers it with its id',
      input: CreateItemInput,
      output: CreateItemOutput,
      run: async (input) => createItem(input),
    }),
  }),
});

export const handler = connector.handler;
