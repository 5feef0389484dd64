/**
 * Shopify's Admin GraphQL API as data for the core's REST kit, and the documents the operations send: the
 * only file that talks to Shopify. Every call is `POST /<version>/graphql.json` with the API version pinned
 * in config and `X-Shopify-Access-Token`; cost-based throttling is read from each answer's
 * `extensions.cost` ({@link CostBucket}); GraphQL `errors` and mutations' `userErrors` are mapped once
 * (`errors.ts`); bulk results are copied to object storage (claim check).
 */
import { createHash, randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ANSWER_RESERVE_MS,
  awsCall,
  ConfigurationError,
  ConflictError,
  type ConnectorError,
  createAwsClient,
  defineRestProvider,
  type ErrorKind,
  type FieldIssue,
  ForbiddenError,
  fieldAt,
  HttpClient,
  type HttpResponse,
  MIN_CALL_MS,
  NotFoundError,
  RateLimitedError,
  type RestClient,
  remainingTimeMs,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import { SHOPIFY_GRAPHQL_ERRORS, SHOPIFY_STATUS_ERRORS, SHOPIFY_USER_ERRORS } from './errors.ts';
import {
  type AdjustInventoryInput,
  type BulkExport,
  BulkOperationAnswer,
  type CancelledOrder,
  type CancelOrderInput,
  type CreateFulfillmentInput,
  type CreateProductInput,
  type Fulfillment,
  FulfillmentAnswer,
  type InventoryAdjustment,
  InventoryGroupAnswer,
  type InventoryItem,
  InventoryItemAnswer,
  type ListOrdersInput,
  type ListProductsInput,
  type Order,
  OrderAnswer,
  OrderConnectionAnswer,
  type Page,
  type Product,
  ProductAnswer,
  ProductConnectionAnswer,
  UserErrorAnswer,
} from './models.ts';

/** The API version config pins by default (Shopify supports each version for at least 12 months). */
export const SHOPIFY_API_VERSION = '2026-04';

const CostAnswer = z.object({
  requestedQueryCost: z.number(),
  actualQueryCost: z.number().nullish(),
  throttleStatus: z.object({
    maximumAvailable: z.number(),
    currentlyAvailable: z.number(),
    restoreRate: z.number().positive(),
  }),
});
type CostAnswer = z.output<typeof CostAnswer>;

const GraphqlErrors = z.array(
  z.object({
    message: z.string().optional(),
    path: z.array(z.union([z.string(), z.number()])).optional(),
    extensions: z.object({ code: z.string().optional() }).loose().optional(),
  }),
);

const CODE = /^[A-Za-z_]{1,64}$/;

/**
 * The failure a 200 answer with GraphQL `errors` stands for: the first error's `extensions.code` looked up
 * in {@link SHOPIFY_GRAPHQL_ERRORS}, with its path. THROTTLED carries the wait its cost needs:
 * `(requestedQueryCost - currentlyAvailable) / restoreRate` seconds. Messages are not echoed (they may
 * quote variables); codes and paths are.
 */
export function graphqlFailure(response: HttpResponse): ConnectorError | undefined {
  if (response.status !== 200) return undefined;
  const errors = GraphqlErrors.safeParse(fieldAt(response.body, 'errors'));
  if (!errors.success || errors.data.length === 0) return undefined;
  const [first] = errors.data;
  const raw = first?.extensions?.code;
  const code = raw !== undefined && CODE.test(raw) ? raw : 'unrecognised_error';
  const path = (first?.path ?? [])
    .map(String)
    .filter((part) => /^[\w]{1,64}$/.test(part))
    .join('.');
  const row = SHOPIFY_GRAPHQL_ERRORS[code];
  const details: Record<string, unknown> = { provider: 'Shopify', providerError: code };
  if (path !== '') details['path'] = path;
  const at = path === '' ? '' : ` at ${path}`;
  if (row === undefined) {
    return new UnexpectedResponseError(
      `Shopify refused the connector's GraphQL document (${code}${at}): is SHOPIFY_API_VERSION supported?`,
      { details },
    );
  }
  const message = `Shopify: ${row.meaning} (${code}${at})`;
  switch (row.kind) {
    case 'rate-limited': {
      const cost = CostAnswer.safeParse(fieldAt(response.body, 'extensions.cost'));
      if (!cost.success) return new RateLimitedError(message, { details });
      const { requestedQueryCost: requested, throttleStatus: status } = cost.data;
      const retryAfterMs = Math.max(
        0,
        Math.ceil(((requested - status.currentlyAvailable) / status.restoreRate) * 1000),
      );
      return new RateLimitedError(message, {
        retryAfterMs,
        details: { ...details, requestedQueryCost: requested, throttleStatus: status },
      });
    }
    case 'forbidden':
      return new ForbiddenError(message, { details });
    case 'unavailable':
      return new UnavailableError(message, { details });
    default:
      return new ValidationError(message, issuesOf(code, first?.message), { details });
  }
}

/**
 * The input field a refused argument is: a BAD_REQUEST about the cursor (`Invalid cursor for current
 * pagination sort.`) is the list operations' `cursor`, the only input sent as `after`. The message itself is
 * not echoed.
 */
function issuesOf(code: string, said: string | undefined): FieldIssue[] {
  if (code !== 'BAD_REQUEST' || said === undefined || !/\bcursor\b/i.test(said)) return [];
  return [
    {
      pointer: '/cursor',
      message:
        'Shopify does not know this cursor: pass back the nextCursor of the previous page, with the same query',
    },
  ];
}

/** Shopify as data; its settings are `SHOPIFY_API_URL`, `SHOPIFY_TIMEOUT_MS`, ... */
export const shopifyApi = defineRestProvider({
  name: 'Shopify',
  settingsPrefix: 'SHOPIFY',
  baseUrl: 'https://circle-sandbox.myshopify.com/admin/api',
  baseUrlNote: "your shop's: https://<shop>.myshopify.com/admin/api",
  // A custom app's Admin API access token (shpat_...), or an OAuth app's offline token.
  auth: { kind: 'api-key', header: 'x-shopify-access-token' },
  // Non-200 answers are `{ "errors": "..." }` with a status; GraphQL failures are 200s (`inspect`).
  errors: { codeIn: 'status', rows: SHOPIFY_STATUS_ERRORS },
  inspect: graphqlFailure,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The shop's cost bucket as this container last saw it (`extensions.cost.throttleStatus`, refilled at
 * `restoreRate` a second since), and each document's last requested cost. Before a document is sent again,
 * it waits until the bucket can pay for it, when that wait fits in the invocation's time left; otherwise
 * it fails with a RateLimitedError carrying the wait, without spending a call.
 *
 * @example
 * ```ts
 * await bucket.waitFor(document); // then send, then bucket.record(document, answer.extensions.cost)
 * ```
 */
export class CostBucket {
  #status: (CostAnswer['throttleStatus'] & { at: number }) | undefined;
  readonly #costs = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Remembers what an answer said. */
  record(document: string, cost: CostAnswer | undefined): void {
    if (cost === undefined) return;
    this.#costs.set(document, cost.requestedQueryCost);
    this.#status = { ...cost.throttleStatus, at: this.#now() };
  }

  /** Points available now, as far as this container knows (undefined before the first answer). */
  available(): number | undefined {
    const status = this.#status;
    if (status === undefined) return undefined;
    const refilled = ((this.#now() - status.at) / 1000) * status.restoreRate;
    return Math.min(status.maximumAvailable, status.currentlyAvailable + refilled);
  }

  /** The wait before `document` can be paid for, in ms (0: at once). */
  waitMs(document: string): number {
    const cost = this.#costs.get(document);
    const available = this.available();
    if (cost === undefined || available === undefined || cost <= available) return 0;
    return Math.ceil(((cost - available) / (this.#status?.restoreRate ?? 1)) * 1000);
  }

  async waitFor(document: string): Promise<void> {
    const waitMs = this.waitMs(document);
    if (waitMs === 0) return;
    if (waitMs + MIN_CALL_MS + ANSWER_RESERVE_MS > remainingTimeMs()) {
      throw new RateLimitedError(
        `Shopify's cost bucket needs ${Math.ceil(waitMs / 1000)} s to refill, more than the time left`,
        { retryAfterMs: waitMs, details: { provider: 'Shopify', providerError: 'THROTTLED' } },
      );
    }
    await sleep(waitMs);
  }
}

/**
 * Shopify's `@idempotent` key for a call: a UUID-shaped SHA-256 of the caller's idempotency key (the same
 * key gives the same UUID, so a resent call adjusts once; the key's text never reaches Shopify), or a
 * random UUID for a call without one.
 *
 * @example
 * ```ts
 * shopifyIdempotencyKey('order-1001-restock'); // the same UUID-shaped string every time
 * ```
 */
export function shopifyIdempotencyKey(callerKey: string | undefined): string {
  if (callerKey === undefined) return randomUUID();
  const hex = createHash('sha256').update(`circle-core/shopify/${callerKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A mutation's `userErrors` as one core error: the code's class, every field as a pointer. */
export function userErrorsFailure(
  errors: readonly UserErrorAnswer[],
  pointer: (field: readonly string[]) => string,
): ConnectorError {
  const kinds = errors.map((error) => SHOPIFY_USER_ERRORS[error.code ?? ''] ?? 'validation');
  const kind: ErrorKind = kinds.find((candidate) => candidate !== 'validation') ?? 'validation';
  const issues = errors.map((error) => ({
    pointer: error.field === undefined || error.field === null ? '' : pointer(error.field),
    message: error.message.slice(0, 300),
  }));
  const codes = errors
    .map((error) => error.code)
    .filter((code) => typeof code === 'string' && CODE.test(code));
  const details = {
    provider: 'Shopify',
    userErrors: issues,
    ...(codes.length > 0 ? { providerError: codes[0] } : {}),
  };
  const message = `Shopify refused it: ${issues.map((issue) => `${issue.pointer || '(input)'}: ${issue.message}`).join('; ')}`;
  if (kind === 'conflict') return new ConflictError(message, { details });
  if (kind === 'not-found') return new NotFoundError(message, { details });
  // Shopify's "in progress, please try again": temporary, so retryable (a queue or workflow retries it).
  if (kind === 'rate-limited') return new RateLimitedError(message, { details });
  return new ValidationError(message, issues, { details });
}

/**
 * `['input', 'changes', '0', 'delta']` -> `/changes/0/delta`: a leading argument name (`input`, `product`)
 * is not an input field; Shopify sends paths with and without it.
 */
const dropArgument = (field: readonly string[]): string =>
  `/${(['input', 'product'].includes(field[0] ?? '') ? field.slice(1) : field).join('/')}`;

/** A GraphQL answer: `data` as `S` says, and the cost extension. */
type GraphqlAnswer<T> = { data: T; extensions?: { cost?: CostAnswer | undefined } | undefined };
const answerOf = <S extends z.ZodType>(data: S) =>
  z.object({
    data,
    extensions: z.object({ cost: CostAnswer.optional() }).loose().optional(),
  }) as unknown as z.ZodType<GraphqlAnswer<z.output<S>>>;

const payload = <S extends z.ZodType>(name: string, result: S) =>
  z.object({
    [name]: z
      .object({ userErrors: z.array(UserErrorAnswer) })
      .extend({ result })
      .nullable(),
  });

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined && item !== null)) as T;

// ---- Documents ----

// Nested page sizes keep a page of 25 under Shopify's 1000-point single query limit (README: Throttling).
const productFields = (
  variants: number,
) => `id title handle status vendor productType tags createdAt updatedAt
  totalInventory variants(first: ${variants}) { nodes { id title sku price inventoryQuantity inventoryItem { id } } }`;
const orderFields = (
  lineItems: number,
) => `id name email createdAt displayFinancialStatus displayFulfillmentStatus
  canMarkAsPaid totalPriceSet { shopMoney { amount currencyCode } }
  lineItems(first: ${lineItems}) { nodes { id title quantity sku } }
  fulfillmentOrders(first: 10) { nodes { id status } } cancelledAt`;
const BULK_FIELDS = 'id status errorCode createdAt completedAt objectCount fileSize url partialDataUrl';

const GET_PRODUCT = `query GetProduct($id: ID!) { product(id: $id) { ${productFields(100)} } }`;
const LIST_PRODUCTS = `query ListProducts($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query) { nodes { ${productFields(10)} } pageInfo { hasNextPage endCursor } } }`;
const CREATE_PRODUCT = `mutation CreateProduct($product: ProductCreateInput!) {
  productCreate(product: $product) { result: product { ${productFields(10)} } userErrors { field message } } }`;
const GET_ORDER = `query GetOrder($id: ID!) { order(id: $id) { ${orderFields(100)} } }`;
const LIST_ORDERS = `query ListOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query) { nodes { ${orderFields(10)} } pageInfo { hasNextPage endCursor } } }`;
const MARK_PAID = `mutation MarkOrderPaid($input: OrderMarkAsPaidInput!) {
  orderMarkAsPaid(input: $input) { result: order { ${orderFields(10)} } userErrors { field message } } }`;
const CREATE_FULFILLMENT = `mutation CreateFulfillment($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { result: fulfillment { id status createdAt trackingInfo { company number url } } userErrors { field message } } }`;
const ORDER_FULFILLMENTS = `query OrderFulfillments($id: ID!) { order(id: $id) { id cancelledAt fulfillments(first: 50) { id status } } }`;
const CANCEL_FULFILLMENT = `mutation CancelFulfillment($id: ID!) {
  fulfillmentCancel(id: $id) { result: fulfillment { id status } userErrors { field message } } }`;
// orderCancel reports its refusals in orderCancelUserErrors (userErrors is deprecated): aliased for #mutate.
const CANCEL_ORDER = `mutation CancelOrder($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!, $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: $refund, restock: $restock, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    result: job { id done } userErrors: orderCancelUserErrors { field message code } } }`;
// From 2026-04 Shopify refuses this mutation at run time without `@idempotent` (a retry with the same key
// returns the first result instead of adjusting again) and requires `changeFromQuantity` on every change
// (null opts out of the check).
const ADJUST_INVENTORY = `mutation AdjustInventory($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) { result: inventoryAdjustmentGroup { id createdAt reason referenceDocumentUri
    changes { name delta quantityAfterChange item { id } location { id } } } userErrors { field message code } } }`;
const GET_INVENTORY_ITEM = `query GetInventoryItem($id: ID!) { inventoryItem(id: $id) { id sku tracked
  inventoryLevels(first: 50) { nodes { location { id name } quantities(names: ["available", "on_hand"]) { name quantity } } } } }`;
const RUN_BULK = `mutation StartBulkExport($query: String!) {
  bulkOperationRunQuery(query: $query) { result: bulkOperation { ${BULK_FIELDS} } userErrors { field message code } } }`;
const GET_BULK = `query GetBulkExport($id: ID!) { node(id: $id) { ... on BulkOperation { ${BULK_FIELDS} } } }`;

/**
 * Refuses, before any call, what Shopify's InventoryChangeInput refuses: a change without
 * `ledgerDocumentUri` when the quantity name is not `available`, one with it when it is, and a
 * `gid://shopify/` id as the URI (Shopify's INVALID_QUANTITY_DOCUMENT, INVALID_AVAILABLE_DOCUMENT,
 * INTERNAL_LEDGER_DOCUMENT).
 */
function checkLedgerDocuments(input: AdjustInventoryInput): void {
  const issues: FieldIssue[] = [];
  for (const [index, change] of input.changes.entries()) {
    const pointer = `/changes/${index}/ledgerDocumentUri`;
    const ledger = change.ledgerDocumentUri;
    if (input.name === 'available' && ledger !== undefined) {
      issues.push({ pointer, message: 'not allowed when name is available (leave it out)' });
    } else if (input.name !== 'available' && ledger === undefined) {
      issues.push({ pointer, message: `required when name is ${input.name} (any name but available)` });
    } else if (ledger?.startsWith('gid://shopify/')) {
      issues.push({ pointer, message: 'may not be a gid://shopify/ id: name your own document' });
    }
  }
  if (issues.length === 0) return;
  const fields = issues.map((issue) => issue.pointer).join(', ');
  throw new ValidationError(`Invalid input: ${fields}: ledger document URI`, issues);
}

// ---- Mapping ----

function toProduct(a: z.output<typeof ProductAnswer>): Product {
  return defined({
    id: a.id,
    title: a.title,
    handle: a.handle,
    status: a.status,
    vendor: a.vendor,
    productType: a.productType,
    tags: a.tags,
    totalInventory: a.totalInventory ?? undefined,
    variants: a.variants.nodes.map((v) =>
      defined({
        id: v.id,
        title: v.title,
        sku: v.sku ?? undefined,
        price: v.price,
        inventoryItemId: v.inventoryItem.id,
        inventoryQuantity: v.inventoryQuantity ?? undefined,
      }),
    ),
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  });
}

function toOrder(a: z.output<typeof OrderAnswer>): Order {
  return defined({
    id: a.id,
    name: a.name,
    email: a.email ?? undefined,
    financialStatus: a.displayFinancialStatus ?? undefined,
    fulfillmentStatus: a.displayFulfillmentStatus,
    canMarkAsPaid: a.canMarkAsPaid,
    total: a.totalPriceSet.shopMoney,
    lineItems: a.lineItems.nodes.map((item) => defined({ ...item, sku: item.sku ?? undefined })),
    fulfillmentOrders: a.fulfillmentOrders.nodes,
    cancelledAt: a.cancelledAt ?? undefined,
    createdAt: a.createdAt,
  });
}

function toBulk(a: BulkOperationAnswer): BulkExport {
  return defined({
    id: a.id,
    status: a.status,
    errorCode: a.errorCode ?? undefined,
    objectCount: Number(a.objectCount),
    createdAt: a.createdAt,
    completedAt: a.completedAt ?? undefined,
  });
}

/** Where bulk results go, and how much of one is read. */
export interface ShopifyExportSettings {
  bucket: string | undefined;
  prefix: string;
  maxBytes: number;
  forcePathStyle: boolean;
}

/** What the client is built from besides the REST client. */
export interface ShopifyApiOptions {
  version: string;
  baseUrl: string;
  exports: ShopifyExportSettings;
  timeoutMs: number;
  /** Tests: an S3 client of their own. */
  s3?: S3Client;
}

/**
 * Shopify's calls on parsed input (the runtime parsed it once). Queries are sent `readOnly`, so the core
 * may retry them (after a 5xx, a timeout, or a THROTTLED answer, waiting what the cost needs);
 * mutations are sent once, except after THROTTLED (Shopify ran nothing), retried here within the time left.
 *
 * @example
 * ```ts
 * const api = new ShopifyApi(shopifyApi.client({ credential: defineSecret('circle-core/shopify/token') }), options);
 * const { items, nextCursor } = await api.listProducts({ first: 10 });
 * ```
 */
export class ShopifyApi {
  readonly #rest: RestClient;
  readonly #options: ShopifyApiOptions;
  readonly #bucket = new CostBucket();
  #download: HttpClient | undefined;
  #s3: Promise<S3Client> | undefined;

  constructor(rest: RestClient, options: ShopifyApiOptions) {
    this.#rest = rest;
    this.#options = options;
  }

  /** The cost bucket as last seen (tests, logs). */
  get costBucket(): CostBucket {
    return this.#bucket;
  }

  async #graphql<S extends z.ZodType>(
    document: string,
    variables: Record<string, unknown>,
    data: S,
    mutation = false,
  ): Promise<z.output<S>> {
    const what = /^(?:query|mutation) (\w+)/.exec(document)?.[1] ?? 'GraphQL';
    for (let attempt = 1; ; attempt += 1) {
      await this.#bucket.waitFor(document);
      try {
        const answer = await this.#rest.send(
          'POST',
          `/${this.#options.version}/graphql.json`,
          answerOf(data),
          {
            json: { query: document, variables },
            what,
            ...(mutation ? {} : { readOnly: true }),
          },
        );
        this.#bucket.record(document, answer.body.extensions?.cost);
        return answer.body.data;
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        const cost = error.details?.['throttleStatus'];
        if (cost === undefined) throw error;
        const requested = Number(error.details?.['requestedQueryCost']);
        this.#bucket.record(document, { requestedQueryCost: requested, throttleStatus: cost as never });
        // A THROTTLED mutation did not run: safe to send again once the bucket can pay for it.
        if (!mutation || attempt >= 3) throw error;
      }
    }
  }

  async #mutate<S extends z.ZodType>(
    document: string,
    variables: Record<string, unknown>,
    name: string,
    result: S,
    pointer: (field: readonly string[]) => string = dropArgument,
  ): Promise<z.output<S>> {
    const data = await this.#graphql(document, variables, payload(name, result.nullable()), true);
    const body = (
      data as Record<string, { userErrors: UserErrorAnswer[]; result: z.output<S> | null } | null>
    )[name];
    if (body === null || body === undefined)
      throw new UnexpectedResponseError(`Shopify answered ${name} with no payload`);
    if (body.userErrors.length > 0) throw userErrorsFailure(body.userErrors, pointer);
    if (body.result === null)
      throw new UnexpectedResponseError(`Shopify answered ${name} with neither result nor userErrors`);
    return body.result;
  }

  async getProduct(id: string): Promise<Product> {
    const data = await this.#graphql(GET_PRODUCT, { id }, z.object({ product: ProductAnswer.nullable() }));
    if (data.product === null) throw new NotFoundError(`Product ${id} was not found`);
    return toProduct(data.product);
  }

  async listProducts(input: ListProductsInput): Promise<Page<Product>> {
    const variables = { first: input.first, after: input.cursor ?? null, query: input.query ?? null };
    const data = await this.#graphql(
      LIST_PRODUCTS,
      variables,
      z.object({ products: ProductConnectionAnswer }),
    );
    return pageOf(data.products, toProduct);
  }

  async createProduct(input: CreateProductInput): Promise<Product> {
    return toProduct(await this.#mutate(CREATE_PRODUCT, { product: input }, 'productCreate', ProductAnswer));
  }

  async getOrder(id: string): Promise<Order> {
    const data = await this.#graphql(GET_ORDER, { id }, z.object({ order: OrderAnswer.nullable() }));
    if (data.order === null) throw new NotFoundError(`Order ${id} was not found`);
    return toOrder(data.order);
  }

  async listOrders(input: ListOrdersInput): Promise<Page<Order>> {
    const variables = { first: input.first, after: input.cursor ?? null, query: input.query ?? null };
    const data = await this.#graphql(LIST_ORDERS, variables, z.object({ orders: OrderConnectionAnswer }));
    return pageOf(data.orders, toOrder);
  }

  async markOrderPaid(id: string): Promise<Order> {
    const pointer = () => '/orderId';
    return toOrder(await this.#mutate(MARK_PAID, { input: { id } }, 'orderMarkAsPaid', OrderAnswer, pointer));
  }

  /**
   * Cancels an order: its active fulfilments first (`fulfillmentCancel`), then the order (`orderCancel`,
   * a background job at Shopify), and answers the order as read afterwards. A cancelled order is a 409.
   */
  async cancelOrder(input: CancelOrderInput): Promise<CancelledOrder> {
    const data = await this.#graphql(
      ORDER_FULFILLMENTS,
      { id: input.orderId },
      z.object({
        order: z
          .object({
            id: z.string(),
            cancelledAt: z.string().nullish(),
            fulfillments: z.array(z.object({ id: z.string(), status: z.string() })),
          })
          .nullable(),
      }),
    );
    if (data.order === null) throw new NotFoundError(`Order ${input.orderId} was not found`);
    if (data.order.cancelledAt !== null && data.order.cancelledAt !== undefined) {
      throw new ConflictError(`Order ${input.orderId} was cancelled already (${data.order.cancelledAt})`);
    }
    const cancelled: string[] = [];
    for (const fulfillment of data.order.fulfillments) {
      if (
        fulfillment.status !== 'SUCCESS' &&
        fulfillment.status !== 'OPEN' &&
        fulfillment.status !== 'PENDING'
      )
        continue;
      await this.#mutate(
        CANCEL_FULFILLMENT,
        { id: fulfillment.id },
        'fulfillmentCancel',
        z.object({ id: z.string(), status: z.string() }),
        () => '/orderId',
      );
      cancelled.push(fulfillment.id);
    }
    const job = await this.#mutate(
      CANCEL_ORDER,
      {
        orderId: input.orderId,
        reason: input.reason,
        refund: input.refund,
        restock: input.restock,
        notifyCustomer: input.notifyCustomer,
        staffNote: input.staffNote ?? null,
      },
      'orderCancel',
      z.object({ id: z.string(), done: z.boolean() }),
      () => '/orderId',
    );
    return { order: await this.getOrder(input.orderId), cancelledFulfillments: cancelled, jobId: job.id };
  }

  /** Fulfils the order's open fulfillment orders (or the ones named) in one fulfilment. */
  async createFulfillment(input: CreateFulfillmentInput): Promise<Fulfillment> {
    let ids = input.fulfillmentOrderIds;
    if (ids === undefined) {
      const order = await this.getOrder(input.orderId);
      ids = order.fulfillmentOrders
        .filter((fo) => fo.status === 'OPEN' || fo.status === 'IN_PROGRESS')
        .map((fo) => fo.id);
      if (ids.length === 0) {
        throw new ConflictError(`Order ${input.orderId} has no open fulfillment orders (fulfilled already?)`);
      }
    }
    const named = input.fulfillmentOrderIds !== undefined;
    const pointer = (field: readonly string[]) =>
      named && field[2] !== undefined
        ? `/fulfillmentOrderIds/${field[2]}`
        : field.includes('trackingInfo')
          ? '/trackingInfo'
          : '/orderId';
    const fulfillment = {
      lineItemsByFulfillmentOrder: ids.map((fulfillmentOrderId) => ({ fulfillmentOrderId })),
      notifyCustomer: input.notifyCustomer ?? false,
      ...(input.trackingInfo === undefined ? {} : { trackingInfo: input.trackingInfo }),
    };
    const created = await this.#mutate(
      CREATE_FULFILLMENT,
      { fulfillment },
      'fulfillmentCreate',
      FulfillmentAnswer,
      pointer,
    );
    return defined({
      ...created,
      trackingInfo: created.trackingInfo.map((info) =>
        defined({
          company: info.company ?? undefined,
          number: info.number ?? undefined,
          url: info.url ?? undefined,
        }),
      ),
    });
  }

  /** `key` is Shopify's idempotency key: the same key adjusts once, however often the call is sent. */
  async adjustInventory(input: AdjustInventoryInput, key: string): Promise<InventoryAdjustment> {
    checkLedgerDocuments(input);
    const changes = input.changes.map((change) => ({
      ...change,
      changeFromQuantity: change.changeFromQuantity ?? null,
    }));
    const group = await this.#mutate(
      ADJUST_INVENTORY,
      { input: { ...input, changes }, key },
      'inventoryAdjustQuantities',
      InventoryGroupAnswer,
    );
    return defined({
      id: group.id,
      reason: group.reason,
      referenceDocumentUri: group.referenceDocumentUri ?? undefined,
      changes: group.changes.map((change) =>
        defined({
          name: change.name,
          delta: change.delta,
          quantityAfterChange: change.quantityAfterChange ?? undefined,
          inventoryItemId: change.item?.id,
          locationId: change.location?.id,
        }),
      ),
      createdAt: group.createdAt,
    });
  }

  async getInventoryItem(id: string): Promise<InventoryItem> {
    const schema = z.object({ inventoryItem: InventoryItemAnswer.nullable() });
    const { inventoryItem: item } = await this.#graphql(GET_INVENTORY_ITEM, { id }, schema);
    if (item === null) throw new NotFoundError(`Inventory item ${id} was not found`);
    const quantity = (all: { name: string; quantity: number }[], name: string) =>
      all.find((entry) => entry.name === name)?.quantity ?? 0;
    return defined({
      id: item.id,
      sku: item.sku ?? undefined,
      tracked: item.tracked,
      levels: item.inventoryLevels.nodes.map((level) => ({
        locationId: level.location.id,
        locationName: level.location.name,
        available: quantity(level.quantities, 'available'),
        onHand: quantity(level.quantities, 'on_hand'),
      })),
    });
  }

  async startBulkExport(query: string): Promise<BulkExport> {
    return toBulk(
      await this.#mutate(RUN_BULK, { query }, 'bulkOperationRunQuery', BulkOperationAnswer, () => '/query'),
    );
  }

  /** The bulk operation's state; once COMPLETED its JSON Lines result is copied to object storage. */
  async getBulkExport(id: string): Promise<BulkExport> {
    const schema = z.object({ node: BulkOperationAnswer.nullable() });
    const { node } = await this.#graphql(GET_BULK, { id }, schema);
    if (node === null) throw new NotFoundError(`Bulk operation ${id} was not found`);
    const bulk = toBulk(node);
    if (node.status !== 'COMPLETED' || node.url === null || node.url === undefined) return bulk;
    return { ...bulk, result: await this.#storeResult(id, node.url) };
  }

  async #storeResult(id: string, url: string): Promise<NonNullable<BulkExport['result']>> {
    const { bucket, prefix, maxBytes, forcePathStyle } = this.#options.exports;
    if (bucket === undefined) {
      throw new ConfigurationError('SHOPIFY_EXPORT_BUCKET is not set: bulk results have nowhere to go');
    }
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new UnexpectedResponseError('Shopify answered a bulk result link that is not a URL');
    }
    // The link is signed storage on another host: it gets no token, and passes the SSRF guard.
    const own = target.origin === new URL(this.#options.baseUrl).origin;
    if (!own && target.protocol !== 'https:') {
      throw new UnexpectedResponseError('Shopify answered a bulk result link that is not https');
    }
    this.#download ??= new HttpClient({
      provider: 'Shopify bulk result',
      maxResponseBytes: maxBytes,
      timeoutMs: this.#options.timeoutMs,
    });
    const response = await this.#download
      .request<Buffer>({ method: 'GET', url: target.href, untrustedUrl: !own, bytes: true })
      .catch((error: unknown) => {
        // The SSRF guard refusing the link is Shopify's answer at fault, not the caller's input.
        if (error instanceof ValidationError) {
          throw new UnexpectedResponseError(
            `Shopify answered a bulk result link that is refused: ${error.message}`,
          );
        }
        throw error;
      });
    const body = response.body;
    const key = `${prefix}${id.split('/').pop() ?? 'export'}.jsonl`;
    this.#s3 ??=
      this.#options.s3 === undefined
        ? createAwsClient(S3Client, 'shopify', { extra: { forcePathStyle } })
        : Promise.resolve(this.#options.s3);
    const s3 = await this.#s3;
    await awsCall(
      {
        service: 'S3',
        action: 'PutObject',
        resource: `object "${key}" in bucket "${bucket}"`,
        timeoutMs: 20_000,
      },
      (abortSignal) =>
        s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/jsonl' }),
          { abortSignal },
        ),
    );
    return { bucket, key, bytes: body.length };
  }

  /** The cheapest authenticated call: proves the token, the URL and the version for `health`. */
  async ping(): Promise<void> {
    await this.#graphql(
      'query Ping { shop { name } }',
      {},
      z.object({ shop: z.object({ name: z.string() }) }),
    );
  }

  /** Closes the connection pools. */
  close(): void {
    this.#rest.close();
    this.#download?.close();
  }
}

function pageOf<A, T>(
  connection: { nodes: A[]; pageInfo: { hasNextPage: boolean; endCursor?: string | null | undefined } },
  map: (answer: A) => T,
): Page<T> {
  const items = connection.nodes.map(map);
  const cursor = connection.pageInfo.endCursor;
  return connection.pageInfo.hasNextPage && typeof cursor === 'string'
    ? { items, nextCursor: cursor }
    : { items };
}
