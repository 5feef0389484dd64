/**
 * The Shopify connector against the Shopify contract fake (`scripts/local/sandboxes/shopify.ts`, which
 * executes the GraphQL documents it is sent), the local stack's Secrets Manager, dynalite (the webhook
 * ledger) and s3rver (bulk results): each operation on each trigger, cursor pagination, userErrors and
 * GraphQL errors mapped with their field paths, cost-based throttling, bulk exports by claim check, webhooks
 * signed by hand as Shopify signs them, and the failure paths every connector must survive.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ConflictError, configureSecrets, RateLimitedError, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  SHOPIFY_SANDBOX_TOKEN,
  type ShopifyFakeState,
  startShopifyFake,
} from '../../../scripts/local/sandboxes/shopify.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { shopifyIdempotencyKey, userErrorsFailure } from './client.ts';

const suffix = randomUUID().slice(0, 8);
const TOKEN_SECRET = `test/shopify/token-${suffix}`;
const WEBHOOK_SECRET = `test/shopify/webhook-${suffix}`;
const WEBHOOK_KEY = 'shopify-unit-webhook-key';
const STATE_TABLE = `shopify-state-${suffix}`;
const BUCKET = 'shopify-exports';
const ROTATED_TOKEN = 'shpat_rotatedUnitToken';
const PRODUCT = 'gid://shopify/Product/1001';
const ORDER = 'gid://shopify/Order/5001';
const ITEM = 'gid://shopify/InventoryItem/3001';
const LOCATION = 'gid://shopify/Location/1';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<ShopifyFakeState>;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
let s3rver: S3rverPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown, remainingMs?: number): Promise<HttpResult> {
  const headers = { 'idempotency-key': randomUUID() };
  const event = httpEvent({ path: `/shopify/${operation}`, body, headers });
  const context = remainingMs === undefined ? lambdaContext() : lambdaContext({ remainingMs });
  return (await connector.handler(event, context)) as HttpResult;
}

type Json = Record<string, unknown>;
const parsed = (response: HttpResult): Json => JSON.parse(response.body);
const statuses = () => fake.logFor('graphql').map((entry) => entry.status);
const sentQueries = () => fake.logFor('graphql').map((entry) => String((entry.body as Json)?.['query']));

beforeAll(async () => {
  [fake, secrets, dynamo, s3rver] = await Promise.all([
    startShopifyFake(),
    startSecretsManager({ [TOKEN_SECRET]: SHOPIFY_SANDBOX_TOKEN, [WEBHOOK_SECRET]: WEBHOOK_KEY }),
    startDynalite(),
    startS3rver({ buckets: [BUCKET] }),
  ]);
  await createTable(dynamo.endpoint, STATE_TABLE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_S3: s3rver.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SHOPIFY_API_URL: `${fake.url}/admin/api`,
    SHOPIFY_TOKEN_SECRET: TOKEN_SECRET,
    SHOPIFY_WEBHOOK_SECRET_SECRET: WEBHOOK_SECRET,
    SHOPIFY_STATE_TABLE: STATE_TABLE,
    SHOPIFY_EXPORT_BUCKET: BUCKET,
    SHOPIFY_S3_FORCE_PATH_STYLE: 'true',
    SHOPIFY_TIMEOUT_MS: '2000',
    SHOPIFY_MAX_RETRY_AFTER_MS: '5000',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
}, 60_000);

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([fake.close(), secrets.close(), dynamo.close(), s3rver.close()]);
});

beforeEach(async () => {
  fake.reset();
  await secrets.set(TOKEN_SECRET, SHOPIFY_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: shopify', () => {
  describe('Products', () => {
    it('reads a product through the pinned version with the access token header', async () => {
      // Act
      const response = await call('get-product', { productId: PRODUCT });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        id: PRODUCT,
        title: 'Snowboard',
        status: 'ACTIVE',
        totalInventory: 10,
        variants: [{ id: 'gid://shopify/ProductVariant/2001', inventoryItemId: ITEM, inventoryQuantity: 10 }],
      });
      const [sent] = fake.logFor('graphql');
      expect(sent?.path).toBe('/admin/api/2026-04/graphql.json');
      expect(sent?.token).toBe(SHOPIFY_SANDBOX_TOKEN);
      expect((sent?.body as Json | undefined)?.['variables']).toEqual({ id: PRODUCT });
    });

    it('answers 404 for a product Shopify does not have', async () => {
      const response = await call('get-product', { productId: 'gid://shopify/Product/999' });
      expect(response.statusCode).toBe(404);
    });

    it('refuses an id of another type with a 400 naming the field, without calling Shopify', async () => {
      // Act
      const response = await call('get-product', { productId: ORDER });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([
        expect.objectContaining({ pointer: '/productId', message: expect.stringContaining('Product id') }),
      ]);
      expect(fake.log).toEqual([]);
    });

    it('pages with pageInfo.endCursor until hasNextPage is false, filtered by a search query', async () => {
      // Act
      const first = await call('list-products', { first: 2, query: 'vendor:Acme' });
      const second = await call('list-products', {
        first: 2,
        query: 'vendor:Acme',
        cursor: parsed(first)['nextCursor'],
      });

      // Assess
      const titles = (r: HttpResult) => (parsed(r)['items'] as Json[]).map((item) => item['title']);
      expect(titles(first)).toEqual(['Snowboard', 'Snowboard Wax']);
      expect(parsed(first)['nextCursor']).toEqual(expect.any(String));
      expect(titles(second)).toEqual(['Ski Goggles', 'Beanie']);
      expect(parsed(second)['nextCursor']).toBeUndefined();
    });

    it('answers a cursor Shopify does not know with a 400 pointing at /cursor', async () => {
      // Act
      const products = await call('list-products', { cursor: 'garbage' });
      const orders = await call('list-orders', { cursor: 'garbage' });

      // Assess
      for (const response of [products, orders]) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)['errors']).toEqual([
          { pointer: '/cursor', message: expect.stringContaining('nextCursor') },
        ]);
        expect(parsed(response)['detail']).toContain('BAD_REQUEST');
      }
    });

    it('answers 400 for a query whose cost exceeds the single query maximum (MAX_COST_EXCEEDED)', async () => {
      // Prepare
      fake.state.throttle.maxQueryCost = 100;

      // Act
      const response = await call('list-products', { first: 25 });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('MAX_COST_EXCEEDED');
    });

    it('creates a product and answers it as Shopify stored it', async () => {
      // Act
      const response = await call('create-product', {
        title: 'Winter Hat',
        vendor: 'Acme',
        tags: ['winter'],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({ title: 'Winter Hat', handle: 'winter-hat', vendor: 'Acme' });
      expect(fake.state.products.map((row) => row['title'])).toContain('Winter Hat');
    });

    it("maps userErrors to a 400 with the field's pointer", async () => {
      // Act
      const blank = await call('create-product', { title: '   ' });
      const taken = await call('create-product', { title: 'Another', handle: 'snowboard' });

      // Assess
      expect(blank.statusCode).toBe(400);
      expect(parsed(blank)['errors']).toEqual([{ pointer: '/title', message: "Title can't be blank" }]);
      expect(taken.statusCode).toBe(400);
      expect((parsed(taken)['errors'] as Json[])[0]?.['pointer']).toBe('/handle');
    });
  });

  describe('Orders and fulfilments', () => {
    it('reads and lists orders with their fulfillment orders', async () => {
      // Act
      const order = await call('get-order', { orderId: ORDER });
      const paid = await call('list-orders', { query: 'financial_status:paid' });

      // Assess
      expect(parsed(order)).toMatchObject({
        name: '#1001',
        financialStatus: 'PENDING',
        canMarkAsPaid: true,
        total: { amount: '25.00', currencyCode: 'USD' },
        fulfillmentOrders: [{ id: 'gid://shopify/FulfillmentOrder/7001', status: 'OPEN' }],
      });
      expect((parsed(paid)['items'] as Json[]).map((item) => item['name'])).toEqual(['#1002']);
    });

    it('marks an order paid once; the second time is a 400 on orderId', async () => {
      // Act
      const first = await call('mark-order-paid', { orderId: ORDER });
      const again = await call('mark-order-paid', { orderId: ORDER });

      // Assess
      expect(parsed(first)).toMatchObject({ financialStatus: 'PAID', canMarkAsPaid: false });
      expect(again.statusCode).toBe(400);
      expect(parsed(again)['errors']).toEqual([
        { pointer: '/orderId', message: 'Order cannot be marked as paid.' },
      ]);
    });

    it("fulfils the order's open fulfillment orders with tracking, then answers 409 as none is left", async () => {
      // Act
      const created = await call('create-fulfillment', {
        orderId: ORDER,
        trackingInfo: { company: 'UPS', number: '1Z999AA10123456784' },
      });
      const again = await call('create-fulfillment', { orderId: ORDER });

      // Assess
      expect(created.statusCode).toBe(200);
      expect(parsed(created)).toMatchObject({
        status: 'SUCCESS',
        trackingInfo: [{ company: 'UPS', number: '1Z999AA10123456784' }],
      });
      const mutation = fake
        .logFor('graphql')
        .find((entry) => String((entry.body as Json)['query']).includes('fulfillmentCreate'));
      expect((mutation?.body as Json | undefined)?.['variables']).toMatchObject({
        fulfillment: {
          lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: 'gid://shopify/FulfillmentOrder/7001' }],
        },
      });
      expect(again.statusCode).toBe(409);
    });

    it('cancels an order: its fulfilment first, then the order (restock, no refund); a second time is a 409', async () => {
      // Prepare
      await call('mark-order-paid', { orderId: ORDER });
      const fulfilled = parsed(await call('create-fulfillment', { orderId: ORDER }));

      // Act
      const cancelled = await call('cancel-order', { orderId: ORDER, staffNote: 'Refunded in Stripe' });
      const again = await call('cancel-order', { orderId: ORDER });

      // Assess
      expect(cancelled.statusCode).toBe(200);
      expect(parsed(cancelled)).toMatchObject({
        cancelledFulfillments: [fulfilled['id']],
        jobId: expect.stringMatching(/^gid:\/\/shopify\/Job\//),
        order: {
          id: ORDER,
          cancelledAt: expect.any(String),
          fulfillmentStatus: 'UNFULFILLED',
          canMarkAsPaid: false,
        },
      });
      const mutation = fake
        .logFor('graphql')
        .find((entry) => String((entry.body as Json)['query']).includes('orderCancel('));
      expect((mutation?.body as Json | undefined)?.['variables']).toMatchObject({
        orderId: ORDER,
        reason: 'CUSTOMER',
        refund: false,
        restock: true,
        notifyCustomer: false,
        staffNote: 'Refunded in Stripe',
      });
      expect(again.statusCode).toBe(409);
    });

    it('answers 404 for an order that does not exist, before any mutation', async () => {
      // Act
      const response = await call('cancel-order', { orderId: 'gid://shopify/Order/4040' });

      // Assess
      expect(response.statusCode).toBe(404);
      expect(sentQueries().some((query) => query.includes('orderCancel('))).toBe(false);
    });

    it('points a refused fulfillment order at its place in fulfillmentOrderIds', async () => {
      // Act
      const response = await call('create-fulfillment', {
        orderId: 'gid://shopify/Order/5002',
        fulfillmentOrderIds: ['gid://shopify/FulfillmentOrder/7002'],
      });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([
        { pointer: '/fulfillmentOrderIds/0', message: 'Fulfillment order is not in a fulfillable state.' },
      ]);
    });
  });

  describe('Inventory', () => {
    it('adjusts available quantities and reads them back per location', async () => {
      // Act
      const adjusted = await call('adjust-inventory', {
        reason: 'correction',
        changes: [{ inventoryItemId: ITEM, locationId: LOCATION, delta: -3 }],
      });
      const item = await call('get-inventory-item', { inventoryItemId: ITEM });

      // Assess
      expect(parsed(adjusted)).toMatchObject({
        reason: 'correction',
        changes: [
          {
            name: 'available',
            delta: -3,
            quantityAfterChange: 7,
            inventoryItemId: ITEM,
            locationId: LOCATION,
          },
        ],
      });
      expect(parsed(item)).toMatchObject({ levels: [{ locationId: LOCATION, available: 7, onHand: 7 }] });
    });

    it('answers 400 at the change that names an unknown item, and 409 for a stale changeFromQuantity', async () => {
      // Act
      const unknown = await call('adjust-inventory', {
        reason: 'correction',
        changes: [
          { inventoryItemId: ITEM, locationId: LOCATION, delta: 1 },
          { inventoryItemId: 'gid://shopify/InventoryItem/1', locationId: LOCATION, delta: 1 },
        ],
      });
      const stale = await call('adjust-inventory', {
        reason: 'correction',
        changes: [{ inventoryItemId: ITEM, locationId: LOCATION, delta: 1, changeFromQuantity: 99 }],
      });

      // Assess
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors']).toEqual([
        {
          pointer: '/changes/1/inventoryItemId',
          message: 'The specified inventory item could not be found.',
        },
      ]);
      expect(stale.statusCode).toBe(409);
      expect(fake.state.levels.get(`${ITEM}|${LOCATION}`)).toBe(10);
    });

    it('sends ledgerDocumentUri for a quantity other than available, and refuses it missing, on available or gid://shopify before any call', async () => {
      // Prepare: Shopify's InventoryChangeInput: ledgerDocumentUri is required for every quantity name but
      // available, not supported with available, and may not be a gid://shopify/ id
      const change = { inventoryItemId: ITEM, locationId: LOCATION, delta: 1 };
      const before = fake.logFor('graphql').length;

      // Act
      const missing = await call('adjust-inventory', {
        reason: 'damaged',
        name: 'damaged',
        changes: [change],
      });
      const onAvailable = await call('adjust-inventory', {
        reason: 'correction',
        changes: [{ ...change, ledgerDocumentUri: 'wms://acme/count/1' }],
      });
      const internal = await call('adjust-inventory', {
        reason: 'damaged',
        name: 'damaged',
        changes: [{ ...change, ledgerDocumentUri: 'gid://shopify/Order/5001' }],
      });
      const refusedCalls = fake.logFor('graphql').length - before;
      const damaged = await call('adjust-inventory', {
        reason: 'damaged',
        name: 'damaged',
        changes: [{ ...change, ledgerDocumentUri: 'wms://acme/damage/1' }],
      });
      const sent = fake.logFor('graphql').at(-1)?.body as Json;

      // Assess
      for (const refused of [missing, onAvailable, internal]) {
        expect(refused.statusCode).toBe(400);
        expect(parsed(refused)['errors']).toEqual([
          expect.objectContaining({ pointer: '/changes/0/ledgerDocumentUri' }),
        ]);
      }
      expect(refusedCalls).toBe(0);
      expect(damaged.statusCode).toBe(200);
      const variables = sent['variables'] as { input: { name: string; changes: Json[] } };
      expect(variables.input.name).toBe('damaged');
      expect(variables.input.changes[0]).toHaveProperty('ledgerDocumentUri', 'wms://acme/damage/1');
    });

    it("the fake answers Shopify's ledger document userErrors (INVALID_QUANTITY_DOCUMENT, INVALID_AVAILABLE_DOCUMENT, INTERNAL_LEDGER_DOCUMENT)", async () => {
      // Prepare
      const adjust = (name: string, ledgerDocumentUri?: string) =>
        fetch(`${fake.url}/admin/api/2026-04/graphql.json`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-shopify-access-token': SHOPIFY_SANDBOX_TOKEN },
          body: JSON.stringify({
            query: `mutation A($input: InventoryAdjustQuantitiesInput!, $key: String!) {
              inventoryAdjustQuantities(input: $input) @idempotent(key: $key) { userErrors { field code } } }`,
            variables: {
              key: randomUUID(),
              input: {
                reason: 'damaged',
                name,
                changes: [
                  {
                    inventoryItemId: ITEM,
                    locationId: LOCATION,
                    delta: 1,
                    changeFromQuantity: null,
                    ...(ledgerDocumentUri === undefined ? {} : { ledgerDocumentUri }),
                  },
                ],
              },
            },
          }),
        }).then(async (response) => (await response.json()) as { data: Json });
      const codes = (answer: { data: Json }) =>
        (answer.data['inventoryAdjustQuantities'] as { userErrors: { code: string }[] }).userErrors.map(
          (error) => error.code,
        );

      // Act
      const missing = await adjust('damaged');
      const onAvailable = await adjust('available', 'wms://acme/count/1');
      const internal = await adjust('damaged', 'gid://shopify/Order/5001');

      // Assess
      expect(codes(missing)).toEqual(['INVALID_QUANTITY_DOCUMENT']);
      expect(codes(onAvailable)).toEqual(['INVALID_AVAILABLE_DOCUMENT']);
      expect(codes(internal)).toEqual(['INTERNAL_LEDGER_DOCUMENT']);
      expect(fake.state.levels.get(`${ITEM}|${LOCATION}`)).toBe(10);
    });

    it("sends 2026-04's @idempotent key (a hash of the caller's key) and changeFromQuantity, null when not given", async () => {
      // Prepare
      const callerKey = `restock-${randomUUID()}`;
      const input = {
        reason: 'correction',
        changes: [{ inventoryItemId: ITEM, locationId: LOCATION, delta: 2 }],
      };
      const send = () =>
        connector.handler(
          httpEvent({
            path: '/shopify/adjust-inventory',
            body: input,
            headers: { 'idempotency-key': callerKey },
          }),
          lambdaContext(),
        ) as Promise<HttpResult>;

      // Act
      const first = await send();
      const sent = fake.logFor('graphql').at(-1)?.body as Json;

      // Assess
      expect(first.statusCode).toBe(200);
      expect(String(sent['query'])).toContain('@idempotent(key: $key)');
      const variables = sent['variables'] as { key: string; input: { changes: Json[] } };
      expect(variables.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(variables.key).toBe(shopifyIdempotencyKey(callerKey));
      expect(JSON.stringify(sent)).not.toContain(callerKey);
      expect(variables.input.changes[0]).toHaveProperty('changeFromQuantity', null);
      expect(fake.state.levels.get(`${ITEM}|${LOCATION}`)).toBe(12);
    });

    it('answers 409 when Shopify refuses an @idempotent key reused with other parameters (IDEMPOTENCY_KEY_PARAMETER_MISMATCH)', async () => {
      // Prepare: one call as the connector sends it, then the same key with another delta
      await call('adjust-inventory', {
        reason: 'correction',
        changes: [{ inventoryItemId: ITEM, locationId: LOCATION, delta: 1 }],
      });
      const sent = fake.logFor('graphql').at(-1)?.body as Json;
      const variables = sent['variables'] as { key: string; input: { changes: Json[] } };
      const changed = {
        ...sent,
        variables: {
          ...variables,
          input: { ...variables.input, changes: [{ ...variables.input.changes[0], delta: 4 }] },
        },
      };

      // Act
      const answer = (await fetch(`${fake.url}/admin/api/2026-04/graphql.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-access-token': SHOPIFY_SANDBOX_TOKEN },
        body: JSON.stringify(changed),
      }).then((response) => response.json())) as { data: Json };

      // Assess: Shopify's code, nothing adjusted twice; and the connector's mapping of that code
      const payload = answer.data['inventoryAdjustQuantities'] as { userErrors: { code: string }[] };
      expect(payload.userErrors.map((error) => error.code)).toEqual(['IDEMPOTENCY_KEY_PARAMETER_MISMATCH']);
      expect(fake.state.levels.get(`${ITEM}|${LOCATION}`)).toBe(11);
      const mapped = userErrorsFailure(
        [
          {
            field: null,
            message: 'The same idempotency key cannot be used with different operation parameters.',
            code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH',
          },
        ],
        () => '',
      );
      expect(mapped).toBeInstanceOf(ConflictError);
      const busy = userErrorsFailure(
        [
          {
            field: null,
            message: 'This request is currently in progress, please try again.',
            code: 'IDEMPOTENCY_CONCURRENT_REQUEST',
          },
        ],
        () => '',
      );
      expect(busy).toBeInstanceOf(RateLimitedError);
    });

    it('adjusts once when Shopify gets the same @idempotent key again (a call resent after its answer was lost)', async () => {
      // Prepare: what the connector sends, resent as-is, as after a lost answer
      await call('adjust-inventory', {
        reason: 'correction',
        changes: [{ inventoryItemId: ITEM, locationId: LOCATION, delta: 5, changeFromQuantity: 10 }],
      });
      const sent = fake.logFor('graphql').at(-1)?.body as Json;
      const resend = () =>
        fetch(`${fake.url}/admin/api/2026-04/graphql.json`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-shopify-access-token': SHOPIFY_SANDBOX_TOKEN },
          body: JSON.stringify(sent),
        }).then(async (response) => (await response.json()) as Json);

      // Act
      const again = await resend();

      // Assess: the first answer again, and the level moved once (a stale changeFromQuantity otherwise)
      expect(again['errors']).toBeUndefined();
      expect(JSON.stringify(again['data'])).toContain('"quantityAfterChange":15');
      expect(fake.state.levels.get(`${ITEM}|${LOCATION}`)).toBe(15);
    });

    it('is refused by 2026-04 without @idempotent, or with a change that leaves out changeFromQuantity', async () => {
      // Prepare
      const post = (query: string, variables: Json) =>
        fetch(`${fake.url}/admin/api/2026-04/graphql.json`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-shopify-access-token': SHOPIFY_SANDBOX_TOKEN },
          body: JSON.stringify({ query, variables }),
        }).then(async (response) => (await response.json()) as Json);
      const change = { inventoryItemId: ITEM, locationId: LOCATION, delta: 1 };
      const input = { reason: 'correction', name: 'available', changes: [change] };
      const mutation = (directive: string) =>
        `mutation A($input: InventoryAdjustQuantitiesInput!) { inventoryAdjustQuantities(input: $input) ${directive} { userErrors { field code } } }`;

      // Act
      const withoutKey = await post(mutation(''), { input });
      const withoutCheck = await post(mutation(`@idempotent(key: "${randomUUID()}")`), { input });

      // Assess
      expect(JSON.stringify(withoutKey['errors'])).toContain('The @idempotent directive is required');
      expect(withoutCheck['data']).toEqual({
        inventoryAdjustQuantities: {
          userErrors: [{ field: ['input', 'changes', '0', 'changeFromQuantity'], code: 'INVALID_QUANTITY' }],
        },
      });
      expect(fake.state.levels.get(`${ITEM}|${LOCATION}`)).toBe(10);
    });
  });

  describe('Bulk exports', () => {
    it('starts a bulk query, refuses a second while it runs, and stores the JSONL result by claim check', async () => {
      // Act
      const started = await call('start-bulk-export', {
        query: '{ products { edges { node { id title variants { edges { node { id sku } } } } } } }',
      });
      const second = await call('start-bulk-export', { query: '{ orders { edges { node { id } } } }' });
      const id = parsed(started)['id'];
      const polls: Json[] = [];
      for (let poll = 0; poll < 5; poll += 1) {
        polls.push(parsed(await call('get-bulk-export', { bulkOperationId: id })));
        if (polls.at(-1)?.['status'] === 'COMPLETED') break;
      }

      // Assess
      expect(parsed(started)).toMatchObject({
        status: 'CREATED',
        id: expect.stringMatching(/BulkOperation/),
      });
      expect(second.statusCode).toBe(409);
      expect(polls.map((poll) => poll['status'])).toEqual(['RUNNING', 'COMPLETED']);
      const done = polls.at(-1) as Json;
      expect(done['objectCount']).toBe(10);
      const result = done['result'] as { bucket: string; key: string; bytes: number };
      expect(result).toMatchObject({
        bucket: BUCKET,
        key: expect.stringMatching(/^shopify\/exports\/\d+\.jsonl$/),
      });
      const s3 = new S3Client({
        endpoint: s3rver.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: s3rver.credentials,
      });
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: result.key }));
      const lines = (await object.Body?.transformToString())
        ?.trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      s3.destroy();
      expect(lines).toHaveLength(10);
      expect(lines?.[1]).toEqual({
        id: 'gid://shopify/ProductVariant/2001',
        sku: 'SKU-1',
        __parentId: PRODUCT,
      });
      // The result link got no token.
      expect(fake.logFor('bulk-result').map((entry) => entry.token)).toEqual([undefined]);
    });

    it('answers 400 on query for a bulk query Shopify cannot parse', async () => {
      const response = await call('start-bulk-export', { query: '{ products { edges ' });
      expect(response.statusCode).toBe(400);
      expect((parsed(response)['errors'] as Json[])[0]?.['pointer']).toBe('/query');
    });
  });

  describe('Throttling (extensions.cost)', () => {
    /** Shopify's THROTTLED answer (HTTP 200): 30 points asked, 0 available, 1000 a second back: 30 ms. */
    const THROTTLED = {
      kind: 'answer' as const,
      answer: {
        status: 200,
        json: {
          errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }],
          extensions: {
            cost: {
              requestedQueryCost: 30,
              actualQueryCost: null,
              throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 0, restoreRate: 1000 },
            },
          },
        },
      },
    };

    it('waits what the cost needs after THROTTLED, then answers (a query)', async () => {
      // Prepare
      fake.inject(THROTTLED);

      // Act
      const response = await call('get-product', { productId: PRODUCT });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('graphql')).toHaveLength(2);
    });

    it('sends a THROTTLED mutation again (Shopify ran nothing), and it runs once', async () => {
      // Prepare
      fake.inject(THROTTLED);

      // Act
      const response = await call('adjust-inventory', {
        reason: 'received',
        changes: [{ inventoryItemId: ITEM, locationId: LOCATION, delta: 5 }],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('graphql').map((entry) => entry.fault ?? 'ran')).toEqual(['answer', 'ran']);
      expect(fake.state.levels.get(`${ITEM}|${LOCATION}`)).toBe(15);
    });

    it('waits an HTTP 429 Retry-After in Shopify\'s decimal seconds ("1.0"), then answers', async () => {
      // Prepare: Shopify's 429 with Retry-After in seconds (shopify.dev/docs/api/admin-rest/usage/rate-limits).
      fake.inject({
        kind: 'answer',
        answer: {
          status: 429,
          headers: { 'retry-after': '1.0' },
          json: {
            errors:
              'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.',
          },
        },
      });
      const started = Date.now();

      // Act
      const response = await call('get-product', { productId: PRODUCT });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('graphql')).toHaveLength(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    });

    it('answers 429 with Retry-After when the refill would outlast the invocation, after one call', async () => {
      // Prepare
      Object.assign(fake.state.throttle, { currentlyAvailable: 0, restoreRate: 100, at: Date.now() });

      // Act: about 100 points at 100 a second is a second; the invocation has half of one.
      const response = await call('get-inventory-item', { inventoryItemId: ITEM }, 500);
      const estimate = await call('get-inventory-item', { inventoryItemId: ITEM }, 500);

      // Assess
      expect(response.statusCode).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // The second was refused from the bucket as last seen, without a call.
      expect(estimate.statusCode).toBe(429);
      expect(statuses()).toEqual([200]);
      // Let this container's estimate of the bucket refill before the next test's documents.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    });
  });

  describe('Failures', () => {
    it('answers 502 when Shopify refuses the connector document (a version without its fields)', async () => {
      // Prepare
      fake.inject({
        kind: 'answer',
        answer: {
          status: 200,
          json: { errors: [{ message: "Field 'x' doesn't exist", extensions: { code: 'undefinedField' } }] },
        },
      });

      // Act
      const response = await call('get-product', { productId: PRODUCT });

      // Assess
      expect(response.statusCode).toBe(502);
      expect(parsed(response)['detail']).toContain('undefinedField');
    });

    it('answers 403 for ACCESS_DENIED, naming the path (after reading the token again once)', async () => {
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 200,
            json: {
              data: null,
              errors: [{ message: 'Access denied', path: ['order'], extensions: { code: 'ACCESS_DENIED' } }],
            },
          },
        },
        { times: 2 },
      );
      const response = await call('get-order', { orderId: ORDER });
      expect(response.statusCode).toBe(403);
      expect(parsed(response)['detail']).toContain('ACCESS_DENIED at order');
    });

    it('retries a 5xx of a query and answers 503 when Shopify keeps failing; a mutation is sent once', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 502 });

      // Act
      const recovered = await call('get-product', { productId: PRODUCT });
      fake.inject({ kind: 'server-error', status: 503 }, { times: Number.POSITIVE_INFINITY });
      const failed = await call('get-product', { productId: PRODUCT });
      const before = fake.log.length;
      const mutation = await call('mark-order-paid', { orderId: ORDER });

      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
      expect(mutation.statusCode).toBe(503);
      expect(fake.log.length - before).toBe(1);
    });

    it('answers 502 for a malformed or wrongly shaped answer', async () => {
      fake.inject({ kind: 'malformed' }, { times: 3 });
      const malformed = await call('get-product', { productId: PRODUCT });
      fake.inject({ kind: 'answer', answer: { status: 200, json: { data: { product: { id: 1 } } } } });
      const shape = await call('get-product', { productId: PRODUCT });
      expect(malformed.statusCode).toBe(502);
      expect(shape.statusCode).toBe(502);
    });

    it('reads the token again after a 401 (rotation), and never shows it', async () => {
      // Prepare
      await call('get-product', { productId: PRODUCT });
      fake.state.tokens.clear();
      fake.state.tokens.add(ROTATED_TOKEN);
      await secrets.set(TOKEN_SECRET, ROTATED_TOKEN);

      // Act
      const rotated = await call('get-product', { productId: PRODUCT });
      fake.state.tokens.clear();
      const refused = await call('get-product', { productId: PRODUCT });

      // Assess
      expect(rotated.statusCode).toBe(200);
      expect(statuses().slice(0, 3)).toEqual([200, 401, 200]);
      expect(refused.statusCode).toBe(401);
      const seen = `${rotated.body}${refused.body}${logs.text()}`;
      expect(seen).not.toContain(SHOPIFY_SANDBOX_TOKEN);
      expect(seen).not.toContain(ROTATED_TOKEN);
      expect(seen).not.toContain(WEBHOOK_KEY);
    });
  });

  describe('Route: POST /shopify/webhook', () => {
    const sign = (body: string, key = WEBHOOK_KEY) => createHmac('sha256', key).update(body).digest('base64');
    const deliver = async (body: string, headers: Record<string, string>) =>
      (await connector.handler(
        httpEvent({ path: '/shopify/webhook', body, headers, authorizer: 'none' }),
        lambdaContext(),
      )) as HttpResult;
    const order = JSON.stringify({ id: 5001, admin_graphql_api_id: ORDER, financial_status: 'paid' });
    const headersFor = (eventId: string, body = order) => ({
      'x-shopify-hmac-sha256': sign(body),
      'x-shopify-event-id': eventId,
      'x-shopify-topic': 'orders/paid',
      'x-shopify-shop-domain': 'circle-sandbox.myshopify.com',
      'x-shopify-triggered-at': new Date().toISOString(),
    });

    it('accepts a delivery signed as Shopify signs it once, then answers its redelivery as a duplicate', async () => {
      // Prepare
      const id = randomUUID();

      // Act
      const first = await deliver(order, headersFor(id));
      const again = await deliver(order, headersFor(id));

      // Assess
      expect(first.statusCode).toBe(202);
      expect(parsed(first)).toMatchObject({ accepted: true, event: 'orders-paid', deliveryId: id });
      expect(again.statusCode).toBe(200);
      expect(parsed(again)).toEqual({ duplicate: true, deliveryId: id });
    });

    it('answers 401 for a tampered body, a wrong key, a hex signature and no signature', async () => {
      const id = randomUUID();
      const base = headersFor(id);
      const answers = [
        await deliver(order.replace('paid', 'refunded'), base),
        await deliver(order, { ...base, 'x-shopify-hmac-sha256': sign(order, 'someone-else') }),
        await deliver(order, {
          ...base,
          'x-shopify-hmac-sha256': createHmac('sha256', WEBHOOK_KEY).update(order).digest('hex'),
        }),
        await deliver(order, { ...base, 'x-shopify-hmac-sha256': '' }),
      ];
      expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401, 401]);
      // Nothing was recorded: the genuine delivery still gets through.
      expect((await deliver(order, base)).statusCode).toBe(202);
    });

    it('answers 400 for a signed delivery without an event id', async () => {
      const { 'x-shopify-event-id': _id, ...headers } = headersFor('x');
      const response = await deliver(order, headers);
      expect(response.statusCode).toBe(400);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and a Step Functions task, and answers health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'mark-order-paid', input: { orderId: ORDER } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'list-orders', input: { first: 1 } },
        lambdaContext(),
      );
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/shopify/health' }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(fake.state.orders[0]?.['displayFinancialStatus']).toBe('PAID');
      expect(task).toMatchObject({ items: [{ name: '#1001' }], nextCursor: expect.any(String) });
      expect(health.statusCode).toBe(200);
      expect(sentQueries().at(-1)).toContain('shop');
    });
  });
});
