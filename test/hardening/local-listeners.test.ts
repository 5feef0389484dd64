/**
 * What a web page can make the local stack do (`npm start`, run as its own process): nothing. Every
 * listener the stack starts (the table below, checked against the ports the stack process really listens
 * on) refuses a foreign `Origin` and a `Host` that is not a loopback name (DNS rebinding) with a 403 in its
 * own error shape, and still serves loopback names and the real SDK clients. The external probe is
 * replayed: a "simple request" (POST, text/plain, foreign Origin) that ran an S3 put-object and a
 * PostgreSQL query through Lambda Invoke, and Secrets Manager reads under a foreign Host.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, ListBucketsCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { signJwt } from '@circle-core/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_SANDBOX_TOKEN, ANTHROPIC_VERSION } from '../../scripts/local/sandboxes/anthropic.ts';
import { BEDROCK_SANDBOX_ACCESS_KEY } from '../../scripts/local/sandboxes/bedrock.ts';
import { FHIR_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/fhir.ts';
import { GCS_SANDBOX_BUCKET } from '../../scripts/local/sandboxes/gcs.ts';
import { GITLAB_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/gitlab.ts';
import { GITHUB_SANDBOX_TOKEN, SLACK_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/index.ts';
import { JIRA_SANDBOX_EMAIL, JIRA_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/jira.ts';
import { OPENAI_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/openai.ts';
import { PAGERDUTY_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/pagerduty.ts';
import { PINECONE_SANDBOX_KEY } from '../../scripts/local/sandboxes/pinecone.ts';
import { QDRANT_SANDBOX_KEY } from '../../scripts/local/sandboxes/qdrant.ts';
import { SHOPIFY_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/shopify.ts';
import { STRIPE_SANDBOX_TOKEN } from '../../scripts/local/sandboxes/stripe.ts';
import {
  TEAMS_SANDBOX_CLIENT_ID,
  TEAMS_SANDBOX_CLIENT_SECRET,
  TEAMS_SANDBOX_TEAM,
  TEAMS_SANDBOX_TENANT,
} from '../../scripts/local/sandboxes/teams.ts';
import {
  TWILIO_SANDBOX_ACCOUNT_SID,
  TWILIO_SANDBOX_AUTH_TOKEN,
} from '../../scripts/local/sandboxes/twilio.ts';
import { AZURITE_ACCOUNT } from '../../scripts/local/stores/azurite.ts';
import { type StackProcess, startStackProcess } from '../local/stack-process.ts';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const REFUSED = 'Refused by the local stack';
const SECRET_NAME = 'circle-core/dev/hardening/rebinding';
const SECRET_VALUE = 'rebinding-secret-value-0xC0FFEE';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One HTTP listener: a request it serves to a loopback client, its refusal shape, and its SDK path. */
interface ListenerCase {
  probe: RawRequest;
  refusalShape(answer: Answer): void;
  sdkPath(url: string): Promise<void>;
}

let stack: StackProcess;
let listeners: { name: string; url: string; protocol: string }[] = [];

/** A request sent as-is (fetch would not let a test set Host). */
function send(url: string, raw: RawRequest): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        hostname: target.hostname,
        port: target.port,
        method: raw.method ?? 'GET',
        path: raw.path,
        headers: raw.headers ?? {},
        agent: false,
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () =>
          resolve({
            status: answer.statusCode ?? 0,
            headers: answer.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(raw.body);
  });
}

function urlOf(name: string): string {
  const listener = listeners.find((candidate) => candidate.name === name);
  if (listener === undefined) throw new Error(`the stack reports no listener named ${name}`);
  return listener.url;
}

function port(url: string): string {
  return new URL(url).port;
}

function awsJsonRefusal(answer: Answer): void {
  expect(answer.headers['x-amzn-errortype']).toBe('AccessDeniedException');
  expect(JSON.parse(answer.body)).toMatchObject({ __type: expect.stringMatching(/AccessDeniedException$/) });
}

function sandboxRefusal(answer: Answer): void {
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(JSON.parse(answer.body)).toMatchObject({ ok: false, error: 'forbidden' });
}

/** Each sandbox's own credential, as its clients send it. */
const JIRA_AUTH = `Basic ${Buffer.from(`${JIRA_SANDBOX_EMAIL}:${JIRA_SANDBOX_TOKEN}`).toString('base64')}`;
const PAGERDUTY_AUTH = `Token token=${PAGERDUTY_SANDBOX_TOKEN}`;
const TWILIO_AUTH = `Basic ${Buffer.from(`${TWILIO_SANDBOX_ACCOUNT_SID}:${TWILIO_SANDBOX_AUTH_TOKEN}`).toString('base64')}`;
const TWILIO_MESSAGES = `/2010-04-01/Accounts/${TWILIO_SANDBOX_ACCOUNT_SID}/Messages.json`;
/** The Shopify sandbox answers GraphQL on one endpoint: a query for the shop's name. */
const SHOPIFY_GRAPHQL: RawRequest = {
  method: 'POST',
  path: '/admin/api/2026-04/graphql.json',
  headers: { 'content-type': 'application/json', 'x-shopify-access-token': SHOPIFY_SANDBOX_TOKEN },
  body: '{"query":"{ shop { name } }"}',
};
const ANTHROPIC_HEADERS = { 'x-api-key': ANTHROPIC_SANDBOX_TOKEN, 'anthropic-version': ANTHROPIC_VERSION };
/**
 * The GCS sandbox's API needs an access token from its JWT bearer grant, signed with the key file the stack
 * stored: `beforeAll` reads it and fills in the bearer (this object is read at test time).
 */
const GCS_PROBE: RawRequest = { path: `/storage/v1/b/${GCS_SANDBOX_BUCKET}/o`, headers: {} };
const GCS_SECRET = 'circle-core/dev/gcs/service-account';

/** The Snowflake sandbox runs a statement for a key-pair JWT signed with the stored private key (beforeAll). */
const SNOWFLAKE_PROBE: RawRequest = {
  method: 'POST',
  path: '/api/v2/statements',
  headers: { 'content-type': 'application/json', 'x-snowflake-authorization-token-type': 'KEYPAIR_JWT' },
  body: '{"statement":"select 1"}',
};
const SNOWFLAKE_SECRET = 'circle-core/dev/snowflake/private-key';

/** A Snowflake key-pair JWT (iss ACCOUNT.USER.SHA256:<fingerprint>) for the sandbox's stored private key. */
function snowflakeJwt(privateKey: string): string {
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fingerprint = `SHA256:${createHash('sha256').update(der).digest('base64')}`;
  const seconds = Math.floor(Date.now() / 1000);
  const sub = 'SANDBOX.CIRCLE_CORE';
  return signJwt({
    algorithm: 'RS256',
    privateKey,
    claims: { iss: `${sub}.${fingerprint}`, sub, iat: seconds, exp: seconds + 600 },
  });
}

/** The Teams sandbox's token endpoint (client credentials), which needs no token itself. */
const TEAMS_TOKEN_PROBE: RawRequest = {
  method: 'POST',
  path: `/${TEAMS_SANDBOX_TENANT}/oauth2/v2.0/token`,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: TEAMS_SANDBOX_CLIENT_ID,
    client_secret: TEAMS_SANDBOX_CLIENT_SECRET,
    scope: 'https://graph.microsoft.com/.default',
  }).toString(),
};

/** An access token from the GCS sandbox, for the key file in `keyFile`. */
async function gcsAccessToken(url: string, keyFile: string): Promise<string> {
  const key = JSON.parse(keyFile) as { client_email: string; private_key: string };
  const seconds = Math.floor(Date.now() / 1000);
  const assertion = signJwt({
    algorithm: 'RS256',
    privateKey: key.private_key,
    claims: {
      iss: key.client_email,
      aud: `${url}/token`,
      scope: 'https://www.googleapis.com/auth/devstorage.read_write',
      iat: seconds,
      exp: seconds + 600,
    },
  });
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}
/** The Bedrock sandbox reads the access key and signing scope of a SigV4 header (not the signature). */
const BEDROCK_PROBE: RawRequest = {
  method: 'POST',
  path: `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`,
  headers: {
    authorization: `AWS4-HMAC-SHA256 Credential=${BEDROCK_SANDBOX_ACCESS_KEY}/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=0`,
    'content-type': 'application/json',
  },
  body: '{"inputText":"probe"}',
};
/** azurite checks signatures: its probe lists containers with an account SAS signed by the emulator key. */
const AZURITE_SAS = generateAccountSASQueryParameters(
  {
    expiresOn: new Date(Date.now() + 3_600_000),
    permissions: AccountSASPermissions.parse('rl'),
    resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
    services: AccountSASServices.parse('b').toString(),
  },
  new StorageSharedKeyCredential(AZURITE_ACCOUNT.name, AZURITE_ACCOUNT.key),
).toString();

/** A JSON sandbox answers `path` with a 200 for its credential. */
function sandboxClient(path: string, headers: Record<string, string>): (url: string) => Promise<void> {
  return async (url) => {
    const response = await fetch(`${url}${path}`, { headers });
    expect(response.status).toBe(200);
  };
}

/** Every HTTP listener the stack starts: adding one without a row here fails the first test. */
const LISTENERS: Record<string, ListenerCase> = {
  'HTTP API': {
    probe: { path: '/health' },
    refusalShape: (answer) => {
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(answer.body)).toMatchObject({ status: 403, title: 'Forbidden', code: 'forbidden' });
    },
    sdkPath: async (url) => {
      const response = await fetch(`${url}/s3/put-object`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${stack.apiKey}`,
          // Writes need a key: idempotency is on locally as in every stage.
          'idempotency-key': `listeners-${Date.now()}`,
        },
        body: JSON.stringify({ key: 'hardening/listeners/http.txt', body: 'via the HTTP API' }),
      });
      expect(response.status).toBe(200);
    },
  },
  'AWS endpoint': {
    probe: { path: '/_local/health' },
    refusalShape: awsJsonRefusal,
    sdkPath: async (url) => {
      const lambda = new LambdaClient({ endpoint: url, region: REGION, credentials: CREDENTIALS });
      const secrets = new SecretsManagerClient({ endpoint: url, region: REGION, credentials: CREDENTIALS });
      try {
        const invoked = await lambda.send(
          new InvokeCommand({
            FunctionName: 'circle-core-dev-s3',
            Payload: JSON.stringify({ operation: 'list-objects', input: { prefix: 'hardening/' } }),
          }),
        );
        const secret = await secrets.send(new GetSecretValueCommand({ SecretId: SECRET_NAME }));
        expect(invoked.FunctionError).toBeUndefined();
        expect(invoked.StatusCode).toBe(200);
        expect(secret.SecretString).toBe(SECRET_VALUE);
      } finally {
        lambda.destroy();
        secrets.destroy();
      }
    },
  },
  // The SaaS sandboxes (scripts/local/sandboxes/): the Slack and GitHub contract fakes the stack serves.
  'Slack sandbox': {
    probe: { path: '/api/auth.test', headers: { authorization: `Bearer ${SLACK_SANDBOX_TOKEN}` } },
    refusalShape: sandboxRefusal,
    sdkPath: async (url) => {
      const response = await fetch(`${url}/api/auth.test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SLACK_SANDBOX_TOKEN}` },
      });
      expect(await response.json()).toMatchObject({ ok: true });
    },
  },
  'GitHub sandbox': {
    probe: { path: '/', headers: { authorization: `Bearer ${GITHUB_SANDBOX_TOKEN}` } },
    refusalShape: sandboxRefusal,
    sdkPath: async (url) => {
      const response = await fetch(`${url}/repos/octo/hello/issues`, {
        headers: { authorization: `Bearer ${GITHUB_SANDBOX_TOKEN}` },
      });
      expect(response.status).toBe(200);
    },
  },
  'Jira sandbox': {
    probe: { path: '/rest/api/3/myself', headers: { authorization: JIRA_AUTH } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/rest/api/3/issue/OPS-1', { authorization: JIRA_AUTH }),
  },
  'PagerDuty sandbox': {
    probe: { path: '/abilities', headers: { authorization: PAGERDUTY_AUTH } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/incidents', { authorization: PAGERDUTY_AUTH }),
  },
  'OpenAI sandbox': {
    probe: { path: '/v1/models', headers: { authorization: `Bearer ${OPENAI_SANDBOX_TOKEN}` } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/v1/models', { authorization: `Bearer ${OPENAI_SANDBOX_TOKEN}` }),
  },
  'Anthropic sandbox': {
    probe: { path: '/v1/models/claude-3-5-haiku-latest', headers: ANTHROPIC_HEADERS },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/v1/models/claude-sonnet-4-20250514', ANTHROPIC_HEADERS),
  },
  'Stripe sandbox': {
    probe: { path: '/v1/customers', headers: { authorization: `Bearer ${STRIPE_SANDBOX_TOKEN}` } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/v1/customers/cus_SandboxJenny', {
      authorization: `Bearer ${STRIPE_SANDBOX_TOKEN}`,
    }),
  },
  'Shopify sandbox': {
    probe: SHOPIFY_GRAPHQL,
    refusalShape: sandboxRefusal,
    sdkPath: async (url) => {
      const { path, ...init } = SHOPIFY_GRAPHQL;
      const response = await fetch(`${url}${path}`, init);
      expect(response.status).toBe(200);
    },
  },
  'Twilio sandbox': {
    probe: { path: TWILIO_MESSAGES, headers: { authorization: TWILIO_AUTH } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient(`${TWILIO_MESSAGES}?PageSize=1`, { authorization: TWILIO_AUTH }),
  },
  'FHIR R4 sandbox': {
    probe: { path: '/fhir/Patient/pat-1', headers: { authorization: `Bearer ${FHIR_SANDBOX_TOKEN}` } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/fhir/Patient?family=Okafor', { authorization: `Bearer ${FHIR_SANDBOX_TOKEN}` }),
  },
  'Microsoft Teams sandbox': {
    probe: TEAMS_TOKEN_PROBE,
    refusalShape: sandboxRefusal,
    sdkPath: async (url) => {
      const token = await fetch(`${url}${TEAMS_TOKEN_PROBE.path}`, {
        method: 'POST',
        headers: TEAMS_TOKEN_PROBE.headers ?? {},
        body: TEAMS_TOKEN_PROBE.body ?? '',
      });
      expect(token.status).toBe(200);
      const { access_token: accessToken } = (await token.json()) as { access_token: string };
      const channels = await fetch(`${url}/v1.0/teams/${TEAMS_SANDBOX_TEAM}/channels`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(channels.status).toBe(200);
    },
  },
  'OIDC issuer sandbox': {
    probe: { path: '/.well-known/openid-configuration' },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/jwks', {}),
  },
  'GitLab sandbox': {
    probe: { path: '/api/v4/user', headers: { 'private-token': GITLAB_SANDBOX_TOKEN } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/api/v4/projects/ops%2Fplatform/issues/1', {
      'private-token': GITLAB_SANDBOX_TOKEN,
    }),
  },
  'Amazon Bedrock sandbox': {
    probe: BEDROCK_PROBE,
    refusalShape: sandboxRefusal,
    sdkPath: async (url) => {
      // HTTP/1.1, as the connector sends it (the client's default handler speaks HTTP/2).
      const bedrock = new BedrockRuntimeClient({
        endpoint: url,
        region: REGION,
        credentials: CREDENTIALS,
        requestHandler: new NodeHttpHandler(),
      });
      try {
        const answer = await bedrock.send(
          new ConverseCommand({
            modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
            messages: [{ role: 'user', content: [{ text: 'Reply with the word: served' }] }],
          }),
        );
        expect(answer.output?.message?.content?.[0]?.text).toBe('served');
      } finally {
        bedrock.destroy();
      }
    },
  },
  'Google Cloud Storage sandbox': {
    probe: GCS_PROBE,
    refusalShape: sandboxRefusal,
    sdkPath: async (url) => {
      const response = await fetch(`${url}${GCS_PROBE.path}`, { headers: GCS_PROBE.headers ?? {} });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ kind: 'storage#objects' });
    },
  },
  'Snowflake sandbox': {
    probe: SNOWFLAKE_PROBE,
    refusalShape: sandboxRefusal,
    sdkPath: async (url) => {
      const response = await fetch(`${url}${SNOWFLAKE_PROBE.path}`, {
        method: 'POST',
        headers: SNOWFLAKE_PROBE.headers ?? {},
        body: SNOWFLAKE_PROBE.body ?? '',
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ data: [['1']] });
    },
  },
  'Qdrant sandbox': {
    probe: { path: '/collections', headers: { 'api-key': QDRANT_SANDBOX_KEY } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/collections', { 'api-key': QDRANT_SANDBOX_KEY }),
  },
  'Pinecone sandbox': {
    probe: { path: '/indexes', headers: { 'api-key': PINECONE_SANDBOX_KEY } },
    refusalShape: sandboxRefusal,
    sdkPath: sandboxClient('/indexes', { 'api-key': PINECONE_SANDBOX_KEY }),
  },
  'Azure Blob (azurite)': {
    probe: { path: `/${AZURITE_ACCOUNT.name}?comp=list&${AZURITE_SAS}` },
    refusalShape: (answer) => {
      expect(answer.headers['x-ms-error-code']).toBe('AuthorizationFailure');
      expect(answer.body).toContain('<Code>AuthorizationFailure</Code>');
    },
    sdkPath: async (url) => {
      const response = await fetch(`${url}/${AZURITE_ACCOUNT.name}?comp=list&${AZURITE_SAS}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<EnumerationResults');
    },
  },
  'S3 (s3rver)': {
    probe: { path: '/' },
    refusalShape: (answer) => {
      expect(answer.headers['content-type']).toBe('application/xml');
      expect(answer.body).toContain('<Code>AccessDenied</Code>');
    },
    sdkPath: async (url) => {
      const s3 = new S3Client({
        endpoint: url,
        region: REGION,
        credentials: CREDENTIALS,
        forcePathStyle: true,
      });
      try {
        const { Buckets = [] } = await s3.send(new ListBucketsCommand({}));
        expect(Buckets.length).toBeGreaterThan(0);
      } finally {
        s3.destroy();
      }
    },
  },
  'DynamoDB (dynalite)': {
    probe: { path: '/' },
    refusalShape: (answer) => {
      awsJsonRefusal(answer);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    },
    sdkPath: async (url) => {
      const dynamo = new DynamoDBClient({ endpoint: url, region: REGION, credentials: CREDENTIALS });
      try {
        const { TableNames } = await dynamo.send(new ListTablesCommand({}));
        expect(TableNames).toEqual(expect.any(Array));
      } finally {
        dynamo.destroy();
      }
    },
  },
};

/** The TCP ports a process listens on (Linux: its socket inodes matched against /proc/net/tcp*). */
/** The process and every process below it (the stack runs s3rver and the functions in children). */
async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const tree = [pid];
  for (let index = 0; index < tree.length; index += 1) tree.push(...(parents.get(tree[index] ?? -1) ?? []));
  return tree;
}

async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const member of await processTree(pid)) {
    for (const fd of await readdir(`/proc/${member}/fd`).catch(() => [])) {
      const link = await readlink(`/proc/${member}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined) inodes.add(inode);
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const line of lines) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state === '0A' && inode !== undefined && inodes.has(inode)) {
        ports.add(Number.parseInt(String(local?.split(':').pop()), 16));
      }
    }
  }
  return [...ports].sort((a, b) => a - b);
}

beforeAll(async () => {
  stack = await startStackProcess();
  const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as { listeners: typeof listeners };
  listeners = health.listeners;
  const secrets = new SecretsManagerClient({
    endpoint: stack.awsUrl,
    region: REGION,
    credentials: CREDENTIALS,
  });
  try {
    await secrets.send(new CreateSecretCommand({ Name: SECRET_NAME, SecretString: SECRET_VALUE }));
    const keyFile = await secrets.send(new GetSecretValueCommand({ SecretId: GCS_SECRET }));
    const token = await gcsAccessToken(urlOf('Google Cloud Storage sandbox'), keyFile.SecretString ?? '{}');
    GCS_PROBE.headers = { authorization: `Bearer ${token}` };
    const snowflakeKey = await secrets.send(new GetSecretValueCommand({ SecretId: SNOWFLAKE_SECRET }));
    SNOWFLAKE_PROBE.headers = {
      ...SNOWFLAKE_PROBE.headers,
      authorization: `Bearer ${snowflakeJwt(snowflakeKey.SecretString ?? '')}`,
    };
  } finally {
    secrets.destroy();
  }
  // It builds every function first (29 now): minutes on a loaded two-core machine, as every stack test allows.
}, 240_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop().catch(() => undefined);
});

describe('Local stack: the listeners a web page could reach', () => {
  it('has a row for every HTTP listener the stack reports, and the stack and its children listen on no other port', async () => {
    // Prepare
    const pid = (JSON.parse(await readFile(join(stack.localDir, 'stack.json'), 'utf8')) as { pid: number })
      .pid;

    // Act
    const open = process.platform === 'linux' ? await listeningPorts(pid) : undefined;

    // Assess
    const http = listeners
      .filter((listener) => listener.protocol === 'http')
      .map((listener) => listener.name);
    expect(Object.keys(LISTENERS).length).toBeGreaterThan(0);
    expect(http).toEqual(expect.arrayContaining(['HTTP API', 'AWS endpoint']));
    expect(http.sort()).toEqual(Object.keys(LISTENERS).sort());
    // The rest speak no HTTP (PGlite's PostgreSQL wire protocol), which a browser cannot talk.
    for (const listener of listeners) expect(['http', 'postgresql']).toContain(listener.protocol);
    if (open !== undefined) {
      expect(open).toEqual(
        listeners.map((listener) => Number(new URL(listener.url).port)).sort((a, b) => a - b),
      );
    }
  });
});

describe.each(Object.entries(LISTENERS))('Local listener: %s', (name, listener) => {
  it('refuses a foreign Origin (another site, a sandboxed frame, another local port) with a 403', async () => {
    // Prepare
    const url = urlOf(name);
    const origins = ['http://evil.example', 'null', 'http://127.0.0.1:1', `https://localhost:${port(url)}`];

    // Act
    const answers = await Promise.all(
      origins.map((origin) =>
        send(url, {
          method: 'POST',
          path: listener.probe.path,
          headers: { origin, 'content-type': 'text/plain' },
          body: '{}',
        }),
      ),
    );

    // Assess
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, origins[index]).toBe(403);
      expect(answer.body).toContain(REFUSED);
      expect(answer.body).toContain('Origin');
      listener.refusalShape(answer);
    }
  });

  it('refuses a Host that is not a loopback name (DNS rebinding) with a 403', async () => {
    // Prepare
    const url = urlOf(name);
    const hosts = [
      'evil.example',
      `evil.example:${port(url)}`,
      '127.0.0.1.evil.example',
      `localhost.evil.example:${port(url)}`,
      '127.0.0.1@evil.example',
      '0.0.0.0',
      '127.0.0.256',
    ];

    // Act
    const answers = await Promise.all(
      hosts.map((host) => send(url, { ...listener.probe, headers: { ...listener.probe.headers, host } })),
    );

    // Assess
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, hosts[index]).toBe(403);
      expect(answer.body).toContain(REFUSED);
      expect(answer.body).toContain('Host');
      listener.refusalShape(answer);
    }
  });

  it('serves loopback Hosts and its own Origin', async () => {
    // Prepare
    const url = urlOf(name);
    const p = port(url);
    const requests: Record<string, string>[] = [
      { host: 'localhost' },
      { host: `localhost:${p}` },
      { host: `app.localhost:${p}` },
      { host: `127.0.0.1:${p}` },
      { host: '127.5.6.7' },
      { host: `[::1]:${p}` },
      { host: `127.0.0.1:${p}`, origin: `http://localhost:${p}` },
      { host: `127.0.0.1:${p}`, origin: `http://127.0.0.1:${p}` },
    ];

    // Act
    const answers = await Promise.all(
      requests.map((headers) =>
        send(url, { ...listener.probe, headers: { ...listener.probe.headers, ...headers } }),
      ),
    );

    // Assess: served as the listener serves it (s3rver reads `app.localhost` as a bucket's virtual host).
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, JSON.stringify(requests[index])).not.toBe(403);
      expect(answer.body).not.toContain(REFUSED);
    }
    expect(answers[0]?.status).toBe(200);
  });

  it('still serves the real clients', async () => {
    // Act & Assess
    await listener.sdkPath(urlOf(name));
  });
});

describe('Local AWS endpoint: the external probe, replayed', () => {
  const invocation = (fn: string): string => `/2015-03-31/functions/${fn}/invocations`;
  const putObject = JSON.stringify({
    operation: 'put-object',
    input: { key: 'hardening/listeners/from-a-page.txt', body: 'a web page wrote this' },
  });
  const query = JSON.stringify({ operation: 'query', input: { sql: 'CREATE TABLE from_a_page (id int)' } });

  async function pageObjectExists(): Promise<boolean> {
    const s3 = new S3Client({
      endpoint: urlOf('S3 (s3rver)'),
      region: REGION,
      credentials: CREDENTIALS,
      forcePathStyle: true,
    });
    try {
      await s3.send(
        new HeadObjectCommand({
          Bucket: 'circle-core-dev-000000000000-objects',
          Key: 'hardening/listeners/from-a-page.txt',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof NotFound) return false;
      throw error;
    } finally {
      s3.destroy();
    }
  }

  it('refuses a simple request from a web page to Lambda Invoke: no object written, no query run', async () => {
    // Act
    const answers = await Promise.all(
      [
        ['circle-core-dev-s3', putObject],
        ['circle-core-dev-postgres', query],
      ].map(([fn, body]) =>
        send(stack.awsUrl, {
          method: 'POST',
          path: invocation(String(fn)),
          headers: { origin: 'http://evil.example', 'content-type': 'text/plain;charset=UTF-8' },
          body: String(body),
        }),
      ),
    );
    const tables = await fetch(`${stack.apiUrl}/postgres/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({
        sql: "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'from_a_page'",
      }),
    });

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.headers['x-amzn-errortype']).toBe('AccessDeniedException');
    }
    expect(await pageObjectExists()).toBe(false);
    expect(((await tables.json()) as { rows: { n: number }[] }).rows).toEqual([{ n: 0 }]);
  });

  it('refuses Invoke with a body a page can send unasked (text/plain, a form, none) and no SigV4', async () => {
    // Prepare
    const types = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      undefined,
    ];

    // Act
    const answers = await Promise.all(
      types.map((type) =>
        send(stack.awsUrl, {
          method: 'POST',
          path: invocation('circle-core-dev-s3'),
          headers: type === undefined ? {} : { 'content-type': type },
          body: putObject,
        }),
      ),
    );
    const cli = await send(stack.awsUrl, {
      method: 'POST',
      path: invocation('circle-core-dev-s3'),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'list-objects', input: { prefix: 'nothing/' } }),
    });

    // Assess
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, String(types[index])).toBe(415);
      expect(answer.headers['x-amzn-errortype']).toBe('UnsupportedMediaTypeException');
      expect(JSON.parse(answer.body).message).toContain('SigV4');
    }
    expect(await pageObjectExists()).toBe(false);
    expect(cli.status).toBe(200);
    expect(cli.headers['x-amz-function-error']).toBeUndefined();
  });

  it('refuses to fire a schedule for a body a page can send unasked', async () => {
    // Act
    const page = await send(stack.awsUrl, {
      method: 'POST',
      path: '/_local/schedules/s3',
      headers: { 'content-type': 'text/plain' },
    });
    const cli = await send(stack.awsUrl, {
      method: 'POST',
      path: '/_local/schedules/s3',
      headers: { 'content-type': 'application/json' },
    });

    // Assess
    expect(page.status).toBe(415);
    expect(cli.status).toBe(200);
  });

  it('answers no Secrets Manager read to a rebinding Host, and never shows the value', async () => {
    // Prepare
    const read = (target: string, body: unknown, host: string) =>
      send(stack.awsUrl, {
        method: 'POST',
        path: '/',
        headers: {
          host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': `secretsmanager.${target}`,
        },
        body: JSON.stringify(body),
      });
    const rebound = `evil.example:${port(stack.awsUrl)}`;

    // Act
    const listed = await read('ListSecrets', {}, rebound);
    const value = await read('GetSecretValue', { SecretId: SECRET_NAME }, rebound);
    const control = await read(
      'GetSecretValue',
      { SecretId: SECRET_NAME },
      `localhost:${port(stack.awsUrl)}`,
    );

    // Assess
    for (const answer of [listed, value]) {
      expect(answer.status).toBe(403);
      expect(answer.body).not.toContain(SECRET_NAME);
      expect(answer.body).not.toContain(SECRET_VALUE);
    }
    expect(control.status).toBe(200);
    expect(JSON.parse(control.body).SecretString).toBe(SECRET_VALUE);
  });
});

describe('Local HTTP API: the open webhook routes', () => {
  it('refuses a simple request from a web page before the function runs', async () => {
    // Act
    const answer = await send(stack.apiUrl, {
      method: 'POST',
      path: '/github/webhook',
      headers: {
        origin: 'http://evil.example',
        'content-type': 'text/plain',
        'x-correlation-id': 'hardening-page-webhook',
      },
      body: '{}',
    });
    const control = await send(stack.apiUrl, {
      method: 'POST',
      path: '/github/webhook',
      headers: { 'content-type': 'application/json', 'x-correlation-id': 'hardening-curl-webhook' },
      body: '{}',
    });
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(control.status).not.toBe(403);
    const seen = (id: string) => stack.lines.some((line) => line['correlationId'] === id);
    expect(seen('hardening-curl-webhook')).toBe(true);
    expect(seen('hardening-page-webhook')).toBe(false);
  });
});
