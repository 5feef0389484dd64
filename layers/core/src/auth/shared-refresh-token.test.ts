/**
 * sharedRefreshTokenAuth: alone without a coordination table; with one (dynalite), two containers of the
 * connector make one grant between them and use its access token, so the rotated refresh token is spent
 * once. Real HTTP on 127.0.0.1 for the token endpoint.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTable, type DynalitePeer, startDynalite } from '../../../../test/peers/dynalite.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import { startServer, type TestServer } from '../http/testing/server.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { sharedRefreshTokenAuth } from './shared-refresh-token.ts';

const SECRET = 'app/rotating-oauth';
const sm = mockClient(SecretsManagerClient);
let server: TestServer;
let dynamo: DynalitePeer;
let grants = 0;
let valid = 'rt-0';
const saved = { ...process.env };

beforeAll(async () => {
  [server, dynamo] = await Promise.all([startServer(), startDynalite()]);
  await createTable(dynamo.endpoint, 'shared-oauth');
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});

afterAll(async () => {
  process.env = saved;
  await Promise.all([server.close(), dynamo.close()]);
});

beforeEach(() => {
  grants = 0;
  valid = 'rt-0';
  // Each refresh token works once and is answered with the next one (rotation).
  server.handle((request, response) => {
    const form = new URLSearchParams(request.body);
    if (form.get('refresh_token') !== valid) {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
      return;
    }
    grants += 1;
    valid = `rt-${grants}`;
    const answer = {
      access_token: `at-${grants}`,
      refresh_token: valid,
      token_type: 'Bearer',
      expires_in: 3600,
    };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  sm.reset();
  sm.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ clientId: 'c', clientSecret: 's', refreshToken: 'rt-0' }),
  });
  configureSecrets({ client: new SecretsManagerClient({ region: 'us-east-1' }) });
  resetCircuitBreakers();
});

const container = (env: Record<string, string | undefined>) =>
  sharedRefreshTokenAuth(
    'acme',
    {
      tokenUrl: `${server.origin}/oauth/token`,
      credentials: defineSecret(SECRET),
      clientAuthentication: 'body',
      store: async () => undefined,
    },
    env,
  );

describe('Function: sharedRefreshTokenAuth', () => {
  it('grants alone without a coordination table', async () => {
    // Act
    const token = await container({}).token();

    // Assess
    expect(token).toBe('at-1');
    expect(grants).toBe(1);
  });

  it('makes one grant for two containers sharing the coordination table', async () => {
    // Prepare
    const env = { CIRCLE_COORDINATION_TABLE: 'shared-oauth' };

    // Act
    const first = await container(env).token();
    const second = await container(env).token();

    // Assess
    expect([first, second]).toEqual(['at-1', 'at-1']);
    expect(grants).toBe(1);
  });
});
