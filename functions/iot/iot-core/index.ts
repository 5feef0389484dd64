/**
 * The AWS IoT Core connector: publish to MQTT topics and read, update (with optimistic version checks) and
 * delete device shadows through the data plane, on every trigger (HTTP, SQS, Step Functions, direct
 * invoke, library use) from one declaration. Device telemetry reaches AWS through an IoT rule
 * (function.yml) that routes it into a queue.
 */
import { defineConnector } from '@circle-core/core';
import { IotCoreClient } from './client.ts';
import { clientOptions, IotCoreConfig } from './config.ts';
import {
  DeleteShadowOutput,
  ListNamedShadowsInput,
  ListNamedShadowsOutput,
  PublishMessageInput,
  PublishMessageOutput,
  ShadowDocument,
  ShadowInput,
  UpdateShadowInput,
} from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('update-thing-shadow', { thingName: 'sensor-42', state: { desired: { temperature: 22 } } });
 * ```
 */
export const connector = defineConnector({
  name: 'iot-core',
  version: '1.1.1',
  config: IotCoreConfig,
  setup: { client: ({ config }) => IotCoreClient.create(clientOptions(config)) },
  operations: (op) => ({
    'publish-message': op({
      effect: 'write',
      description: 'Publishes one message to an MQTT topic (QoS 0 or 1, retained, MQTT 5 properties)',
      input: PublishMessageInput,
      output: PublishMessageOutput,
      run: (input, { client }) => client.publish(input),
    }),
    'get-thing-shadow': op({
      description: "Reads a thing's classic or named shadow: desired, reported, delta and version",
      input: ShadowInput,
      output: ShadowDocument,
      run: (input, { client }) => client.getShadow(input),
    }),
    'update-thing-shadow': op({
      effect: 'write',
      description: 'Updates desired and/or reported state; with version, a stale update is refused with 409',
      input: UpdateShadowInput,
      output: ShadowDocument,
      run: (input, { client }) => client.updateShadow(input),
    }),
    'delete-thing-shadow': op({
      effect: 'write',
      description:
        "Deletes a thing's classic or named shadow (its version carries on if it is created again)",
      input: ShadowInput,
      output: DeleteShadowOutput,
      run: (input, { client }) => client.deleteShadow(input),
    }),
    'list-named-shadows': op({
      description: "Lists one page of a thing's named shadows",
      input: ListNamedShadowsInput,
      output: ListNamedShadowsOutput,
      run: (input, { client }) => client.listNamedShadows(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
