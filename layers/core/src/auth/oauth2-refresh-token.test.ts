import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthError, ConfigurationError, ForbiddenError, UnavailableError } from '../errors.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import { type SeenRequest, startServer, type TestServer, testClients } from '../http/testing/server.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { oauth2RefreshToken, putSecretValue } from './oauth2-refresh-token.ts';

const CLIENT = { clientId: 'app-1', clientSecret: 'cs-Zq9' };

/**
 * A token endpoint following RFC 6749 §6 with rotation: each refresh token works once and is answered
 * with a new one; an old one gets `invalid_grant`. Real HTTP on 127.0.0.1.
 */
class RotatingEndpoint {
  valid = new Set(['rt-0']);
  issued = 0;
  minted = 0;
  rotate = true;
  down = 0;
  handle(request: SeenRequest): { status: number; body: unknown } {
    if (this.down > 0) {
      this.down -= 1;
      return { status: 503, body: {} };
    }
    const form = new URLSearchParams(request.body);
    const basic = Buffer.from(String(request.headers.authorization).replace(/^Basic /, ''), 'base64');
    const [id, secret] = basic.toString('utf8').split(':');
    const clientOk =
      (id === CLIENT.clientId && secret === CLIENT.clientSecret) ||
      (form.get('client_id') === CLIENT.clientId && form.get('client_secret') === CLIENT.clientSecret);
    if (!clientOk) return { status: 401, body: { error: 'invalid_client' } };
    const token = form.get('refresh_token') ?? '';
    if (form.get('grant_type') !== 'refresh_token' || !this.valid.has(token)) {
      return { status: 400, body: { error: 'invalid_grant', error_description: `bad token ${token}` } };
    }
    this.issued += 1;
    const answer: Record<string, unknown> = {
      access_token: `at-${this.issued}`,
      token_type: 'Bearer',
      expires_in: 3600,
    };
    if (this.rotate) {
      this.valid.delete(token);
      this.minted += 1;
      const next = `rt-${this.minted}`;
      this.valid.add(next);
      answer['refresh_token'] = next;
    }
    return { status: 200, body: answer };
  }
}

const sm = mockClient(SecretsManagerClient);
const secretsClient = new SecretsManagerClient({ region: 'us-east-1' });
let server: TestServer;
let endpoint: RotatingEndpoint;
let stored: Map<string, string>;
const writes: Array<{ name: string; value: string }> = [];
const clients = testClients(() => server.origin);

/** The secret store: what the mocked GetSecretValue answers and the injected writer updates. */
function store(name: string, value: string): Promise<void> {
  writes.push({ name, value });
  stored.set(name, value);
  return Promise.resolve();
}

function auth(name = 'app/oauth', extra: Partial<Parameters<typeof oauth2RefreshToken>[0]> = {}) {
  return oauth2RefreshToken({
    tokenUrl: `${server.origin}/oauth/token`,
    credentials: defineSecret(name),
    store,
    ...extra,
  });
}

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

beforeEach(() => {
  endpoint = new RotatingEndpoint();
  server.requests.length = 0;
  server.handle((request, response) => {
    const { status, body } = endpoint.handle(request);
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  stored = new Map([['app/oauth', JSON.stringify({ ...CLIENT, refreshToken: 'rt-0', tenant: 'eu' })]]);
  writes.length = 0;
  sm.reset();
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({
    SecretString: stored.get(input.SecretId),
  }));
  configureSecrets({ client: secretsClient });
  clients.closeAll();
  resetCircuitBreakers();
});

describe('Function: oauth2RefreshToken', () => {
  it('refuses a token URL that would send the refresh token in clear text', () => {
    // Act & Assess
    expect(() =>
      oauth2RefreshToken({ tokenUrl: 'http://login.example.com/t', credentials: defineSecret('x') }),
    ).toThrow(
      new ConfigurationError(
        'oauth2RefreshToken tokenUrl must use https (plain http only on loopback), got http://login.example.com',
      ),
    );
  });
});

describe('Class: OAuth2RefreshTokenAuth', () => {
  describe('Method: apply', () => {
    it('exchanges the stored refresh token and writes the rotated one back, keeping the other fields', async () => {
      // Prepare
      const request = { url: new URL('https://api.example.com'), headers: {} as Record<string, string> };

      // Act
      await auth().apply(request);

      // Assess
      expect(request.headers['authorization']).toBe('Bearer at-1');
      const sent = new URLSearchParams(server.requests[0]?.body);
      expect(Object.fromEntries(sent)).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-0' });
      expect(writes).toEqual([
        { name: 'app/oauth', value: JSON.stringify({ ...CLIENT, refreshToken: 'rt-1', tenant: 'eu' }) },
      ]);
    });

    it('uses the rotated token for the next exchange even before the secret cache sees it', async () => {
      // Prepare
      const rotating = auth();
      await rotating.token();
      await rotating.refresh();

      // Act
      const token = await rotating.token();

      // Assess
      expect(token).toBe('at-2');
      expect(server.requests.map((r) => new URLSearchParams(r.body).get('refresh_token'))).toEqual([
        'rt-0',
        'rt-1',
      ]);
      expect(writes.map((write) => JSON.parse(write.value).refreshToken)).toEqual(['rt-1', 'rt-2']);
    });

    it('re-reads the secret once after invalid_grant: another container rotated the token first', async () => {
      // Prepare: this container holds rt-0 in its cache; another one used it and stored rt-1.
      const mine = auth();
      const secret = defineSecret('app/oauth');
      await secret.prefetch();
      endpoint.valid = new Set(['rt-1']);
      endpoint.minted = 1;
      stored.set('app/oauth', JSON.stringify({ ...CLIENT, refreshToken: 'rt-1' }));

      // Act
      const token = await mine.token();

      // Assess
      expect(token).toBe('at-1');
      expect(server.requests).toHaveLength(2);
      expect(JSON.parse(writes[0]?.value ?? '{}').refreshToken).toBe('rt-2');
    });

    it('throws an AuthError naming invalid_grant, never the token, when the secret holds no newer one', async () => {
      // Prepare
      endpoint.valid = new Set();

      // Act
      const error = await auth()
        .token()
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(AuthError);
      expect((error as AuthError).details).toMatchObject({ oauthError: 'invalid_grant' });
      expect((error as Error).message).toContain('bad token [redacted]');
      expect((error as Error).message).not.toContain('rt-0');
      expect(server.requests).toHaveLength(1);
    });

    it('does not write when the provider keeps the refresh token', async () => {
      // Prepare
      endpoint.rotate = false;

      // Act
      await auth().token();

      // Assess
      expect(writes).toEqual([]);
    });

    it('fails the call when the rotated token cannot be stored, and keeps it for the next exchange', async () => {
      // Prepare
      let failWrite = true;
      const failing = auth('app/oauth', {
        store: async (name, value) => {
          if (failWrite) throw new ForbiddenError('not allowed to PutSecretValue');
          await store(name, value);
        },
      });

      // Act
      const first = await failing.token().catch((caught: unknown) => caught);
      failWrite = false;
      await failing.refresh();
      const second = await failing.token();

      // Assess
      expect(first).toBeInstanceOf(ForbiddenError);
      expect(second).toBe('at-2');
      expect(server.requests.map((r) => new URLSearchParams(r.body).get('refresh_token'))).toEqual([
        'rt-0',
        'rt-1',
      ]);
    });

    it('sends the client id (and secret) in the body when asked, and without a secret for a public client', async () => {
      // Prepare
      stored.set('app/public', JSON.stringify({ clientId: 'pub', refreshToken: 'rt-0' }));
      endpoint.rotate = false;

      // Act
      await auth('app/oauth', { clientAuthentication: 'body', scope: 'read' }).token();
      await auth('app/public')
        .token()
        .catch(() => undefined);

      // Assess
      const [confidential, publicClient] = server.requests.map((r) =>
        Object.fromEntries(new URLSearchParams(r.body)),
      );
      expect(confidential).toEqual({
        grant_type: 'refresh_token',
        refresh_token: 'rt-0',
        scope: 'read',
        client_id: 'app-1',
        client_secret: 'cs-Zq9',
      });
      expect(publicClient).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-0', client_id: 'pub' });
      expect(server.requests[1]?.headers.authorization).toBeUndefined();
    });

    it('passes an unavailable token endpoint on as UnavailableError, without writing', async () => {
      // Prepare
      endpoint.down = 1;

      // Act
      const error = await auth()
        .token()
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(writes).toEqual([]);
    });

    it('gets a new access token after the provider refused one, through the HTTP client', async () => {
      // Prepare
      const api = await startServer((request, response) => {
        const ok = request.headers.authorization === 'Bearer at-2';
        response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end('{}');
      });
      const http = clients.make({ baseUrl: api.origin, auth: auth() });

      // Act
      const answer = await http.request({ method: 'GET', path: '/me' });

      // Assess
      expect(answer.status).toBe(200);
      expect(api.requests).toHaveLength(2);
      await api.close();
    });
  });
});

describe('Function: putSecretValue', () => {
  it('writes a new secret version through the AWS kit', async () => {
    // Prepare
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'v2' });

    // Act
    await putSecretValue('app/oauth', '{"refreshToken":"rt-9"}');

    // Assess
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'app/oauth',
      SecretString: '{"refreshToken":"rt-9"}',
    });
  });

  it('maps a refused write through the AWS error table', async () => {
    // Prepare
    sm.on(PutSecretValueCommand).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // Act
    const error = await putSecretValue('app/oauth', '{}').catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('secret app/oauth');
  });
});
