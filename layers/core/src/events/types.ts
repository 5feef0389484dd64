/**
 * Event receiving: how a connector that receives provider events (GitHub, Slack, Stripe, Shopify, ...)
 * describes an accepted event, hands it on to the rest of the system (a queue, a state machine) and
 * remembers which deliveries it has already accepted, so a provider's redelivery is not handed on twice.
 */

/** One accepted provider event, as it is handed on. The envelope is the same for every provider. */
export interface WebhookEvent {
  /** Connector name, e.g. `github`. */
  provider: string;
  /** Past-tense kebab-case name, e.g. `issue-opened`, `push-received`, `issue-synced`. */
  name: string;
  /** The provider's own event type, e.g. GitHub's `X-GitHub-Event` (`issues`). */
  event: string;
  /** The provider's action within the type, when it has one (`opened`). */
  action?: string;
  /** Unique per delivery; a redelivery carries the same id. Consumers dedupe on it. */
  deliveryId: string;
  /** Follows the event through queues and workflow steps. */
  correlationId: string;
  /** When the connector accepted it, ISO 8601. */
  receivedAt: string;
  /** Where it happened, e.g. `owner/repo`, when the provider says. */
  source?: string;
  /** The provider's payload, verified and parsed. */
  payload: unknown;
}

/**
 * Where accepted events go. `publish` resolves only once the event is durably handed on; it rejects with
 * a core error otherwise, and the caller must then not record the delivery as accepted.
 *
 * @example
 * ```ts
 * const sink: WebhookEventSink = { name: 'log', publish: async (event) => logger.info('event', { id: event.deliveryId }) };
 * ```
 */
export interface WebhookEventSink {
  /** For logs and responses, e.g. `sqs`, `step-functions`, `log`. */
  readonly name: string;
  /** False for a sink that only logs (nothing downstream will see the event). */
  readonly durable: boolean;
  publish(event: WebhookEvent): Promise<void>;
}

/** What claiming a delivery id found. */
export type DeliveryClaim =
  /** Nobody accepted it yet: this caller holds it until `accept` or `release`. */
  | { status: 'claimed'; token: string }
  /** Already accepted earlier: answer success and do not hand it on again. */
  | { status: 'duplicate' }
  /** Another invocation holds it right now. */
  | { status: 'in-progress' };

/**
 * Durable memory of accepted deliveries. A delivery is claimed before it is handed on, accepted after,
 * and released when handing on failed, so the provider's redelivery gets another chance.
 *
 * @example
 * ```ts
 * const claim = await ledger.claim(deliveryId);
 * if (claim.status === 'claimed') {
 *   try { await sink.publish(event); } catch (err) { await ledger.release(deliveryId, claim.token); throw err; }
 *   await ledger.accept(deliveryId, claim.token);
 * }
 * ```
 */
export interface DeliveryLedger {
  claim(deliveryId: string): Promise<DeliveryClaim>;
  accept(deliveryId: string, token: string): Promise<void>;
  release(deliveryId: string, token: string): Promise<void>;
}
