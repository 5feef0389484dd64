/**
 * The webhook events interface. Receiving events is a core mechanism (`@circle-core/core`: verify, dedupe
 * in a ledger, hand to a sink); the types are declared there and named here with the other interfaces.
 */
export type {
  DeliveryClaim,
  DeliveryLedger,
  WebhookEvent,
  WebhookEventSink,
} from '@circle-core/core';
