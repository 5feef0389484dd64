/**
 * The Microsoft Teams connector: Workflows webhook posts with Adaptive Cards, and channel messages and
 * replies through Microsoft Graph with an app-only token (the notifier interface), on every trigger
 * (HTTP, SQS, Step Functions, direct invoke, library use).
 */
import { defineConnector } from '@circle-core/core';
import { PostMessageOutput } from '#shared/models/notifier.ts';
import { graphAuth, NO_AUTH, TeamsApi, teamsApi } from './client.ts';
import { TeamsConfig } from './config.ts';
import {
  ListRepliesInput,
  Message,
  MessagePage,
  MessageRef,
  PostChannelMessageInput,
  PostWebhookInput,
  PostWebhookOutput,
} from './models.ts';

/**
 * @example
 * ```ts
 * await connector.run('post-webhook-message', { text: 'Disk full on db-1' });
 * ```
 */
export const connector = defineConnector({
  name: 'teams',
  version: '1.0.3',
  config: TeamsConfig,
  capabilities: ['threads', 'blocks'],
  setup: {
    secrets: (config) => ({
      credentials: config.TEAMS_CREDENTIALS_SECRET,
      webhooks: config.TEAMS_WEBHOOKS_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.TEAMS_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) => {
      const where = { loginUrl: config.TEAMS_LOGIN_URL, tenantId: config.TEAMS_TENANT_ID };
      const auth = graphAuth(where, secrets.credentials);
      return new TeamsApi(teamsApi.clientFromSettings(config, { auth }), {
        teamId: config.TEAMS_TEAM_ID,
        webhooks: secrets.webhooks,
        webhookClient: (origin) =>
          teamsApi.clientFromSettings(
            { ...config, TEAMS_API_URL: origin, TEAMS_RATE_LIMIT: 0 },
            { auth: NO_AUTH },
          ),
        auth,
      });
    },
  },
  operations: (op) => ({
    'post-webhook-message': op({
      effect: 'write',
      description: 'Posts text and/or an Adaptive Card to a Workflows webhook; sent once',
      input: PostWebhookInput,
      output: PostWebhookOutput,
      run: (input, { client }) => client.postWebhook(input),
    }),
    'post-message': op({
      effect: 'write',
      description: 'The notifier interface: posts to a channel through Graph, or replies with threadTs',
      input: PostChannelMessageInput,
      output: PostMessageOutput,
      run: (input, { client }) => client.postMessage(input),
    }),
    'get-message': op({
      description: 'Reads one channel message or reply through Graph',
      input: MessageRef,
      output: Message,
      run: (input, { client }) => client.getMessage(input),
    }),
    'list-replies': op({
      description: 'Lists one page of the replies to a message; nextCursor reads on',
      input: ListRepliesInput,
      output: MessagePage,
      run: (input, { client }) => client.listReplies(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
