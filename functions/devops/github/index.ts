import { defineConnector, ValidationError } from '@circle-core/core';
import { githubAuthFromConfig, githubCredentialSecret } from './auth.ts';
import { GITHUB_CAPABILITIES, GitHubApi, githubApi } from './client.ts';
import { GitHubConfig } from './config.ts';
import {
  AddLabelsInput,
  AddLabelsOutput,
  CommentOnIssueInput,
  CreateIssueInput,
  GetFileInput,
  Issue,
  IssueComment,
  IssuePage,
  ListIssuesInput,
  RepositoryFile,
  SyncIssuesInput,
  SyncIssuesOutput,
} from './models.ts';
import { createGitHubServices } from './services.ts';
import { syncIssues } from './sync.ts';
import { receiveWebhook } from './webhook.ts';

/**
 * The GitHub connector: issues, comments and file contents over the REST API (token or GitHub App auth),
 * a scheduled issue sync with a durable checkpoint, and a signed webhook receiver that hands events on
 * to SQS and/or Step Functions, served on every trigger by one Lambda handler.
 *
 * @example
 * ```ts
 * const issue = await connector.run('create-issue', { owner: 'octo', repo: 'hello', title: 'Bug' });
 * ```
 */
export const connector = defineConnector({
  name: 'github',
  version: '1.1.4',
  config: GitHubConfig,
  capabilities: [...GITHUB_CAPABILITIES, 'webhooks', 'issue-sync'],
  setup: {
    secrets: (config) => ({
      credential: githubCredentialSecret(config),
      webhook: config.GITHUB_WEBHOOK_SECRET_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.GITHUB_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new GitHubApi(
        githubApi.clientFromSettings(config, { auth: githubAuthFromConfig(config, secrets.credential) }),
      ),
    services: ({ config, secrets, client }) =>
      createGitHubServices({ config, webhookSecret: secrets.webhook, client }),
  },
  operations: (op) => ({
    'create-issue': op({
      effect: 'write',
      description:
        'Opens an issue with optional labels and assignees (sent once: GitHub has no idempotency keys)',
      input: CreateIssueInput,
      output: Issue,
      run: (input, { client }) => client.createIssue(input),
    }),
    'comment-on-issue': op({
      effect: 'write',
      description: 'Adds a comment to an issue or pull request (sent once)',
      input: CommentOnIssueInput,
      output: IssueComment,
      run: (input, { client }) => client.commentOnIssue(input),
    }),
    'add-labels': op({
      effect: 'write',
      description:
        'Adds labels to an issue or pull request (a label it already has is kept once, so a repeat changes nothing)',
      input: AddLabelsInput,
      output: AddLabelsOutput,
      run: (input, { client }) => client.addLabels(input),
    }),
    'list-issues': op({
      description: 'Lists one page of issues with filters; nextCursor reads the next page',
      input: ListIssuesInput,
      output: IssuePage,
      run: (input, { client }) => client.listIssues(input),
    }),
    'get-file': op({
      description: 'Reads a file at a ref: UTF-8 text as is, binary content base64 encoded',
      input: GetFileInput,
      output: RepositoryFile,
      run: (input, { client }) => client.getFile(input),
    }),
    'sync-issues': op({
      description: 'Hands on issues updated since the checkpoint, then advances it (scheduled)',
      input: SyncIssuesInput,
      output: SyncIssuesOutput,
      run: ({ owner, repo, since, includePullRequests }, { services, config, logger, correlationId }) => {
        const target = { owner: owner ?? config.GITHUB_SYNC_OWNER, repo: repo ?? config.GITHUB_SYNC_REPO };
        if (target.owner === undefined || target.repo === undefined) {
          throw new ValidationError(
            'sync-issues needs owner and repo (input, or GITHUB_SYNC_OWNER and GITHUB_SYNC_REPO)',
            [{ pointer: target.owner === undefined ? '/owner' : '/repo', message: 'Required' }],
          );
        }
        return syncIssues(
          { owner: target.owner, repo: target.repo, since, includePullRequests, correlationId },
          services.syncer(logger),
        );
      },
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/github/webhook',
      auth: 'signature',
      description: 'Receives GitHub webhooks (X-Hub-Signature-256) and hands accepted events on',
      handle: (request, { services, logger }) => receiveWebhook(request, services.webhooks(logger)),
    }),
  ],
  healthCheck: async ({ client }) => {
    await client.ping();
  },
});

export const handler = connector.handler;
