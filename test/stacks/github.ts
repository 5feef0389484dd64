/**
 * The peers the GitHub connector's tests talk to, started together: the GitHub contract fake, the
 * Secrets Manager fake, dynalite with the state table, and the SQS/Step Functions JSON fake, with the
 * environment pointing the connector (and the real AWS SDK clients) at them. `close()` stops them and
 * restores the environment.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  type GitHubFake,
  type GitHubFakeOptions,
  startGitHubFake,
} from '../../scripts/local/sandboxes/github.ts';
import { type AwsJsonFake, startAwsJsonFake } from '../fakes/aws-json.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../fakes/secrets-manager.ts';
import { createTable, type DynalitePeer, startDynalite } from '../peers/dynalite.ts';

export interface StackOptions {
  auth?: 'token' | 'app';
  /** Events sinks to configure; default both. */
  sinks?: Array<'sqs' | 'sfn'>;
  /** Create and configure the state table; default true. */
  table?: boolean;
  /** Extra settings (GITHUB_TIMEOUT_MS, ...). */
  env?: Record<string, string>;
  fake?: GitHubFakeOptions;
}

export interface GitHubTestStack {
  github: GitHubFake;
  secrets: SecretsManagerFake;
  dynamo: DynalitePeer;
  aws: AwsJsonFake;
  token: string;
  webhookSecret: string;
  /** PEM of the app key (app auth only). */
  privateKey: string | undefined;
  table: string;
  queueUrl: string;
  stateMachineArn: string;
  close(): Promise<void>;
}

export const APP_ID = 424242;
export const INSTALLATION_ID = 7;
export const SECRET_NAMES = {
  token: 'circle-core/github/token',
  app: 'circle-core/github/app',
  webhook: 'circle-core/github/webhook-secret',
} as const;

/**
 * Starts every peer and points the environment at them.
 *
 * @example
 * ```ts
 * const stack = await startGitHubTestStack({ auth: 'token' });
 * const { connector } = await import('../index.ts');
 * ```
 */
export async function startGitHubTestStack(options: StackOptions = {}): Promise<GitHubTestStack> {
  const token = `ghp_${randomBytes(16).toString('hex')}`;
  const webhookSecret = `whsec-${randomBytes(16).toString('hex')}`;
  const keys =
    options.auth === 'app'
      ? generateKeyPairSync('rsa', {
          modulusLength: 2048,
          privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        })
      : undefined;
  const fakeOptions: GitHubFakeOptions = { tokens: [token], ...options.fake };
  if (keys !== undefined) {
    fakeOptions.app = { appId: APP_ID, publicKey: keys.publicKey, installations: [INSTALLATION_ID] };
  }
  const [github, secrets, dynamo, aws] = await Promise.all([
    startGitHubFake(fakeOptions),
    startSecretsManagerFake({
      [SECRET_NAMES.token]: token,
      [SECRET_NAMES.webhook]: webhookSecret,
      ...(keys === undefined
        ? {}
        : {
            [SECRET_NAMES.app]: JSON.stringify({
              appId: APP_ID,
              privateKey: keys.privateKey,
              installationId: INSTALLATION_ID,
            }),
          }),
    }),
    startDynalite(),
    startAwsJsonFake(),
  ]);
  const table = 'github-state';
  await createTable(dynamo.endpoint, table);
  const queueUrl = `${aws.endpoint}/123456789012/github-events`;
  const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:github-events';
  const sinks = options.sinks ?? ['sqs', 'sfn'];
  const env: Record<string, string | undefined> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    AWS_ENDPOINT_URL_SFN: aws.endpoint,
    GITHUB_API_URL: github.baseUrl,
    GITHUB_AUTH: options.auth ?? 'token',
    GITHUB_STATE_TABLE: options.table === false ? undefined : table,
    GITHUB_EVENTS_QUEUE_URL: sinks.includes('sqs') ? queueUrl : undefined,
    GITHUB_EVENTS_STATE_MACHINE_ARN: sinks.includes('sfn') ? stateMachineArn : undefined,
    ...options.env,
  };
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return {
    github,
    secrets,
    dynamo,
    aws,
    token,
    webhookSecret,
    privateKey: keys?.privateKey,
    table,
    queueUrl,
    stateMachineArn,
    close: async () => {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await Promise.all([github.close(), secrets.close(), dynamo.close(), aws.close()]);
    },
  };
}
