/**
 * The message-publisher conformance suite: behaviour every {@link MessagePublisher} implementation must
 * show, registered as vitest blocks that each implementation runs from its own test file against its
 * peer. What was published is observed through the publisher's own pull where it has capability `pull`
 * (SQS, RabbitMQ, NATS JetStream), and otherwise through the fixture's `collect` (an SQS queue subscribed
 * to the SNS topic, a rule delivering to a queue for EventBridge, a subscribed MQTT client). A test for an
 * optional ability skips where the ability is not offered, and its NotSupportedError refusal skips where
 * it is. Every body is a JSON object `{ "conformance": tag, "n": index }` (EventBridge needs one), and
 * each test finds its own messages by its tag, so runs and tests never mistake each other's messages.
 */
import { randomUUID } from 'node:crypto';
import { ForbiddenError, NotSupportedError, PayloadTooLargeError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_RECEIVE,
  PublishBatchOutput,
  type PublishMessage,
  PublishOutput,
  type ReceivedMessage,
  ReceiveOutput,
} from '../models/message-publisher.ts';
import { supports } from './capabilities.ts';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { MessagePublisher } from './message-publisher.ts';

/** A message as it reached its destination, seen by a subscriber or a pull. */
export interface ObservedMessage {
  body: string;
  /** Attributes or headers as delivered (providers may add their own beside the publisher's). */
  attributes?: Record<string, string> | undefined;
  orderingKey?: string | undefined;
  deduplicationId?: string | undefined;
  redelivered?: boolean | undefined;
}

/** What a conformance run needs from the implementation under test. */
export interface MessagePublisherFixture {
  /** The implementation, pointed at a fresh queue, stream, topic or bus of this run. */
  publisher: MessagePublisher;
  /** Where the suite publishes; default the publisher's configured destination. */
  destination?: string;
  /** Where the suite pulls from (capability `pull`); default the publisher's configured source. */
  source?: string;
  /**
   * For a publisher without `pull`: what reached the destination since the last call, waiting up to
   * `waitMs` when nothing has yet. The subscriber must be in place when the factory resolves.
   */
  collect?(waitMs: number): Promise<ObservedMessage[]>;
  /** A message the provider refuses on its own while it accepts the others of the batch, if any. */
  refusedEntry?: PublishMessage;
  /** A destination the implementation must refuse with ForbiddenError, when it restricts them. */
  disallowedDestination?: string;
  /** Called once after the suite. */
  close?(): Promise<void>;
}

/** How long a test waits for what it published to arrive; brokers on a loaded machine can lag. */
const ARRIVAL_MS = 20_000;
/** How long a test listens for something that must not arrive. */
const QUIET_MS = 1_500;
const TEST_TIMEOUT_MS = 60_000;

/**
 * Registers the conformance suite.
 *
 * @example
 * ```ts
 * describeMessagePublisherConformance('RabbitMQ on 127.0.0.1:5672', async () => {
 *   const queue = `conformance-${randomUUID()}`;
 *   const publisher = await startRabbitPublisher({ queue });
 *   return { publisher, destination: queue, source: queue, close: () => publisher.close() };
 * });
 * ```
 */
export function describeMessagePublisherConformance(
  name: string,
  factory: () => Promise<MessagePublisherFixture>,
): void {
  describe(`Conformance: MessagePublisher (${name})`, () => {
    let fixture: MessagePublisherFixture;
    let publisher: MessagePublisher;
    const run = randomUUID().slice(0, 8);
    /** Everything observed so far, in arrival order, whichever test published it. */
    const pool: ObservedMessage[] = [];
    const where = (): { destination?: string } =>
      fixture.destination === undefined ? {} : { destination: fixture.destination };
    const from = (): { source?: string } => (fixture.source === undefined ? {} : { source: fixture.source });

    beforeAll(async () => {
      fixture = await factory();
      publisher = fixture.publisher;
      if (!supports(publisher, 'pull') && fixture.collect === undefined) {
        throw new Error(
          'A publisher without "pull" needs the fixture\'s collect to observe what it published',
        );
      }
    }, TEST_TIMEOUT_MS);

    afterAll(async () => {
      await fixture?.close?.();
    });

    const body = (tag: string, n: number): string => JSON.stringify({ conformance: tag, n });
    const parsed = (message: ObservedMessage): { conformance?: unknown; n?: unknown } => {
      try {
        return JSON.parse(message.body) as { conformance?: unknown; n?: unknown };
      } catch {
        return {};
      }
    };
    const tagged = (tag: string): ObservedMessage[] =>
      pool.filter((message) => parsed(message).conformance === tag);

    /** Pulls (and acknowledges) or collects once, adding what came to the pool. */
    async function drain(waitMs: number): Promise<void> {
      if (!supports(publisher, 'pull')) {
        pool.push(...((await fixture.collect?.(waitMs)) ?? []));
        return;
      }
      const { messages } = await publisher.receive({
        ...from(),
        maxMessages: Math.min(10, publisher.limits.maxReceive),
        waitTimeMs: waitMs,
      });
      pool.push(...messages);
      if (messages.length > 0) {
        await publisher.acknowledge({ ...from(), receipts: messages.map((message) => message.receipt) });
      }
    }

    /** Waits until `count` messages of `tag` arrived (or the arrival time is up) and answers them. */
    async function delivered(tag: string, count: number): Promise<ObservedMessage[]> {
      const deadline = Date.now() + ARRIVAL_MS;
      while (tagged(tag).length < count && Date.now() < deadline) await drain(1_000);
      return tagged(tag);
    }

    /** Listens a while longer, then answers every message of `tag` seen. */
    async function settled(tag: string): Promise<ObservedMessage[]> {
      const deadline = Date.now() + QUIET_MS;
      while (Date.now() < deadline) await drain(500);
      return tagged(tag);
    }

    /** Pulls until a message of `tag` comes, acknowledging every other one; answers it unsettled. */
    async function pullOne(tag: string): Promise<ReceivedMessage | undefined> {
      const deadline = Date.now() + ARRIVAL_MS;
      while (Date.now() < deadline) {
        const { messages } = await publisher.receive({ ...from(), maxMessages: 1, waitTimeMs: 1_000 });
        for (const message of messages) {
          if (parsed(message).conformance === tag) return message;
          pool.push(message);
          await publisher.acknowledge({ ...from(), receipts: [message.receipt] });
        }
      }
      return undefined;
    }

    it(
      'publishes one message that arrives with its body',
      async () => {
        // Prepare
        const tag = `${run}-one`;
        // Act
        const out = await publisher.publish({ ...where(), body: body(tag, 0) });
        const seen = await delivered(tag, 1);
        // Assess
        expect(PublishOutput.safeParse(out).success).toBe(true);
        expect(seen).toHaveLength(1);
        expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ conformance: tag, n: 0 });
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'carries attributes as written with capability "attributes"',
      async (context) => {
        // Prepare
        skipUnlessOffered(context, publisher, 'attributes');
        const tag = `${run}-attributes`;
        const attributes = { kind: 'conformance', 'Mixed.Case_name-1': 'välue with spaces' };
        // Act
        await publisher.publish({ ...where(), body: body(tag, 0), attributes });
        const seen = await delivered(tag, 1);
        // Assess
        expect(seen[0]?.attributes).toMatchObject(attributes);
      },
      TEST_TIMEOUT_MS,
    );

    it('refuses attributes with NotSupportedError without capability "attributes"', async (context) => {
      // Prepare
      skipIfOffered(context, publisher, 'attributes');
      // Act
      const attempt = publisher.publish({ ...where(), body: body(`${run}-x`, 0), attributes: { kind: 'x' } });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
    });

    it(
      'publishes a batch with one result per entry, in input order, and every entry arrives',
      async () => {
        // Prepare
        const tag = `${run}-batch`;
        const count = Math.min(publisher.limits.maxBatchEntries, 10);
        const entries = Array.from({ length: count }, (_, n) => ({ body: body(tag, n) }));
        // Act
        const out = await publisher.publishBatch({ ...where(), entries });
        const seen = await delivered(tag, count);
        // Assess
        expect(PublishBatchOutput.safeParse(out).success).toBe(true);
        expect(out).toMatchObject({ succeeded: count, failed: 0 });
        expect(out.results.map((result) => [result.index, result.ok])).toEqual(
          entries.map((_, index) => [index, true]),
        );
        expect(seen.map((message) => parsed(message).n).sort()).toEqual(entries.map((_, n) => n).sort());
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'refuses a batch over maxBatchEntries with ValidationError naming /entries, publishing none of it',
      async () => {
        // Prepare
        const tag = `${run}-too-many`;
        const count = publisher.limits.maxBatchEntries + 1;
        const entries = Array.from({ length: count }, (_, n) => ({ body: body(tag, n) }));
        // Act
        const error = await publisher
          .publishBatch({ ...where(), entries })
          .catch((caught: unknown) => caught);
        // Assess
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues.map((issue) => issue.pointer)).toContain('/entries');
        expect(await settled(tag)).toHaveLength(0);
      },
      TEST_TIMEOUT_MS,
    );

    it('refuses a message over maxMessageBytes with PayloadTooLargeError, in a batch too', async () => {
      // Prepare: two bytes per character, so the body is over the byte limit but not the text limit.
      const oversized = 'é'.repeat(Math.floor(publisher.limits.maxMessageBytes / 2) + 1);
      // Act
      const one = await publisher.publish({ ...where(), body: oversized }).catch((caught: unknown) => caught);
      const batch = await publisher
        .publishBatch({ ...where(), entries: [{ body: body(`${run}-x`, 0) }, { body: oversized }] })
        .catch((caught: unknown) => caught);
      // Assess
      expect(one).toBeInstanceOf(PayloadTooLargeError);
      expect(batch).toBeInstanceOf(PayloadTooLargeError);
      expect((one as PayloadTooLargeError).limitBytes).toBe(publisher.limits.maxMessageBytes);
    });

    it(
      'refuses a batch over maxBatchBytes with PayloadTooLargeError, publishing none of it',
      async (context) => {
        // Prepare: entries each within the message limit whose sum is over the batch limit.
        const { maxBatchBytes, maxBatchEntries, maxMessageBytes } = publisher.limits;
        const tag = `${run}-heavy`;
        const head = body(tag, 0);
        const each = Math.min(maxMessageBytes, Math.floor(maxBatchBytes / 2) + 1);
        const count = Math.floor(maxBatchBytes / each) + 1;
        context.skip(count > maxBatchEntries, 'no batch within the entry limit exceeds the byte limit');
        const padded = `${head.slice(0, -1)},"pad":"${'x'.repeat(Math.max(0, each - head.length - 9))}"}`;
        const entries = Array.from({ length: count }, () => ({ body: padded }));
        // Act
        const error = await publisher
          .publishBatch({ ...where(), entries })
          .catch((caught: unknown) => caught);
        // Assess
        expect(error).toBeInstanceOf(PayloadTooLargeError);
        expect(await settled(tag)).toHaveLength(0);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "reports an entry the provider refuses in that entry's result, publishing the others",
      async (context) => {
        // Prepare
        const refused = fixture.refusedEntry;
        context.skip(refused === undefined, 'the fixture names no entry the provider refuses on its own');
        if (refused === undefined) return;
        const tag = `${run}-partial`;
        const entries = [{ body: body(tag, 0) }, refused, { body: body(tag, 2) }];
        // Act
        const out = await publisher.publishBatch({ ...where(), entries });
        const seen = await delivered(tag, 2);
        // Assess
        expect(out).toMatchObject({ succeeded: 2, failed: 1 });
        expect(out.results.map((result) => result.ok)).toEqual([true, false, true]);
        const failure = out.results[1];
        expect(failure?.ok === false && failure.error.code.length > 0).toBe(true);
        expect(seen.map((message) => parsed(message).n).sort()).toEqual([0, 2]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'delivers messages of one ordering key in publish order with capability "ordering"',
      async (context) => {
        // Prepare
        skipUnlessOffered(context, publisher, 'ordering');
        const tag = `${run}-ordered`;
        const count = Math.min(publisher.limits.maxBatchEntries, 5);
        const entries = Array.from({ length: count }, (_, n) => ({ body: body(tag, n), orderingKey: tag }));
        // Act
        await publisher.publishBatch({ ...where(), entries });
        const seen = await delivered(tag, count);
        // Assess
        expect(seen.map((message) => parsed(message).n)).toEqual(entries.map((_, n) => n));
        for (const message of seen) expect(message.orderingKey ?? tag).toBe(tag);
      },
      TEST_TIMEOUT_MS,
    );

    it('refuses an ordering key with NotSupportedError without capability "ordering"', async (context) => {
      // Prepare
      skipIfOffered(context, publisher, 'ordering');
      // Act
      const one = publisher.publish({ ...where(), body: body(`${run}-x`, 0), orderingKey: 'group' });
      const batch = publisher.publishBatch({
        ...where(),
        entries: [{ body: body(`${run}-x`, 1), orderingKey: 'group' }],
      });
      // Assess
      await expect(one).rejects.toBeInstanceOf(NotSupportedError);
      await expect(batch).rejects.toBeInstanceOf(NotSupportedError);
    });

    it(
      'delivers a repeated deduplication id once with capability "deduplication"',
      async (context) => {
        // Prepare
        skipUnlessOffered(context, publisher, 'deduplication');
        const tag = `${run}-dedupe`;
        const deduplicationId = `${tag}-id`;
        const extra = supports(publisher, 'ordering') ? { orderingKey: tag } : {};
        // Act
        const first = await publisher.publish({ ...where(), body: body(tag, 0), deduplicationId, ...extra });
        const second = await publisher.publish({ ...where(), body: body(tag, 1), deduplicationId, ...extra });
        await delivered(tag, 1);
        const seen = await settled(tag);
        // Assess
        expect(seen.map((message) => parsed(message).n)).toEqual([0]);
        expect(first.duplicate ?? false).toBe(false);
        expect(second.duplicate ?? true).toBe(true);
      },
      TEST_TIMEOUT_MS,
    );

    it('refuses a deduplication id with NotSupportedError without capability "deduplication"', async (context) => {
      // Prepare
      skipIfOffered(context, publisher, 'deduplication');
      // Act
      const attempt = publisher.publish({ ...where(), body: body(`${run}-x`, 0), deduplicationId: 'once' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
    });

    it(
      'receives at most maxMessages, and answers within its wait, with capability "pull"',
      async (context) => {
        // Prepare
        skipUnlessOffered(context, publisher, 'pull');
        const tag = `${run}-bounded`;
        const count = Math.min(publisher.limits.maxBatchEntries, 3);
        await publisher.publishBatch({
          ...where(),
          entries: Array.from({ length: count }, (_, n) => ({ body: body(tag, n) })),
        });
        const started = Date.now();
        // Act
        const out = await publisher.receive({ ...from(), maxMessages: count - 1, waitTimeMs: 2_000 });
        const elapsed = Date.now() - started;
        // Assess
        expect(ReceiveOutput.safeParse(out).success).toBe(true);
        expect(out.messages.length).toBeLessThanOrEqual(count - 1);
        // Generous: a loaded machine is slow, but a pull that ignores its wait would hang for good.
        expect(elapsed).toBeLessThan(15_000);
        pool.push(...out.messages);
        if (out.messages.length > 0) {
          await publisher.acknowledge({
            ...from(),
            receipts: out.messages.map((message) => message.receipt),
          });
        }
        expect(await delivered(tag, count)).toHaveLength(count);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'delivers a released message again, marked redelivered, and an acknowledged one never, with capability "pull"',
      async (context) => {
        // Prepare
        skipUnlessOffered(context, publisher, 'pull');
        const tag = `${run}-release`;
        await publisher.publish({ ...where(), body: body(tag, 0) });
        const first = await pullOne(tag);
        // Act
        const released = await publisher.release({ ...from(), receipts: [first?.receipt ?? 'missing'] });
        const again = await pullOne(tag);
        const acknowledged = await publisher.acknowledge({
          ...from(),
          receipts: [again?.receipt ?? 'missing'],
        });
        // Assess
        expect(first).toMatchObject({ redelivered: false });
        expect(released.results).toEqual([{ receipt: first?.receipt, ok: true }]);
        expect(again).toMatchObject({ redelivered: true });
        expect(JSON.parse(again?.body ?? '{}')).toEqual({ conformance: tag, n: 0 });
        expect(acknowledged.results).toEqual([{ receipt: again?.receipt, ok: true }]);
        if (again?.deliveryCount !== undefined) expect(again.deliveryCount).toBeGreaterThanOrEqual(2);
        expect(await settled(tag)).toHaveLength(0);
      },
      TEST_TIMEOUT_MS,
    );

    it('reports an unknown receipt in that receipt\'s result, with capability "pull"', async (context) => {
      // Prepare
      skipUnlessOffered(context, publisher, 'pull');
      // Act
      const acknowledged = await publisher.acknowledge({ ...from(), receipts: ['not-a-receipt'] });
      const released = await publisher.release({ ...from(), receipts: ['not-a-receipt'] });
      // Assess
      expect(acknowledged.results).toMatchObject([{ receipt: 'not-a-receipt', ok: false }]);
      expect(released.results).toMatchObject([{ receipt: 'not-a-receipt', ok: false }]);
    });

    it('refuses a receive over the limit with ValidationError naming /maxMessages, with capability "pull"', async (context) => {
      // Prepare
      skipUnlessOffered(context, publisher, 'pull');
      // Act
      const error = await publisher
        .receive({ ...from(), maxMessages: Math.min(publisher.limits.maxReceive + 1, MAX_RECEIVE + 1) })
        .catch((caught: unknown) => caught);
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((issue) => issue.pointer)).toContain('/maxMessages');
    });

    it('refuses receive, acknowledge and release with NotSupportedError without capability "pull"', async (context) => {
      // Prepare
      skipIfOffered(context, publisher, 'pull');
      // Act
      const receive = publisher.receive({ maxMessages: 1, waitTimeMs: 0 });
      const acknowledge = publisher.acknowledge({ receipts: ['r'] });
      const release = publisher.release({ receipts: ['r'] });
      // Assess
      await expect(receive).rejects.toBeInstanceOf(NotSupportedError);
      await expect(acknowledge).rejects.toBeInstanceOf(NotSupportedError);
      await expect(release).rejects.toBeInstanceOf(NotSupportedError);
      expect(publisher.limits.maxReceive).toBe(0);
    });

    it('throws ValidationError naming the field for invalid input, before calling the provider', async () => {
      // Act
      const empty = await publisher.publish({ ...where(), body: '' }).catch((caught: unknown) => caught);
      const unknown = await publisher
        .publish({ ...where(), body: '{}', bodyy: 'typo' } as never)
        .catch((caught: unknown) => caught);
      const reserved = await publisher
        .publish({ ...where(), body: '{}', attributes: { 'AWS.Trace': 'x' } })
        .catch((caught: unknown) => caught);
      const noEntries = await publisher
        .publishBatch({ ...where(), entries: [] })
        .catch((caught: unknown) => caught);
      // Assess
      const pointers = (error: unknown): string[] =>
        error instanceof ValidationError ? error.issues.map((issue) => issue.pointer) : [];
      expect(pointers(empty)).toContain('/body');
      expect(pointers(unknown)).toContain('/bodyy');
      expect(pointers(reserved).some((pointer) => pointer.startsWith('/attributes'))).toBe(true);
      expect(pointers(noEntries)).toContain('/entries');
    });

    it('refuses a destination outside the allowed ones with ForbiddenError', async (context) => {
      // Prepare
      const disallowed = fixture.disallowedDestination;
      context.skip(disallowed === undefined, 'the implementation does not restrict destinations');
      if (disallowed === undefined) return;
      // Act
      const one = await publisher
        .publish({ destination: disallowed, body: body(`${run}-x`, 0) })
        .catch((caught: unknown) => caught);
      // Assess
      expect(one).toBeInstanceOf(ForbiddenError);
    });
  });
}
