/**
 * The SaaS sandboxes of the local stack: for each provider a connector calls over the internet, the
 * contract fake the tests use (the same files), seeded with the data the READMEs' examples name, on
 * 127.0.0.1. `npm start` points the connector at it: the connector's base-URL setting (`SLACK_API_URL`, ...)
 * in the function's environment, and the sandbox token under the secret name the function reads.
 *
 * Per provider, the first that applies:
 * - `shell`: the shell that starts the stack sets the base-URL setting (a fake of the caller's own, a
 *   GitHub Enterprise server): that URL and the stored secret are used, no sandbox starts;
 * - `real`: `CIRCLE_LOCAL_REAL` names the provider (`slack,github`, or `all`): the deployed base URL and
 *   the secret stored with `npm run secrets`;
 * - `sandbox`: the default. The sandbox token is stored when the secret is absent; a secret the user
 *   stored is left alone and the sandbox accepts its value too (a stored token alone never sends calls to
 *   the real provider: the setting does).
 *
 * The next provider is one row of {@link SANDBOXES}.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { guardServer, type Refusal } from '../guard.ts';
import { AZURITE_ACCOUNT, startAzurite } from '../stores/azurite.ts';
import type { SecretStore } from '../stores/secret-store.ts';
import { ANTHROPIC_SANDBOX_TOKEN, startAnthropicFake } from './anthropic.ts';
import { BEDROCK_SANDBOX_ACCESS_KEY, startBedrockFake } from './bedrock.ts';
import { FHIR_SANDBOX_TOKEN, startFhirFake } from './fhir.ts';
import { acceptKeyFile, sandboxServiceAccount, startGcsFake } from './gcs.ts';
import { type FakeRepoSeed, startGitHubFake } from './github.ts';
import { GITLAB_SANDBOX_TOKEN, GITLAB_SANDBOX_WEBHOOK_SECRET, startGitlabFake } from './gitlab.ts';
import { JIRA_SANDBOX_SECRET, JIRA_SANDBOX_WEBHOOK_SECRET, startJiraFake } from './jira.ts';
import { throttleOnMarker } from './llm-behaviour.ts';
import { OIDC_SANDBOX_TOKEN, startOidcFake } from './oidc.ts';
import { OPENAI_SANDBOX_TOKEN, startOpenaiFake } from './openai.ts';
import {
  PAGERDUTY_SANDBOX_ROUTING_KEY,
  PAGERDUTY_SANDBOX_TOKEN,
  PAGERDUTY_SANDBOX_WEBHOOK_SECRET,
  startPagerDutyFake,
} from './pagerduty.ts';
import { PINECONE_SANDBOX_KEY, startPineconeFake } from './pinecone.ts';
import { QDRANT_SANDBOX_KEY, startQdrantFake } from './qdrant.ts';
import { SHOPIFY_SANDBOX_TOKEN, SHOPIFY_SANDBOX_WEBHOOK_SECRET, startShopifyFake } from './shopify.ts';
import {
  DEFAULT_SLACK_TOKEN,
  type SlackFakeChannel,
  type SlackFakeMessage,
  seedChannels,
  seedMessages,
  seedUsers,
  startSlackFake,
} from './slack.ts';
import { acceptKey, sandboxKeyPair, startSnowflakeFake } from './snowflake.ts';
import { STRIPE_SANDBOX_TOKEN, STRIPE_SANDBOX_WEBHOOK_SECRET, startStripeFake } from './stripe.ts';
import {
  startTeamsFake,
  TEAMS_SANDBOX_SECRET,
  TEAMS_SANDBOX_TEAM,
  TEAMS_SANDBOX_TENANT,
  teamsWebhookUrl,
} from './teams.ts';
import { startTwilioFake, TWILIO_SANDBOX_FROM, TWILIO_SANDBOX_SECRET } from './twilio.ts';

/** A running sandbox. */
export interface RunningSandbox {
  /** The base URL the connector is given. */
  url: string;
  /** Lets a token the user stored in; the sandbox token is always accepted. */
  acceptToken(token: string): void;
  close(): Promise<void>;
}

/** One provider's sandbox: what it replaces, and how to start it. */
export interface SandboxSpec {
  /** Lower-case provider name, as `CIRCLE_LOCAL_REAL` names it. */
  provider: string;
  /** Its name among the stack's listeners (`/health`). */
  listener: string;
  /** The function setting with the provider's base URL. */
  urlVariable: string;
  /** The function setting naming the token's secret. */
  /** Absent for a provider whose credential is the function's role (Bedrock: AWS signs with its keys). */
  secretVariable?: string;
  /** The token the sandbox accepts and the stack stores when no secret is set. */
  token: string;
  /**
   * Starts it; `prepare` gets the HTTP server before it listens (a sandbox in a process of its own puts
   * the gate in front itself); `environment` is the first calling function's (the container it names).
   */
  start(prepare: (server: Server) => void, environment: Record<string, string>): Promise<RunningSandbox>;
  /** More settings the sandbox serves (a second API's base URL), from its URL. */
  moreVariables?(url: string): Record<string, string>;
  /**
   * More secrets the sandbox stores when absent: the function setting naming each -> its sandbox value;
   * as a function of the sandbox's URL (a webhook URL on it), re-stored at each start unless the user's own.
   */
  moreSecrets?: Readonly<Record<string, string>> | ((url: string) => Record<string, string>);
}

/** A refusal of the stack's Host/Origin gate, as JSON (both providers answer JSON). */
function refuseSandbox(_req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  const body = JSON.stringify({ ok: false, error: 'forbidden', message: refusal.message });
  res.writeHead(403, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Puts the stack's Host/Origin gate in front of a sandbox, as in front of every local listener. */
export const guardSandbox = (server: Server): void => guardServer(server, refuseSandbox);

/** The Slack sandbox's token (the fake's default one). */
export const SLACK_SANDBOX_TOKEN = DEFAULT_SLACK_TOKEN;
/** What the stack stores for the Azure Blob connector: azurite's well-known development account. */
export const AZURITE_SANDBOX_SECRET = JSON.stringify({
  accountName: AZURITE_ACCOUNT.name,
  accountKey: AZURITE_ACCOUNT.key,
});

/** The GitHub sandbox's token. */
export const GITHUB_SANDBOX_TOKEN = 'ghp_circle_sandbox_token';
/** What the stack stores as the Slack app's signing secret, so the READMEs' signed events verify offline. */
export const SLACK_SANDBOX_SIGNING_SECRET = 'slack-sandbox-signing-secret';
/** What the stack stores as the GitHub webhook secret, so the READMEs' signed deliveries verify offline. */
export const GITHUB_SANDBOX_WEBHOOK_SECRET = 'github-sandbox-webhook-secret';
/** The bot's messages of the Slack README examples (`update-message`, a thread reply). */
export const SLACK_SANDBOX_MESSAGES = { parent: '1503435956.000247', update: '1503435957.000301' } as const;

/** The Slack fake's seed plus the channels and messages the READMEs name (`C0123ABCD`, `#reports`). */
function slackSeed(): { channels: SlackFakeChannel[]; messages: SlackFakeMessage[] } {
  return {
    channels: [
      ...seedChannels(),
      { id: 'C0123ABCD', name: 'deploys', topic: 'Deploy notices', numMembers: 3 },
      { id: 'C0REPORTS', name: 'reports', topic: 'Nightly exports', numMembers: 3 },
    ],
    messages: [
      ...seedMessages(),
      {
        channel: 'C0123ABCD',
        ts: SLACK_SANDBOX_MESSAGES.parent,
        user: 'U0BOT',
        botId: 'B0BOT',
        text: 'Deploy of api started',
      },
      {
        channel: 'C0123ABCD',
        ts: SLACK_SANDBOX_MESSAGES.update,
        user: 'U0BOT',
        botId: 'B0BOT',
        text: 'Deploy of api finished',
      },
    ],
  };
}

/** The repositories the GitHub README (`octo-org/hello-world`) and the workflows README (`octo/hello`) use. */
export function githubSeed(): Record<string, FakeRepoSeed> {
  return {
    'octo-org/hello-world': {
      issues: [
        {
          number: 1345,
          title: 'Flaky login test',
          labels: ['bug'],
          state: 'closed',
          createdAt: '2024-04-28T09:00:00Z',
          updatedAt: '2024-04-30T09:00:00Z',
          closedAt: '2024-04-30T09:00:00Z',
        },
        {
          number: 1346,
          title: 'Add dark mode',
          labels: ['enhancement'],
          createdAt: '2024-04-29T09:00:00Z',
          updatedAt: '2024-04-29T09:00:00Z',
        },
        {
          number: 1347,
          title: 'Deploy failed',
          body: 'See run 42',
          labels: ['bug'],
          createdAt: '2024-05-01T10:00:00Z',
          updatedAt: '2024-05-01T10:00:00Z',
        },
      ],
      files: { 'README.md': '# hello-world\n', 'docs/README.md': '# Hello\n\nHi\n' },
    },
    'octo/hello': {
      issues: [
        { number: 6, title: 'Document the API', labels: ['docs'] },
        { number: 7, title: 'Crash on start', body: 'Stack trace attached', labels: ['bug'] },
      ],
      files: { 'README.md': '# hello\n' },
    },
  };
}

/** Every provider with a sandbox. */
export const SANDBOXES: readonly SandboxSpec[] = [
  {
    provider: 'slack',
    listener: 'Slack sandbox',
    urlVariable: 'SLACK_API_URL',
    secretVariable: 'SLACK_BOT_TOKEN_SECRET',
    token: SLACK_SANDBOX_TOKEN,
    moreSecrets: { SLACK_SIGNING_SECRET_SECRET: SLACK_SANDBOX_SIGNING_SECRET },
    start: async (prepare) => {
      const fake = await startSlackFake({
        ...slackSeed(),
        users: seedUsers(),
        tokens: [SLACK_SANDBOX_TOKEN],
        prepare,
      });
      return { url: fake.url, acceptToken: (token) => fake.tokens.add(token), close: () => fake.close() };
    },
  },
  {
    provider: 'github',
    listener: 'GitHub sandbox',
    urlVariable: 'GITHUB_API_URL',
    secretVariable: 'GITHUB_TOKEN_SECRET',
    token: GITHUB_SANDBOX_TOKEN,
    moreSecrets: { GITHUB_WEBHOOK_SECRET_SECRET: GITHUB_SANDBOX_WEBHOOK_SECRET },
    start: async (prepare) => {
      const fake = await startGitHubFake({ tokens: [GITHUB_SANDBOX_TOKEN], repos: githubSeed(), prepare });
      return { url: fake.baseUrl, acceptToken: (token) => fake.addToken(token), close: () => fake.close() };
    },
  },
  {
    // Not a contract fake: Microsoft's own emulator (it checks Shared Key and SAS signatures), in a
    // process of its own like s3rver, holding the function's container. The stored "token" is the
    // emulator account's credential; the endpoint is the sandbox URL.
    provider: 'azure-blob',
    listener: 'Azure Blob (azurite)',
    urlVariable: 'AZURE_BLOB_ENDPOINT',
    secretVariable: 'AZURE_BLOB_SECRET',
    token: AZURITE_SANDBOX_SECRET,
    start: async (_prepare, environment) => {
      const container = environment['AZURE_BLOB_CONTAINER'];
      // In memory, as every sandbox keeps its data: a restarted stack starts from an empty container.
      const azurite = await startAzurite({
        containers: container === undefined ? [] : [{ account: AZURITE_ACCOUNT.name, name: container }],
      });
      // A key the user stored cannot be taught to azurite: its account key is the one that works.
      return {
        url: `${azurite.url}/${AZURITE_ACCOUNT.name}`,
        acceptToken: () => undefined,
        close: azurite.close,
      };
    },
  },
  {
    provider: 'jira',
    listener: 'Jira sandbox',
    urlVariable: 'JIRA_API_URL',
    secretVariable: 'JIRA_CREDENTIALS_SECRET',
    // Basic auth's secret shape: { username: <email>, password: <API token> }.
    token: JIRA_SANDBOX_SECRET,
    moreSecrets: { JIRA_WEBHOOK_SECRET_SECRET: JIRA_SANDBOX_WEBHOOK_SECRET },
    start: async (prepare) => {
      const fake = await startJiraFake({ prepare });
      const acceptToken = (value: string): void => {
        const pair = /^\{/.test(value)
          ? (JSON.parse(value) as { username?: unknown; password?: unknown })
          : {};
        fake.state.tokens.add(
          typeof pair.username === 'string' ? `${pair.username}:${String(pair.password)}` : value,
        );
      };
      return { url: fake.url, acceptToken, close: () => fake.close() };
    },
  },
  {
    provider: 'pagerduty',
    listener: 'PagerDuty sandbox',
    urlVariable: 'PAGERDUTY_API_URL',
    secretVariable: 'PAGERDUTY_TOKEN_SECRET',
    token: PAGERDUTY_SANDBOX_TOKEN,
    // One fake serves both APIs: REST v2 and Events v2 (its routing key stored like the token).
    moreVariables: (url) => ({ PAGERDUTY_EVENTS_API_URL: url }),
    moreSecrets: {
      PAGERDUTY_ROUTING_KEY_SECRET: PAGERDUTY_SANDBOX_ROUTING_KEY,
      PAGERDUTY_WEBHOOK_SECRET_SECRET: PAGERDUTY_SANDBOX_WEBHOOK_SECRET,
    },
    start: async (prepare) => {
      const fake = await startPagerDutyFake({ prepare });
      return {
        url: fake.url,
        acceptToken: (token) => fake.state.tokens.add(token),
        close: () => fake.close(),
      };
    },
  },
  {
    provider: 'openai',
    listener: 'OpenAI sandbox',
    urlVariable: 'OPENAI_API_URL',
    secretVariable: 'OPENAI_API_KEY_SECRET',
    token: OPENAI_SANDBOX_TOKEN,
    start: async (prepare) => {
      const fake = await startOpenaiFake({ prepare });
      throttleOnMarker(fake);
      return {
        url: new URL('/v1', fake.url).href,
        acceptToken: (token) => fake.state.tokens.add(token),
        close: () => fake.close(),
      };
    },
  },
  {
    provider: 'anthropic',
    listener: 'Anthropic sandbox',
    urlVariable: 'ANTHROPIC_API_URL',
    secretVariable: 'ANTHROPIC_API_KEY_SECRET',
    token: ANTHROPIC_SANDBOX_TOKEN,
    start: async (prepare) => {
      const fake = await startAnthropicFake({ prepare });
      throttleOnMarker(fake);
      return {
        url: new URL('/v1', fake.url).href,
        acceptToken: (token) => fake.state.tokens.add(token),
        close: () => fake.close(),
      };
    },
  },
  {
    // An AWS service: no secret, the function signs with its role's keys (the stack's `test` key, which
    // the fake accepts); the sandbox is reached through the connector's endpoint setting.
    provider: 'bedrock',
    listener: 'Amazon Bedrock sandbox',
    urlVariable: 'BEDROCK_ENDPOINT_URL',
    token: BEDROCK_SANDBOX_ACCESS_KEY,
    start: async (prepare) => {
      const fake = await startBedrockFake({ prepare });
      throttleOnMarker(fake);
      return {
        url: fake.url,
        acceptToken: (key) => fake.state.accessKeys.add(key),
        close: () => fake.close(),
      };
    },
  },
  {
    provider: 'stripe',
    listener: 'Stripe sandbox',
    urlVariable: 'STRIPE_API_URL',
    secretVariable: 'STRIPE_TOKEN_SECRET',
    token: STRIPE_SANDBOX_TOKEN,
    // The endpoint secret the README's signed webhook examples use.
    moreSecrets: { STRIPE_WEBHOOK_SECRET_SECRET: STRIPE_SANDBOX_WEBHOOK_SECRET },
    start: async (prepare) => {
      const fake = await startStripeFake({ prepare });
      return {
        url: new URL('/v1', fake.url).href,
        acceptToken: (token) => fake.state.tokens.add(token),
        close: () => fake.close(),
      };
    },
  },
  {
    provider: 'gitlab',
    listener: 'GitLab sandbox',
    urlVariable: 'GITLAB_API_URL',
    secretVariable: 'GITLAB_TOKEN_SECRET',
    token: GITLAB_SANDBOX_TOKEN,
    moreSecrets: { GITLAB_WEBHOOK_SECRET_SECRET: GITLAB_SANDBOX_WEBHOOK_SECRET },
    start: async (prepare) => {
      const fake = await startGitlabFake({ prepare });
      return {
        url: new URL('/api/v4', fake.url).href,
        acceptToken: (token) => fake.state.tokens.add(token),
        close: () => fake.close(),
      };
    },
  },
  {
    // The GCS contract fake. The stored "token" is the sandbox service account's key file (made once per
    // process); the JWT bearer grant goes to the sandbox's token endpoint (GCS_TOKEN_URL), and a key file
    // the user stored is let in by its public key.
    provider: 'gcs',
    listener: 'Google Cloud Storage sandbox',
    urlVariable: 'GCS_API_URL',
    secretVariable: 'GCS_CREDENTIALS_SECRET',
    get token() {
      return sandboxServiceAccount().keyFile;
    },
    moreVariables: (url) => ({ GCS_TOKEN_URL: `${url}/token` }),
    start: async (prepare, environment) => {
      const bucket = environment['GCS_BUCKET'];
      const fake = await startGcsFake({ prepare, buckets: bucket === undefined ? [] : [bucket] });
      return {
        url: fake.url,
        acceptToken: (keyFile) => acceptKeyFile(fake.state, keyFile),
        close: () => fake.close(),
      };
    },
  },
  {
    // Qdrant's REST API at the root of its port (collections, points), with the `api-key` header.
    provider: 'qdrant',
    listener: 'Qdrant sandbox',
    urlVariable: 'QDRANT_API_URL',
    secretVariable: 'QDRANT_API_KEY_SECRET',
    token: QDRANT_SANDBOX_KEY,
    start: async (prepare) => {
      const fake = await startQdrantFake({ prepare });
      return {
        url: fake.url,
        acceptToken: (key) => fake.state.keys.add(key),
        close: () => fake.close(),
      };
    },
  },
  {
    // Pinecone's control plane; each index's data plane is at the host its model names (here the same port).
    provider: 'pinecone',
    listener: 'Pinecone sandbox',
    urlVariable: 'PINECONE_API_URL',
    secretVariable: 'PINECONE_API_KEY_SECRET',
    token: PINECONE_SANDBOX_KEY,
    start: async (prepare) => {
      const fake = await startPineconeFake({ prepare });
      return {
        url: fake.url,
        acceptToken: (key) => fake.state.keys.add(key),
        close: () => fake.close(),
      };
    },
  },
  {
    provider: 'oidc',
    listener: 'OIDC issuer sandbox',
    urlVariable: 'OIDC_API_URL',
    secretVariable: 'OIDC_CLIENT_SECRET',
    token: OIDC_SANDBOX_TOKEN,
    start: async (prepare) => {
      const fake = await startOidcFake({ prepare });
      return {
        // The issuer is the sandbox's root: discovery and the keys are below it.
        url: fake.url,
        // A client the user stored ({"clientId","clientSecret"}) may introspect too.
        acceptToken: (stored) => {
          try {
            const { clientId, clientSecret } = JSON.parse(stored) as {
              clientId?: unknown;
              clientSecret?: unknown;
            };
            if (typeof clientId === 'string' && typeof clientSecret === 'string')
              fake.state.clients.set(clientId, clientSecret);
          } catch {
            // Not a client: nothing to accept.
          }
        },
        close: () => fake.close(),
      };
    },
  },
  {
    provider: 'twilio',
    listener: 'Twilio sandbox',
    urlVariable: 'TWILIO_API_URL',
    secretVariable: 'TWILIO_CREDENTIALS_SECRET',
    // The secret's shape: { accountSid, authToken }; the auth token also signs the status callbacks.
    token: TWILIO_SANDBOX_SECRET,
    // The sandbox account's number, so the README's send-message runs without naming a sender.
    moreVariables: () => ({ TWILIO_FROM_NUMBER: TWILIO_SANDBOX_FROM }),
    start: async (prepare) => {
      const fake = await startTwilioFake({ prepare });
      const acceptToken = (value: string): void => {
        let stored: { accountSid?: unknown; authToken?: unknown } = {};
        try {
          stored = JSON.parse(value) as typeof stored;
        } catch {
          // Not the credentials JSON: nothing the sandbox can accept.
        }
        if (typeof stored.accountSid !== 'string' || typeof stored.authToken !== 'string') return;
        fake.state.accountSid = stored.accountSid;
        fake.state.authToken = stored.authToken;
        fake.state.credentials.add(`${stored.accountSid}:${stored.authToken}`);
      };
      return { url: fake.url, acceptToken, close: () => fake.close() };
    },
  },
  {
    // Graph (under /v1.0), the identity platform's token endpoint and a Workflows webhook on one fake. The
    // stored "token" is the app's { clientId, clientSecret }; the webhooks secret is the sandbox workflow's
    // URL, stored again at each start (its port changes) unless the user stored their own.
    provider: 'teams',
    listener: 'Microsoft Teams sandbox',
    urlVariable: 'TEAMS_API_URL',
    secretVariable: 'TEAMS_CREDENTIALS_SECRET',
    token: TEAMS_SANDBOX_SECRET,
    moreVariables: (url) => ({
      TEAMS_LOGIN_URL: new URL(url).origin,
      TEAMS_TENANT_ID: TEAMS_SANDBOX_TENANT,
      TEAMS_TEAM_ID: TEAMS_SANDBOX_TEAM,
    }),
    moreSecrets: (url) => ({ TEAMS_WEBHOOKS_SECRET: teamsWebhookUrl(new URL(url).origin) }),
    start: async (prepare) => {
      const fake = await startTeamsFake({ prepare });
      const acceptToken = (value: string): void => {
        let stored: { clientId?: unknown; clientSecret?: unknown } = {};
        try {
          stored = JSON.parse(value) as typeof stored;
        } catch {
          // Not the credentials JSON: nothing the sandbox can accept.
        }
        if (typeof stored.clientId !== 'string' || typeof stored.clientSecret !== 'string') return;
        fake.state.apps.set(stored.clientId, stored.clientSecret);
      };
      return { url: `${fake.url}/v1.0`, acceptToken, close: () => fake.close() };
    },
  },
  {
    provider: 'fhir',
    listener: 'FHIR R4 sandbox',
    urlVariable: 'FHIR_API_URL',
    secretVariable: 'FHIR_CREDENTIALS_SECRET',
    token: FHIR_SANDBOX_TOKEN,
    start: async (prepare) => {
      const fake = await startFhirFake({ prepare });
      return {
        // The base URL as a FHIR server names it, without a trailing slash (next links start with it).
        url: `${fake.url}/fhir`,
        acceptToken: (token) => fake.state.tokens.add(token),
        close: () => fake.close(),
      };
    },
  },
  {
    // Snowflake's SQL API v2 on DuckDB. The stored "token" is the sandbox key pair's private key (made once
    // per process), which signs the key-pair JWTs; a private key the user stored is let in by its public key.
    provider: 'snowflake',
    listener: 'Snowflake sandbox',
    urlVariable: 'SNOWFLAKE_API_URL',
    secretVariable: 'SNOWFLAKE_PRIVATE_KEY_SECRET',
    get token() {
      return sandboxKeyPair().privateKey;
    },
    start: async (prepare) => {
      const fake = await startSnowflakeFake({ prepare });
      return {
        url: fake.url,
        acceptToken: (pem) => acceptKey(fake.state, pem),
        close: () => fake.close(),
      };
    },
  },
  {
    provider: 'shopify',
    listener: 'Shopify sandbox',
    urlVariable: 'SHOPIFY_API_URL',
    secretVariable: 'SHOPIFY_TOKEN_SECRET',
    token: SHOPIFY_SANDBOX_TOKEN,
    // The app's client secret the README's hand-signed webhook examples use.
    moreSecrets: { SHOPIFY_WEBHOOK_SECRET_SECRET: SHOPIFY_SANDBOX_WEBHOOK_SECRET },
    start: async (prepare) => {
      const fake = await startShopifyFake({ prepare });
      return {
        url: new URL('/admin/api', fake.url).href,
        acceptToken: (token) => fake.state.tokens.add(token),
        close: () => fake.close(),
      };
    },
  },
];

/** How a provider is reached on this stack. */
export interface ProviderPlan {
  spec: SandboxSpec;
  mode: 'sandbox' | 'real' | 'shell';
  /** The secret the functions read (from their `secretVariable`). */
  secretName: string | undefined;
  /** The environment of the first function calling it (names of its other secrets). */
  environment?: Record<string, string>;
}

/** The providers named by `CIRCLE_LOCAL_REAL` (`slack,github`, `all`). */
export function realProviders(shell: NodeJS.ProcessEnv): Set<string> {
  const raw = shell['CIRCLE_LOCAL_REAL'] ?? '';
  const names = raw
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  return new Set(names.includes('all') ? SANDBOXES.map((spec) => spec.provider) : names);
}

/**
 * Decides, for each provider a selected function calls (declares its base-URL setting), how it is reached.
 *
 * @example
 * ```ts
 * planProviders([slack], {}); // [{ spec: <slack>, mode: 'sandbox', secretName: 'circle-core/dev/slack/bot-token' }]
 * ```
 */
export function planProviders(
  functions: readonly { environment: Record<string, string> }[],
  shell: NodeJS.ProcessEnv,
): ProviderPlan[] {
  const real = realProviders(shell);
  const unknown = [...real].filter((name) => !SANDBOXES.some((spec) => spec.provider === name));
  if (unknown.length > 0) {
    const known = SANDBOXES.map((spec) => spec.provider).join(', ');
    throw new Error(`CIRCLE_LOCAL_REAL names ${unknown.join(', ')}; known providers: ${known} (or all)`);
  }
  const plans: ProviderPlan[] = [];
  for (const spec of SANDBOXES) {
    const callers = functions.filter((fn) => fn.environment[spec.urlVariable] !== undefined);
    if (callers.length === 0) continue;
    const shellUrl = shell[spec.urlVariable];
    const mode =
      shellUrl !== undefined && shellUrl !== '' ? 'shell' : real.has(spec.provider) ? 'real' : 'sandbox';
    const environment = callers[0]?.environment;
    plans.push({
      spec,
      mode,
      secretName: spec.secretVariable === undefined ? undefined : environment?.[spec.secretVariable],
      ...(environment ? { environment } : {}),
    });
  }
  return plans;
}

/** A provider as the stack reaches it: for `/health` and the start-up banner. */
export interface ProviderState {
  provider: string;
  mode: 'sandbox' | 'real' | 'shell';
  url: string;
  secret: string | undefined;
  /** What the user should know (a missing secret for a real provider, a stored token the sandbox accepts). */
  note?: string;
}

/** A provider reached outside a sandbox: the real one, or the URL the shell set. */
function outsideState(
  plan: ProviderPlan,
  value: string | undefined,
  shell: NodeJS.ProcessEnv,
): ProviderState {
  const { spec, secretName } = plan;
  const state: ProviderState = {
    provider: spec.provider,
    mode: plan.mode,
    url: plan.mode === 'shell' ? (shell[spec.urlVariable] ?? '') : 'as deployed (function.yml)',
    secret: secretName,
  };
  if (plan.mode === 'real' && secretName !== undefined && (value === undefined || value === spec.token)) {
    const problem = value === undefined ? 'is not set' : 'holds the sandbox token';
    state.note = `${secretName} ${problem}: npm run secrets -- set ${secretName} -`;
  }
  return state;
}

/** Stores the sandbox token when no secret is set, or lets the stored one into the sandbox. */
async function useSandbox(
  plan: ProviderPlan,
  sandbox: RunningSandbox,
  secret: { secrets: SecretStore; stored: boolean; value: string | undefined },
): Promise<ProviderState> {
  const { spec, secretName } = plan;
  const state: ProviderState = {
    provider: spec.provider,
    mode: 'sandbox',
    url: sandbox.url,
    secret: secretName,
  };
  if (secretName !== undefined && secret.value === undefined) {
    // A deleted secret (in its recovery window) is replaced: the sandbox token must be readable.
    if (secret.stored) await secret.secrets.delete(secretName, { force: true });
    await secret.secrets.put(secretName, {
      value: spec.token,
      description: `${spec.provider} sandbox token, stored by the local stack (CIRCLE_LOCAL_REAL=${spec.provider} uses the real provider)`,
    });
  } else if (secret.value !== undefined && secret.value !== spec.token) {
    sandbox.acceptToken(secret.value);
    state.note = `your stored ${secretName} is accepted by the sandbox; CIRCLE_LOCAL_REAL=${spec.provider} calls the real provider`;
  }
  return state;
}

/** Stores a sandbox's other secrets (a webhook secret, a routing key) where none is set. */
async function storeMoreSecrets(plan: ProviderPlan, secrets: SecretStore, url: string): Promise<void> {
  const more = plan.spec.moreSecrets;
  const values = typeof more === 'function' ? more(url) : (more ?? {});
  for (const [variable, value] of Object.entries(values)) {
    const name = plan.environment?.[variable];
    if (name === undefined) continue;
    const stored = await secrets.get(name);
    const stale =
      typeof more === 'function' && stored?.description?.endsWith('stored by the local stack') === true;
    if (stored !== undefined && stored.deletedAt === undefined && !stale) continue;
    if (stored !== undefined) await secrets.delete(name, { force: true });
    await secrets.put(name, {
      value,
      description: `${plan.spec.provider} sandbox value, stored by the local stack`,
    });
  }
}

/**
 * Starts the sandboxes of the plan and stores their tokens (when no secret is stored); returns the base
 * URLs to give the functions (setting name -> URL), the providers' states, and a close step.
 *
 * @example
 * ```ts
 * const sandboxes = await startSandboxes(planProviders(selected, shell), secretStore, shell);
 * // endpoints.sandboxes = sandboxes.variables; sandboxes.providers -> /health
 * ```
 */
export async function startSandboxes(
  plans: readonly ProviderPlan[],
  secrets: SecretStore,
  shell: NodeJS.ProcessEnv,
): Promise<{
  variables: Record<string, string>;
  providers: ProviderState[];
  listeners: { name: string; url: string }[];
  close(): Promise<void>;
}> {
  const running: RunningSandbox[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(running.splice(0).map((sandbox) => sandbox.close()));
  };
  const variables: Record<string, string> = {};
  const providers: ProviderState[] = [];
  const listeners: { name: string; url: string }[] = [];
  try {
    for (const plan of plans) {
      const stored = plan.secretName === undefined ? undefined : await secrets.get(plan.secretName);
      const value = stored?.deletedAt === undefined ? stored?.value : undefined;
      if (plan.mode !== 'sandbox') {
        providers.push(outsideState(plan, value, shell));
        continue;
      }
      const sandbox = await plan.spec.start(guardSandbox, plan.environment ?? {});
      running.push(sandbox);
      listeners.push({ name: plan.spec.listener, url: new URL(sandbox.url).origin });
      variables[plan.spec.urlVariable] = sandbox.url;
      Object.assign(variables, plan.spec.moreVariables?.(sandbox.url));
      providers.push(await useSandbox(plan, sandbox, { secrets, stored: stored !== undefined, value }));
      await storeMoreSecrets(plan, secrets, sandbox.url);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { variables, providers, listeners, close };
}
