/**
 * The GitLab connector: issues (the issue-tracker interface), merge requests, pipelines and repository
 * files over GitLab REST v4 (an access token or OAuth 2.0) on every trigger, and a webhook receiver that
 * checks X-Gitlab-Token and hands events on once.
 */
import {
  defineConnector,
  eventReceivingFromConfig,
  type RequestAuth,
  type Secret,
  sharedRefreshTokenAuth,
} from '@circle-core/core';
import { issueTrackerOperations } from '#shared/interfaces/issue-tracker-operations.ts';
import { GITLAB_CAPABILITIES, GitlabApi, gitlabApi } from './client.ts';
import { GitlabConfig, type GitlabSettings } from './config.ts';
import {
  CreateMergeRequestInput,
  FileListPage,
  GetFileInput,
  ListFilesInput,
  ListMergeRequestsInput,
  MergeRequest,
  MergeRequestPage,
  MergeRequestRef,
  Pipeline,
  PipelineRef,
  PutFileInput,
  PutFileOutput,
  RepositoryFile,
  TriggerPipelineInput,
} from './models.ts';
import { type GitlabWebhookReceiver, receiveGitlabWebhook } from './webhook.ts';

/**
 * The API client from the settings: an access token as PRIVATE-TOKEN, or OAuth 2.0 refresh (GitLab
 * rotates the refresh token on each grant; with CIRCLE_COORDINATION_TABLE set one grant serves every
 * container).
 */
function gitlabClient(config: GitlabSettings, token: Secret): GitlabApi {
  const auth: RequestAuth =
    config.GITLAB_AUTH === 'oauth2'
      ? sharedRefreshTokenAuth('gitlab', {
          tokenUrl: config.GITLAB_OAUTH_TOKEN_URL,
          credentials: token,
          clientAuthentication: 'body',
        })
      : gitlabApi.auth(token);
  return new GitlabApi(gitlabApi.clientFromSettings(config, { auth }));
}

/**
 * @example
 * ```ts
 * const issue = await connector.run('create-issue', { project: 'ops/platform', title: 'Disk full on db-1' });
 * ```
 */
export const connector = defineConnector({
  name: 'gitlab',
  version: '0.2.3',
  config: GitlabConfig,
  capabilities: [...GITLAB_CAPABILITIES, 'webhooks'],
  setup: {
    secrets: (config) => ({
      token: config.GITLAB_TOKEN_SECRET,
      webhook: config.GITLAB_WEBHOOK_SECRET_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.GITLAB_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) => gitlabClient(config, secrets.token),
    services: async ({ config, secrets }) => ({
      webhooks: {
        secret: secrets.webhook,
        receiving: await eventReceivingFromConfig('GITLAB', config, 'gitlab'),
      } satisfies GitlabWebhookReceiver,
    }),
  },
  operations: (op) => ({
    ...issueTrackerOperations(op, {
      create: 'Creates an issue (labels, assignee by username, issue type); sent once',
      get: 'Reads one issue by its number (iid)',
      comment: 'Adds a comment (a note) to an issue; sent once',
      transition: 'Closes or reopens an issue (state closed or open); already there is no error',
      search: "Lists a project's issues by state, labels and words, newest first; nextCursor reads on",
    }),
    'list-merge-requests': op({
      description: "Lists a project's merge requests by state, newest first; nextCursor reads on",
      input: ListMergeRequestsInput,
      output: MergeRequestPage,
      run: (input, { client }) => client.listMergeRequests(input),
    }),
    'get-merge-request': op({
      description: 'Reads one merge request by its number (iid)',
      input: MergeRequestRef,
      output: MergeRequest,
      run: (input, { client }) => client.getMergeRequest(input),
    }),
    'create-merge-request': op({
      effect: 'write',
      description: 'Opens a merge request from a source branch into a target branch; sent once',
      input: CreateMergeRequestInput,
      output: MergeRequest,
      run: (input, { client }) => client.createMergeRequest(input),
    }),
    'trigger-pipeline': op({
      effect: 'write',
      description: "Runs a ref's CI/CD pipeline with variables; sent once",
      input: TriggerPipelineInput,
      output: Pipeline,
      run: (input, { client }) => client.triggerPipeline(input),
    }),
    'get-pipeline': op({
      description: "Reads a pipeline's status (finished once success, failed, canceled or skipped)",
      input: PipelineRef,
      output: Pipeline,
      run: (input, { client }) => client.getPipeline(input),
    }),
    'get-file': op({
      description: 'Reads a repository file at a ref: text as is, binary as base64',
      input: GetFileInput,
      output: RepositoryFile,
      run: (input, { client }) => client.getFile(input),
    }),
    'put-file': op({
      effect: 'write',
      description:
        'Creates or updates a repository file in one commit; lastCommitId guards against overwriting',
      input: PutFileInput,
      output: PutFileOutput,
      run: (input, { client }) => client.putFile(input),
    }),
    'list-files': op({
      description: 'Lists a repository directory (keyset pagination); nextCursor reads on',
      input: ListFilesInput,
      output: FileListPage,
      run: (input, { client }) => client.listFiles(input),
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/gitlab/webhook',
      auth: 'signature',
      description: 'Receives GitLab webhooks (X-Gitlab-Token) and hands accepted events on',
      handle: (request, { services, logger }) => receiveGitlabWebhook(request, services.webhooks, logger),
    }),
  ],
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
