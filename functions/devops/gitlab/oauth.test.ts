/**
 * The GitLab connector with OAuth 2.0: the refresh-token grant against the fake's `/oauth/token`, the
 * rotated refresh token written back to Secrets Manager, and the access token sent as Bearer.
 */
import { randomUUID } from 'node:crypto';
import {
  configureSecrets,
  defineSecret,
  RefreshTokenCredentials,
  resetCircuitBreakers,
} from '@circle-core/core';
import { lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GITLAB_SANDBOX_CLIENT,
  type GitlabFakeState,
  startGitlabFake,
} from '../../../scripts/local/sandboxes/gitlab.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const SECRET = `test/gitlab/oauth-${randomUUID().slice(0, 8)}`;
const INITIAL = { ...GITLAB_SANDBOX_CLIENT, refreshToken: 'gitlab-refresh-seed' };

let fake: FakeServer<GitlabFakeState>;
let secrets: SecretsManagerPeer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [fake, secrets] = await Promise.all([
    startGitlabFake(),
    startSecretsManager({ [SECRET]: JSON.stringify(INITIAL) }),
  ]);
  fake.state.refreshTokens.set(INITIAL.refreshToken, INITIAL.clientId);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    GITLAB_API_URL: `${fake.url}/api/v4`,
    GITLAB_AUTH: 'oauth2',
    GITLAB_OAUTH_TOKEN_URL: `${fake.url}/oauth/token`,
    GITLAB_TOKEN_SECRET: SECRET,
    GITLAB_SECRET_MAX_AGE_SECONDS: '0',
  });
  configureSecrets({});
  resetCircuitBreakers();
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([fake.close(), secrets.close()]);
});

describe('Connector: gitlab (OAuth 2.0)', () => {
  it('exchanges the refresh token, writes the rotated one back, and calls with the bearer token', async () => {
    // Act
    const { connector } = await import('./index.ts');
    const output = await connector.handler(
      { trigger: 'task', operation: 'get-issue', input: { project: 'ops/platform', key: '2' } },
      lambdaContext(),
    );
    configureSecrets({});
    const stored = await defineSecret(SECRET).json(RefreshTokenCredentials);

    // Assess
    expect(output).toMatchObject({ key: '2' });
    expect(stored.refreshToken).toMatch(/^gitlab-refresh-/);
    expect(fake.state.refreshTokens.has(stored.refreshToken)).toBe(true);
    expect(fake.state.refreshTokens.has(INITIAL.refreshToken)).toBe(false);
    expect(fake.logFor('get-issue')[0]?.token).toMatch(/^gitlab-oauth-/);
    expect(fake.logFor('get-issue')[0]?.headers).not.toHaveProperty('private-token');
  });

  it('answers 401 when GitLab refuses the refresh token (invalid_grant), without showing it', async () => {
    fake.state.refreshTokens.clear();
    fake.state.tokens.clear();
    const { connector } = await import('./index.ts');
    const output = (await connector
      .handler(
        { trigger: 'task', operation: 'get-issue', input: { project: 'ops/platform', key: '2' } },
        lambdaContext(),
      )
      .catch((error: unknown) => error)) as Error;
    expect(output.name).toBe('AuthError');
    expect(JSON.stringify(output)).not.toContain('gitlab-refresh-');
  });
});
