/**
 * The hardening checks of the shared suite (support/suite.ts), for the connectors added after it: Microsoft
 * Teams, Shopify (with its X-Shopify-Hmac-Sha256 webhook), FHIR R4, Snowflake (key-pair JWT) and Twilio
 * (with its X-Twilio-Signature webhook; SMS text never reaches a log line). Amazon SES, RabbitMQ and
 * DuckDB have files of their own (newer-connectors-ses/-brokers/-duckdb.test.ts). Each runs
 * against its contract fake with POWERTOOLS_LOG_LEVEL=DEBUG, its secrets in one Secrets Manager peer with
 * distinctive values (`<connector>-…-leak-check-<random>`):
 *
 * - Secrets in output: happy paths, provider failures (503 and 429 injected into the fake until the
 *   connector gives up), rotated credentials (the provider's 401, the secret re-read), revoked credentials,
 *   bad input, the queue and task triggers and signed/unsigned webhooks; every captured log line, response
 *   and thrown error is searched for every secret value, every token the providers issued, every JWT the
 *   connector signed and every webhook signature sent. FHIR: no patient name or identifier (seeded, created,
 *   searched for) reaches a log line.
 * - Strict inputs: every operation refuses an unknown field with a 400 naming its pointer.
 * - Idempotency: the operations that change something at the provider declare `effect: 'write'`, the rest
 *   do not.
 * - Idempotency end to end (CIRCLE_IDEMPOTENCY_TABLE on dynalite): a retried write runs once, a failed one
 *   can be retried with its key, a reused key with another input is 409, a write without a key is refused.
 * - Webhooks: the Shopify and Twilio routes are the only public ones and refuse a tampered or unsigned
 *   delivery (401); Shopify's answers hostile bodies without a 5xx and a redelivery as a duplicate.
 * - Response limits: a Snowflake result over 6 MB is a 413 on HTTP, over 256 KiB a task failure.
 * - SSRF: a bulk result link Shopify answers that points inside (metadata, loopback, private) is a 502
 *   and opens no connection.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  configureSecrets,
  LAMBDA_RESPONSE_LIMIT_BYTES,
  resetCircuitBreakers,
  STATE_LIMIT_BYTES,
} from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FhirFakeState, startFhirFake } from '../../scripts/local/sandboxes/fhir.ts';
import type { FakeServer } from '../../scripts/local/sandboxes/kit/index.ts';
import {
  SHOPIFY_SANDBOX_SHOP,
  type ShopifyFakeState,
  signShopifyWebhook,
  startShopifyFake,
} from '../../scripts/local/sandboxes/shopify.ts';
import {
  acceptKey,
  type SnowflakeFakeState,
  startSnowflakeFake,
} from '../../scripts/local/sandboxes/snowflake.ts';
import {
  startTeamsFake,
  TEAMS_SANDBOX_CHANNEL,
  TEAMS_SANDBOX_CLIENT_ID,
  TEAMS_SANDBOX_TEAM,
  TEAMS_SANDBOX_TENANT,
  TEAMS_SANDBOX_THREAD,
  TEAMS_SANDBOX_WORKFLOW,
  type TeamsFakeState,
  teamsWebhookUrl,
} from '../../scripts/local/sandboxes/teams.ts';
import {
  signTwilioRequest,
  startTwilioFake,
  TWILIO_SANDBOX_ACCOUNT_SID,
  TWILIO_SANDBOX_FROM,
  TWILIO_SANDBOX_MESSAGES,
  type TwilioFakeState,
} from '../../scripts/local/sandboxes/twilio.ts';
import { createTable, type DynalitePeer, startDynalite } from '../peers/dynalite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../peers/secrets-manager.ts';

type Name = 'teams' | 'shopify' | 'fhir' | 'snowflake' | 'twilio';
const NAMES: readonly Name[] = ['teams', 'shopify', 'fhir', 'snowflake', 'twilio'];

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface Loaded {
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  runtime: {
    operations: Record<string, { effect?: string }>;
    routes: { method: string; path: string; auth: 'signature' | 'authorizer' }[];
  };
}

const distinct = (prefix: string): string => `${prefix}${randomBytes(10).toString('hex')}`;
const rsaPair = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
/** Lines of a PEM body: any of them in an output would be (part of) the private key. */
const pemLines = (pem: string): string[] =>
  pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));

const SECRET = {
  teamsCredentials: 'hardening/teams/credentials',
  teamsWebhooks: 'hardening/teams/webhooks',
  shopifyToken: 'hardening/shopify/access-token',
  shopifyWebhook: 'hardening/shopify/webhook-secret',
  fhir: 'hardening/fhir/credentials',
  snowflake: 'hardening/snowflake/private-key',
  twilio: 'hardening/twilio/credentials',
} as const;

const VALUES = {
  teamsClientSecret: distinct('teams-leak-check-'),
  teamsRotatedSecret: distinct('teams-rotated-leak-check-'),
  teamsWebhookSig: distinct('teamssigleakcheck'),
  shopifyToken: distinct('shpat_leakCheck'),
  shopifyRotatedToken: distinct('shpat_rotatedLeakCheck'),
  shopifyWebhookSecret: distinct('shopify-webhook-leak-check-'),
  fhirToken: distinct('fhir-leak-check-'),
  fhirRotatedToken: distinct('fhir-rotated-leak-check-'),
  twilioAuthToken: distinct('twilio-leak-check-'),
  twilioRotatedToken: distinct('twilio-rotated-leak-check-'),
  /** An incoming SMS's text: message content never reaches a log line. */
  twilioBody: distinct('twilio-sms-leak-check-'),
  /** A bound parameter of a failing query: Snowflake's error must not carry it back. */
  snowflakeParam: distinct('snowflake-param-leak-check-'),
};
const SNOWFLAKE_KEY = rsaPair();
const SNOWFLAKE_ROTATED = rsaPair();

/** PHI of the FHIR run: names and identifiers that must never reach a log line. */
const PATIENT = {
  family: distinct('Leakfamily'),
  given: distinct('Leakgiven'),
  mrn: distinct('MRN-LEAK-'),
};
const SEEDED_PHI = ['Okafor', 'Amara', 'Chidi', 'Lindqvist', 'Ngozi', 'MRN-1001', 'MRN-1003', '1984-03-12'];
const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.19.5';

const CHANNEL = `${TEAMS_SANDBOX_TEAM}/${TEAMS_SANDBOX_CHANNEL}`;
const ORDER = 'gid://shopify/Order/5001';
const PRODUCT = 'gid://shopify/Product/1001';
const ITEM = 'gid://shopify/InventoryItem/3001';
const LOCATION = 'gid://shopify/Location/1';
const STATE_TABLE = 'hardening-shopify-state';
const TWILIO_STATE_TABLE = 'hardening-twilio-state';
const TWILIO_TO = '+15558675310';
const TWILIO_WEBHOOK_URL = 'https://api.example.test/twilio/webhook';
const IDEMPOTENCY_TABLE = 'hardening-newer-idempotency';

/** A valid input per operation. */
const SAMPLES: Record<Name, Record<string, unknown>> = {
  teams: {
    'post-webhook-message': { text: 'Disk full on db-1' },
    'post-message': { channel: CHANNEL, text: 'Deploy finished' },
    'get-message': { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD },
    'list-replies': { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD, limit: 2 },
  },
  shopify: {
    'get-product': { productId: PRODUCT },
    'list-products': { first: 2, query: 'vendor:Acme' },
    'create-product': { title: 'Winter Hat', vendor: 'Acme', tags: ['winter'] },
    'get-order': { orderId: ORDER },
    'list-orders': { query: 'financial_status:paid' },
    'mark-order-paid': { orderId: ORDER },
    'create-fulfillment': { orderId: ORDER },
    'cancel-order': { orderId: ORDER, staffNote: 'Refunded in Stripe' },
    'get-inventory-item': { inventoryItemId: ITEM },
    'adjust-inventory': {
      reason: 'correction',
      changes: [{ inventoryItemId: ITEM, locationId: LOCATION, delta: -1 }],
    },
    'start-bulk-export': { query: '{ orders { edges { node { id } } } }' },
    'get-bulk-export': { bulkOperationId: 'gid://shopify/BulkOperation/1' },
  },
  fhir: {
    'read-resource': { resourceType: 'Patient', id: 'pat-1' },
    'read-resource-version': { resourceType: 'Patient', id: 'pat-3', versionId: '1' },
    'search-resources': { resourceType: 'Patient', params: { family: 'Okafor' } },
    'create-resource': {
      resource: {
        resourceType: 'Patient',
        identifier: [{ system: MRN_SYSTEM, value: PATIENT.mrn }],
        name: [{ family: PATIENT.family, given: [PATIENT.given] }],
      },
    },
    'update-resource': {
      resource: {
        resourceType: 'Patient',
        id: 'pat-4',
        identifier: [{ system: MRN_SYSTEM, value: 'MRN-1004' }],
        name: [{ use: 'official', family: 'Okafor', given: ['Ngozi'] }],
        active: false,
      },
    },
    'run-transaction': {
      entry: [
        {
          fullUrl: 'urn:uuid:0b7ef4a6-1111-4e3f-9a0e-0d3c1f7d0042',
          resource: { resourceType: 'Patient', name: [{ family: PATIENT.family, given: ['Second'] }] },
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    },
    'get-everything': { id: 'pat-1', count: 4 },
    'get-capabilities': {},
  },
  snowflake: {
    'run-query': { sql: 'select id, customer from orders where customer = ? order by id', params: ['acme'] },
    'start-query': { sql: 'select 1 as one' },
    'get-query': { queryId: '01b2c3d4-0000-4000-8000-000000000000' },
    'get-query-results': { queryId: '01b2c3d4-0000-4000-8000-000000000000' },
    'cancel-query': { queryId: '01b2c3d4-0000-4000-8000-000000000000' },
  },
  twilio: {
    'send-message': { to: TWILIO_TO, body: 'Disk full on db-1' },
    'get-message': { sid: TWILIO_SANDBOX_MESSAGES[0] },
    'list-messages': { to: TWILIO_TO, pageSize: 2 },
    'post-message': { channel: TWILIO_TO, text: 'Deploy finished' },
  },
};

/** The operations that change something at the provider. */
const WRITES: Record<Name, string[]> = {
  teams: ['post-message', 'post-webhook-message'],
  shopify: [
    'adjust-inventory',
    'cancel-order',
    'create-fulfillment',
    'create-product',
    'mark-order-paid',
    'start-bulk-export',
  ],
  fhir: ['create-resource', 'run-transaction', 'update-resource'],
  snowflake: ['cancel-query'],
  twilio: ['post-message', 'send-message'],
};

let logs: CapturedLogs;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
let teams: FakeServer<TeamsFakeState>;
let shopify: FakeServer<ShopifyFakeState>;
let fhir: FakeServer<FhirFakeState>;
let snowflake: FakeServer<SnowflakeFakeState>;
let twilio: FakeServer<TwilioFakeState>;
const connectors = {} as Record<Name, Loaded>;
const savedEnv = { ...process.env };

/** Everything a caller or the Lambda runtime saw in the leak run: responses and thrown errors. */
const outputs: string[] = [];
/** Log lines captured during the leak run only. */
let leakLogs = '';
/** Values the providers issued or the connector made during the run (access tokens, signed JWTs). */
const issued = new Set<string>();
/** Webhook signatures sent. */
const signatures: string[] = [];
/** Status codes the Shopify webhook route answered, in order. */
const webhookStatuses: number[] = [];
/** Status codes each connector answered over HTTP in the leak run. */
const statuses: Record<Name, number[]> = { teams: [], shopify: [], fhir: [], snowflake: [], twilio: [] };
/** Status codes the Twilio webhook route answered, in order. */
const twilioWebhookStatuses: number[] = [];

async function http(name: Name, operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/${name}/${operation}`,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  const response = (await connectors[name].handler(event, lambdaContext())) as HttpResult;
  outputs.push(JSON.stringify(response));
  statuses[name].push(response.statusCode);
  return response;
}

async function task(name: Name, operation: string, input: unknown): Promise<void> {
  try {
    const result = await connectors[name].handler(
      { operation, input, trigger: 'task', idempotencyKey: randomUUID() },
      lambdaContext(),
    );
    outputs.push(JSON.stringify(result));
  } catch (error) {
    outputs.push(String(error), (error as Error).stack ?? '', JSON.stringify(error));
  }
}

async function queue(name: Name, bodies: unknown[]): Promise<void> {
  const event = sqsEvent(bodies.map((body) => ({ body, messageId: randomUUID() })));
  outputs.push(JSON.stringify(await connectors[name].handler(event, lambdaContext())));
}

async function shopifyWebhook(body: string, headers: Record<string, string>): Promise<HttpResult> {
  const signature = headers['x-shopify-hmac-sha256'];
  if (signature !== undefined) signatures.push(signature);
  const response = (await connectors.shopify.handler(
    httpEvent({ path: '/shopify/webhook', body, headers, authorizer: 'none' }),
    lambdaContext(),
  )) as HttpResult;
  outputs.push(JSON.stringify(response));
  webhookStatuses.push(response.statusCode);
  return response;
}

function shopifyHeaders(body: string, eventId = randomUUID(), secret = VALUES.shopifyWebhookSecret) {
  return {
    'content-type': 'application/json',
    'x-shopify-hmac-sha256': signShopifyWebhook(body, secret),
    'x-shopify-event-id': eventId,
    'x-shopify-topic': 'orders/paid',
    'x-shopify-shop-domain': SHOPIFY_SANDBOX_SHOP,
    'x-shopify-triggered-at': new Date().toISOString(),
  };
}

/** Tokens the fakes issued so far and the bearer/JWT values the connectors sent. */
function collectIssued(): void {
  for (const token of teams.state.tokens.keys()) issued.add(token);
  for (const token of fhir.state.issued.keys()) issued.add(token);
  for (const fake of [teams, shopify, fhir, snowflake, twilio] as FakeServer<unknown>[]) {
    for (const { token } of fake.log) {
      if (token === undefined) continue;
      const bare = token.replace(/^Bearer /i, '');
      if (bare.length >= 16) issued.add(bare);
      // A JWT's signature part is as secret as the whole.
      const signature = bare.split('.')[2];
      if (signature !== undefined && signature.length >= 16) issued.add(signature);
    }
  }
}

/** The secret values of the run: none may appear in any output or log line. */
function secretValues(): string[] {
  return [
    VALUES.teamsClientSecret,
    VALUES.teamsRotatedSecret,
    VALUES.teamsWebhookSig,
    VALUES.shopifyToken,
    VALUES.shopifyRotatedToken,
    VALUES.shopifyWebhookSecret,
    VALUES.fhirToken,
    VALUES.fhirRotatedToken,
    VALUES.snowflakeParam,
    VALUES.twilioAuthToken,
    VALUES.twilioRotatedToken,
    ...pemLines(SNOWFLAKE_KEY.privateKey),
    ...pemLines(SNOWFLAKE_ROTATED.privateKey),
    ...issued,
    ...signatures,
  ];
}

beforeAll(async () => {
  [teams, shopify, fhir, snowflake, twilio, dynamo] = await Promise.all([
    startTeamsFake(),
    startShopifyFake(),
    startFhirFake(),
    startSnowflakeFake({ publicKeys: [SNOWFLAKE_KEY.publicKey] }),
    startTwilioFake(),
    startDynalite(),
  ]);
  teams.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, VALUES.teamsClientSecret);
  const workflow = teams.state.workflows.get(TEAMS_SANDBOX_WORKFLOW);
  if (workflow !== undefined) workflow.sig = VALUES.teamsWebhookSig;
  shopify.state.tokens.clear();
  shopify.state.tokens.add(VALUES.shopifyToken);
  fhir.state.tokens.clear();
  fhir.state.tokens.add(VALUES.fhirToken);
  twilio.state.credentials.clear();
  twilio.state.credentials.add(`${TWILIO_SANDBOX_ACCOUNT_SID}:${VALUES.twilioAuthToken}`);
  twilio.state.sendCallbacks = false;
  secrets = await startSecretsManager({
    [SECRET.teamsCredentials]: JSON.stringify({
      clientId: TEAMS_SANDBOX_CLIENT_ID,
      clientSecret: VALUES.teamsClientSecret,
    }),
    [SECRET.teamsWebhooks]: JSON.stringify({
      default: teamsWebhookUrl(teams.url, TEAMS_SANDBOX_WORKFLOW, VALUES.teamsWebhookSig),
    }),
    [SECRET.shopifyToken]: VALUES.shopifyToken,
    [SECRET.shopifyWebhook]: VALUES.shopifyWebhookSecret,
    [SECRET.fhir]: VALUES.fhirToken,
    [SECRET.snowflake]: SNOWFLAKE_KEY.privateKey,
    [SECRET.twilio]: JSON.stringify({
      accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
      authToken: VALUES.twilioAuthToken,
    }),
  });
  await createTable(dynamo.endpoint, TWILIO_STATE_TABLE);
  await createTable(dynamo.endpoint, STATE_TABLE);
  await createTable(dynamo.endpoint, IDEMPOTENCY_TABLE, { partitionKey: 'id' });
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    CIRCLE_IDEMPOTENCY_TABLE: IDEMPOTENCY_TABLE,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    TEAMS_API_URL: `${teams.url}/v1.0`,
    TEAMS_LOGIN_URL: teams.url,
    TEAMS_TENANT_ID: TEAMS_SANDBOX_TENANT,
    TEAMS_TEAM_ID: TEAMS_SANDBOX_TEAM,
    TEAMS_CREDENTIALS_SECRET: SECRET.teamsCredentials,
    TEAMS_WEBHOOKS_SECRET: SECRET.teamsWebhooks,
    TEAMS_TIMEOUT_MS: '2000',
    TEAMS_MAX_ATTEMPTS: '2',
    TEAMS_MAX_RETRY_AFTER_MS: '1000',
    SHOPIFY_API_URL: `${shopify.url}/admin/api`,
    SHOPIFY_TOKEN_SECRET: SECRET.shopifyToken,
    SHOPIFY_WEBHOOK_SECRET_SECRET: SECRET.shopifyWebhook,
    SHOPIFY_STATE_TABLE: STATE_TABLE,
    SHOPIFY_EXPORT_BUCKET: 'hardening-shopify-exports',
    SHOPIFY_TIMEOUT_MS: '2000',
    SHOPIFY_MAX_ATTEMPTS: '2',
    SHOPIFY_MAX_RETRY_AFTER_MS: '1000',
    FHIR_API_URL: `${fhir.url}/fhir`,
    FHIR_CREDENTIALS_SECRET: SECRET.fhir,
    FHIR_TIMEOUT_MS: '2000',
    FHIR_MAX_ATTEMPTS: '2',
    FHIR_MAX_RETRY_AFTER_MS: '1000',
    SNOWFLAKE_API_URL: snowflake.url,
    SNOWFLAKE_ACCOUNT: 'myorg-analytics',
    SNOWFLAKE_USER: 'loader',
    SNOWFLAKE_WAREHOUSE: 'COMPUTE_WH',
    SNOWFLAKE_PRIVATE_KEY_SECRET: SECRET.snowflake,
    SNOWFLAKE_TIMEOUT_MS: '3000',
    SNOWFLAKE_MAX_ATTEMPTS: '2',
    SNOWFLAKE_MAX_RETRY_AFTER_MS: '1000',
    SNOWFLAKE_RATE_LIMIT: '0',
    TWILIO_API_URL: twilio.url,
    TWILIO_CREDENTIALS_SECRET: SECRET.twilio,
    TWILIO_FROM_NUMBER: TWILIO_SANDBOX_FROM,
    TWILIO_STATE_TABLE: TWILIO_STATE_TABLE,
    TWILIO_TIMEOUT_MS: '2000',
    TWILIO_MAX_ATTEMPTS: '2',
    TWILIO_MAX_RETRY_AFTER_MS: '1000',
  });
  configureSecrets({});
  const [teamsModule, shopifyModule, fhirModule, snowflakeModule, twilioModule] = await Promise.all([
    import('../../functions/notifications/teams/index.ts'),
    import('../../functions/retail/shopify/index.ts'),
    import('../../functions/healthcare/fhir/index.ts'),
    import('../../functions/analytics/snowflake/index.ts'),
    import('../../functions/notifications/twilio/index.ts'),
  ]);
  connectors.twilio = twilioModule.connector as unknown as Loaded;
  connectors.teams = teamsModule.connector as unknown as Loaded;
  connectors.shopify = shopifyModule.connector as unknown as Loaded;
  connectors.fhir = fhirModule.connector as unknown as Loaded;
  connectors.snowflake = snowflakeModule.connector as unknown as Loaded;

  logs = captureLogs();
  await leakRun();
  collectIssued();
  leakLogs = logs.text();
  logs.restore();
}, 240_000);

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([
    teams?.close(),
    shopify?.close(),
    fhir?.close(),
    snowflake?.close(),
    twilio?.close(),
    dynamo?.close(),
  ]);
  await secrets?.close();
});

/** Every connector's success, failure, retry, rotation and refusal paths. */
async function leakRun(): Promise<void> {
  const fail503 = { kind: 'server-error', status: 503 } as const;
  const fail429 = { kind: 'throttled', retryAfterSeconds: 0 } as const;
  const always = { times: Number.POSITIVE_INFINITY };

  // Teams: Graph and the webhook, 503 and 429 until the connector gives up, a rotated client secret
  // (the token endpoint refuses the old one once Graph's 401 forces a new token), a revoked one.
  for (const [operation, input] of Object.entries(SAMPLES.teams)) await http('teams', operation, input);
  await http('teams', 'post-message', { channel: CHANNEL, text: 'reply', threadTs: TEAMS_SANDBOX_THREAD });
  await http('teams', 'get-message', { channel: CHANNEL, ts: '999' });
  await http('teams', 'post-message', { channel: 'not a channel', text: 'x' });
  teams.inject(fail503, always);
  await http('teams', 'post-message', { channel: CHANNEL, text: 'during an outage' });
  await http('teams', 'post-webhook-message', { text: 'during an outage' });
  teams.clearFaults();
  teams.inject(fail429, always);
  await http('teams', 'get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });
  teams.clearFaults();
  collectIssued();
  teams.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, VALUES.teamsRotatedSecret);
  teams.state.tokens.clear();
  await secrets.set(
    SECRET.teamsCredentials,
    JSON.stringify({ clientId: TEAMS_SANDBOX_CLIENT_ID, clientSecret: VALUES.teamsRotatedSecret }),
  );
  await http('teams', 'post-message', { channel: CHANNEL, text: 'after the rotation' });
  collectIssued();
  teams.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, distinct('teams-nobody-knows-'));
  teams.state.tokens.clear();
  await http('teams', 'get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });
  teams.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, VALUES.teamsRotatedSecret);
  const workflow = teams.state.workflows.get(TEAMS_SANDBOX_WORKFLOW);
  if (workflow !== undefined) workflow.enabled = false;
  await http('teams', 'post-webhook-message', { text: 'to a disabled workflow' });
  if (workflow !== undefined) workflow.enabled = true;
  await queue('teams', [{ operation: 'post-message', input: { channel: CHANNEL } }, 'not json']);
  await task('teams', 'get-message', { channel: CHANNEL, ts: '999' });

  // Shopify: every operation, 503/429, a rotated token, a revoked one, webhooks signed right and wrong.
  for (const [operation, input] of Object.entries(SAMPLES.shopify)) await http('shopify', operation, input);
  await http('shopify', 'get-product', { productId: 'gid://shopify/Product/404404' });
  await http('shopify', 'get-order', { orderId: 'not-a-gid' });
  shopify.inject(fail503, always);
  await http('shopify', 'get-product', { productId: PRODUCT });
  shopify.clearFaults();
  shopify.inject(fail429, always);
  await http('shopify', 'list-orders', { query: 'financial_status:paid' });
  shopify.clearFaults();
  shopify.state.tokens.clear();
  shopify.state.tokens.add(VALUES.shopifyRotatedToken);
  await secrets.set(SECRET.shopifyToken, VALUES.shopifyRotatedToken);
  await http('shopify', 'get-product', { productId: PRODUCT });
  shopify.state.tokens.clear();
  await http('shopify', 'get-product', { productId: PRODUCT });
  shopify.state.tokens.add(VALUES.shopifyRotatedToken);
  const order = JSON.stringify({ id: 5001, admin_graphql_api_id: ORDER, financial_status: 'paid' });
  const eventId = randomUUID();
  await shopifyWebhook(order, shopifyHeaders(order, eventId));
  await shopifyWebhook(order, shopifyHeaders(order, eventId));
  await shopifyWebhook(`${order} `, shopifyHeaders(order));
  await shopifyWebhook(order, shopifyHeaders(order, randomUUID(), distinct('shopify-wrong-')));
  await shopifyWebhook('not json', shopifyHeaders('not json'));
  await queue('shopify', [{ operation: 'get-order', input: { orderId: 'x' } }, 'not json']);
  await task('shopify', 'get-product', { productId: 'gid://shopify/Product/404404' });

  // FHIR: every operation with PHI in inputs and answers, searches by name and identifier, 404s, an
  // invalid resource, 503/429, a rotated token, a revoked one.
  for (const [operation, input] of Object.entries(SAMPLES.fhir)) await http('fhir', operation, input);
  await http('fhir', 'search-resources', { resourceType: 'Patient', params: { family: PATIENT.family } });
  await http('fhir', 'search-resources', {
    resourceType: 'Patient',
    params: { identifier: `${MRN_SYSTEM}|${PATIENT.mrn}` },
  });
  await http('fhir', 'search-resources', { resourceType: 'Patient', params: { name: PATIENT.given } });
  await http('fhir', 'create-resource', {
    resource: { resourceType: 'Patient', name: [{ family: PATIENT.family }] },
    ifNoneExist: { identifier: `${MRN_SYSTEM}|${PATIENT.mrn}` },
  });
  await http('fhir', 'read-resource', { resourceType: 'Patient', id: 'no-such-patient' });
  await http('fhir', 'create-resource', {
    resource: { resourceType: 'Patient', name: PATIENT.family, birthDate: PATIENT.mrn },
  });
  await http('fhir', 'search-resources', {
    resourceType: 'Patient',
    params: { nosuchparam: PATIENT.family },
  });
  fhir.inject(fail503, always);
  await http('fhir', 'search-resources', { resourceType: 'Patient', params: { family: PATIENT.family } });
  fhir.clearFaults();
  fhir.inject(fail429, always);
  await http('fhir', 'read-resource', { resourceType: 'Patient', id: 'pat-1' });
  fhir.clearFaults();
  fhir.state.tokens.add(VALUES.fhirRotatedToken);
  fhir.state.tokens.delete(VALUES.fhirToken);
  await secrets.set(SECRET.fhir, VALUES.fhirRotatedToken);
  await http('fhir', 'read-resource', { resourceType: 'Patient', id: 'pat-2' });
  fhir.state.tokens.delete(VALUES.fhirRotatedToken);
  await http('fhir', 'search-resources', { resourceType: 'Patient', params: { family: 'Lindqvist' } });
  fhir.state.tokens.add(VALUES.fhirRotatedToken);
  await queue('fhir', [
    { operation: 'search-resources', input: { resourceType: 'Patient', params: { family: PATIENT.family } } },
    { operation: 'create-resource', input: { resource: { resourceType: 'Patient', name: PATIENT.given } } },
    'not json',
  ]);
  await task('fhir', 'read-resource', { resourceType: 'Patient', id: 'pat-3' });
  await task('fhir', 'search-resources', { resourceType: 'Patient', params: { identifier: PATIENT.mrn } });

  // Snowflake: queries that succeed and fail, 503/429, a rotated key pair (the old key refused), a key
  // nobody registered.
  await http('snowflake', 'run-query', SAMPLES.snowflake['run-query']);
  const started = await http('snowflake', 'start-query', { sql: 'select 1 as one' });
  const queryId = (JSON.parse(started.body) as { queryId?: string }).queryId ?? 'none';
  await http('snowflake', 'get-query', { queryId });
  await http('snowflake', 'get-query-results', { queryId });
  await http('snowflake', 'cancel-query', { queryId });
  await http('snowflake', 'get-query', { queryId: '01b2c3d4-0000-4000-8000-000000000000' });
  await http('snowflake', 'run-query', { sql: 'select * from no_such_table_anywhere' });
  await http('snowflake', 'run-query', {
    sql: 'select * from no_such_table_anywhere where note = ?',
    params: [VALUES.snowflakeParam],
  });
  snowflake.inject(fail503, always);
  await http('snowflake', 'run-query', { sql: 'select 2 as two' });
  snowflake.clearFaults();
  snowflake.inject(fail429, always);
  await http('snowflake', 'run-query', { sql: 'select 3 as three' });
  snowflake.clearFaults();
  collectIssued();
  // The old key revoked: the JWT it signed is refused (401), the secret re-read signs with the new one.
  snowflake.state.publicKeys.clear();
  acceptKey(snowflake.state, SNOWFLAKE_ROTATED.publicKey);
  await secrets.set(SECRET.snowflake, SNOWFLAKE_ROTATED.privateKey);
  await http('snowflake', 'run-query', { sql: 'select 4 as four' });
  collectIssued();
  // No key registered any more: refused, and the key it signed with still never shown.
  snowflake.state.publicKeys.clear();
  await http('snowflake', 'run-query', { sql: 'select 5 as five' });
  acceptKey(snowflake.state, SNOWFLAKE_ROTATED.publicKey);
  await queue('snowflake', [{ operation: 'run-query', input: { sql: 1 } }, 'not json']);
  await task('snowflake', 'run-query', { sql: 'select * from no_such_table_anywhere' });
  resetCircuitBreakers();

  // Twilio: every operation, refusals, 503/429, a rotated auth token (401, re-read), a revoked one, the
  // webhook signed right (status callback, incoming SMS) and wrong, queue and task.
  for (const [operation, input] of Object.entries(SAMPLES.twilio)) await http('twilio', operation, input);
  await http('twilio', 'send-message', { to: TWILIO_TO, body: VALUES.twilioBody });
  await http('twilio', 'get-message', { sid: `SM${'f'.repeat(32)}` });
  await http('twilio', 'send-message', { to: '+15005550001', body: VALUES.twilioBody });
  await http('twilio', 'send-message', { to: 'not a number', body: 'x' });
  twilio.inject(fail503, always);
  await http('twilio', 'send-message', { to: TWILIO_TO, body: VALUES.twilioBody });
  twilio.clearFaults();
  twilio.inject(fail429, always);
  await http('twilio', 'list-messages', { to: TWILIO_TO });
  twilio.clearFaults();
  resetCircuitBreakers();
  twilio.state.credentials.clear();
  twilio.state.credentials.add(`${TWILIO_SANDBOX_ACCOUNT_SID}:${VALUES.twilioRotatedToken}`);
  await secrets.set(
    SECRET.twilio,
    JSON.stringify({ accountSid: TWILIO_SANDBOX_ACCOUNT_SID, authToken: VALUES.twilioRotatedToken }),
  );
  await http('twilio', 'get-message', { sid: TWILIO_SANDBOX_MESSAGES[1] });
  twilio.state.credentials.clear();
  await http('twilio', 'get-message', { sid: TWILIO_SANDBOX_MESSAGES[2] });
  twilio.state.credentials.add(`${TWILIO_SANDBOX_ACCOUNT_SID}:${VALUES.twilioRotatedToken}`);
  const sid = `SM${randomUUID().replaceAll('-', '')}`;
  const statusCallback = {
    AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
    MessageSid: sid,
    MessageStatus: 'delivered',
    To: TWILIO_TO,
    From: TWILIO_SANDBOX_FROM,
  };
  const incoming = { ...statusCallback, MessageStatus: 'received', Body: VALUES.twilioBody, NumMedia: '0' };
  await twilioWebhook(statusCallback, VALUES.twilioRotatedToken);
  await twilioWebhook(statusCallback, VALUES.twilioRotatedToken);
  await twilioWebhook(incoming, VALUES.twilioRotatedToken);
  await twilioWebhook({ ...incoming, MessageSid: `${sid}0` }, distinct('twilio-wrong-'));
  await twilioWebhook({ ...incoming, MessageSid: `${sid}1` }, undefined);
  await queue('twilio', [{ operation: 'send-message', input: { to: 'x' } }, 'not json']);
  await task('twilio', 'get-message', { sid: `SM${'e'.repeat(32)}` });
}

async function twilioWebhook(params: Record<string, string>, authToken: string | undefined): Promise<void> {
  const signature =
    authToken === undefined ? undefined : signTwilioRequest(TWILIO_WEBHOOK_URL, params, authToken);
  if (signature !== undefined) signatures.push(signature);
  const response = (await connectors.twilio.handler(
    httpEvent({
      path: '/twilio/webhook',
      body: new URLSearchParams(params).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      },
      authorizer: 'none',
    }),
    lambdaContext(),
  )) as HttpResult;
  outputs.push(JSON.stringify(response));
  twilioWebhookStatuses.push(response.statusCode);
}

describe('Secrets in output: Teams, Shopify, FHIR, Snowflake, every path', () => {
  it('exercised the paths it claims (successes, provider failures, rotations, refusals)', () => {
    for (const name of NAMES) {
      expect(statuses[name], name).toContain(200);
      expect(
        statuses[name].some((status) => status >= 400 && status < 500),
        name,
      ).toBe(true);
      expect(
        statuses[name].some((status) => status === 503 || status === 429 || status === 502),
        name,
      ).toBe(true);
    }
    expect(statuses.teams).toContain(401);
    expect(statuses.shopify).toContain(401);
    expect(statuses.fhir).toContain(401);
    expect(statuses.snowflake).toContain(401);
    expect(statuses.twilio).toContain(401);
    expect(twilioWebhookStatuses).toEqual([200, 200, 200, 401, 401]);
    expect(issued.size).toBeGreaterThan(3);
    expect(signatures.length).toBeGreaterThanOrEqual(4);
    // Every connector's lines were captured (the invocation lines and the failures' warnings).
    for (const name of NAMES) expect(leakLogs, name).toContain(`"service":"${name}"`);
    expect(leakLogs).toContain('"level":"WARN"');
  });

  it('finds a planted secret (the check can fail)', () => {
    const planted = `${outputs[0]} ${VALUES.shopifyToken}`;
    expect(secretValues().some((value) => planted.includes(value))).toBe(true);
    expect(pemLines(SNOWFLAKE_KEY.privateKey).length).toBeGreaterThan(20);
  });

  it('shows no secret, issued token, signed JWT or webhook signature in any response or error', () => {
    const seen = outputs.join('\n');
    const found = secretValues().filter((value) => seen.includes(value));
    expect(found).toEqual([]);
  });

  it('writes no secret, issued token, signed JWT or webhook signature to any log line', () => {
    const found = secretValues().filter((value) => leakLogs.includes(value));
    expect(found).toEqual([]);
    expect(leakLogs).not.toMatch(/Bearer [A-Za-z0-9._~+/-]{16,}/);
    expect(leakLogs).not.toMatch(/BEGIN (RSA )?PRIVATE KEY/);
  });

  it('writes no incoming or outgoing SMS text to any log line (Twilio)', () => {
    expect(leakLogs).not.toContain(VALUES.twilioBody);
    // It was sent and received: the check looks where it could have leaked from.
    expect(twilio.state.messages.map((message) => message.body)).toContain(VALUES.twilioBody);
    expect(twilioWebhookStatuses[2]).toBe(200);
  });

  it('writes no patient name or identifier (seeded, created or searched for) to any log line', () => {
    const phi = [PATIENT.family, PATIENT.given, PATIENT.mrn, ...SEEDED_PHI];
    expect(phi.filter((value) => leakLogs.includes(value))).toEqual([]);
    // The answers did carry them: the check looks where they could have leaked from.
    const answers = outputs.join('\n');
    expect(answers).toContain(PATIENT.family);
    expect(answers).toContain('Okafor');
  });
});

describe('Strict inputs: every operation of Teams, Shopify, FHIR and Snowflake refuses unknown fields', () => {
  it('has a sample for exactly the operations each connector has', () => {
    for (const name of NAMES)
      expect(Object.keys(SAMPLES[name]).sort(), name).toEqual(
        Object.keys(connectors[name].runtime.operations).sort(),
      );
  });

  it.each(NAMES.flatMap((name) => Object.keys(SAMPLES[name]).map((operation) => [name, operation] as const)))(
    '%s %s answers 400 naming /unexpectedFieldX and runs nothing',
    async (name, operation) => {
      const fake = { teams, shopify, fhir, snowflake, twilio }[name] as FakeServer<unknown>;
      const before = fake.log.length;
      const response = (await connectors[name].handler(
        httpEvent({
          path: `/${name}/${operation}`,
          body: { ...(SAMPLES[name][operation] as object), unexpectedFieldX: true },
          headers: { 'idempotency-key': randomUUID() },
        }),
        lambdaContext(),
      )) as HttpResult;
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body).errors).toContainEqual({
        pointer: '/unexpectedFieldX',
        message: 'unknown field',
      });
      expect(fake.log.length).toBe(before);
    },
  );
});

describe('Idempotency declarations: Teams, Shopify, FHIR, Snowflake', () => {
  it.each(NAMES)('%s declares effect write on exactly its writes', (name) => {
    const declared = Object.entries(connectors[name].runtime.operations)
      .filter(([, definition]) => definition.effect === 'write')
      .map(([operation]) => operation)
      .sort();
    expect(declared).toEqual([...WRITES[name]].sort());
  });
});

describe('Webhooks and authorization: Teams, Shopify, FHIR, Snowflake', () => {
  it('has exactly two public (signature-verified) routes: the Shopify and Twilio webhooks', () => {
    const publicRoutes = NAMES.flatMap((name) =>
      connectors[name].runtime.routes
        .filter((route) => route.auth === 'signature')
        .map((route) => `${route.method} ${route.path}`),
    );
    expect(publicRoutes.sort()).toEqual(['POST /shopify/webhook', 'POST /twilio/webhook']);
  });

  it.each(NAMES.flatMap((name) => Object.keys(SAMPLES[name]).map((operation) => [name, operation] as const)))(
    '%s %s refuses a call without the gateway authorizer with 401 and calls nothing',
    async (name, operation) => {
      const fake = { teams, shopify, fhir, snowflake, twilio }[name] as FakeServer<unknown>;
      const before = fake.log.length;
      const response = (await connectors[name].handler(
        httpEvent({ path: `/${name}/${operation}`, body: SAMPLES[name][operation], authorizer: 'none' }),
        lambdaContext(),
      )) as HttpResult;
      expect(response.statusCode).toBe(401);
      expect(fake.log.length).toBe(before);
    },
  );

  it('answered the leak run webhooks: 202 once, the redelivery 200, tampered and wrong-key 401, not JSON 400', () => {
    expect(webhookStatuses.slice(0, 5)).toEqual([202, 200, 401, 401, 400]);
  });

  it.each([
    ['a body nested 10 000 levels', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
    [
      'a prototype-polluting body',
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    ],
    ['an empty body', ''],
    ['a JSON string', '"orders/paid"'],
    ['invalid UTF-8-like bytes', '\uFFFD\uD800x'],
  ])('answers a correctly signed webhook with %s without a 5xx and pollutes nothing', async (_what, body) => {
    const response = await shopifyWebhook(body, shopifyHeaders(body));
    expect(response.statusCode).toBeLessThan(500);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(response.body).not.toContain(VALUES.shopifyWebhookSecret);
  });

  it('refuses an unsigned, a hex-signed and a differently keyed delivery with 401', async () => {
    const body = JSON.stringify({ id: 1 });
    const headers = shopifyHeaders(body);
    const { 'x-shopify-hmac-sha256': _unused, ...unsigned } = headers;
    const hex = Buffer.from(headers['x-shopify-hmac-sha256'], 'base64').toString('hex');
    const answers = [
      await shopifyWebhook(body, unsigned),
      await shopifyWebhook(body, { ...headers, 'x-shopify-hmac-sha256': hex }),
      await shopifyWebhook(body, shopifyHeaders(body, randomUUID(), VALUES.shopifyToken)),
    ];
    expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401]);
  });
});

/** One HTTP call with the given idempotency key (none when undefined), outside the leak run. */
async function keyed(
  name: Name,
  operation: string,
  body: unknown,
  key: string | undefined,
): Promise<HttpResult> {
  const event = httpEvent({
    path: `/${name}/${operation}`,
    body,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });
  return (await connectors[name].handler(event, lambdaContext())) as HttpResult;
}

const channelMessages = (text: string): number =>
  (teams.state.teams.get(TEAMS_SANDBOX_TEAM)?.get(TEAMS_SANDBOX_CHANNEL)?.messages ?? []).filter((message) =>
    message.body.content.includes(text),
  ).length;

describe('Idempotency through Teams, Shopify, FHIR (CIRCLE_IDEMPOTENCY_TABLE on dynalite)', () => {
  it('posts a Teams message retried with the same key once and answers the stored result', async () => {
    const body = { channel: CHANNEL, text: `idempotent ${randomUUID()}` };
    const key = randomUUID();
    const first = await keyed('teams', 'post-message', body, key);
    const retry = await keyed('teams', 'post-message', body, key);
    expect(first.statusCode).toBe(200);
    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body)).toEqual(JSON.parse(first.body));
    expect(channelMessages(body.text)).toBe(1);
  });

  it('creates a Shopify product retried with the same key once', async () => {
    const title = `Hat ${randomUUID()}`;
    const key = randomUUID();
    const first = await keyed('shopify', 'create-product', { title, vendor: 'Acme' }, key);
    const retry = await keyed('shopify', 'create-product', { title, vendor: 'Acme' }, key);
    expect(first.statusCode).toBe(200);
    expect(retry.body).toBe(first.body);
    expect(shopify.state.products.filter((product) => product['title'] === title)).toHaveLength(1);
  });

  it('sends a Twilio SMS retried with the same key once', async () => {
    const body = distinct('idempotent-sms-');
    const key = randomUUID();
    const first = await keyed('twilio', 'send-message', { to: TWILIO_TO, body }, key);
    const retry = await keyed('twilio', 'send-message', { to: TWILIO_TO, body }, key);
    expect(first.statusCode).toBe(200);
    expect(retry.body).toBe(first.body);
    expect(twilio.state.messages.filter((message) => message.body === body)).toHaveLength(1);
  });

  it('creates a FHIR resource retried with the same key once', async () => {
    const family = distinct('Idemfamily');
    const resource = { resourceType: 'Patient', name: [{ family }] };
    const key = randomUUID();
    const first = await keyed('fhir', 'create-resource', { resource }, key);
    const retry = await keyed('fhir', 'create-resource', { resource }, key);
    expect([200, 201]).toContain(first.statusCode);
    expect(retry.body).toBe(first.body);
    const created = [...fhir.state.resources.values()].filter((versions) =>
      JSON.stringify(versions.at(-1)?.resource ?? {}).includes(family),
    );
    expect(created).toHaveLength(1);
  });

  it('lets a Teams post that failed (503) be retried with its key: the failure is not stored', async () => {
    const body = { channel: CHANNEL, text: `after outage ${randomUUID()}` };
    const key = randomUUID();
    teams.inject({ kind: 'server-error', status: 503 }, { times: Number.POSITIVE_INFINITY });
    const failed = await keyed('teams', 'post-message', body, key);
    teams.clearFaults();
    resetCircuitBreakers();
    const retried = await keyed('teams', 'post-message', body, key);
    expect(failed.statusCode).toBe(503);
    expect(retried.statusCode).toBe(200);
    expect(channelMessages(body.text)).toBe(1);
  });

  it.each([
    ['teams', 'post-message', { channel: CHANNEL, text: 'first' }, { channel: CHANNEL, text: 'second' }],
    ['shopify', 'create-product', { title: 'First hat' }, { title: 'Second hat' }],
    ['twilio', 'send-message', { to: TWILIO_TO, body: 'first' }, { to: TWILIO_TO, body: 'second' }],
    [
      'fhir',
      'create-resource',
      { resource: { resourceType: 'Patient', name: [{ family: 'Firstfamily' }] } },
      { resource: { resourceType: 'Patient', name: [{ family: 'Secondfamily' }] } },
    ],
  ] as const)(
    'refuses %s %s with a reused key and another input with 409, running nothing',
    async (name, operation, one, other) => {
      const key = randomUUID();
      const fake = { teams, shopify, fhir, snowflake, twilio }[name] as FakeServer<unknown>;
      expect((await keyed(name, operation, one, key)).statusCode).toBeLessThan(300);
      const before = fake.log.length;
      const reused = await keyed(name, operation, other, key);
      expect(reused.statusCode).toBe(409);
      expect(JSON.parse(reused.body)).toMatchObject({ code: 'conflict' });
      expect(fake.log.length).toBe(before);
    },
  );

  it.each(NAMES.flatMap((name) => WRITES[name].map((operation) => [name, operation] as const)))(
    'refuses %s %s without a key: 400 over HTTP, ValidationError as a task, no provider call',
    async (name, operation) => {
      const fake = { teams, shopify, fhir, snowflake, twilio }[name] as FakeServer<unknown>;
      const before = fake.log.length;
      const http = await keyed(name, operation, SAMPLES[name][operation], undefined);
      const task = await connectors[name]
        .handler({ operation, input: SAMPLES[name][operation], trigger: 'task' }, lambdaContext())
        .catch((error: unknown) => error);
      expect(http.statusCode).toBe(400);
      expect(JSON.parse(http.body).detail).toContain('Idempotency-Key');
      expect(task).toMatchObject({ name: 'ValidationError' });
      expect(fake.log.length).toBe(before);
    },
  );

  it('leaves reads alone: no key needed', async () => {
    for (const [name, operation] of [
      ['teams', 'get-message'],
      ['shopify', 'get-product'],
      ['fhir', 'read-resource'],
      ['snowflake', 'run-query'],
    ] as const)
      expect((await keyed(name, operation, SAMPLES[name][operation], undefined)).statusCode, name).toBe(200);
  });
});

describe('Response limits: a Snowflake result the caller sizes', () => {
  /** `rows` rows of `width` bytes each, all on one page (the fake's partitions are 500 rows). */
  const input = (rows: number, width: number) => ({
    sql: `select repeat(?, ${width}) as filler from range(${rows})`,
    params: ['x'],
    pageSize: rows,
  });

  it('answers a result over 6 MB on HTTP with a 413 problem, not a 200', async () => {
    const response = await keyed('snowflake', 'run-query', input(2_000, 4_000), undefined);
    expect(LAMBDA_RESPONSE_LIMIT_BYTES).toBeLessThan(2_000 * 4_000);
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'payload_too_large',
      detail: expect.stringContaining('limit of a synchronous Lambda response'),
    });
  }, 60_000);

  it("answers one partition over the client's answer limit with a 502 naming the cut, not a 200", async () => {
    const response = await keyed(
      'snowflake',
      'run-query',
      input(1, LAMBDA_RESPONSE_LIMIT_BYTES + 1),
      undefined,
    );
    expect(response.statusCode).toBe(502);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'unexpected_response' });
  }, 60_000);

  it('fails a result over 256 KiB as a Step Functions task with PayloadTooLargeError, and returns 200 KB', async () => {
    const failure = await connectors.snowflake
      .handler({ trigger: 'task', operation: 'run-query', input: input(100, 3_000) }, lambdaContext())
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    const output = await connectors.snowflake.handler(
      { trigger: 'task', operation: 'run-query', input: input(50, 4_000) },
      lambdaContext(),
    );
    expect(100 * 3_000).toBeGreaterThan(STATE_LIMIT_BYTES);
    expect(failure?.name).toBe('PayloadTooLargeError');
    expect(failure?.message).toContain('limit of a Step Functions state');
    expect(JSON.stringify(output).length).toBeGreaterThan(200_000);
  }, 60_000);
});

describe('SSRF: the bulk result link Shopify answers is untrusted', () => {
  /** A TLS listener on 127.0.0.1 that counts the connections it accepts (none may arrive). */
  let connections = 0;
  const listener = createTlsServer((_request, response) => response.end('{"id":"x"}\n'));
  listener.on('connection', () => {
    connections += 1;
  });
  let port = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });

  const completed = (url: string) => ({
    kind: 'answer' as const,
    answer: {
      status: 200,
      json: {
        data: {
          node: {
            id: 'gid://shopify/BulkOperation/9',
            status: 'COMPLETED',
            errorCode: null,
            createdAt: '2026-12-06T10:00:00Z',
            completedAt: '2026-12-06T10:01:00Z',
            objectCount: '1',
            fileSize: '11',
            url,
            partialDataUrl: null,
          },
        },
      },
    },
  });

  it.each([
    ['the instance metadata endpoint', 'https://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['loopback (a listener counts connections)', 'https://127.0.0.1:{port}/bulk.jsonl'],
    ['loopback as a decimal integer', 'https://2130706433:{port}/bulk.jsonl'],
    ['IPv6 loopback', 'https://[::1]:{port}/bulk.jsonl'],
    ['localhost', 'https://localhost:{port}/bulk.jsonl'],
    ['a private address', 'https://10.0.0.8/bulk.jsonl'],
    ['plain http', 'http://storage.googleapis.com/bulk.jsonl'],
    ['a file URL', 'file:///etc/passwd'],
  ])('refuses a link to %s with a 502, without connecting', async (_what, template) => {
    const before = connections;
    shopify.inject(completed(template.replace('{port}', String(port))), { priority: 10 });
    const response = await keyed(
      'shopify',
      'get-bulk-export',
      { bulkOperationId: 'gid://shopify/BulkOperation/9' },
      undefined,
    );
    shopify.clearFaults();
    // Shopify's answer is at fault, not the caller's input: 502, never a 400 or a 200.
    expect(response.statusCode).toBe(502);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'unexpected_response' });
    expect(response.body).not.toContain('security-credentials');
    expect(connections).toBe(before);
  });
});
