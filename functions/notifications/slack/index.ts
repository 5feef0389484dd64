/**
 * The Slack connector: the notifier operations (post, update, list channels, find a user) on every trigger,
 * plus the signed inbound routes Slack calls (Events API, slash commands).
 */
import { defineConnector, defineSecret, eventReceivingFromConfig } from '@circle-core/core';
import { SLACK_CAPABILITIES, SlackApi, slackApi } from './client.ts';
import { SlackConfig, type SlackSettings } from './config.ts';
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

/** What `setup` builds once per container: the Web API client and the inbound receiver. */
export interface SlackServices {
  slack: SlackApi;
  receiver: SlackReceiver;
}

/**
 * Builds the client and the receiver (with its ledger and sink) from the settings, prefetching both
 * secrets during init.
 *
 * @example
 * ```ts
 * const { slack } = await createSlackServices(loadConfig(SlackConfig));
 * ```
 */
export async function createSlackServices(config: SlackSettings): Promise<SlackServices> {
  const maxAgeSeconds = config.SLACK_SECRET_MAX_AGE_SECONDS;
  const token = defineSecret(config.SLACK_BOT_TOKEN_SECRET, { maxAgeSeconds });
  const signingSecret = defineSecret(config.SLACK_SIGNING_SECRET_SECRET, { maxAgeSeconds });
  const [receiving] = await Promise.all([
    eventReceivingFromConfig('SLACK', config, 'slack'),
    token.prefetch(),
    signingSecret.prefetch(),
  ]);
  return {
    slack: new SlackApi(slackApi.clientFromSettings(config, { credential: token })),
    receiver: new SlackReceiver({ signingSecret, receiving }),
  };
}

export const connector = defineConnector({
  name: 'slack',
  version: '1.0.0',
  config: SlackConfig,
  capabilities: SLACK_CAPABILITIES,
  setup: createSlackServices,
  operations: (op) => ({
    'post-message': op({
      effect: 'write',
      description:
        'Posts a message (text and/or Block Kit blocks) to a channel, optionally as a thread reply; sent once, never retried after a 5xx',
      input: SlackPostMessageInput,
      output: PostMessageOutput,
      run: (input, { client }) => client.slack.postMessage(input),
    }),
    'update-message': op({
      effect: 'write',
      description: 'Replaces the text and/or blocks of a message the bot posted',
      input: SlackUpdateMessageInput,
      output: UpdateMessageOutput,
      run: (input, { client }) => client.slack.updateMessage(input),
    }),
    'list-channels': op({
      description: 'Lists one page of the channels the bot can see; pass nextCursor back as cursor',
      input: SlackListChannelsInput,
      output: ListChannelsOutput,
      run: (input, { client }) => client.slack.listChannels(input),
    }),
    'find-user-by-email': op({
      description: 'Finds a workspace member by email address',
      input: FindUserByEmailInput,
      output: SlackFindUserOutput,
      run: (input, { client }) => client.slack.findUserByEmail(input),
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/slack/events',
      auth: 'signature',
      description: 'Events API receiver: URL verification, then events handed to the sink',
      handle: (request, context) => context.client.receiver.handleEvents(request, context),
    }),
    route({
      method: 'POST',
      path: '/slack/commands',
      auth: 'signature',
      description: 'Slash command receiver: hands the command on and answers an ephemeral acknowledgement',
      handle: (request, context) => context.client.receiver.handleCommand(request, context),
    }),
  ],
  healthCheck: async ({ client }) => {
    await client.slack.authTest();
  },
});

export const handler = connector.handler;
