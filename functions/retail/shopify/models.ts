/**
 * The Shopify connector's models: each operation's input and output (every field described; inputs refuse
 * unknown fields) and the shapes of the GraphQL answers the client reads (open: Shopify adds fields).
 * Ids are Shopify's global ids (`gid://shopify/Product/1001`), checked by type so one cannot stand in for
 * another.
 */
import * as z from 'zod';

/** A global id of one Shopify type, e.g. `gid('Product')` accepts `gid://shopify/Product/1001`. */
export const gid = (type: string) =>
  z
    .string()
    .regex(
      new RegExp(`^gid://shopify/${type}/\\d{1,20}$`),
      `expected a ${type} id: gid://shopify/${type}/<number>`,
    );

const PAGE_SIZE = z.int().min(1).max(25).default(10).describe('Items per page, 1-25 (default 10)');
const CURSOR = z.string().min(1).max(1024).optional().describe('The nextCursor of the previous page');
const SEARCH = (example: string) =>
  z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe(`Shopify's search syntax, terms joined by spaces, e.g. "${example}"`);

/** One page of any listing. */
export const page = <T extends z.ZodType>(item: T, what: string) =>
  z.object({
    items: z.array(item).describe(`One page of ${what}`),
    nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last page'),
  });
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

// ---- Answers (Shopify's shapes) ----

export const PageInfoAnswer = z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullish() });
const nodes = <T extends z.ZodType>(node: T) => z.object({ nodes: z.array(node) });
const connection = <T extends z.ZodType>(node: T) =>
  z.object({ nodes: z.array(node), pageInfo: PageInfoAnswer });

export const ProductAnswer = z.object({
  id: z.string(),
  title: z.string(),
  handle: z.string(),
  status: z.string(),
  vendor: z.string(),
  productType: z.string(),
  tags: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  totalInventory: z.number().nullish(),
  variants: nodes(
    z.object({
      id: z.string(),
      title: z.string(),
      sku: z.string().nullish(),
      price: z.string(),
      inventoryQuantity: z.number().nullish(),
      inventoryItem: z.object({ id: z.string() }),
    }),
  ),
});
export type ProductAnswer = z.output<typeof ProductAnswer>;
export const ProductConnectionAnswer = connection(ProductAnswer);

export const OrderAnswer = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string().nullish(),
  createdAt: z.string(),
  displayFinancialStatus: z.string().nullish(),
  displayFulfillmentStatus: z.string(),
  canMarkAsPaid: z.boolean(),
  totalPriceSet: z.object({ shopMoney: z.object({ amount: z.string(), currencyCode: z.string() }) }),
  lineItems: nodes(
    z.object({ id: z.string(), title: z.string(), quantity: z.number(), sku: z.string().nullish() }),
  ),
  fulfillmentOrders: nodes(z.object({ id: z.string(), status: z.string() })),
  cancelledAt: z.string().nullish(),
});
export type OrderAnswer = z.output<typeof OrderAnswer>;
export const OrderConnectionAnswer = connection(OrderAnswer);

export const UserErrorAnswer = z.object({
  field: z.array(z.string()).nullish(),
  message: z.string(),
  code: z.string().nullish(),
});
export type UserErrorAnswer = z.output<typeof UserErrorAnswer>;

export const FulfillmentAnswer = z.object({
  id: z.string(),
  status: z.string(),
  createdAt: z.string(),
  trackingInfo: z.array(
    z.object({ company: z.string().nullish(), number: z.string().nullish(), url: z.string().nullish() }),
  ),
});

export const InventoryGroupAnswer = z.object({
  id: z.string(),
  createdAt: z.string(),
  reason: z.string(),
  referenceDocumentUri: z.string().nullish(),
  changes: z.array(
    z.object({
      name: z.string(),
      delta: z.number(),
      quantityAfterChange: z.number().nullish(),
      item: z.object({ id: z.string() }).nullish(),
      location: z.object({ id: z.string() }).nullish(),
    }),
  ),
});

export const InventoryItemAnswer = z.object({
  id: z.string(),
  sku: z.string().nullish(),
  tracked: z.boolean(),
  inventoryLevels: nodes(
    z.object({
      location: z.object({ id: z.string(), name: z.string() }),
      quantities: z.array(z.object({ name: z.string(), quantity: z.number() })),
    }),
  ),
});

export const BulkOperationAnswer = z.object({
  id: z.string(),
  status: z.string(),
  errorCode: z.string().nullish(),
  createdAt: z.string(),
  completedAt: z.string().nullish(),
  objectCount: z.union([z.string(), z.number()]),
  fileSize: z.union([z.string(), z.number()]).nullish(),
  url: z.string().nullish(),
  partialDataUrl: z.string().nullish(),
});
export type BulkOperationAnswer = z.output<typeof BulkOperationAnswer>;

// ---- Products ----

export const Product = z.object({
  id: z.string().describe('Global id, e.g. gid://shopify/Product/1001'),
  title: z.string().describe('The product title'),
  handle: z.string().describe("The product's URL handle, unique in the shop"),
  status: z.string().describe('ACTIVE, DRAFT or ARCHIVED'),
  vendor: z.string().describe('The vendor'),
  productType: z.string().describe('The product type (may be empty)'),
  tags: z.array(z.string()).describe('Tags'),
  totalInventory: z.number().optional().describe('Units available across variants and locations'),
  variants: z
    .array(
      z.object({
        id: z.string().describe('Variant id'),
        title: z.string().describe('Variant title'),
        sku: z.string().optional().describe('SKU, when set'),
        price: z.string().describe('Price as a decimal string'),
        inventoryItemId: z.string().describe('The inventory item to adjust stock with (adjust-inventory)'),
        inventoryQuantity: z.number().optional().describe('Units available'),
      }),
    )
    .describe('Its variants: the first 100 (get-product), the first 10 (lists)'),
  createdAt: z.string().describe('When it was created (ISO 8601)'),
  updatedAt: z.string().describe('When it last changed (ISO 8601)'),
});
export type Product = z.output<typeof Product>;
export const ProductPage = page(Product, 'products');

export const GetProductInput = z.strictObject({
  productId: gid('Product').describe('The product, e.g. "gid://shopify/Product/1001"'),
});
export type GetProductInput = z.output<typeof GetProductInput>;

export const ListProductsInput = z.strictObject({
  first: PAGE_SIZE,
  cursor: CURSOR,
  query: SEARCH('status:active vendor:Acme'),
});
export type ListProductsInput = z.output<typeof ListProductsInput>;

export const CreateProductInput = z.strictObject({
  title: z.string().min(1).max(255).describe('The product title, e.g. "Winter Hat"'),
  handle: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,254}$/, 'lower-case letters, digits and hyphens')
    .optional()
    .describe('URL handle, e.g. "winter-hat" (default: from the title; a taken one is a 400 on handle)'),
  descriptionHtml: z.string().max(65_535).optional().describe('Description as HTML, e.g. "<p>Warm</p>"'),
  vendor: z.string().min(1).max(255).optional().describe('The vendor, e.g. "Acme"'),
  productType: z.string().max(255).optional().describe('The product type, e.g. "Hats"'),
  tags: z.array(z.string().min(1).max(255)).max(250).optional().describe('Tags, e.g. ["winter"]'),
  status: z.enum(['ACTIVE', 'DRAFT', 'ARCHIVED']).optional().describe('Default ACTIVE'),
});
export type CreateProductInput = z.output<typeof CreateProductInput>;

// ---- Orders ----

export const Order = z.object({
  id: z.string().describe('Global id, e.g. gid://shopify/Order/5001'),
  name: z.string().describe('The order name customers see, e.g. #1001'),
  email: z.string().optional().describe("The customer's email, when known"),
  financialStatus: z.string().optional().describe('PENDING, AUTHORIZED, PAID, REFUNDED, ...'),
  fulfillmentStatus: z.string().describe('UNFULFILLED, PARTIALLY_FULFILLED, FULFILLED, ...'),
  canMarkAsPaid: z.boolean().describe('Whether mark-order-paid applies'),
  total: z
    .object({
      amount: z.string().describe('Decimal string'),
      currencyCode: z.string().describe('ISO 4217'),
    })
    .describe("The total in the shop's currency"),
  lineItems: z
    .array(
      z.object({
        id: z.string().describe('Line item id'),
        title: z.string().describe('Title'),
        quantity: z.number().describe('Quantity'),
        sku: z.string().optional().describe('SKU, when set'),
      }),
    )
    .describe('Its line items: the first 100 (get-order), the first 10 (lists)'),
  fulfillmentOrders: z
    .array(
      z.object({
        id: z.string().describe('Fulfillment order id'),
        status: z.string().describe('OPEN, IN_PROGRESS, CLOSED, ...'),
      }),
    )
    .describe('Its fulfillment orders (what create-fulfillment fulfils)'),
  cancelledAt: z.string().optional().describe('When it was cancelled (ISO 8601); absent while it stands'),
  createdAt: z.string().describe('When it was placed (ISO 8601)'),
});
export type Order = z.output<typeof Order>;
export const OrderPage = page(Order, 'orders');

export const OrderRef = z.strictObject({
  orderId: gid('Order').describe('The order, e.g. "gid://shopify/Order/5001"'),
});
export type OrderRef = z.output<typeof OrderRef>;

export const ListOrdersInput = z.strictObject({
  first: PAGE_SIZE,
  cursor: CURSOR,
  query: SEARCH('financial_status:paid fulfillment_status:unfulfilled'),
});
export type ListOrdersInput = z.output<typeof ListOrdersInput>;

// ---- Fulfilments ----

export const CreateFulfillmentInput = z.strictObject({
  orderId: gid('Order').describe(
    'The order, e.g. "gid://shopify/Order/5001"; all its open fulfillment orders are fulfilled',
  ),
  fulfillmentOrderIds: z
    .array(gid('FulfillmentOrder'))
    .min(1)
    .max(50)
    .optional()
    .describe('Only these fulfillment orders of the order (default: every open one)'),
  notifyCustomer: z.boolean().optional().describe('Send the shipping confirmation email (default false)'),
  trackingInfo: z
    .strictObject({
      company: z.string().min(1).max(255).optional().describe('Carrier, e.g. "UPS"'),
      number: z.string().min(1).max(255).optional().describe('Tracking number, e.g. "1Z999AA10123456784"'),
      url: z
        .url({ protocol: /^https$/ })
        .optional()
        .describe('Tracking page, e.g. "https://track.example/1Z9"'),
    })
    .optional()
    .describe('Tracking details'),
});
export type CreateFulfillmentInput = z.output<typeof CreateFulfillmentInput>;

export const CancelOrderInput = z.strictObject({
  orderId: gid('Order').describe(
    'The order, e.g. "gid://shopify/Order/5001"; its active fulfilments are cancelled first',
  ),
  reason: z
    .enum(['CUSTOMER', 'DECLINED', 'FRAUD', 'INVENTORY', 'OTHER', 'STAFF'])
    .default('CUSTOMER')
    .describe('Why, e.g. "CUSTOMER" (the default)'),
  refund: z
    .boolean()
    .default(false)
    .describe('Refund through Shopify too (default false: the payment was refunded where it was taken)'),
  restock: z.boolean().default(true).describe('Put the items back in stock (default true)'),
  notifyCustomer: z.boolean().default(false).describe('Email the customer (default false)'),
  staffNote: z.string().min(1).max(255).optional().describe('A note for staff, e.g. "Refunded in Stripe"'),
});
export type CancelOrderInput = z.output<typeof CancelOrderInput>;

export const CancelledOrder = z.object({
  order: Order.describe('The order as Shopify has it after the cancellation'),
  cancelledFulfillments: z
    .array(z.string())
    .describe('The fulfilments cancelled first, e.g. ["gid://shopify/Fulfillment/8001"]'),
  jobId: z.string().describe("Shopify's cancellation job (orderCancel runs in the background)"),
});
export type CancelledOrder = z.output<typeof CancelledOrder>;

export const Fulfillment = z.object({
  id: z.string().describe('Global id, e.g. gid://shopify/Fulfillment/8001'),
  status: z.string().describe('SUCCESS, CANCELLED, ...'),
  trackingInfo: z
    .array(
      z.object({
        company: z.string().optional().describe('Carrier'),
        number: z.string().optional().describe('Tracking number'),
        url: z.string().optional().describe('Tracking page'),
      }),
    )
    .describe('Tracking details'),
  createdAt: z.string().describe('When it was created (ISO 8601)'),
});
export type Fulfillment = z.output<typeof Fulfillment>;

// ---- Inventory ----

export const AdjustInventoryInput = z.strictObject({
  reason: z
    .enum([
      'correction',
      'cycle_count_available',
      'damaged',
      'movement_created',
      'received',
      'restock',
      'shrinkage',
      'other',
    ])
    .describe('Why the quantities change, e.g. "correction"'),
  name: z
    .enum(['available', 'damaged', 'quality_control', 'reserved', 'safety_stock'])
    .default('available')
    .describe('Which quantity changes (default available)'),
  referenceDocumentUri: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('What caused it, e.g. "logistics://circle/order/1001"'),
  changes: z
    .array(
      z.strictObject({
        inventoryItemId: gid('InventoryItem').describe('e.g. "gid://shopify/InventoryItem/3001"'),
        locationId: gid('Location').describe('e.g. "gid://shopify/Location/1"'),
        delta: z.int().min(-1_000_000).max(1_000_000).describe('Units to add (negative: remove)'),
        changeFromQuantity: z
          .int()
          .optional()
          .describe(
            'The quantity you read before: the change is refused (409) when it is no longer so; omitted: sent as null, no check',
          ),
        ledgerDocumentUri: z
          .string()
          .min(1)
          .max(255)
          .optional()
          .describe(
            'The ledger entry that changed: required when name is not available, not allowed with available, never a gid://shopify/ id; e.g. "wms://acme/damage/1"',
          ),
      }),
    )
    .min(1)
    .max(250)
    .describe('The changes, applied together or not at all'),
});
export type AdjustInventoryInput = z.output<typeof AdjustInventoryInput>;

export const InventoryAdjustment = z.object({
  id: z.string().describe('The adjustment group id'),
  reason: z.string().describe('The reason given'),
  referenceDocumentUri: z.string().optional().describe('The reference given'),
  changes: z
    .array(
      z.object({
        name: z.string().describe('The quantity changed'),
        delta: z.number().describe('Units added (negative: removed)'),
        quantityAfterChange: z.number().optional().describe('The quantity after the change'),
        inventoryItemId: z.string().optional().describe('Inventory item'),
        locationId: z.string().optional().describe('Location'),
      }),
    )
    .describe('The changes made'),
  createdAt: z.string().describe('When (ISO 8601)'),
});
export type InventoryAdjustment = z.output<typeof InventoryAdjustment>;

export const GetInventoryItemInput = z.strictObject({
  inventoryItemId: gid('InventoryItem').describe('e.g. "gid://shopify/InventoryItem/3001"'),
});
export type GetInventoryItemInput = z.output<typeof GetInventoryItemInput>;

export const InventoryItem = z.object({
  id: z.string().describe('Global id'),
  sku: z.string().optional().describe('SKU, when set'),
  tracked: z.boolean().describe('Whether Shopify tracks its quantities'),
  levels: z
    .array(
      z.object({
        locationId: z.string().describe('Location id'),
        locationName: z.string().describe('Location name'),
        available: z.number().describe('Units available'),
        onHand: z.number().describe('Units on hand'),
      }),
    )
    .describe('Its quantities at the first 50 locations'),
});
export type InventoryItem = z.output<typeof InventoryItem>;

// ---- Bulk exports ----

export const StartBulkExportInput = z.strictObject({
  query: z
    .string()
    .min(1)
    .max(50_000)
    .describe('A bulk query: connections without first, e.g. "{ products { edges { node { id title } } } }"'),
});
export type StartBulkExportInput = z.output<typeof StartBulkExportInput>;

export const GetBulkExportInput = z.strictObject({
  bulkOperationId: gid('BulkOperation').describe(
    'From start-bulk-export, e.g. "gid://shopify/BulkOperation/6001"',
  ),
});
export type GetBulkExportInput = z.output<typeof GetBulkExportInput>;

export const BulkExport = z.object({
  id: z.string().describe('The bulk operation id'),
  status: z.string().describe('CREATED, RUNNING, COMPLETED, FAILED, CANCELED or EXPIRED'),
  errorCode: z.string().optional().describe('Why it failed (ACCESS_DENIED, INTERNAL_SERVER_ERROR, TIMEOUT)'),
  objectCount: z.number().describe('Objects (lines) so far'),
  createdAt: z.string().describe('When it started (ISO 8601)'),
  completedAt: z.string().optional().describe('When it ended (ISO 8601)'),
  result: z
    .object({
      bucket: z.string().describe('The bucket holding the JSON Lines result'),
      key: z.string().describe('Its key'),
      bytes: z.number().describe('Its size'),
    })
    .optional()
    .describe('Once COMPLETED: where the result was stored (claim check), not the result itself'),
});
export type BulkExport = z.output<typeof BulkExport>;
