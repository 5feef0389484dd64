/**
 * The Twilio connector: SMS over Programmable Messaging (send, read, list with paging), the notifier
 * interface's post-message, on every trigger (HTTP, SQS, Step Functions, direct invoke, library use), and a
 * receiver for Twilio's signed status callbacks and incoming messages.
 */
import { defineConnector, eventReceivingFromConfig } from '@circle-core/core';
import { PostMessageOutput } from '#shared/models/notifier.ts';
import { TwilioApi, twilioApi, twilioAuth } from './client.ts';
import { TwilioConfig } from './config.ts';
import {
  ListMessagesInput,
  Message,
  MessagePage,
  MessageRef,
  PostSmsInput,
  SendMessageInput,
} from './models.ts';
import { receiveTwilioWebhook, type TwilioWebhookReceiver } from './webhook.ts';

/**
 * @example
 * ```ts
 * const { sid } = await connector.run('send-message', { to: '+15558675310', body: 'Disk full on db-1' });
 * ```
 */
export const connector = defineConnector({
  name: 'twilio',
  version: '1.0.9',
  config: TwilioConfig,
  capabilities: ['sms', 'webhooks'],
  setup: {
    secrets: (config) => ({ credentials: config.TWILIO_CREDENTIALS_SECRET }),
    secretMaxAgeSeconds: (config) => config.TWILIO_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new TwilioApi(
        twilioApi.clientFromSettings(config, { auth: twilioAuth(secrets.credentials) }),
        secrets.credentials,
        {
          from: config.TWILIO_FROM_NUMBER,
          messagingServiceSid: config.TWILIO_MESSAGING_SERVICE_SID,
          statusCallback: config.TWILIO_STATUS_CALLBACK_URL,
        },
      ),
    services: async ({ config, secrets }) => ({
      webhooks: {
        secret: secrets.credentials,
        receiving: await eventReceivingFromConfig('TWILIO', config, 'twilio'),
        url: config.TWILIO_WEBHOOK_URL,
      } satisfies TwilioWebhookReceiver,
    }),
  },
  operations: (op) => ({
    'send-message': op({
      effect: 'write',
      description: 'Sends an SMS (Programmable Messaging); sent once, Twilio has no idempotency key',
      input: SendMessageInput,
      output: Message,
      run: (input, { client }) => client.sendMessage(input),
    }),
    'get-message': op({
      description: 'Reads one message and its delivery status by SID',
      input: MessageRef,
      output: Message,
      run: (input, { client }) => client.getMessage(input),
    }),
    'list-messages': op({
      description: 'Lists one page of messages, newest first, by to, from or day; nextCursor reads on',
      input: ListMessagesInput,
      output: MessagePage,
      run: (input, { client }) => client.listMessages(input),
    }),
    'post-message': op({
      effect: 'write',
      description: 'The notifier interface: texts channel (an E.164 number) from the default sender',
      input: PostSmsInput,
      output: PostMessageOutput,
      run: (input, { client }) => client.postMessage(input),
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/twilio/webhook',
      auth: 'signature',
      description: 'Receives status callbacks and incoming messages (X-Twilio-Signature) and hands them on',
      handle: (request, { services, logger }) => receiveTwilioWebhook(request, services.webhooks, logger),
    }),
  ],
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
