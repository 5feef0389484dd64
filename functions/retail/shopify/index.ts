/**
 * The Shopify connector: products, orders, fulfilments and inventory over Shopify's Admin GraphQL API
 * (the API version pinned in config), cursor-paged lists, cost-based throttling read from each answer,
 * bulk exports whose results are copied to object storage (claim check), on every trigger (HTTP, SQS,
 * Step Functions, direct invoke, library use), and a webhook receiver (`X-Shopify-Hmac-Sha256`) that
 * hands each event on once.
 */
import { defineConnector, eventReceivingFromConfig } from '@circle-core/core';
import { ShopifyApi, shopifyApi, shopifyIdempotencyKey } from './client.ts';
import { apiOptions, ShopifyConfig } from './config.ts';
import {
  AdjustInventoryInput,
  BulkExport,
  CancelledOrder,
  CancelOrderInput,
  CreateFulfillmentInput,
  CreateProductInput,
  Fulfillment,
  GetBulkExportInput,
  GetInventoryItemInput,
  GetProductInput,
  InventoryAdjustment,
  InventoryItem,
  ListOrdersInput,
  ListProductsInput,
  Order,
  OrderPage,
  OrderRef,
  Product,
  ProductPage,
  StartBulkExportInput,
} from './models.ts';
import { receiveShopifyWebhook, type ShopifyWebhookReceiver } from './webhook.ts';

/**
 * @example
 * ```ts
 * const { items, nextCursor } = await connector.run('list-products', { first: 10, query: 'status:active' });
 * ```
 */
export const connector = defineConnector({
  name: 'shopify',
  version: '0.3.1',
  config: ShopifyConfig,
  capabilities: ['products', 'orders', 'fulfillments', 'inventory', 'bulk-exports', 'webhooks'],
  setup: {
    secrets: (config) => ({
      token: config.SHOPIFY_TOKEN_SECRET,
      webhook: config.SHOPIFY_WEBHOOK_SECRET_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.SHOPIFY_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new ShopifyApi(
        shopifyApi.clientFromSettings(config, { credential: secrets.token }),
        apiOptions(config),
      ),
    services: async ({ config, secrets }) => ({
      webhooks: {
        secret: secrets.webhook,
        receiving: await eventReceivingFromConfig('SHOPIFY', config, 'shopify'),
      } satisfies ShopifyWebhookReceiver,
    }),
  },
  operations: (op) => ({
    'get-product': op({
      description: 'Reads one product with its first 100 variants',
      input: GetProductInput,
      output: Product,
      run: (input, { client }) => client.getProduct(input.productId),
    }),
    'list-products': op({
      description: "Lists one page of products, filtered by Shopify's search syntax; nextCursor reads on",
      input: ListProductsInput,
      output: ProductPage,
      run: (input, { client }) => client.listProducts(input),
    }),
    'create-product': op({
      effect: 'write',
      description: 'Creates a product; Shopify refusing a field (a taken handle) is a 400 naming it',
      input: CreateProductInput,
      output: Product,
      run: (input, { client }) => client.createProduct(input),
    }),
    'get-order': op({
      description: 'Reads one order with its line items and fulfillment orders',
      input: OrderRef,
      output: Order,
      run: (input, { client }) => client.getOrder(input.orderId),
    }),
    'list-orders': op({
      description: "Lists one page of orders, filtered by Shopify's search syntax; nextCursor reads on",
      input: ListOrdersInput,
      output: OrderPage,
      run: (input, { client }) => client.listOrders(input),
    }),
    'mark-order-paid': op({
      effect: 'write',
      description: 'Marks an order paid (payment taken outside Shopify); refused once it is paid',
      input: OrderRef,
      output: Order,
      run: (input, { client }) => client.markOrderPaid(input.orderId),
    }),
    'create-fulfillment': op({
      effect: 'write',
      description: "Fulfils an order's open fulfillment orders, with tracking details",
      input: CreateFulfillmentInput,
      output: Fulfillment,
      run: (input, { client }) => client.createFulfillment(input),
    }),
    'cancel-order': op({
      effect: 'write',
      description:
        'Cancels an order: its active fulfilments first, then the order (restock, no Shopify refund by default); 409 once cancelled',
      input: CancelOrderInput,
      output: CancelledOrder,
      run: (input, { client }) => client.cancelOrder(input),
    }),
    'get-inventory-item': op({
      description: "Reads an inventory item's available and on-hand quantities per location",
      input: GetInventoryItemInput,
      output: InventoryItem,
      run: (input, { client }) => client.getInventoryItem(input.inventoryItemId),
    }),
    'adjust-inventory': op({
      effect: 'write',
      description: 'Adjusts inventory quantities by deltas, all or none (changeFromQuantity: 409 when stale)',
      input: AdjustInventoryInput,
      output: InventoryAdjustment,
      // The caller's idempotency key, hashed (its text stays here), or a fresh one for a call without.
      run: (input, { client, idempotencyKey }) =>
        client.adjustInventory(input, shopifyIdempotencyKey(idempotencyKey)),
    }),
    'start-bulk-export': op({
      effect: 'write',
      description: 'Starts a bulk query (one at a time per shop: 409 while one runs); poll get-bulk-export',
      input: StartBulkExportInput,
      output: BulkExport,
      run: (input, { client }) => client.startBulkExport(input.query),
    }),
    'get-bulk-export': op({
      description:
        'Reads a bulk operation; once COMPLETED its JSON Lines result is copied to SHOPIFY_EXPORT_BUCKET and the key answered',
      input: GetBulkExportInput,
      output: BulkExport,
      run: (input, { client }) => client.getBulkExport(input.bulkOperationId),
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/shopify/webhook',
      auth: 'signature',
      description: 'Receives Shopify webhooks (X-Shopify-Hmac-Sha256) and hands each event on once',
      handle: (request, { services, logger }) => receiveShopifyWebhook(request, services.webhooks, logger),
    }),
  ],
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
