/**
 * The NATS JetStream connector's calls, as a {@link MessagePublisher}: publishes acknowledged by the
 * stream (with `Nats-Msg-Id` for deduplication), a pull from a durable consumer bounded by the wait and
 * the time left, acknowledge (`+ACK`) and release (`-NAK`) by receipt, and consumer/stream management.
 * Each call is one unit of work on the reused connection, its failure mapped once (`errors.ts`).
 */
import {
  type BrokerTlsMode,
  callBudget,
  defineSecret,
  PayloadTooLargeError,
  parseInput,
  remainingTimeMs,
  UnexpectedResponseError,
  ValidationError,
  withDeadline,
} from '@circle-core/core';
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection, headers as natsHeaders } from 'nats';
import {
  batchOutput,
  checkBatch,
  checkMessage,
  checkReceive,
  entryFailure,
  type MessagePublisher,
  type MessagePublisherCapability,
  type MessagePublisherLimits,
} from '#shared/interfaces/message-publisher.ts';
import {
  PublishBatchInput,
  type PublishBatchOutput,
  PublishInput,
  type PublishMessage,
  type PublishOutput,
  type ReceivedMessage,
  ReceiveInput,
  type ReceiveOutput,
  SettleInput,
  type SettleOutput,
} from '#shared/models/message-publisher.ts';
import { closedUnder, NatsConnectionHolder } from './connection.ts';
import { isConnectionLost, toNatsError } from './errors.ts';
import {
  type ConsumerInfo,
  DeclareConsumerInput,
  InspectStreamInput,
  type StreamInfo,
  subjectProblem,
} from './models.ts';

export interface NatsClientOptions {
  host: string;
  port: number;
  tls: BrokerTlsMode;
  /** Name or ARN of the secret holding the credentials (or `{}`). */
  secretName: string;
  secretMaxAgeSeconds: number;
  /** Subject of a publish without a destination. */
  subject: string;
  /** Stream of the pull consumers. */
  stream: string;
  /** Durable consumer of a pull without a source. */
  consumer: string;
  connectTimeoutMs: number;
  /** One call's own bound; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  /** Milliseconds left in the invocation (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/** A received message with where it was published and its place in the stream. */
export type PulledMessage = ReceivedMessage & { subject: string; sequence: number };

/** JetStream offers headers, `Nats-Msg-Id` deduplication and pull consumers; no ordering keys. */
export const CAPABILITIES: readonly MessagePublisherCapability[] = ['attributes', 'deduplication', 'pull'];

/** The server's default max_payload is 1 MiB; batches are published concurrently and acked per entry. */
export const LIMITS: MessagePublisherLimits = {
  maxBatchEntries: 100,
  maxMessageBytes: 1_000_000,
  maxBatchBytes: 5_242_880,
  maxReceive: 100,
};

const NAME = 'NATS JetStream';

/**
 * The bytes of a message's headers as the client sends them (`NATS/1.0`, a `name: value` line each, with
 * the `Nats-Msg-Id` JetStream adds, and a blank line), which count against the server's max_payload.
 */
function headerBytes(message: PublishMessage): number {
  const lines = Object.entries(message.attributes ?? {}).map(([name, value]) => `${name}: ${value}\r\n`);
  if (message.deduplicationId !== undefined) lines.push(`${MSG_ID}: ${message.deduplicationId}\r\n`);
  return Buffer.byteLength(`NATS/1.0\r\n${lines.join('')}\r\n`);
}
/** The header JetStream deduplicates on; not an attribute. */
const MSG_ID = 'Nats-Msg-Id';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Refuses, before anything is sent, the attributes a NATS header cannot carry, as the `nats` client
 * would (BAD_HEADER): a name of anything but printable ASCII (33-126) or with a colon, and a value with
 * a carriage return or a line feed (the header block's line breaks). Other queues take line breaks in
 * an attribute, so the shared schema does not refuse them. `pointer` is the message's place in the input.
 */
function checkHeaders(message: PublishMessage, pointer = ''): void {
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    const field = `${pointer}/attributes/${name}`;
    const problem = [...name].some((char) => char === ':' || char < '!' || char > '~')
      ? 'expected a header name of printable ASCII characters without ":" (a NATS header cannot carry it)'
      : /[\r\n]/.test(value)
        ? 'expected no line break (CR or LF): a NATS header value cannot carry one'
        : undefined;
    if (problem !== undefined) {
      throw new ValidationError(`Invalid input: ${field}: ${problem}`, [
        { pointer: field, message: problem },
      ]);
    }
  }
}

/**
 * @example
 * ```ts
 * const nats = NatsClient.create({ host: '127.0.0.1', port: 4222, tls: 'disable',
 *   secretName: 'circle-core/dev/nats/credentials', secretMaxAgeSeconds: 300, subject: 'events.orders',
 *   stream: 'EVENTS', consumer: 'workers', connectTimeoutMs: 5_000, timeoutMs: 5_000 });
 * await nats.publish({ body: '{"id":1}', deduplicationId: 'order-1' });
 * ```
 */
export class NatsClient implements MessagePublisher {
  readonly capabilities: ReadonlySet<MessagePublisherCapability> = new Set(CAPABILITIES);
  readonly limits = LIMITS;
  readonly #connection: NatsConnectionHolder;
  readonly #options: NatsClientOptions;

  constructor(connection: NatsConnectionHolder, options: NatsClientOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  /** Builds the client; nothing connects until the first call. */
  static create(options: NatsClientOptions): NatsClient {
    const credentials = defineSecret(options.secretName, { maxAgeSeconds: options.secretMaxAgeSeconds });
    const connection = new NatsConnectionHolder({
      host: options.host,
      port: options.port,
      tls: options.tls,
      credentials,
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.remainingTimeMs === undefined ? {} : { remainingTimeMs: options.remainingTimeMs }),
    });
    return new NatsClient(connection, options);
  }

  /** Publishes one message and resolves with the stream's acknowledgement (sequence, duplicate). */
  async publish(raw: PublishInput): Promise<PublishOutput> {
    const { destination, ...message } = parseInput(PublishInput, raw);
    checkMessage(this, message, NAME);
    checkHeaders(message);
    const subject = this.#subject(destination);
    const [outcome] = await this.#publishAll(subject, [message], () => '/body');
    if (outcome === undefined || !outcome.ok) throw toNatsError(outcome?.cause, 'publish');
    return outcome.output;
  }

  /** Publishes the entries concurrently on the one connection; a result per entry. */
  async publishBatch(raw: PublishBatchInput): Promise<PublishBatchOutput> {
    const input = parseInput(PublishBatchInput, raw);
    checkBatch(this, input.entries, NAME);
    input.entries.forEach((entry, index) => {
      checkHeaders(entry, `/entries/${index}`);
    });
    const outcomes = await this.#publishAll(
      this.#subject(input.destination),
      input.entries,
      (index) => `/entries/${index}/body`,
    );
    return batchOutput(
      outcomes.map((outcome, index) =>
        outcome.ok
          ? { index, ok: true as const, ...outcome.output }
          : { index, ok: false as const, error: entryFailure(toNatsError(outcome.cause, 'publish')) },
      ),
    );
  }

  /** Fetches up to `maxMessages` from the durable consumer, waiting at most the wait and the time left. */
  async receive(raw: ReceiveInput = {}): Promise<ReceiveOutput> {
    const { messages } = await this.pull(raw);
    return { messages: messages.map(({ subject: _subject, sequence: _sequence, ...message }) => message) };
  }

  /**
   * {@link receive} with each message's subject and stream sequence, which the scheduled forwarder needs
   * (the stream sequence is the same on every redelivery: the delivery id events are deduplicated on).
   */
  async pull(
    raw: ReceiveInput = {},
  ): Promise<{ stream: string; consumer: string; messages: PulledMessage[] }> {
    const input = parseInput(ReceiveInput, raw);
    checkReceive(this, input.maxMessages, NAME);
    const [stream, consumer] = this.#consumer(input.source);
    const budget = callBudget(
      input.waitTimeMs + this.#options.timeoutMs,
      `${NAME} receive`,
      this.#remaining(),
    );
    // JetStream refuses a pull that expires in under a second; a shorter wait is cut on our side.
    const expires = Math.max(1_000, Math.min(input.waitTimeMs, budget));
    // The wait runs outside the kit's one-at-a-time lending: NATS multiplexes every request on one
    // connection, and the invocations in flight at once (Lambda Managed Instances, https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html)
    // must not wait for a pull's whole wait to publish. A fetch has its own inbox, so no other call sees
    // its messages.
    return this.#shared('receive', async (nc) => {
      const handle = await nc.jetstream().consumers.get(stream, consumer);
      const batch = await handle.fetch({ max_messages: input.maxMessages, expires });
      const messages: PulledMessage[] = [];
      const cut = setTimeout(() => batch.stop(), Math.min(input.waitTimeMs, budget) + 50);
      try {
        for await (const message of batch) {
          messages.push({
            ...this.#received(message),
            subject: message.subject,
            sequence: message.info.streamSequence,
          });
          if (messages.length >= input.maxMessages) break;
        }
      } finally {
        clearTimeout(cut);
      }
      return { stream, consumer, messages };
    });
  }

  /** Acknowledges received messages (`+ACK`, confirmed by the server). */
  acknowledge(raw: SettleInput): Promise<SettleOutput> {
    return this.#settle(raw, 'acknowledge', '+ACK');
  }

  /** Hands received messages back for another delivery now (`-NAK`). */
  release(raw: SettleInput): Promise<SettleOutput> {
    return this.#settle(raw, 'release', '-NAK');
  }

  /** Creates or updates a durable pull consumer with explicit acknowledgement. */
  async declareConsumer(raw: DeclareConsumerInput): Promise<ConsumerInfo> {
    const input = parseInput(DeclareConsumerInput, raw);
    const stream = input.stream ?? this.#stream();
    return this.#run('declare-consumer', 'read', async (nc) => {
      const manager = await nc.jetstreamManager({ timeout: this.#budget('declare-consumer') });
      const info = await manager.consumers.add(stream, {
        durable_name: input.consumer,
        ack_policy: AckPolicy.Explicit,
        ack_wait: input.ackWaitMs * 1_000_000,
        deliver_policy: { all: DeliverPolicy.All, new: DeliverPolicy.New, last: DeliverPolicy.Last }[
          input.deliverPolicy
        ],
        ...(input.filterSubject === undefined ? {} : { filter_subject: input.filterSubject }),
        ...(input.maxDeliver === undefined ? {} : { max_deliver: input.maxDeliver }),
      });
      return {
        stream,
        consumer: info.name,
        pending: info.num_pending,
        ackPending: info.num_ack_pending,
        redelivered: info.num_redelivered,
      };
    });
  }

  /** Counts and sequences of a stream; a missing stream is a NotFoundError. */
  async inspectStream(raw: InspectStreamInput = {}): Promise<StreamInfo> {
    const input = parseInput(InspectStreamInput, raw);
    const stream = input.stream ?? this.#stream();
    return this.#run('inspect-stream', 'read', async (nc) => {
      const manager = await nc.jetstreamManager({ timeout: this.#budget('inspect-stream') });
      const info = await manager.streams.info(stream);
      return {
        stream: info.config.name,
        subjects: info.config.subjects ?? [],
        messages: info.state.messages,
        bytes: info.state.bytes,
        firstSequence: info.state.first_seq,
        lastSequence: info.state.last_seq,
        consumers: info.state.consumer_count,
        duplicateWindowMs: Math.round((info.config.duplicate_window ?? 0) / 1_000_000),
      };
    });
  }

  /** Opens the connection if needed and round-trips to the server, for `health`. */
  async ping(): Promise<void> {
    await this.#run('ping', 'read', (nc) => withDeadline(nc.flush(), this.#budget('ping'), `${NAME} ping`));
  }

  /** Opens the connection during init, so the first call finds it ready. */
  async warmUp(): Promise<void> {
    await this.ping().catch(() => undefined);
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #remaining(): number {
    return (this.#options.remainingTimeMs ?? remainingTimeMs)();
  }

  #budget(what: string): number {
    return callBudget(this.#options.timeoutMs, `${NAME} ${what}`, this.#remaining());
  }

  #subject(destination: string | undefined): string {
    const subject = destination ?? this.#options.subject;
    const problem =
      subject === '' ? 'expected a subject without spaces, * or >' : subjectProblem(subject, 'subject');
    if (problem !== undefined) {
      throw new ValidationError('Name a subject without spaces or wildcards (or set NATS_SUBJECT)', [
        { pointer: '/destination', message: problem },
      ]);
    }
    return subject;
  }

  #stream(): string {
    if (this.#options.stream === '') {
      throw new ValidationError('Name a stream: no NATS_STREAM is set', [
        { pointer: '/stream', message: 'required when NATS_STREAM is not set' },
      ]);
    }
    return this.#options.stream;
  }

  #consumer(source: string | undefined): [stream: string, consumer: string] {
    const consumer = source ?? this.#options.consumer;
    if (consumer === '') {
      throw new ValidationError('Name a source consumer: no NATS_CONSUMER is set', [
        { pointer: '/source', message: 'required when NATS_CONSUMER is not set' },
      ]);
    }
    return [this.#stream(), consumer];
  }

  /**
   * Publishes every message, each acknowledged by the stream. Never replayed on a new connection. A message
   * over the max_payload the server announced refuses the whole call before anything is published, naming
   * the message's body (`pointer`).
   */
  #publishAll(
    subject: string,
    messages: readonly PublishMessage[],
    pointer: (index: number) => string,
  ): Promise<({ ok: true; output: PublishOutput } | { ok: false; cause: unknown })[]> {
    return this.#run('publish', 'write', async (nc) => {
      const max = nc.info?.max_payload;
      const all = messages.map((message) => {
        const headers = natsHeaders();
        for (const [name, value] of Object.entries(message.attributes ?? {})) headers.set(name, value);
        return { message, headers, data: encoder.encode(message.body) };
      });
      if (max !== undefined) {
        for (const [index, { message, data }] of all.entries()) {
          const size = data.length + headerBytes(message);
          if (size > max) {
            throw new PayloadTooLargeError(max, {
              message: `The message at ${pointer(index)} is ${size} bytes with its attributes; the NATS server takes at most its max_payload ${max}`,
            });
          }
        }
      }
      const js = nc.jetstream({ timeout: this.#budget('publish') });
      return Promise.all(
        all.map(async ({ message, headers, data }) => {
          try {
            const ack = await js.publish(subject, data, {
              headers,
              ...(message.deduplicationId === undefined ? {} : { msgID: message.deduplicationId }),
            });
            return {
              ok: true as const,
              output: {
                ...(message.deduplicationId === undefined ? {} : { messageId: message.deduplicationId }),
                sequence: String(ack.seq),
                duplicate: ack.duplicate,
              },
            };
          } catch (cause) {
            return { ok: false as const, cause: closedUnder(nc, cause) };
          }
        }),
      );
    });
  }

  #received(message: JsMsg): ReceivedMessage {
    const attributes: Record<string, string> = {};
    let deduplicationId: string | undefined;
    for (const name of message.headers?.keys() ?? []) {
      const value = message.headers?.get(name) ?? '';
      if (name === MSG_ID) deduplicationId = value;
      else if (!name.startsWith('Nats-')) attributes[name] = value;
    }
    return {
      // The ack subject is the delivery's reply subject; JsMsg's declaration leaves the getter out.
      receipt: (message as JsMsg & { readonly reply: string }).reply,
      ...(deduplicationId === undefined ? {} : { messageId: deduplicationId, deduplicationId }),
      body: decoder.decode(message.data),
      attributes,
      redelivered: message.redelivered,
      deliveryCount: message.info.redeliveryCount,
    };
  }

  /**
   * Settles each receipt with a request to its JetStream ack subject. A receipt that is not an ack
   * subject of this stream and consumer is refused in its result and never sent: receipts come from
   * input, and publishing to an arbitrary subject must not be possible.
   */
  async #settle(raw: SettleInput, operation: string, verb: '+ACK' | '-NAK'): Promise<SettleOutput> {
    const input = parseInput(SettleInput, raw);
    checkReceive(this, undefined, NAME);
    const [stream, consumer] = this.#consumer(input.source);
    const prefix = `$JS.ACK.${stream}.${consumer}.`;
    return this.#run(operation, 'write', async (nc) => {
      const timeout = this.#budget(operation);
      const results = await Promise.all(
        input.receipts.map(async (receipt) => {
          const rest = receipt.startsWith(prefix) ? receipt.slice(prefix.length) : '';
          if (!/^[0-9]+(\.[0-9]+){4,}$/.test(rest)) {
            const refused = new ValidationError(
              `The receipt is not one of consumer ${consumer} of stream ${stream}`,
            );
            return { receipt, ok: false as const, error: entryFailure(refused) };
          }
          try {
            await nc.request(receipt, encoder.encode(verb), { timeout });
            return { receipt, ok: true as const };
          } catch (error) {
            const mapped = toNatsError(error, operation);
            const expired =
              mapped.name === 'TimeoutError'
                ? new UnexpectedResponseError(
                    'JetStream did not confirm: the receipt may have expired (ack wait passed)',
                  )
                : mapped;
            return { receipt, ok: false as const, error: entryFailure(expired) };
          }
        }),
      );
      return { results };
    });
  }

  /**
   * Runs a read with the connection but not within the kit's lending (one unit of work at a time), for a
   * read that waits. A connection that closed under it is dropped and the read runs once more on a new
   * one; JetStream's receipts are subjects, not bound to a connection, so what was taken stays valid.
   */
  async #shared<T>(operation: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const nc = await this.#run(operation, 'read', async (live) => live);
      try {
        return await work(nc);
      } catch (raw) {
        const error = closedUnder(nc, raw);
        const lost = isConnectionLost(error);
        if (lost) this.#connection.discard(nc);
        if (!lost || attempt > 1) throw toNatsError(error, operation);
      }
    }
  }

  async #run<T>(
    operation: string,
    replay: 'read' | 'write',
    work: (nc: NatsConnection) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.#connection.use(work, replay);
    } catch (error) {
      throw toNatsError(error, operation);
    }
  }
}
