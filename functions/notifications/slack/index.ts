/**
 * The Slack connector: the notifier operations (post, update, list channels, find a user) on every trigger,
 * plus the signed inbound routes Slack calls (Events API, slash commands).
 */
import { defineConnector, eventReceivingFromConfig } from '@circle-core/core';
import { SLACK_CAPABILITIES, SlackApi, slackApi } from './client.ts';
import { SlackConfig } from './config.ts';
import {
  FindUserByEmailInput,
  ListChannelsOutput,
  PostMessageOutput,
  SlackFindUserOutput,
  SlackListChannelsInput,
  SlackPostMessageInput,
  SlackUpdateMessageInput,
  UpdateMessageOutput,
} from './models.ts';
import { SlackReceiver } from './receiver.ts';

export const connector = defineConnector({
  name: 'slack',
  version: '1.1.1',
  config: SlackConfig,
  capabilities: SLACK_CAPABILITIES,
  setup: {
    secrets: (config) => ({
      token: config.SLACK_BOT_TOKEN_SECRET,
      signing: config.SLACK_SIGNING_SECRET_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.SLACK_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new SlackApi(slackApi.clientFromSettings(config, { credential: secrets.token })),
    // The inbound receiver, with its delivery ledger and the sink verified events and commands go to.
    services: async ({ config, secrets }) => ({
      receiver: new SlackReceiver({
        signingSecret: secrets.signing,
        receiving: await eventReceivingFromConfig('SLACK', config, 'slack'),
      }),
    }),
  },
  operations: (op) => ({
    'post-message': op({
      effect: 'write',
      description:
        'Posts a message (text and/or Block Kit blocks) to a channel, optionally as a thread reply; sent once, never retried after a 5xx',
      input: SlackPostMessageInput,
      output: PostMessageOutput,
      run: (input, { client }) => client.postMessage(input),
    }),
    'update-message': op({
      effect: 'write',
      description: 'Replaces the text and/or blocks of a message the bot posted',
      input: SlackUpdateMessageInput,
      output: UpdateMessageOutput,
      run: (input, { client }) => client.updateMessage(input),
    }),
    'list-channels': op({
      description: 'Lists one page of the channels the bot can see; pass nextCursor back as cursor',
      input: SlackListChannelsInput,
      output: ListChannelsOutput,
      run: (input, { client }) => client.listChannels(input),
    }),
    'find-user-by-email': op({
      description: 'Finds a workspace member by email address',
      input: FindUserByEmailInput,
      output: SlackFindUserOutput,
      run: (input, { client }) => client.findUserByEmail(input),
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/slack/events',
      auth: 'signature',
      description: 'Events API receiver: URL verification, then events handed to the sink',
      handle: (request, context) => context.services.receiver.handleEvents(request, context),
    }),
    route({
      method: 'POST',
      path: '/slack/commands',
      auth: 'signature',
      description: 'Slash command receiver: hands the command on and answers an ephemeral acknowledgement',
      handle: (request, context) => context.services.receiver.handleCommand(request, context),
    }),
  ],
  healthCheck: async ({ client }) => {
    await client.authTest();
  },
});

export const handler = connector.handler;
