/**
 * The Jira connector with OAuth 2.0 (3LO): the refresh-token grant against the fake's `/oauth/token`, the
 * rotated refresh token written back to Secrets Manager before the access token is used, and a second
 * container starting from the written-back token.
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
import { type JiraFakeState, startJiraFake } from '../../../scripts/local/sandboxes/jira.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const SECRET = `test/jira/oauth-${randomUUID().slice(0, 8)}`;
const INITIAL = {
  clientId: 'jira-sandbox-client',
  clientSecret: 'jira-sandbox-client-secret',
  refreshToken: 'jira-sandbox-refresh-1',
};

let fake: FakeServer<JiraFakeState>;
let secrets: SecretsManagerPeer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [fake, secrets] = await Promise.all([
    startJiraFake(),
    startSecretsManager({ [SECRET]: JSON.stringify(INITIAL) }),
  ]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    JIRA_API_URL: fake.url,
    JIRA_AUTH: 'oauth2',
    JIRA_OAUTH_TOKEN_URL: `${fake.url}/oauth/token`,
    JIRA_CREDENTIALS_SECRET: SECRET,
    JIRA_SECRET_MAX_AGE_SECONDS: '0',
  });
  configureSecrets({});
  resetCircuitBreakers();
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([fake.close(), secrets.close()]);
});

describe('Connector: jira (OAuth 2.0 3LO)', () => {
  it('exchanges the refresh token, writes the rotated one back, and calls with the bearer token', async () => {
    // Act
    const { connector } = await import('./index.ts');
    const output = await connector.handler(
      { trigger: 'task', operation: 'get-issue', input: { project: 'OPS', key: 'OPS-2' } },
      lambdaContext(),
    );
    configureSecrets({});
    const stored = await defineSecret(SECRET).json(RefreshTokenCredentials);

    // Assess
    expect(output).toMatchObject({ key: 'OPS-2' });
    expect(stored.refreshToken).toMatch(/^jira-refresh-/);
    expect(fake.state.refreshTokens.has(stored.refreshToken)).toBe(true);
    expect(fake.state.refreshTokens.has(INITIAL.refreshToken)).toBe(false);
    expect(fake.logFor('get-issue')[0]?.token).toMatch(/^jira-access-/);
    expect(fake.logFor('oauth-token')[0]?.body).not.toHaveProperty('refresh_token');
  });
});
