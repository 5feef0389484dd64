/**
 * A contract fake of Shopify's Admin GraphQL API, on the contract-fake kit: what the Shopify connector's
 * tests run against, and the local stack's Shopify sandbox (`npx node scripts/local/sandboxes/shopify.ts [port]`).
 *
 * It really executes the GraphQL documents it is sent (the `graphql` reference implementation, against a
 * schema that is a subset of Shopify's Admin API and the seeded shop), and follows Shopify's API reference
 * for what the connector uses:
 * - `POST /admin/api/<version>/graphql.json` with `{ query, variables }`; the version is echoed in
 *   `X-Shopify-API-Version`; `X-Shopify-Access-Token` on every call, else 401
 *   `{ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" }`;
 * - every answer carries `extensions.cost`: `requestedQueryCost` (objects 1, connections 2 + first x the
 *   node's cost, mutations 10), `actualQueryCost` (what the answer held) and `throttleStatus`
 *   (`maximumAvailable` 2000, `currentlyAvailable`, `restoreRate` 100 a second: a leaky bucket). A query
 *   costing more than is available answers HTTP 200 with `errors[].extensions.code` `THROTTLED` and is not
 *   run; more than 1000 is `MAX_COST_EXCEEDED`;
 * - parse and validation failures as `errors` with `locations` (and no `data`); a connection without `first`
 *   or `last` is an error outside a bulk query; mutations answer `userErrors { field message code }`;
 * - cursor pagination: connections with `edges { cursor node }`, `nodes` and `pageInfo { hasNextPage
 *   endCursor hasPreviousPage startCursor }`, `first`/`after`, and a `query` search (`status:active`,
 *   `vendor:Acme`, `title:snow*`, `financial_status:paid`, `fulfillment_status:unfulfilled`);
 * - bulk operations: `bulkOperationRunQuery` (one at a time per shop, else `OPERATION_IN_PROGRESS`), then
 *   `currentBulkOperation` / `node(id:)` move it CREATED -> RUNNING -> COMPLETED one read at a time; the
 *   result is JSON Lines (nested connections' nodes on lines of their own with `__parentId`) at the
 *   operation's `url`, unauthenticated as Shopify's signed storage links are;
 * - `inventoryAdjustQuantities`: each change's `ledgerDocumentUri` is required for a quantity name other
 *   than `available` (`INVALID_QUANTITY_DOCUMENT`), refused with `available` (`INVALID_AVAILABLE_DOCUMENT`)
 *   and refused as a `gid://shopify/` id (`INTERNAL_LEDGER_DOCUMENT`), as Shopify's reference says;
 * - cancellations: `fulfillmentCancel` (the fulfilment CANCELLED, its fulfillment orders open again) and
 *   `orderCancel` (`cancelledAt` and `cancelReason` set, open fulfillment orders CANCELLED, `refund: true`
 *   turns PAID into REFUNDED; a second cancel is `orderCancelUserErrors` INVALID; the job is done at once);
 * - webhooks signed as Shopify signs them: {@link signShopifyWebhook} (`X-Shopify-Hmac-Sha256`, the base64
 *   HMAC-SHA256 of the raw body under the app's client secret).
 *
 * Seed: shop `circle-sandbox.myshopify.com`; products `gid://shopify/Product/1001` ("Snowboard", active,
 * vendor Acme) to `.../1005`; orders `gid://shopify/Order/5001` (#1001, pending, unfulfilled, fulfillment
 * order `gid://shopify/FulfillmentOrder/7001` open) and `.../5002` (#1002, paid, fulfilled); location
 * `gid://shopify/Location/1`; inventory item `gid://shopify/InventoryItem/3001` (10 available there);
 * token {@link SHOPIFY_SANDBOX_TOKEN}, webhook secret {@link SHOPIFY_SANDBOX_WEBHOOK_SECRET}.
 *
 * @example
 * ```ts
 * const fake = await startShopifyFake();
 * process.env['SHOPIFY_API_URL'] = `${fake.url}/admin/api`;
 * fake.state.throttle.currentlyAvailable = 0; // the next query is THROTTLED
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import {
  buildSchema,
  type DocumentNode,
  execute,
  type FieldNode,
  GraphQLError,
  type GraphQLResolveInfo,
  getDirectiveValues,
  Kind,
  parse,
  type SelectionSetNode,
  type ValueNode,
  validate,
} from 'graphql';
import {
  type Answer,
  type ErrorDialect,
  type FakeDefinition,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** Sandbox credentials, not secrets. */
export const SHOPIFY_SANDBOX_TOKEN = 'shpat_circleSandboxToken';
export const SHOPIFY_SANDBOX_WEBHOOK_SECRET = 'shopify-sandbox-webhook-secret';
export const SHOPIFY_SANDBOX_SHOP = 'circle-sandbox.myshopify.com';
/** The versions the fake serves (Shopify supports each for about a year). */
export const SHOPIFY_FAKE_VERSIONS = ['2026-01', '2026-04'] as const;
/** From this version `inventoryAdjustQuantities` needs `@idempotent` and `changeFromQuantity` on each change. */
const CONCURRENCY_REQUIRED_FROM = '2026-04';

const SDL = /* GraphQL */ `
  scalar DateTime
  scalar URL
  scalar Decimal
  scalar UnsignedInt64
  scalar HTML
  directive @idempotent(key: String!) on FIELD

  interface Node { id: ID! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type UserError { field: [String!] message: String! code: String }

  enum ProductStatus { ACTIVE ARCHIVED DRAFT }
  type Product implements Node {
    id: ID! title: String! handle: String! status: ProductStatus! vendor: String! productType: String!
    tags: [String!]! descriptionHtml: HTML! createdAt: DateTime! updatedAt: DateTime! totalInventory: Int!
    variants(first: Int, after: String): ProductVariantConnection!
  }
  type ProductEdge { cursor: String! node: Product! }
  type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! pageInfo: PageInfo! }
  type ProductVariant implements Node {
    id: ID! title: String! sku: String price: Decimal! inventoryQuantity: Int inventoryItem: InventoryItem!
  }
  type ProductVariantEdge { cursor: String! node: ProductVariant! }
  type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }

  type MoneyV2 { amount: Decimal! currencyCode: String! }
  type MoneyBag { shopMoney: MoneyV2! }
  type LineItem implements Node { id: ID! title: String! quantity: Int! sku: String }
  type LineItemEdge { cursor: String! node: LineItem! }
  type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }
  enum FulfillmentOrderStatus { OPEN IN_PROGRESS CLOSED CANCELLED INCOMPLETE ON_HOLD SCHEDULED }
  type FulfillmentOrder implements Node { id: ID! status: FulfillmentOrderStatus! }
  type FulfillmentOrderEdge { cursor: String! node: FulfillmentOrder! }
  type FulfillmentOrderConnection { edges: [FulfillmentOrderEdge!]! nodes: [FulfillmentOrder!]! pageInfo: PageInfo! }
  type FulfillmentTrackingInfo { company: String number: String url: URL }
  type Fulfillment implements Node {
    id: ID! status: String! createdAt: DateTime! trackingInfo: [FulfillmentTrackingInfo!]!
  }
  type Order implements Node {
    id: ID! name: String! email: String createdAt: DateTime! displayFinancialStatus: String
    displayFulfillmentStatus: String! canMarkAsPaid: Boolean! totalPriceSet: MoneyBag!
    cancelledAt: DateTime cancelReason: OrderCancelReason
    lineItems(first: Int, after: String): LineItemConnection!
    fulfillmentOrders(first: Int, after: String): FulfillmentOrderConnection!
    fulfillments(first: Int): [Fulfillment!]!
  }
  type OrderEdge { cursor: String! node: Order! }
  type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

  type Location implements Node { id: ID! name: String! }
  type InventoryQuantity { name: String! quantity: Int! }
  type InventoryLevel { id: ID! location: Location! quantities(names: [String!]!): [InventoryQuantity!]! }
  type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
  type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo! }
  type InventoryItem implements Node {
    id: ID! sku: String tracked: Boolean!
    inventoryLevels(first: Int, after: String): InventoryLevelConnection!
  }
  type InventoryChange { name: String! delta: Int! quantityAfterChange: Int item: InventoryItem location: Location }
  type InventoryAdjustmentGroup {
    id: ID! createdAt: DateTime! reason: String! referenceDocumentUri: String changes: [InventoryChange!]!
  }

  enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
  enum BulkOperationType { QUERY MUTATION }
  type BulkOperation implements Node {
    id: ID! status: BulkOperationStatus! errorCode: String createdAt: DateTime! completedAt: DateTime
    objectCount: UnsignedInt64! rootObjectCount: UnsignedInt64! fileSize: UnsignedInt64 url: URL
    partialDataUrl: URL query: String! type: BulkOperationType!
  }
  type Shop { name: String! myshopifyDomain: String! }

  type Query {
    shop: Shop!
    node(id: ID!): Node
    product(id: ID!): Product
    products(first: Int, after: String, query: String): ProductConnection!
    order(id: ID!): Order
    orders(first: Int, after: String, query: String): OrderConnection!
    inventoryItem(id: ID!): InventoryItem
    currentBulkOperation(type: BulkOperationType): BulkOperation
  }

  input ProductCreateInput {
    title: String handle: String descriptionHtml: String vendor: String productType: String tags: [String!]
    status: ProductStatus
  }
  type ProductCreatePayload { product: Product userErrors: [UserError!]! }
  input OrderMarkAsPaidInput { id: ID! }
  type OrderMarkAsPaidPayload { order: Order userErrors: [UserError!]! }
  input FulfillmentOrderLineItemsInput { fulfillmentOrderId: ID! }
  input FulfillmentTrackingInput { company: String number: String url: URL }
  input FulfillmentInput {
    lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]! notifyCustomer: Boolean
    trackingInfo: FulfillmentTrackingInput
  }
  type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
  type FulfillmentCancelPayload { fulfillment: Fulfillment userErrors: [UserError!]! }
  enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }
  type Job { id: ID! done: Boolean! }
  type OrderCancelUserError { field: [String!] message: String! code: String }
  type OrderCancelPayload {
    job: Job orderCancelUserErrors: [OrderCancelUserError!]! userErrors: [UserError!]!
  }
  input InventoryChangeInput {
    delta: Int! inventoryItemId: ID! locationId: ID! changeFromQuantity: Int ledgerDocumentUri: String
  }
  input InventoryAdjustQuantitiesInput {
    reason: String! name: String! referenceDocumentUri: String changes: [InventoryChangeInput!]!
  }
  type InventoryAdjustQuantitiesPayload { inventoryAdjustmentGroup: InventoryAdjustmentGroup userErrors: [UserError!]! }
  type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [UserError!]! }

  type Mutation {
    productCreate(product: ProductCreateInput!): ProductCreatePayload
    orderMarkAsPaid(input: OrderMarkAsPaidInput!): OrderMarkAsPaidPayload
    fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
    fulfillmentCancel(id: ID!): FulfillmentCancelPayload
    orderCancel(
      orderId: ID! reason: OrderCancelReason! refund: Boolean! restock: Boolean! notifyCustomer: Boolean
      staffNote: String
    ): OrderCancelPayload
    inventoryAdjustQuantities(input: InventoryAdjustQuantitiesInput!): InventoryAdjustQuantitiesPayload
    bulkOperationRunQuery(query: String!): BulkOperationRunQueryPayload
  }
`;

const schema = buildSchema(SDL);

type Row = Record<string, unknown> & { id: string; __typename: string };

export interface ShopifyFakeThrottle {
  maximumAvailable: number;
  currentlyAvailable: number;
  /** Points restored a second. */
  restoreRate: number;
  /** When `currentlyAvailable` was last brought up to date (ms). */
  at: number;
  /** The most one query may cost (Shopify: 1000). */
  maxQueryCost: number;
}

export interface ShopifyFakeState {
  tokens: Set<string>;
  products: Row[];
  orders: Row[];
  fulfillmentOrders: Map<string, Row>;
  inventoryItems: Map<string, Row>;
  /** `${inventoryItemId}|${locationId}` -> available quantity. */
  levels: Map<string, number>;
  locations: Map<string, Row>;
  bulk: Row[];
  /** Result files of bulk operations, by their path's token. */
  files: Map<string, string>;
  /**
   * The input and answer of each `@idempotent` mutation, by its key: a resent key with the same input gets
   * the answer again (nothing runs); with other input it is IDEMPOTENCY_KEY_PARAMETER_MISMATCH.
   */
  idempotent: Map<string, { input: string; answer: unknown }>;
  throttle: ShopifyFakeThrottle;
  next: number;
}

const gid = (type: string, n: number | string): string => `gid://shopify/${type}/${n}`;
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Shopify's error bodies for the kit's error kinds (REST-style `errors` strings on non-200 answers). */
export const shopifyErrors: ErrorDialect = (kind, { status }) => {
  const messages = {
    unauthorized: '[API] Invalid API key or access token (unrecognized login or wrong password)',
    forbidden: '[API] This action requires merchant approval for the required access scopes.',
    'not-found': 'Not Found',
    conflict: 'Conflict',
    throttled:
      'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.',
    'server-error': 'Internal Server Error',
  } as const;
  return json(status, { errors: messages[kind] });
};

/**
 * An `X-Shopify-Hmac-Sha256` header for `body` as Shopify sends it: the base64 HMAC-SHA256 of the raw body
 * under the app's client secret.
 *
 * @example
 * ```ts
 * signShopifyWebhook(JSON.stringify(order), 'shpss_...'); // 'kNj0...='
 * ```
 */
export function signShopifyWebhook(body: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

/**
 * Adds an unpaid, unfulfilled order with one open fulfillment order to a running fake (what a checkout
 * would leave), for tests that need orders of their own; answers its id.
 *
 * @example
 * ```ts
 * const orderId = addShopifyOrder(fake.state, { email: 'ada@example.com', total: '20.00' });
 * ```
 */
export function addShopifyOrder(state: ShopifyFakeState, options: { email: string; total: string }): string {
  const n = state.next++;
  const id = gid('Order', 6000 + n);
  const fulfillmentOrder = gid('FulfillmentOrder', 7100 + n);
  state.fulfillmentOrders.set(fulfillmentOrder, {
    __typename: 'FulfillmentOrder',
    id: fulfillmentOrder,
    status: 'OPEN',
    order: id,
  });
  state.orders.push({
    __typename: 'Order',
    id,
    name: `#${2000 + n}`,
    email: options.email,
    createdAt: now(),
    displayFinancialStatus: 'PENDING',
    displayFulfillmentStatus: 'UNFULFILLED',
    total: options.total,
    lineItems: [
      {
        __typename: 'LineItem',
        id: gid('LineItem', 9100 + n),
        title: 'Snowboard',
        quantity: 1,
        sku: 'SKU-1',
      },
    ],
    fulfillmentOrderIds: [fulfillmentOrder],
    fulfillments: [],
  });
  return id;
}

function seed(): ShopifyFakeState {
  const location = { __typename: 'Location', id: gid('Location', 1), name: 'Sandbox Warehouse' };
  const titles = ['Snowboard', 'Snowboard Wax', 'Gift Card', 'Ski Goggles', 'Beanie'];
  const items = new Map<string, Row>();
  const levels = new Map<string, number>();
  const products = titles.map((title, index) => {
    const item = {
      __typename: 'InventoryItem',
      id: gid('InventoryItem', 3001 + index),
      sku: `SKU-${index + 1}`,
      tracked: true,
    };
    items.set(item.id, item);
    levels.set(`${item.id}|${location.id}`, 10 * (index + 1));
    return {
      __typename: 'Product',
      id: gid('Product', 1001 + index),
      title,
      handle: title.toLowerCase().replaceAll(' ', '-'),
      status: index === 4 ? 'DRAFT' : 'ACTIVE',
      vendor: index === 2 ? 'Circle' : 'Acme',
      productType: index === 2 ? 'Gift' : 'Sports',
      tags: index === 0 ? ['winter', 'featured'] : ['winter'],
      descriptionHtml: `<p>${title}</p>`,
      createdAt: `2026-01-0${index + 1}T10:00:00Z`,
      updatedAt: `2026-01-0${index + 1}T10:00:00Z`,
      variants: [
        {
          __typename: 'ProductVariant',
          id: gid('ProductVariant', 2001 + index),
          title: 'Default Title',
          sku: item.sku,
          price: `${(index + 1) * 10}.00`,
          inventoryItem: item,
        },
      ],
    };
  });
  const fulfillmentOrders = new Map<string, Row>([
    [
      gid('FulfillmentOrder', 7001),
      {
        __typename: 'FulfillmentOrder',
        id: gid('FulfillmentOrder', 7001),
        status: 'OPEN',
        order: gid('Order', 5001),
      },
    ],
    [
      gid('FulfillmentOrder', 7002),
      {
        __typename: 'FulfillmentOrder',
        id: gid('FulfillmentOrder', 7002),
        status: 'CLOSED',
        order: gid('Order', 5002),
      },
    ],
  ]);
  const order = (n: number, paid: boolean) => ({
    __typename: 'Order',
    id: gid('Order', 5000 + n),
    name: `#${1000 + n}`,
    email: `customer${n}@example.com`,
    createdAt: `2026-02-0${n}T09:00:00Z`,
    displayFinancialStatus: paid ? 'PAID' : 'PENDING',
    displayFulfillmentStatus: paid ? 'FULFILLED' : 'UNFULFILLED',
    total: `${n * 25}.00`,
    lineItems: [
      {
        __typename: 'LineItem',
        id: gid('LineItem', 9000 + n),
        title: titles[n - 1],
        quantity: n,
        sku: `SKU-${n}`,
      },
    ],
    fulfillmentOrderIds: [gid('FulfillmentOrder', 7000 + n)],
    fulfillments: paid
      ? [
          {
            __typename: 'Fulfillment',
            id: gid('Fulfillment', 8000 + n),
            status: 'SUCCESS',
            createdAt: '2026-02-03T09:00:00Z',
            trackingInfo: [],
          },
        ]
      : [],
  });
  return {
    tokens: new Set([SHOPIFY_SANDBOX_TOKEN]),
    products,
    orders: [order(1, false), order(2, true)],
    fulfillmentOrders,
    inventoryItems: items,
    levels,
    locations: new Map([[location.id, location]]),
    bulk: [],
    files: new Map(),
    idempotent: new Map(),
    throttle: {
      maximumAvailable: 2000,
      currentlyAvailable: 2000,
      restoreRate: 100,
      at: Date.now(),
      maxQueryCost: 1000,
    },
    next: 1,
  };
}

// ---- Connections ----

const cursorOf = (index: number): string => Buffer.from(`cursor:${index}`).toString('base64url');

function indexOf(cursor: string | undefined): number {
  if (cursor === undefined) return -1;
  const match = /^cursor:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null)
    throw new GraphQLError(`Invalid cursor for current pagination sort.`, {
      extensions: { code: 'BAD_REQUEST' },
    });
  return Number(match[1]);
}

interface Context {
  state: ShopifyFakeState;
  url: string;
  bulk: boolean;
  /** The API version of the request path. */
  version: string;
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
  query?: string | null;
}

function connection<T>(all: readonly T[], args: PageArgs, context: Context) {
  if ((args.first === undefined || args.first === null) && !context.bulk) {
    throw new GraphQLError('you must provide one of first or last', { extensions: { code: 'BAD_REQUEST' } });
  }
  const first = args.first ?? all.length;
  if (first < 0 || first > 250) {
    throw new GraphQLError('The first argument must be between 0 and 250', {
      extensions: { code: 'BAD_REQUEST' },
    });
  }
  const start = indexOf(args.after ?? undefined) + 1;
  const slice = all.slice(start, start + first);
  const edges = slice.map((node, offset) => ({ cursor: cursorOf(start + offset), node }));
  return {
    edges,
    nodes: slice,
    pageInfo: {
      hasNextPage: start + first < all.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** Shopify's search syntax, the part the fake needs: `key:value` terms, all of them must hold. */
function searched(
  rows: readonly Row[],
  query: string | null | undefined,
  fields: Record<string, (row: Row) => unknown>,
): Row[] {
  if (query === undefined || query === null || query.trim() === '') return [...rows];
  const terms = query
    .trim()
    .split(/\s+(?:AND\s+)?/)
    .map((term) => {
      const at = term.indexOf(':');
      return {
        key: term.slice(0, at).toLowerCase(),
        value: term
          .slice(at + 1)
          .replace(/^['"]|['"]$/g, '')
          .toLowerCase(),
      };
    });
  return rows.filter((row) =>
    terms.every(({ key, value }) => {
      const read = fields[key];
      if (read === undefined) return true; // Shopify ignores an unknown field (with a warning).
      const actual = read(row);
      const values = (Array.isArray(actual) ? actual : [actual]).map((item) => String(item).toLowerCase());
      return values.some((item) =>
        value.endsWith('*') ? item.startsWith(value.slice(0, -1)) : item === value,
      );
    }),
  );
}

// ---- Views: rows as the schema's objects (fields that take arguments are functions) ----

function productView(row: Row, state: ShopifyFakeState): Record<string, unknown> {
  const variants = (row['variants'] as Row[]).map((variant) => ({
    ...variant,
    inventoryQuantity: availableOf(state, (variant['inventoryItem'] as Row).id),
    inventoryItem: itemView(variant['inventoryItem'] as Row, state),
  }));
  return {
    ...row,
    totalInventory: variants.reduce((sum, variant) => sum + Number(variant.inventoryQuantity), 0),
    variants: (args: PageArgs, context: Context) => connection(variants, args, context),
  };
}

function availableOf(state: ShopifyFakeState, itemId: string): number {
  let total = 0;
  for (const [key, quantity] of state.levels) if (key.startsWith(`${itemId}|`)) total += quantity;
  return total;
}

function itemView(row: Row, state: ShopifyFakeState): Record<string, unknown> {
  const levels = [...state.levels.entries()]
    .filter(([key]) => key.startsWith(`${row.id}|`))
    .map(([key, available]) => {
      const location = state.locations.get(key.split('|')[1] ?? '') as Row;
      return {
        id: gid(
          'InventoryLevel',
          `${row.id.split('/').pop()}?inventory_item_id=${location.id.split('/').pop()}`,
        ),
        location,
        quantities: ({ names }: { names: string[] }) =>
          names.map((name) => ({
            name,
            quantity: name === 'available' || name === 'on_hand' ? available : 0,
          })),
      };
    });
  return { ...row, inventoryLevels: (args: PageArgs, context: Context) => connection(levels, args, context) };
}

function orderView(row: Row, state: ShopifyFakeState): Record<string, unknown> {
  const fulfillmentOrders = (row['fulfillmentOrderIds'] as string[]).map(
    (id) => state.fulfillmentOrders.get(id) as Row,
  );
  return {
    ...row,
    canMarkAsPaid: row['displayFinancialStatus'] === 'PENDING' && (row['cancelledAt'] ?? null) === null,
    totalPriceSet: { shopMoney: { amount: row['total'], currencyCode: 'USD' } },
    lineItems: (args: PageArgs, context: Context) => connection(row['lineItems'] as Row[], args, context),
    fulfillmentOrders: (args: PageArgs, context: Context) => connection(fulfillmentOrders, args, context),
    fulfillments: () => row['fulfillments'],
  };
}

function bulkView(row: Row, advance: boolean): Row {
  if (advance && row['status'] === 'CREATED') row['status'] = 'RUNNING';
  else if (advance && row['status'] === 'RUNNING') {
    Object.assign(row, { status: 'COMPLETED', completedAt: now(), url: row['resultUrl'] });
  }
  return row;
}

/**
 * Shopify's InventoryChangeInput rule for `ledgerDocumentUri`: required for every quantity name but
 * available, not allowed with available, never an internal gid://shopify/ id; `[code, message]` or undefined.
 */
function ledgerRefusal(name: string, ledger: string | undefined): [string, string] | undefined {
  if (name === 'available' && ledger !== undefined)
    return ['INVALID_AVAILABLE_DOCUMENT', 'A ledger document URI is not allowed when adjusting available.'];
  if (name !== 'available' && ledger === undefined)
    return [
      'INVALID_QUANTITY_DOCUMENT',
      'A ledger document URI is required except when adjusting available.',
    ];
  if (ledger?.startsWith('gid://shopify/'))
    return [
      'INTERNAL_LEDGER_DOCUMENT',
      'Internal (gid://shopify/) ledger documents are not allowed to be adjusted via API.',
    ];
  return undefined;
}

/** Why Shopify refuses one change of `inventoryAdjustQuantities`: `[field, message, code]`, or undefined. */
function changeRefusal(
  state: ShopifyFakeState,
  name: string,
  change: {
    inventoryItemId: string;
    locationId: string;
    changeFromQuantity?: number | null;
    ledgerDocumentUri?: string | null;
  },
): [string, string, string] | undefined {
  const ledger = ledgerRefusal(name, change.ledgerDocumentUri ?? undefined);
  if (ledger !== undefined) return ['ledgerDocumentUri', ledger[1], ledger[0]];
  if (!state.inventoryItems.has(change.inventoryItemId))
    return ['inventoryItemId', 'The specified inventory item could not be found.', 'INVALID_INVENTORY_ITEM'];
  if (!state.locations.has(change.locationId))
    return ['locationId', 'The specified location could not be found.', 'INVALID_LOCATION'];
  const current = state.levels.get(`${change.inventoryItemId}|${change.locationId}`);
  if (current === undefined)
    return [
      'locationId',
      'The specified inventory item is not stocked at the location.',
      'ITEM_NOT_STOCKED_AT_LOCATION',
    ];
  if (
    change.changeFromQuantity !== undefined &&
    change.changeFromQuantity !== null &&
    change.changeFromQuantity !== current
  ) {
    return [
      'changeFromQuantity',
      'The quantity has changed since changeFromQuantity was read.',
      'CHANGE_FROM_QUANTITY_STALE',
    ];
  }
  return undefined;
}

const userError = (field: string[] | null, message: string, code?: string) => ({
  field,
  message,
  code: code ?? null,
});

// ---- Root ----

function rootValue(state: ShopifyFakeState) {
  const nodeById = (id: string): unknown => {
    const product = state.products.find((row) => row.id === id);
    if (product !== undefined) return productView(product, state);
    const order = state.orders.find((row) => row.id === id);
    if (order !== undefined) return orderView(order, state);
    const bulk = state.bulk.find((row) => row.id === id);
    if (bulk !== undefined) return bulkView(bulk, true);
    const item = state.inventoryItems.get(id);
    if (item !== undefined) return itemView(item, state);
    return state.locations.get(id) ?? null;
  };
  return {
    shop: { name: 'Circle Sandbox', myshopifyDomain: SHOPIFY_SANDBOX_SHOP },
    node: ({ id }: { id: string }) => nodeById(id),
    product: ({ id }: { id: string }) => {
      const row = state.products.find((candidate) => candidate.id === id);
      return row === undefined ? null : productView(row, state);
    },
    products: (args: PageArgs, context: Context) =>
      connection(
        searched(state.products, args.query, {
          status: (row) => row['status'],
          vendor: (row) => row['vendor'],
          title: (row) => row['title'],
          product_type: (row) => row['productType'],
          tag: (row) => row['tags'],
        }).map((row) => productView(row, state)),
        args,
        context,
      ),
    order: ({ id }: { id: string }) => {
      const row = state.orders.find((candidate) => candidate.id === id);
      return row === undefined ? null : orderView(row, state);
    },
    orders: (args: PageArgs, context: Context) =>
      connection(
        searched(state.orders, args.query, {
          financial_status: (row) => row['displayFinancialStatus'],
          fulfillment_status: (row) => row['displayFulfillmentStatus'],
          name: (row) => row['name'],
          email: (row) => row['email'],
        }).map((row) => orderView(row, state)),
        args,
        context,
      ),
    inventoryItem: ({ id }: { id: string }) => {
      const row = state.inventoryItems.get(id);
      return row === undefined ? null : itemView(row, state);
    },
    currentBulkOperation: () => {
      const row = state.bulk.at(-1);
      return row === undefined ? null : bulkView(row, true);
    },
    productCreate: ({ product }: { product: Record<string, unknown> }) => {
      const title = typeof product['title'] === 'string' ? product['title'].trim() : '';
      if (title === '') return { product: null, userErrors: [userError(['title'], "Title can't be blank")] };
      const handle =
        (product['handle'] as string | undefined) ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      if (state.products.some((row) => row['handle'] === handle)) {
        return {
          product: null,
          userErrors: [
            userError(['handle'], `Handle '${handle}' already in use. Please provide a new handle.`, 'TAKEN'),
          ],
        };
      }
      const n = state.next++;
      const item = {
        __typename: 'InventoryItem',
        id: gid('InventoryItem', 3900 + n),
        sku: null,
        tracked: false,
      };
      state.inventoryItems.set(item.id, item);
      const row: Row = {
        __typename: 'Product',
        id: gid('Product', 1900 + n),
        title,
        handle,
        status: product['status'] ?? 'ACTIVE',
        vendor: product['vendor'] ?? 'Circle Sandbox',
        productType: product['productType'] ?? '',
        tags: product['tags'] ?? [],
        descriptionHtml: product['descriptionHtml'] ?? '',
        createdAt: now(),
        updatedAt: now(),
        variants: [
          {
            __typename: 'ProductVariant',
            id: gid('ProductVariant', 2900 + n),
            title: 'Default Title',
            sku: null,
            price: '0.00',
            inventoryItem: item,
          },
        ],
      };
      state.products.push(row);
      return { product: productView(row, state), userErrors: [] };
    },
    orderMarkAsPaid: ({ input }: { input: { id: string } }) => {
      const row = state.orders.find((candidate) => candidate.id === input.id);
      if (row === undefined)
        return { order: null, userErrors: [userError(['id'], 'Order does not exist', 'NOT_FOUND')] };
      if (row['displayFinancialStatus'] !== 'PENDING' || (row['cancelledAt'] ?? null) !== null) {
        return { order: null, userErrors: [userError(['id'], 'Order cannot be marked as paid.', 'INVALID')] };
      }
      row['displayFinancialStatus'] = 'PAID';
      return { order: orderView(row, state), userErrors: [] };
    },
    fulfillmentCreate: ({
      fulfillment,
    }: {
      fulfillment: {
        lineItemsByFulfillmentOrder: { fulfillmentOrderId: string }[];
        trackingInfo?: Record<string, string> | null;
      };
    }) => {
      const groups = fulfillment.lineItemsByFulfillmentOrder;
      if (groups.length === 0)
        return {
          fulfillment: null,
          userErrors: [
            userError(
              ['fulfillment', 'lineItemsByFulfillmentOrder'],
              'Line items by fulfillment order must not be empty',
            ),
          ],
        };
      for (const [index, group] of groups.entries()) {
        const found = state.fulfillmentOrders.get(group.fulfillmentOrderId);
        const field = ['fulfillment', 'lineItemsByFulfillmentOrder', String(index), 'fulfillmentOrderId'];
        if (found === undefined)
          return { fulfillment: null, userErrors: [userError(field, 'Fulfillment order does not exist.')] };
        if (found['status'] !== 'OPEN' && found['status'] !== 'IN_PROGRESS') {
          return {
            fulfillment: null,
            userErrors: [userError(field, 'Fulfillment order is not in a fulfillable state.')],
          };
        }
      }
      const created = {
        __typename: 'Fulfillment',
        id: gid('Fulfillment', 8900 + state.next++),
        status: 'SUCCESS',
        createdAt: now(),
        trackingInfo: fulfillment.trackingInfo ? [fulfillment.trackingInfo] : [],
      };
      for (const group of groups) {
        const found = state.fulfillmentOrders.get(group.fulfillmentOrderId) as Row;
        found['status'] = 'CLOSED';
        const order = state.orders.find((row) => row.id === found['order']) as Row;
        (order['fulfillments'] as unknown[]).push(created);
        order['displayFulfillmentStatus'] = 'FULFILLED';
      }
      return { fulfillment: created, userErrors: [] };
    },
    fulfillmentCancel: ({ id }: { id: string }) => {
      const order = state.orders.find((row) =>
        (row['fulfillments'] as Row[]).some((fulfillment) => fulfillment.id === id),
      );
      const found = (order?.['fulfillments'] as Row[] | undefined)?.find(
        (fulfillment) => fulfillment.id === id,
      );
      if (order === undefined || found === undefined)
        return { fulfillment: null, userErrors: [userError(['id'], 'Fulfillment does not exist.')] };
      if (found['status'] === 'CANCELLED')
        return { fulfillment: null, userErrors: [userError(['id'], 'Fulfillment is already cancelled.')] };
      // Cancelling a fulfilment reopens the fulfillment orders it fulfilled.
      found['status'] = 'CANCELLED';
      for (const id of order['fulfillmentOrderIds'] as string[]) {
        const fo = state.fulfillmentOrders.get(id);
        if (fo !== undefined && fo['status'] === 'CLOSED') fo['status'] = 'OPEN';
      }
      const active = (order['fulfillments'] as Row[]).some(
        (fulfillment) => fulfillment['status'] === 'SUCCESS',
      );
      order['displayFulfillmentStatus'] = active ? 'PARTIALLY_FULFILLED' : 'UNFULFILLED';
      return { fulfillment: found, userErrors: [] };
    },
    orderCancel: (args: { orderId: string; reason: string; refund: boolean; restock: boolean }) => {
      const row = state.orders.find((candidate) => candidate.id === args.orderId);
      const refused = (message: string, code: string) => ({
        job: null,
        orderCancelUserErrors: [userError(['orderId'], message, code)],
        userErrors: [],
      });
      if (row === undefined) return refused('Order does not exist', 'NOT_FOUND');
      if (row['cancelledAt'] !== undefined && row['cancelledAt'] !== null)
        return refused('Order has already been cancelled', 'INVALID');
      // Shopify cancels in a background job; the fake's job is done at once.
      row['cancelledAt'] = now();
      row['cancelReason'] = args.reason;
      for (const id of row['fulfillmentOrderIds'] as string[]) {
        const fo = state.fulfillmentOrders.get(id);
        if (fo !== undefined && fo['status'] !== 'CLOSED') fo['status'] = 'CANCELLED';
      }
      if (args.refund && row['displayFinancialStatus'] === 'PAID') row['displayFinancialStatus'] = 'REFUNDED';
      return { job: { id: gid('Job', state.next++), done: true }, orderCancelUserErrors: [], userErrors: [] };
    },
    inventoryAdjustQuantities: ({
      input,
    }: {
      input: {
        reason: string;
        name: string;
        referenceDocumentUri?: string | null;
        changes: {
          delta: number;
          inventoryItemId: string;
          locationId: string;
          changeFromQuantity?: number | null;
          ledgerDocumentUri?: string | null;
        }[];
      };
    }) => {
      const fail = (field: string[], message: string, code: string) => ({
        inventoryAdjustmentGroup: null,
        userErrors: [userError(['input', ...field], message, code)],
      });
      if (
        ![
          'correction',
          'cycle_count_available',
          'damaged',
          'movement_created',
          'received',
          'restock',
          'other',
          'shrinkage',
          'safety_stock',
        ].includes(input.reason)
      ) {
        return fail(['reason'], 'The specified reason is invalid.', 'INVALID_REASON');
      }
      if (!['available', 'damaged', 'quality_control', 'reserved', 'safety_stock'].includes(input.name)) {
        return fail(['name'], 'The quantity name must be one of the mutable names.', 'INVALID_QUANTITY_NAME');
      }
      for (const [index, change] of input.changes.entries()) {
        const at = ['changes', String(index)];
        const refused = changeRefusal(state, input.name, change);
        if (refused !== undefined) return fail([...at, refused[0]], refused[1], refused[2]);
      }
      const changes = input.changes.map((change) => {
        const key = `${change.inventoryItemId}|${change.locationId}`;
        const after = (state.levels.get(key) as number) + change.delta;
        state.levels.set(key, after);
        return {
          name: input.name,
          delta: change.delta,
          quantityAfterChange: after,
          item: itemView(state.inventoryItems.get(change.inventoryItemId) as Row, state),
          location: state.locations.get(change.locationId),
        };
      });
      return {
        inventoryAdjustmentGroup: {
          id: gid('InventoryAdjustmentGroup', 4000 + state.next++),
          createdAt: now(),
          reason: input.reason,
          referenceDocumentUri: input.referenceDocumentUri ?? null,
          changes,
        },
        userErrors: [],
      };
    },
  };
}

// ---- Cost ----

type Vars = Record<string, unknown>;

function argument(field: FieldNode, name: string, variables: Vars): unknown {
  const node = field.arguments?.find((arg) => arg.name.value === name)?.value;
  const read = (value: ValueNode | undefined): unknown => {
    if (value === undefined) return undefined;
    if (value.kind === Kind.VARIABLE) return variables[value.name.value];
    if (value.kind === Kind.INT) return Number(value.value);
    return undefined;
  };
  return read(node);
}

/**
 * Shopify's requested cost: an object 1, a scalar 0, a connection 2 + first x (1 + what each node asks
 * for); a connection without `first` (bulk queries only) 2.
 */
function fieldsCost(set: SelectionSetNode | undefined, variables: Vars, document: DocumentNode): number {
  if (set === undefined) return 0;
  let total = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT)
      total += fieldsCost(selection.selectionSet, variables, document);
    else if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION)
        total += fieldsCost(fragment.selectionSet, variables, document);
    } else if (selection.selectionSet !== undefined) total += fieldCost(selection, variables, document);
  }
  return total;
}

function fieldCost(field: FieldNode, variables: Vars, document: DocumentNode): number {
  const inner = field.selectionSet?.selections ?? [];
  const named = (name: string) =>
    inner.find((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === name);
  const nodes = named('nodes');
  const edges = named('edges');
  if (nodes === undefined && edges === undefined)
    return 1 + fieldsCost(field.selectionSet, variables, document);
  const node = edges?.selectionSet?.selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'node',
  );
  const perNode =
    1 +
    Math.max(
      fieldsCost(nodes?.selectionSet, variables, document),
      fieldsCost(node?.selectionSet, variables, document),
    );
  const first = argument(field, 'first', variables);
  return 2 + (typeof first === 'number' ? first * perNode : 0);
}

/** What the answer held: each object 1, each connection 2. */
function actualCost(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + actualCost(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  const own = 'pageInfo' in value ? 2 : 'edges' in value || 'nodes' in value || 'cursor' in value ? 0 : 1;
  return own + Object.values(value).reduce((sum: number, item) => sum + actualCost(item), 0);
}

function restore(throttle: ShopifyFakeThrottle): void {
  const at = Date.now();
  throttle.currentlyAvailable = Math.min(
    throttle.maximumAvailable,
    throttle.currentlyAvailable + ((at - throttle.at) / 1000) * throttle.restoreRate,
  );
  throttle.at = at;
}

function costExtension(requested: number, actual: number | null, throttle: ShopifyFakeThrottle) {
  return {
    cost: {
      requestedQueryCost: requested,
      actualQueryCost: actual,
      throttleStatus: {
        maximumAvailable: throttle.maximumAvailable,
        currentlyAvailable: Math.floor(throttle.currentlyAvailable),
        restoreRate: throttle.restoreRate,
      },
    },
  };
}

// ---- Bulk ----

/** The JSONL lines of a bulk query's data: every connection's nodes, nested ones with `__parentId`. */
function jsonLines(data: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const emit = (node: Record<string, unknown>, parentId: string | undefined): void => {
    const own: Record<string, unknown> = {};
    const children: Array<Record<string, unknown>> = [];
    for (const [key, value] of Object.entries(node)) {
      const list =
        typeof value === 'object' && value !== null ? listOf(value as Record<string, unknown>) : undefined;
      if (list === undefined) own[key] = value;
      else children.push(...list);
    }
    if (parentId !== undefined) own['__parentId'] = parentId;
    lines.push(JSON.stringify(own));
    for (const child of children) emit(child, typeof node['id'] === 'string' ? node['id'] : undefined);
  };
  for (const value of Object.values(data)) {
    for (const node of (typeof value === 'object' && value !== null
      ? listOf(value as Record<string, unknown>)
      : undefined) ?? [])
      emit(node, undefined);
  }
  return lines;
}

function listOf(value: Record<string, unknown>): Array<Record<string, unknown>> | undefined {
  if (Array.isArray(value['edges']))
    return (value['edges'] as Array<{ node: Record<string, unknown> }>).map((edge) => edge.node);
  if (Array.isArray(value['nodes'])) return value['nodes'] as Array<Record<string, unknown>>;
  return undefined;
}

async function runBulk(query: string, context: Context): Promise<unknown> {
  const { state } = context;
  const running = state.bulk.find((row) => row['status'] === 'CREATED' || row['status'] === 'RUNNING');
  if (running !== undefined) {
    return {
      bulkOperation: null,
      userErrors: [
        userError(
          ['query'],
          `A bulk query operation for this app and shop is already in progress: ${running.id}.`,
          'OPERATION_IN_PROGRESS',
        ),
      ],
    };
  }
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (error) {
    return {
      bulkOperation: null,
      userErrors: [userError(['query'], `Invalid bulk query: ${(error as Error).message}`, 'INVALID')],
    };
  }
  const problems = validate(schema, document);
  const operation = document.definitions[0];
  if (
    problems.length > 0 ||
    operation?.kind !== Kind.OPERATION_DEFINITION ||
    operation.operation !== 'query'
  ) {
    const message = problems[0]?.message ?? 'Bulk queries must be a single query operation';
    return {
      bulkOperation: null,
      userErrors: [userError(['query'], `Invalid bulk query: ${message}`, 'INVALID')],
    };
  }
  const result = await execute({
    schema,
    document,
    rootValue: rootValue(state),
    contextValue: { ...context, bulk: true },
  });
  const lines = jsonLines((result.data ?? {}) as Record<string, unknown>);
  const body = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  const token = randomBytes(12).toString('hex');
  state.files.set(token, body);
  const n = state.next++;
  const row: Row = {
    __typename: 'BulkOperation',
    id: gid('BulkOperation', 6000 + n),
    status: 'CREATED',
    errorCode: null,
    createdAt: now(),
    completedAt: null,
    objectCount: String(lines.length),
    rootObjectCount: String(lines.filter((line) => !line.includes('"__parentId"')).length),
    fileSize: String(Buffer.byteLength(body)),
    url: null,
    partialDataUrl: null,
    resultUrl: `${context.url}/bulk-results/${token}.jsonl`,
    query,
    type: 'QUERY',
  };
  state.bulk.push(row);
  return { bulkOperation: row, userErrors: [] };
}

// ---- The endpoint ----

const graphqlError = (message: string, code: string, extensions: Record<string, unknown> = {}) => ({
  message,
  extensions: { code, ...extensions },
});

type AdjustArgs = Parameters<ReturnType<typeof rootValue>['inventoryAdjustQuantities']>[0];

/**
 * `inventoryAdjustQuantities` as the 2026 versions run it: a key given with `@idempotent` answers a resent
 * call with the first answer, running nothing (the same key with other input is
 * IDEMPOTENCY_KEY_PARAMETER_MISMATCH); from {@link CONCURRENCY_REQUIRED_FROM} the directive is
 * required (a run-time error without it) and so is `changeFromQuantity` on every change (null opts out).
 */
function adjustOnce(
  args: AdjustArgs,
  context: Context,
  info: GraphQLResolveInfo,
  adjust: (args: AdjustArgs) => unknown,
): unknown {
  const strict = context.version >= CONCURRENCY_REQUIRED_FROM;
  const field = info.fieldNodes[0] as FieldNode;
  const idempotent = schema.getDirective('idempotent');
  const key = idempotent ? getDirectiveValues(idempotent, field, info.variableValues)?.['key'] : undefined;
  if (typeof key !== 'string') {
    if (strict) throw new GraphQLError('The @idempotent directive is required for this mutation.');
    return adjust(args);
  }
  const input = JSON.stringify(args.input);
  const earlier = context.state.idempotent.get(key);
  if (earlier !== undefined && earlier.input !== input) {
    // Shopify's InventoryAdjustQuantitiesUserErrorCode (2026-01 on): the same key with other parameters.
    return {
      inventoryAdjustmentGroup: null,
      userErrors: [
        userError(
          null,
          'The same idempotency key cannot be used with different operation parameters.',
          'IDEMPOTENCY_KEY_PARAMETER_MISMATCH',
        ),
      ],
    };
  }
  if (earlier !== undefined) return earlier.answer;
  const unchecked = args.input.changes.findIndex((change) => !('changeFromQuantity' in change));
  const answer =
    strict && unchecked >= 0
      ? {
          inventoryAdjustmentGroup: null,
          userErrors: [
            userError(
              ['input', 'changes', String(unchecked), 'changeFromQuantity'],
              'changeFromQuantity is required: the quantity read before, or null to skip the check.',
              'INVALID_QUANTITY',
            ),
          ],
        }
      : adjust(args);
  context.state.idempotent.set(key, { input, answer });
  return answer;
}

async function answerGraphql(
  state: ShopifyFakeState,
  url: string,
  body: unknown,
  version: string,
): Promise<Answer> {
  const { query, variables, operationName } = (body ?? {}) as {
    query?: unknown;
    variables?: unknown;
    operationName?: unknown;
  };
  if (typeof query !== 'string' || query.trim() === '') {
    return json(400, { errors: { query: ['Required parameter missing or invalid'] } });
  }
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (error) {
    const located = error as GraphQLError;
    return json(200, { errors: [{ message: located.message, locations: located.locations ?? [] }] });
  }
  const problems = validate(schema, document);
  if (problems.length > 0) {
    return json(200, {
      errors: problems.map((problem) => ({
        message: problem.message,
        locations: problem.locations ?? [],
        extensions: { code: 'undefinedField' },
      })),
    });
  }
  const vars = (typeof variables === 'object' && variables !== null ? variables : {}) as Vars;
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  const mutation = operation?.kind === Kind.OPERATION_DEFINITION && operation.operation === 'mutation';
  const requested = mutation
    ? 10
    : fieldsCost(
        operation?.kind === Kind.OPERATION_DEFINITION ? operation.selectionSet : undefined,
        vars,
        document,
      );
  const { throttle } = state;
  restore(throttle);
  if (requested > throttle.maxQueryCost) {
    return json(200, {
      errors: [
        graphqlError(
          `Query cost is ${requested}, which exceeds the single query max cost limit (${throttle.maxQueryCost}).`,
          'MAX_COST_EXCEEDED',
          { cost: requested, maxCost: throttle.maxQueryCost },
        ),
      ],
      extensions: costExtension(requested, null, throttle),
    });
  }
  if (requested > throttle.currentlyAvailable) {
    return json(200, {
      errors: [
        graphqlError('Throttled', 'THROTTLED', {
          documentation: 'https://shopify.dev/api/usage/rate-limits',
        }),
      ],
      extensions: costExtension(requested, null, throttle),
    });
  }
  throttle.currentlyAvailable -= requested;
  const context: Context = { state, url, bulk: false, version };
  const base = rootValue(state);
  const root = {
    ...base,
    bulkOperationRunQuery: ({ query: inner }: { query: string }) => runBulk(inner, context),
    inventoryAdjustQuantities: (args: AdjustArgs, _context: Context, info: GraphQLResolveInfo) =>
      adjustOnce(args, context, info, base.inventoryAdjustQuantities),
  };
  const result = await execute({
    schema,
    document,
    rootValue: root,
    contextValue: context,
    variableValues: vars,
    ...(typeof operationName === 'string' ? { operationName } : {}),
  });
  const actual = Math.min(requested, mutation ? 10 : actualCost(result.data));
  throttle.currentlyAvailable = Math.min(
    throttle.maximumAvailable,
    throttle.currentlyAvailable + requested - actual,
  );
  const errors = result.errors?.map((error) => ({
    message: error.message,
    locations: error.locations ?? [],
    path: error.path ?? [],
    ...(error.extensions && Object.keys(error.extensions).length > 0 ? { extensions: error.extensions } : {}),
  }));
  return json(200, {
    ...(errors === undefined ? {} : { errors }),
    data: result.data ?? null,
    extensions: costExtension(requested, actual, throttle),
  });
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(shopifyFake());
 * ```
 */
export function shopifyFake(): FakeDefinition<ShopifyFakeState> {
  return {
    name: 'Shopify',
    seed,
    errors: shopifyErrors,
    token: (request) => request.headers['x-shopify-access-token'],
    authorize: ({ request, state }) => (state.tokens.has(request.token ?? '') ? undefined : 'unauthorized'),
    secretHeaders: ['x-shopify-access-token'],
    headers: ({ request }) => ({
      'x-request-id': randomBytes(8).toString('hex'),
      ...(request.params['version'] === undefined
        ? {}
        : { 'x-shopify-api-version': request.params['version'] }),
    }),
    routes: [
      {
        name: 'graphql',
        method: 'POST',
        path: '/admin/api/:version/graphql.json',
        handle: ({ request, params, state, url }) => {
          if (!(SHOPIFY_FAKE_VERSIONS as readonly string[]).includes(params['version'] ?? '')) {
            refuse(json(404, { errors: 'Not Found' }));
          }
          if (!/^application\/json/i.test(request.headers['content-type'] ?? '')) {
            refuse(json(415, { errors: 'Unsupported Media Type: use application/json' }));
          }
          return answerGraphql(state, url, request.body, params['version'] as string);
        },
      },
      {
        // Shopify's result links are signed storage URLs: no token, the link itself is the credential.
        name: 'bulk-result',
        method: 'GET',
        path: '/bulk-results/:file',
        auth: false,
        handle: ({ params, state }) => {
          const body = state.files.get((params['file'] ?? '').replace(/\.jsonl$/, ''));
          if (body === undefined) refuse({ status: 404, body: 'NoSuchKey', contentType: 'application/xml' });
          return { status: 200, body: body as string, contentType: 'application/jsonl' };
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startShopifyFake();
 * ```
 */
export function startShopifyFake(options?: StartOptions): Promise<FakeServer<ShopifyFakeState>> {
  return startFake(shopifyFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/shopify.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startShopifyFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Shopify sandbox: SHOPIFY_API_URL=${fake.url}/admin/api (token ${SHOPIFY_SANDBOX_TOKEN})`);
}
