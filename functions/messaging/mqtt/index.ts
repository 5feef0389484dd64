/**
 * The MQTT connector: the message-publisher operations (publish at QoS 0/1/2, retained or not, with MQTT 5
 * user properties; batches; the pull operations answer 501, MQTT keeps nothing for a reader) plus a
 * bounded subscribe-and-collect and clearing a retained message, on every trigger from one declaration,
 * over one reused connection per container.
 */
import { defineConnector } from '@circle-core/core';
import { messagePublisherOperations } from '#shared/interfaces/message-publisher-operations.ts';
import { MqttPublisher } from './client.ts';
import { clientOptions, MqttConfig } from './config.ts';
import {
  ClearRetainedInput,
  ClearRetainedOutput,
  CollectMessagesInput,
  CollectMessagesOutput,
  MqttMessageFields,
} from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('publish-message', { destination: 'sensors/7/temperature', body: '21.5', qos: 1, retain: true });
 * ```
 */
export const connector = defineConnector({
  name: 'mqtt',
  version: '1.0.5',
  config: MqttConfig,
  // `attributes` is offered with MQTT 5 only (MQTT_PROTOCOL_VERSION); the client reports its own set.
  capabilities: ['attributes'],
  setup: {
    client: ({ config }) => MqttPublisher.create(clientOptions(config)),
    // Secret and connection during init; a failure here is retried and reported by the first operation.
    warmUp: ({ client }) => client.warmUp(),
  },
  operations: (op) => ({
    ...messagePublisherOperations(
      op,
      { provider: 'MQTT', source: 'topic (not offered: MQTT keeps nothing for a reader)' },
      MqttMessageFields,
    ),
    'collect-messages': op({
      description:
        'Subscribes to a topic filter and collects what arrives (retained messages first) within the wait, then unsubscribes',
      input: CollectMessagesInput,
      output: CollectMessagesOutput,
      run: (input, { client }) => client.collect(input),
    }),
    'clear-retained': op({
      effect: 'write',
      description: 'Removes the retained message of a topic',
      input: ClearRetainedInput,
      output: ClearRetainedOutput,
      run: (input, { client }) => client.clearRetained(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
