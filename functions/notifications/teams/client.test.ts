/**
 * The Teams client as a library, against the Teams contract fake: the notifier interface's conformance
 * suite (threads and blocks offered; update, channels and user lookup refused), the app-only token
 * (one token for many calls, renewed after a Graph 401, the client secret re-read after a rotation), the
 * @odata.nextLink cursor, and the webhooks secret's shapes.
 */
import { randomUUID } from 'node:crypto';
import {
  AuthError,
  ConfigurationError,
  configureSecrets,
  defineSecret,
  ForbiddenError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNotifierConformance } from '#shared/interfaces/notifier.conformance.ts';
import {
  startTeamsFake,
  storedTeamsMessage,
  TEAMS_IMPORT_ONLY_CHANNEL,
  TEAMS_SANDBOX_CHANNEL,
  TEAMS_SANDBOX_CLIENT_ID,
  TEAMS_SANDBOX_SECRET,
  TEAMS_SANDBOX_TEAM,
  TEAMS_SANDBOX_TENANT,
  TEAMS_SANDBOX_THREAD,
  teamsWebhookUrl,
} from '../../../scripts/local/sandboxes/teams.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { graphAuth, NO_AUTH, odataNextLink, TeamsApi, teamsApi, webhookUrl } from './client.ts';

const suffix = randomUUID().slice(0, 8);
const SECRET = `test/teams/library-${suffix}`;
const WEBHOOKS = `test/teams/webhooks-${suffix}`;
const CHANNEL = `${TEAMS_SANDBOX_TEAM}/${TEAMS_SANDBOX_CHANNEL}`;
let secrets: SecretsManagerPeer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  secrets = await startSecretsManager({ [SECRET]: TEAMS_SANDBOX_SECRET });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  configureSecrets({});
});

afterAll(async () => {
  process.env = savedEnv;
  await secrets.close();
});

async function library() {
  const fake = await startTeamsFake();
  const secret = defineSecret(SECRET);
  const auth = graphAuth({ loginUrl: fake.url, tenantId: TEAMS_SANDBOX_TENANT }, secret);
  const rest = teamsApi.client({ baseUrl: `${fake.url}/v1.0`, auth, coordination: false });
  return { fake, secret, api: new TeamsApi(rest, { teamId: TEAMS_SANDBOX_TEAM, auth }) };
}

describeNotifierConformance('Microsoft Teams', async () => {
  const { fake, api } = await library();
  return {
    notifier: api,
    channel: CHANNEL,
    missingChannel: `${TEAMS_SANDBOX_TEAM}/19:no-such-channel@thread.tacv2`,
    readMessage: async (channel, ts) => storedTeamsMessage(fake.state, channel, ts),
    close: async () => {
      api.close();
      await fake.close();
    },
  };
});

describe('Class: TeamsApi', () => {
  it('gets one app-only token for several calls, from the tenant endpoint with the .default scope', async () => {
    // Prepare
    const { fake, api } = await library();

    // Act
    await api.postMessage({ channel: TEAMS_SANDBOX_CHANNEL, text: 'one' });
    await api.postMessage({ channel: CHANNEL, text: 'two' });
    await api.listReplies({ channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });

    // Assess
    const tokens = fake.logFor('token');
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.path).toBe(`/${TEAMS_SANDBOX_TENANT}/oauth2/v2.0/token`);
    expect(tokens[0]?.body).toEqual({
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
      client_id: TEAMS_SANDBOX_CLIENT_ID,
    });
    expect(fake.logFor('post-message').map((r) => r.status)).toEqual([201, 201]);
    api.close();
    await fake.close();
  });

  it('renews the token after a Graph 401 and re-reads a rotated client secret', async () => {
    // Prepare
    const { fake, api } = await library();
    await api.postMessage({ channel: CHANNEL, text: 'before' });
    const rotated = JSON.stringify({ clientId: TEAMS_SANDBOX_CLIENT_ID, clientSecret: 'rotated-secret-2' });
    await secrets.set(SECRET, rotated);
    fake.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, 'rotated-secret-2');
    fake.state.tokens.clear();

    // Act
    const after = await api.postMessage({ channel: CHANNEL, text: 'after' });

    // Assess
    expect(storedTeamsMessage(fake.state, CHANNEL, after.ts)?.text).toBe('after');
    expect(fake.logFor('post-message').map((r) => r.status)).toEqual([201, 401, 201]);
    expect(fake.logFor('token').map((r) => r.status)).toEqual([200, 200]);
    await secrets.set(SECRET, TEAMS_SANDBOX_SECRET);
    api.close();
    await fake.close();
  });

  it('fails with AuthError naming the AADSTS error, never the client secret, for a revoked secret', async () => {
    // Prepare
    const { fake, api } = await library();
    fake.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, 'someone-else-rotated-it');

    // Act
    const attempt = api.postMessage({ channel: CHANNEL, text: 'x' });

    // Assess
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toContain('invalid_client');
    expect(error.message).toContain('AADSTS7000215');
    expect(error.message).not.toContain('teams-sandbox-client-secret');
    expect(fake.logFor('post-message')).toEqual([]);
    api.close();
    await fake.close();
  });

  it('says what to do when Graph allows app-only posts in a channel for import only (one request, no renewal)', async () => {
    // Prepare
    const { fake, api } = await library();

    // Act
    const attempt = api.postMessage({ channel: TEAMS_IMPORT_ONLY_CHANNEL, text: 'x' });

    // Assess
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toContain('post-webhook-message');
    // Not about the token: no renewal, and the message is posted (refused) once, not twice.
    expect(fake.logFor('post-message').map((r) => r.status)).toEqual([401]);
    expect(fake.logFor('token')).toHaveLength(1);
    api.close();
    await fake.close();
  });

  it('refuses a channel without a team when no default team is set, before any call', async () => {
    // Prepare
    const fake = await startTeamsFake();
    const api = new TeamsApi(
      teamsApi.client({ baseUrl: `${fake.url}/v1.0`, auth: NO_AUTH, coordination: false }),
    );

    // Act
    const attempt = api.postMessage({ channel: TEAMS_SANDBOX_CHANNEL, text: 'x' });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    expect(fake.log).toEqual([]);
    await fake.close();
  });

  it('fails Graph calls with a ConfigurationError naming TEAMS_TENANT_ID when it is not set', async () => {
    // Prepare
    const auth = graphAuth(
      { loginUrl: 'https://login.microsoftonline.com', tenantId: undefined },
      defineSecret(SECRET),
    );

    // Act
    const attempt = auth.apply({ url: new URL('https://graph.microsoft.com/v1.0'), headers: {} });

    // Assess
    await expect(attempt).rejects.toThrow(/TEAMS_TENANT_ID/);
    await expect(auth.refresh?.()).resolves.toBe(false);
  });
});

describe('Function: webhookUrl', () => {
  it('reads one URL as "default", or a JSON map by name, and names a missing one without any URL', async () => {
    // Prepare
    const url = teamsWebhookUrl('https://prod-12.westus.logic.azure.com:443', 'abc', 'secret-sig-1');
    await secrets.set(WEBHOOKS, url);
    const one = defineSecret(WEBHOOKS);

    // Act
    const plain = await webhookUrl(one, 'default');
    await secrets.set(WEBHOOKS, JSON.stringify({ oncall: url }));
    await one.refresh();
    const named = await webhookUrl(one, 'oncall');
    const missing = (await webhookUrl(one, 'default').catch((e: unknown) => e)) as Error;

    // Assess
    expect(plain.href).toBe(new URL(url).href);
    expect(named.searchParams.get('sig')).toBe('secret-sig-1');
    expect(missing).toBeInstanceOf(ValidationError);
    expect(missing.message).not.toContain('secret-sig-1');
  });

  it('refuses a webhook URL that is plain http off loopback, or not a URL at all', async () => {
    // Prepare
    await secrets.set(WEBHOOKS, 'http://prod-12.westus.logic.azure.com/workflows/x?sig=s');
    const secret = defineSecret(WEBHOOKS);
    await secret.refresh();

    // Act
    const http = webhookUrl(secret, 'default');

    // Assess
    await expect(http).rejects.toBeInstanceOf(ConfigurationError);
    await secrets.set(WEBHOOKS, 'not a url');
    await secret.refresh();
    await expect(webhookUrl(secret, 'default')).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('Pagination: odataNextLink', () => {
  it('keeps only $skiptoken of @odata.nextLink, and refuses a forged cursor', () => {
    // Act
    const next = odataNextLink.next({
      headers: {},
      query: {},
      count: 2,
      body: {
        '@odata.nextLink': 'https://graph.microsoft.com/v1.0/teams/t/x?$top=2&$skiptoken=MjA&$filter=evil',
      },
    });
    const forged = Buffer.from('a&b=c').toString('base64url');

    // Assess
    expect(odataNextLink.query({ $top: 2 }, next.nextCursor)).toEqual({ $top: 2, $skiptoken: 'MjA' });
    expect(odataNextLink.next({ headers: {}, query: {}, count: 0, body: { value: [] } })).toEqual({});
    expect(
      odataNextLink.next({ headers: {}, query: {}, count: 0, body: { '@odata.nextLink': 'not a url' } }),
    ).toEqual({});
    expect(() => odataNextLink.query({}, forged)).toThrow(ValidationError);
  });
});
