/**
 * The Amazon EventBridge connector: the message-publisher operations (put one event, put a batch with a
 * result per entry; no pull: rules route events to their targets), each message carrying EventBridge's
 * detail type, source and resources, plus the bus and its rules described, on every trigger (HTTP, SQS,
 * Step Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { messagePublisherOperations } from '#shared/interfaces/message-publisher-operations.ts';
import { EventBridgePublisher } from './client.ts';
import { clientOptions, EventBridgeConfig } from './config.ts';
import {
  DescribeBusInput,
  DescribeBusOutput,
  DescribeRuleInput,
  DescribeRuleOutput,
  EventFields,
} from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('publish-message', { body: '{"order":"o-1"}', detailType: 'order-placed' });
 * ```
 */
export const connector = defineConnector({
  name: 'eventbridge',
  version: '1.0.5',
  config: EventBridgeConfig,
  capabilities: [],
  setup: { client: ({ config }) => EventBridgePublisher.create(clientOptions(config)) },
  operations: (op) => ({
    ...messagePublisherOperations(op, { provider: 'Amazon EventBridge', source: 'bus' }, EventFields),
    'describe-event-bus': op({
      description: 'Reports the name and ARN of the configured event bus',
      input: DescribeBusInput,
      output: DescribeBusOutput,
      run: (input, { client }) => client.describeBus(input),
    }),
    'describe-rule': op({
      description: 'Reports a rule of the bus: its event pattern or schedule, its state and its targets',
      input: DescribeRuleInput,
      output: DescribeRuleOutput,
      run: (input, { client }) => client.describeRule(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
