import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  GITHUB_SANDBOX_TOKEN,
  planProviders,
  SLACK_SANDBOX_TOKEN,
  startSandboxes,
} from '../../scripts/local/sandboxes/index.ts';
import { SecretStore } from '../../scripts/local/stores/secret-store.ts';

const slack = {
  environment: {
    SLACK_API_URL: 'https://slack.com/api',
    SLACK_BOT_TOKEN_SECRET: 'circle-core/dev/slack/bot-token',
  },
};
const github = {
  environment: {
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_TOKEN_SECRET: 'circle-core/dev/github/token',
  },
};
const s3 = { environment: { S3_BUCKET: 'b' } };

describe('Function: planProviders', () => {
  it('plans a sandbox for each provider a function calls, by default', () => {
    // Act
    const plans = planProviders([s3, slack, github], {});
    // Assess
    expect(plans.map((plan) => [plan.spec.provider, plan.mode, plan.secretName])).toEqual([
      ['slack', 'sandbox', 'circle-core/dev/slack/bot-token'],
      ['github', 'sandbox', 'circle-core/dev/github/token'],
    ]);
  });

  it('uses the real provider when CIRCLE_LOCAL_REAL names it (or all), and a base URL set in the shell', () => {
    // Act & Assess
    expect(planProviders([slack, github], { CIRCLE_LOCAL_REAL: 'github' }).map((plan) => plan.mode)).toEqual([
      'sandbox',
      'real',
    ]);
    expect(planProviders([slack, github], { CIRCLE_LOCAL_REAL: 'all' }).map((plan) => plan.mode)).toEqual([
      'real',
      'real',
    ]);
    expect(
      planProviders([slack], { SLACK_API_URL: 'http://127.0.0.1:9/api' }).map((plan) => plan.mode),
    ).toEqual(['shell']);
  });

  it('refuses an unknown provider in CIRCLE_LOCAL_REAL, naming the known ones', () => {
    // Act & Assess
    expect(() => planProviders([slack], { CIRCLE_LOCAL_REAL: 'slak' })).toThrow(
      'CIRCLE_LOCAL_REAL names slak; known providers: slack, github, azure-blob, jira, pagerduty, openai, anthropic, bedrock, stripe, gitlab, gcs, qdrant, pinecone, oidc, twilio, teams, fhir, snowflake, shopify (or all)',
    );
  });
});

describe('Function: startSandboxes', () => {
  let dir: string;
  let store: SecretStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'circle-sandbox-plan-'));
    store = new SecretStore(join(dir, 'secrets.json'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the sandbox tokens when no secret is set, and the sandboxes accept them', async () => {
    // Act
    const sandboxes = await startSandboxes(planProviders([slack, github], {}), store, {});
    try {
      const auth = await fetch(`${sandboxes.variables['SLACK_API_URL']}/auth.test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SLACK_SANDBOX_TOKEN}` },
      });
      const issues = await fetch(`${sandboxes.variables['GITHUB_API_URL']}/repos/octo/hello/issues`, {
        headers: { authorization: `Bearer ${GITHUB_SANDBOX_TOKEN}` },
      });
      // Assess
      expect((await store.get('circle-core/dev/slack/bot-token'))?.value).toBe(SLACK_SANDBOX_TOKEN);
      expect((await store.get('circle-core/dev/github/token'))?.value).toBe(GITHUB_SANDBOX_TOKEN);
      expect(await auth.json()).toMatchObject({ ok: true });
      expect(issues.status).toBe(200);
      expect(sandboxes.providers.map((state) => state.mode)).toEqual(['sandbox', 'sandbox']);
    } finally {
      await sandboxes.close();
    }
  });

  it('leaves a stored token alone and lets the sandbox accept it', async () => {
    // Prepare
    await store.put('circle-core/dev/slack/bot-token', { value: 'xoxb-placeholder' });
    // Act
    const sandboxes = await startSandboxes(planProviders([slack], {}), store, {});
    try {
      const auth = await fetch(`${sandboxes.variables['SLACK_API_URL']}/auth.test`, {
        method: 'POST',
        headers: { authorization: 'Bearer xoxb-placeholder' },
      });
      // Assess
      expect((await store.get('circle-core/dev/slack/bot-token'))?.value).toBe('xoxb-placeholder');
      expect(await auth.json()).toMatchObject({ ok: true });
      expect(sandboxes.providers[0]?.note).toContain('CIRCLE_LOCAL_REAL=slack');
    } finally {
      await sandboxes.close();
    }
  });

  it('starts nothing for a real provider, and says when its secret is missing or still the sandbox token', async () => {
    // Prepare
    await store.put('circle-core/dev/github/token', { value: GITHUB_SANDBOX_TOKEN });
    // Act
    const sandboxes = await startSandboxes(
      planProviders([slack, github], { CIRCLE_LOCAL_REAL: 'all' }),
      store,
      {},
    );
    // Assess
    expect(sandboxes.variables).toEqual({});
    expect(sandboxes.providers.map((state) => [state.provider, state.mode, state.note])).toEqual([
      [
        'slack',
        'real',
        'circle-core/dev/slack/bot-token is not set: npm run secrets -- set circle-core/dev/slack/bot-token -',
      ],
      [
        'github',
        'real',
        'circle-core/dev/github/token holds the sandbox token: npm run secrets -- set circle-core/dev/github/token -',
      ],
    ]);
    await sandboxes.close();
  });
});
