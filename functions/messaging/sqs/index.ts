/**
 * The Amazon SQS connector: the message-publisher operations (send, send in batches with a result per
 * entry, a bounded receive with delete and release) plus visibility changes and queue attributes, on
 * every trigger (HTTP, SQS, Step Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { messagePublisherOperations } from '#shared/interfaces/message-publisher-operations.ts';
import { SettleOutput } from '#shared/models/message-publisher.ts';
import { SqsPublisher, sqsCapabilities } from './client.ts';
import { clientOptions, SqsConfig } from './config.ts';
import { ChangeVisibilityInput, QueueAttributesInput, QueueAttributesOutput } from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('publish-message', { body: '{"id":1}', attributes: { kind: 'order' } });
 * ```
 */
export const connector = defineConnector({
  name: 'sqs',
  version: '1.0.6',
  config: SqsConfig,
  // Ordering and deduplication come with a FIFO queue; the setting is read here only to report them.
  capabilities: sqsCapabilities(process.env['SQS_QUEUE_URL'] ?? ''),
  setup: { client: ({ config }) => SqsPublisher.create(clientOptions(config)) },
  operations: (op) => ({
    ...messagePublisherOperations(op, { provider: 'Amazon SQS', source: 'queue' }),
    'change-visibility': op({
      effect: 'write',
      description: 'Sets how long received messages stay hidden from other receivers, from now',
      input: ChangeVisibilityInput,
      output: SettleOutput,
      run: (input, { client }) => client.changeVisibility(input),
    }),
    'get-queue-attributes': op({
      description:
        "Reports the queue's approximate counts, visibility timeout, retention and dead-letter policy",
      input: QueueAttributesInput,
      output: QueueAttributesOutput,
      run: (input, { client }) => client.queueAttributes(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
