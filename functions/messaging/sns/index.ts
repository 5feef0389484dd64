/**
 * The Amazon SNS connector: the message-publisher operations (publish, publish in batches with a result
 * per entry; no pull: SNS pushes to its subscribers) plus the topic's subscriptions and attributes, on
 * every trigger (HTTP, SQS, Step Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { messagePublisherOperations } from '#shared/interfaces/message-publisher-operations.ts';
import { SnsPublisher, snsCapabilities } from './client.ts';
import { clientOptions, SnsConfig } from './config.ts';
import {
  ListSubscriptionsInput,
  ListSubscriptionsOutput,
  TopicAttributesInput,
  TopicAttributesOutput,
} from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('publish-message', { body: '{"id":1}', attributes: { kind: 'order' } });
 * ```
 */
export const connector = defineConnector({
  name: 'sns',
  version: '1.0.6',
  config: SnsConfig,
  // Ordering and deduplication come with a FIFO topic; the setting is read here only to report them.
  capabilities: snsCapabilities(process.env['SNS_TOPIC_ARN'] ?? ''),
  setup: { client: ({ config }) => SnsPublisher.create(clientOptions(config)) },
  operations: (op) => ({
    ...messagePublisherOperations(op, { provider: 'Amazon SNS', source: 'topic' }),
    'list-subscriptions': op({
      description: "Lists one page of the topic's subscriptions (protocol and endpoint)",
      input: ListSubscriptionsInput,
      output: ListSubscriptionsOutput,
      run: (input, { client }) => client.listSubscriptions(input),
    }),
    'get-topic-attributes': op({
      description: 'Reports whether the topic is FIFO, its subscription counts and its encryption key',
      input: TopicAttributesInput,
      output: TopicAttributesOutput,
      run: (input, { client }) => client.topicAttributes(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
