/**
 * The NATS JetStream connector: the message-publisher operations (publish acknowledged by the stream with
 * Nats-Msg-Id deduplication, batches, a bounded pull from a durable consumer with acknowledge and
 * release) plus consumer declare and stream inspect, and the polling schedule that forwards a durable
 * consumer's messages as events, on every trigger from one declaration, over one reused connection per
 * container.
 */
import { defineConnector, eventReceivingFromConfig, remainingTimeMs } from '@circle-core/core';
import { messagePublisherOperations } from '#shared/interfaces/message-publisher-operations.ts';
import { CAPABILITIES, NatsClient } from './client.ts';
import { clientOptions, NatsConfig } from './config.ts';
import { forwardMessages } from './forward.ts';
import {
  ConsumerInfo,
  DeclareConsumerInput,
  ForwardMessagesInput,
  ForwardMessagesOutput,
  InspectStreamInput,
  StreamInfo,
} from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('publish-message', { destination: 'events.orders', body: '{"id":1}', deduplicationId: 'order-1' });
 * ```
 */
export const connector = defineConnector({
  name: 'nats',
  version: '1.0.5',
  config: NatsConfig,
  capabilities: CAPABILITIES,
  setup: {
    client: ({ config }) => NatsClient.create(clientOptions(config)),
    // The ledger and sink of forward-messages; nothing is built or called until a run needs them.
    services: ({ config }) => eventReceivingFromConfig('NATS', config, 'nats'),
    // Secret and connection during init; a failure here is retried and reported by the first operation.
    warmUp: ({ client }) => client.warmUp(),
  },
  operations: (op) => ({
    ...messagePublisherOperations(op, { provider: 'NATS JetStream', source: 'durable consumer' }),
    'declare-consumer': op({
      effect: 'write',
      description:
        'Creates or updates a durable pull consumer (explicit acks, ack wait, max deliveries, subject filter)',
      input: DeclareConsumerInput,
      output: ConsumerInfo,
      run: (input, { client }) => client.declareConsumer(input),
    }),
    'inspect-stream': op({
      description:
        'Reports a stream: subjects, messages, bytes, sequences, consumers and the deduplication window',
      input: InspectStreamInput,
      output: StreamInfo,
      run: (input, { client }) => client.inspectStream(input),
    }),
    'forward-messages': op({
      description:
        'Pulls batches from the durable consumer while time is left, hands each message on as an event, then acknowledges it (scheduled)',
      input: ForwardMessagesInput,
      output: ForwardMessagesOutput,
      run: (input, { client, services, config, logger, correlationId }) =>
        forwardMessages(input, correlationId, {
          source: client,
          ledger: services.requireLedger(),
          sink: services.sinkOr(logger),
          logger,
          remainingTimeMs,
          // A pull's own bound, then the acknowledgements' and the answer's.
          reserveMs: 2 * config.NATS_TIMEOUT_MS,
        }),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
