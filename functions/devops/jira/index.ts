/**
 * The Jira connector: the issue-tracker operations over Jira Cloud REST v3 (API token or OAuth 2.0 3LO
 * with rotating refresh tokens) on every trigger, and a signed webhook receiver that hands events on.
 */
import {
  defineConnector,
  eventReceivingFromConfig,
  type RequestAuth,
  type Secret,
  sharedRefreshTokenAuth,
} from '@circle-core/core';
import { issueTrackerOperations } from '#shared/interfaces/issue-tracker-operations.ts';
import { JIRA_CAPABILITIES, JiraApi, jiraApi } from './client.ts';
import { JiraConfig, type JiraSettings } from './config.ts';
import { type JiraWebhookReceiver, receiveJiraWebhook } from './webhook.ts';

/**
 * The API client from the settings: basic auth (email and API token) or OAuth 2.0 (3LO) refresh. With
 * CIRCLE_COORDINATION_TABLE set, the access token is shared by every container: Atlassian rotates the
 * refresh token on each grant, so one grant per expiry keeps the others from spending a stale one.
 */
function jiraClient(config: JiraSettings, credentials: Secret): JiraApi {
  const auth: RequestAuth =
    config.JIRA_AUTH === 'oauth2'
      ? sharedRefreshTokenAuth('jira', {
          tokenUrl: config.JIRA_OAUTH_TOKEN_URL,
          credentials,
          clientAuthentication: 'body',
        })
      : jiraApi.auth(credentials);
  return new JiraApi(jiraApi.clientFromSettings(config, { auth }), {
    site: config.JIRA_SITE_URL ?? config.JIRA_API_URL,
    defaultIssueType: config.JIRA_DEFAULT_ISSUE_TYPE,
  });
}

/**
 * @example
 * ```ts
 * const issue = await connector.run('create-issue', { project: 'OPS', title: 'Disk full on db-1' });
 * ```
 */
export const connector = defineConnector({
  name: 'jira',
  version: '1.0.5',
  config: JiraConfig,
  capabilities: [...JIRA_CAPABILITIES, 'webhooks'],
  setup: {
    secrets: (config) => ({
      credentials: config.JIRA_CREDENTIALS_SECRET,
      webhook: config.JIRA_WEBHOOK_SECRET_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.JIRA_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) => jiraClient(config, secrets.credentials),
    services: async ({ config, secrets }) => ({
      webhooks: {
        secret: secrets.webhook,
        receiving: await eventReceivingFromConfig('JIRA', config, 'jira'),
        maxAgeSeconds: config.JIRA_WEBHOOK_MAX_AGE_SECONDS,
      } satisfies JiraWebhookReceiver,
    }),
  },
  operations: (op) => ({
    ...issueTrackerOperations(op, {
      create: 'Creates an issue (description as plain text, sent as Atlassian Document Format); sent once',
      get: 'Reads one issue',
      comment: 'Adds a comment (plain text, sent as Atlassian Document Format); sent once',
      transition: 'Moves an issue to open, closed (status category done) or a named workflow status',
      search: "Searches a project's issues with filters or JQL, newest first; nextCursor reads on",
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/jira/webhook',
      auth: 'signature',
      description: 'Receives Jira webhooks (X-Hub-Signature) and hands accepted events on',
      handle: (request, { services, logger }) => receiveJiraWebhook(request, services.webhooks, logger),
    }),
  ],
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
