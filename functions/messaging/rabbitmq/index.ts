/**
 * The RabbitMQ connector: the message-publisher operations (publish with confirms, batches, a bounded
 * pull with acknowledge and release) plus queue declare and inspect, on every trigger (HTTP, SQS, Step
 * Functions, direct invoke, library use) from one declaration, over one reused connection per container.
 */
import { defineConnector } from '@circle-core/core';
import { messagePublisherOperations } from '#shared/interfaces/message-publisher-operations.ts';
import { CAPABILITIES, RabbitmqClient } from './client.ts';
import { clientOptions, RabbitmqConfig } from './config.ts';
import { DeclareQueueInput, InspectQueueInput, QueueInfo } from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('publish-message', { destination: 'orders', body: '{"id":1}' });
 * ```
 */
export const connector = defineConnector({
  name: 'rabbitmq',
  version: '1.0.4',
  config: RabbitmqConfig,
  capabilities: CAPABILITIES,
  setup: {
    client: ({ config }) => RabbitmqClient.create(clientOptions(config)),
    // Secret and connection during init; a failure here is retried and reported by the first operation.
    warmUp: ({ client }) => client.warmUp(),
  },
  operations: (op) => ({
    ...messagePublisherOperations(op, { provider: 'RabbitMQ', source: 'queue' }),
    'declare-queue': op({
      effect: 'write',
      description:
        'Declares a queue (quorum or classic, TTL, length limit, dead-letter exchange) and binds it to exchanges',
      input: DeclareQueueInput,
      output: QueueInfo,
      run: (input, { client }) => client.declareQueue(input),
    }),
    'inspect-queue': op({
      description: 'Counts the messages ready in a queue and its consumers',
      input: InspectQueueInput,
      output: QueueInfo,
      run: (input, { client }) => client.inspectQueue(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
