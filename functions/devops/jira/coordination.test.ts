/**
 * Jira with OAuth 2.0 (3LO) in several containers sharing CIRCLE_COORDINATION_TABLE (dynalite): Atlassian
 * rotates the refresh token on every grant, so the containers must make one grant between them, not one
 * each (the others would spend a refresh token already rotated away).
 */
import { randomUUID } from 'node:crypto';
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import { lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type JiraFakeState, startJiraFake } from '../../../scripts/local/sandboxes/jira.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const SECRET = `test/jira/oauth-${randomUUID().slice(0, 8)}`;
const INITIAL = {
  clientId: 'jira-sandbox-client',
  clientSecret: 'jira-sandbox-client-secret',
  refreshToken: 'jira-sandbox-refresh-1',
};

let fake: FakeServer<JiraFakeState>;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [fake, secrets, dynamo] = await Promise.all([
    startJiraFake(),
    startSecretsManager({ [SECRET]: JSON.stringify(INITIAL) }),
    startDynalite(),
  ]);
  await createTable(dynamo.endpoint, 'coordination');
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    CIRCLE_COORDINATION_TABLE: 'coordination',
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
  await Promise.all([fake.close(), secrets.close(), dynamo.close()]);
});

describe('Connector: jira (OAuth 2.0 3LO, shared by containers)', () => {
  it('makes one refresh-token grant for three containers, which all call with its access token', async () => {
    // Prepare: three cold containers (fresh module instances)
    const containers = [];
    for (let i = 0; i < 3; i += 1) {
      vi.resetModules();
      containers.push((await import('./index.ts')).connector);
    }

    // Act
    const outputs = await Promise.all(
      containers.map((connector) =>
        connector.handler(
          { trigger: 'task', operation: 'get-issue', input: { project: 'OPS', key: 'OPS-2' } },
          lambdaContext(),
        ),
      ),
    );

    // Assess
    expect(outputs).toEqual([0, 1, 2].map(() => expect.objectContaining({ key: 'OPS-2' })));
    expect(fake.logFor('oauth-token')).toHaveLength(1);
    const tokens = new Set(fake.logFor('get-issue').map((call) => call.token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toMatch(/^jira-access-/);
  });
});
