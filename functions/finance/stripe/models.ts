/**
 * The Stripe connector's models: each operation's input and output (every field described; inputs refuse
 * unknown fields) and the shapes of the answers the client reads (open: Stripe adds fields, and new API
 * versions add more). Amounts are integers in the currency's smallest unit, as Stripe counts them.
 */
import * as z from 'zod';

// ---- Stripe's answers, in its own field names ----

const Metadata = z.record(z.string(), z.string());

export const CustomerAnswer = z.object({
  id: z.string(),
  object: z.literal('customer'),
  email: z.string().nullish(),
  name: z.string().nullish(),
  description: z.string().nullish(),
  phone: z.string().nullish(),
  metadata: Metadata.default({}),
  created: z.number(),
});
export type CustomerAnswer = z.output<typeof CustomerAnswer>;

const PaymentError = z.object({
  code: z.string().nullish(),
  decline_code: z.string().nullish(),
  message: z.string().nullish(),
});

export const PaymentIntentAnswer = z.object({
  id: z.string(),
  object: z.literal('payment_intent'),
  amount: z.number(),
  amount_capturable: z.number().default(0),
  amount_received: z.number().default(0),
  currency: z.string(),
  status: z.string(),
  customer: z.string().nullish(),
  capture_method: z.string().nullish(),
  payment_method: z.string().nullish(),
  latest_charge: z.string().nullish(),
  cancellation_reason: z.string().nullish(),
  last_payment_error: PaymentError.nullish(),
  metadata: Metadata.default({}),
  created: z.number(),
});
export type PaymentIntentAnswer = z.output<typeof PaymentIntentAnswer>;

export const RefundAnswer = z.object({
  id: z.string(),
  object: z.literal('refund'),
  amount: z.number(),
  currency: z.string(),
  status: z.string().nullish(),
  payment_intent: z.string().nullish(),
  reason: z.string().nullish(),
  metadata: Metadata.default({}),
  created: z.number(),
});
export type RefundAnswer = z.output<typeof RefundAnswer>;

export const InvoiceAnswer = z.object({
  id: z.string(),
  object: z.literal('invoice'),
  customer: z.string().nullish(),
  status: z.string().nullish(),
  currency: z.string(),
  amount_due: z.number(),
  amount_paid: z.number(),
  total: z.number(),
  number: z.string().nullish(),
  collection_method: z.string().nullish(),
  hosted_invoice_url: z.string().nullish(),
  due_date: z.number().nullish(),
  metadata: Metadata.default({}),
  created: z.number(),
});
export type InvoiceAnswer = z.output<typeof InvoiceAnswer>;

/** A list answer (`GET /v1/customers`): `has_more` says whether `starting_after` the last id reads on. */
export const listAnswer = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean() });

/** A search answer (`GET /v1/customers/search`): `next_page` is the token of the next page. */
export const searchAnswer = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal('search_result'), data: z.array(item), next_page: z.string().nullish() });

// ---- What the operations answer ----

const MetadataOut = Metadata.describe('Your key-value pairs stored on the object');
const Created = z.string().describe('When Stripe created it (ISO 8601)');

export const Customer = z.object({
  id: z.string().describe('The customer id (cus_...)'),
  email: z.string().optional().describe('Email address'),
  name: z.string().optional().describe('Full name or business name'),
  description: z.string().optional().describe('Free text shown in the Dashboard'),
  phone: z.string().optional().describe('Phone number'),
  metadata: MetadataOut,
  createdAt: Created,
});
export type Customer = z.output<typeof Customer>;

export const PaymentIntent = z.object({
  id: z.string().describe('The payment intent id (pi_...)'),
  amount: z.int().describe('Amount intended, in the smallest currency unit (cents)'),
  amountCapturable: z.int().describe('Amount that can still be captured (manual capture)'),
  amountReceived: z.int().describe('Amount collected'),
  currency: z.string().describe('Three-letter ISO currency code, lower case'),
  status: z
    .string()
    .describe(
      'requires_payment_method, requires_confirmation, requires_action, processing, requires_capture, canceled or succeeded',
    ),
  customerId: z.string().optional().describe('The customer it belongs to'),
  captureMethod: z.string().optional().describe('automatic, automatic_async or manual'),
  paymentMethod: z.string().optional().describe('The payment method attached (pm_...)'),
  latestCharge: z.string().optional().describe('The latest charge (ch_...)'),
  cancellationReason: z.string().optional().describe('Why it was canceled'),
  lastPaymentError: z
    .object({
      code: z.string().optional().describe('Stripe error code, e.g. card_declined'),
      declineCode: z.string().optional().describe("The issuer's decline code, e.g. insufficient_funds"),
      message: z.string().optional().describe("Stripe's message for the customer"),
    })
    .optional()
    .describe('Why the last payment attempt failed'),
  metadata: MetadataOut,
  createdAt: Created,
});
export type PaymentIntent = z.output<typeof PaymentIntent>;

export const Refund = z.object({
  id: z.string().describe('The refund id (re_...)'),
  amount: z.int().describe('Amount refunded, in the smallest currency unit'),
  currency: z.string().describe('Three-letter ISO currency code, lower case'),
  status: z.string().optional().describe('pending, requires_action, succeeded, failed or canceled'),
  paymentIntentId: z.string().optional().describe('The payment intent refunded'),
  reason: z.string().optional().describe('duplicate, fraudulent or requested_by_customer'),
  metadata: MetadataOut,
  createdAt: Created,
});
export type Refund = z.output<typeof Refund>;

export const Invoice = z.object({
  id: z.string().describe('The invoice id (in_...)'),
  customerId: z.string().optional().describe('The customer billed'),
  status: z.string().optional().describe('draft, open, paid, uncollectible or void'),
  currency: z.string().describe('Three-letter ISO currency code, lower case'),
  amountDue: z.int().describe('Final amount due, in the smallest currency unit'),
  amountPaid: z.int().describe('Amount paid so far'),
  total: z.int().describe('Total after discounts and taxes'),
  number: z.string().optional().describe('The number shown to the customer (set when finalized)'),
  collectionMethod: z.string().optional().describe('charge_automatically or send_invoice'),
  hostedInvoiceUrl: z.string().optional().describe('Where the customer pays it (once finalized)'),
  dueDate: z.string().optional().describe('When payment is due (ISO 8601), for send_invoice'),
  metadata: MetadataOut,
  createdAt: Created,
});
export type Invoice = z.output<typeof Invoice>;

const pageOf = <T extends z.ZodType>(item: T, what: string) =>
  z.object({
    items: z.array(item).describe(`One page of ${what}, newest first`),
    nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last page'),
  });
export const CustomerPage = pageOf(Customer, 'customers');
export const PaymentIntentPage = pageOf(PaymentIntent, 'payment intents');
export const RefundPage = pageOf(Refund, 'refunds');
export const InvoicePage = pageOf(Invoice, 'invoices');
export type Page<T> = { items: T[]; nextCursor?: string };

// ---- Inputs ----

const id = (prefix: string, what: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[A-Za-z0-9]{1,250}$`), `expected a ${what} id (${prefix}_...)`)
    .describe(`The ${what} id (${prefix}_...)`);
export const CustomerId = id('cus', 'customer');
export const PaymentIntentId = id('pi', 'payment intent');
export const InvoiceId = id('in', 'invoice');

/** Stripe's limits: 50 keys, keys up to 40 characters, values up to 500; no square brackets in keys. */
export const MetadataIn = z
  .record(
    z
      .string()
      .min(1)
      .max(40)
      .regex(/^[^[\]]+$/, 'metadata keys may not contain square brackets'),
    z.string().max(500),
  )
  .refine((value) => Object.keys(value).length <= 50, 'at most 50 metadata keys')
  .optional()
  .describe('Up to 50 key-value pairs stored on the object (keys 1-40 characters, values up to 500)');

const Limit = z.int().min(1).max(100).optional().describe('Objects per page, 1-100 (Stripe default: 10)');
const Cursor = z.string().min(1).max(1024).optional().describe('The nextCursor of the previous page');
const Currency = z
  .string()
  .regex(/^[a-z]{3}$/, 'expected a three-letter lower-case ISO currency code')
  .describe('Three-letter ISO currency code, lower case (usd, eur, ...)');

export const CreateCustomerInput = z.strictObject({
  email: z.email().max(512).optional().describe('Email address'),
  name: z.string().min(1).max(256).optional().describe('Full name or business name'),
  description: z.string().max(350).optional().describe('Free text shown in the Dashboard'),
  phone: z.string().max(20).optional().describe('Phone number'),
  metadata: MetadataIn,
});
export type CreateCustomerInput = z.output<typeof CreateCustomerInput>;

export const GetCustomerInput = z.strictObject({ customerId: CustomerId });
export type GetCustomerInput = z.output<typeof GetCustomerInput>;

export const ListCustomersInput = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  email: z.string().max(512).optional().describe('Only customers with exactly this email (case-sensitive)'),
});
export type ListCustomersInput = z.output<typeof ListCustomersInput>;

export const SearchInput = z.strictObject({
  query: z
    .string()
    .min(1)
    .max(1000)
    .describe(
      "Stripe's search query language, e.g. email:'jenny@example.com' or metadata['order_id']:'1001' AND status:'succeeded'",
    ),
  limit: Limit,
  cursor: Cursor,
});
export type SearchInput = z.output<typeof SearchInput>;

export const CreatePaymentIntentInput = z.strictObject({
  amount: z
    .int()
    .min(1)
    .max(99_999_999)
    .describe('Amount to collect, in the smallest currency unit (1000 = $10.00)'),
  currency: Currency,
  customerId: CustomerId.optional(),
  paymentMethod: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('A payment method id (pm_...) to attach; test mode: pm_card_visa'),
  confirm: z.boolean().optional().describe('Confirm at once (needs paymentMethod); default false'),
  captureMethod: z
    .enum(['automatic', 'automatic_async', 'manual'])
    .optional()
    .describe('manual: authorize now, capture later with capture-payment-intent'),
  description: z.string().max(1000).optional().describe('Shown to you, not the customer'),
  receiptEmail: z.email().optional().describe('Where Stripe sends the receipt'),
  paymentMethodTypes: z
    .array(z.string().regex(/^[a-z_]{1,40}$/))
    .max(20)
    .optional()
    .describe('Allowed payment method types (card, ...); default: automatic payment methods'),
  metadata: MetadataIn,
});
export type CreatePaymentIntentInput = z.output<typeof CreatePaymentIntentInput>;

export const GetPaymentIntentInput = z.strictObject({ paymentIntentId: PaymentIntentId });
export type GetPaymentIntentInput = z.output<typeof GetPaymentIntentInput>;

export const ConfirmPaymentIntentInput = z.strictObject({
  paymentIntentId: PaymentIntentId,
  paymentMethod: z.string().min(1).max(255).optional().describe('The payment method to confirm with'),
  returnUrl: z.url().optional().describe('Where the customer returns after a redirect (3-D Secure)'),
});
export type ConfirmPaymentIntentInput = z.output<typeof ConfirmPaymentIntentInput>;

export const CapturePaymentIntentInput = z.strictObject({
  paymentIntentId: PaymentIntentId,
  amountToCapture: z
    .int()
    .min(1)
    .optional()
    .describe('Capture less than authorized (the rest is released); default all of it'),
});
export type CapturePaymentIntentInput = z.output<typeof CapturePaymentIntentInput>;

export const CancelPaymentIntentInput = z.strictObject({
  paymentIntentId: PaymentIntentId,
  cancellationReason: z
    .enum(['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'])
    .optional()
    .describe('Why it is canceled'),
});
export type CancelPaymentIntentInput = z.output<typeof CancelPaymentIntentInput>;

export const ListPaymentIntentsInput = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  customerId: CustomerId.optional(),
});
export type ListPaymentIntentsInput = z.output<typeof ListPaymentIntentsInput>;

export const CreateRefundInput = z.strictObject({
  paymentIntentId: PaymentIntentId,
  amount: z.int().min(1).optional().describe('Refund part of the payment; default all that is left'),
  reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional().describe('Why'),
  metadata: MetadataIn,
});
export type CreateRefundInput = z.output<typeof CreateRefundInput>;

export const ListRefundsInput = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  paymentIntentId: PaymentIntentId.optional(),
});
export type ListRefundsInput = z.output<typeof ListRefundsInput>;

export const CreateInvoiceInput = z.strictObject({
  customerId: CustomerId,
  collectionMethod: z
    .enum(['charge_automatically', 'send_invoice'])
    .optional()
    .describe('charge_automatically (default) or send_invoice (then daysUntilDue)'),
  daysUntilDue: z.int().min(0).max(365).optional().describe('For send_invoice: days until it is due'),
  description: z.string().max(1500).optional().describe('Memo shown on the invoice'),
  autoAdvance: z.boolean().optional().describe('Let Stripe finalize and collect it automatically'),
  currency: Currency.optional(),
  metadata: MetadataIn,
});
export type CreateInvoiceInput = z.output<typeof CreateInvoiceInput>;

export const InvoiceRef = z.strictObject({ invoiceId: InvoiceId });
export type InvoiceRef = z.output<typeof InvoiceRef>;

export const ListInvoicesInput = z.strictObject({
  limit: Limit,
  cursor: Cursor,
  customerId: CustomerId.optional(),
  status: z.enum(['draft', 'open', 'paid', 'uncollectible', 'void']).optional().describe('Only this status'),
});
export type ListInvoicesInput = z.output<typeof ListInvoicesInput>;
