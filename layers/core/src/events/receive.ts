/**
 * Handing a verified event on exactly once per delivery id: claim it in the ledger, publish it to the
 * sink, then mark it accepted; release the claim when publishing failed so the provider's redelivery
 * gets another chance. Signature verification stays with the connector (each provider signs its own
 * way); everything after it is this one path.
 */
import { ConflictError, toConnectorError, UnavailableError } from '../errors.ts';
import type { Logger } from '../observability.ts';
import type { DeliveryLedger, WebhookEvent, WebhookEventSink } from './types.ts';

/** What receiving needs besides the event. */
export interface EventHandOff {
  ledger: DeliveryLedger;
  sink: WebhookEventSink;
  logger: Logger;
  /**
   * Completes the event once its delivery is claimed, before it is published (e.g. re-reading the object it
   * is about): a redelivery of an accepted event is answered as a duplicate without it, and its failure is
   * handled like a failed publish (the claim is released, a 5xx answered, so the provider retries).
   */
  prepare?: (event: WebhookEvent) => Promise<WebhookEvent>;
}

/** What became of a delivery. */
export type HandOnOutcome = { status: 'accepted'; durable: boolean } | { status: 'duplicate' };

/**
 * Hands `event` on (completed by `prepare` when given) unless its delivery id was accepted before. Throws
 * a 409 while another invocation holds the same delivery, and a 5xx when preparing or publishing failed
 * (the delivery is then not recorded, so the provider's retry is handed on).
 *
 * @example
 * ```ts
 * const outcome = await handOn(event, { ledger, sink, logger });
 * if (outcome.status === 'duplicate') return { status: 200, body: { duplicate: true } };
 * ```
 */
export async function handOn(
  event: WebhookEvent,
  { ledger, sink, logger, prepare }: EventHandOff,
): Promise<HandOnOutcome> {
  const { deliveryId } = event;
  const claim = await ledger.claim(deliveryId);
  if (claim.status === 'duplicate') {
    logger.info('Redelivery of an accepted event; not handed on again', {
      provider: event.provider,
      deliveryId,
      eventName: event.name,
    });
    return { status: 'duplicate' };
  }
  if (claim.status === 'in-progress') {
    throw new ConflictError(`Delivery ${deliveryId} is being processed by another invocation`);
  }
  try {
    await sink.publish(prepare === undefined ? event : await prepare(event));
  } catch (error) {
    const err = toConnectorError(error);
    await ledger.release(deliveryId, claim.token).catch((releaseError: unknown) => {
      logger.error('Could not release a failed delivery; a redelivery waits for its lease to expire', {
        deliveryId,
        error: toConnectorError(releaseError).message,
      });
    });
    logger.error('Handing on an event failed; the delivery is not recorded', {
      provider: event.provider,
      deliveryId,
      eventName: event.name,
      sink: sink.name,
      errorName: err.name,
      error: err.message,
    });
    if (err.status >= 500) throw err;
    throw new UnavailableError(`Handing on delivery ${deliveryId} failed (${err.name})`, { cause: err });
  }
  try {
    await ledger.accept(deliveryId, claim.token);
  } catch (error) {
    // Handed on already: answering an error now would invite a redelivery that hands it on twice.
    logger.error('Recording an accepted delivery failed; a redelivery would be handed on again', {
      deliveryId,
      error: toConnectorError(error).message,
    });
  }
  return { status: 'accepted', durable: sink.durable };
}
