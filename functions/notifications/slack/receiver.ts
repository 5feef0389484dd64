/**
 * The inbound side of Slack: verifies signed requests from the Events API and slash commands, answers what
 * Slack needs within its 3-second budget, and hands each event or command on through the core's event
 * receiving: deduplicated in the delivery ledger (by `event_id`, and by the request signature for
 * commands), then published to the configured queue or state machine.
 */
import { createHash } from 'node:crypto';
import {
  AuthError,
  type CredentialSource,
  type EventReceiving,
  handOn,
  type Logger,
  parseInput,
  parseJson,
  type RouteRequest,
  type RouteResponse,
  readCredential,
  UnsupportedMediaTypeError,
  type WebhookEvent,
} from '@circle-core/core';
import { assertSlackTimestamp, verifySlackHmac } from './auth.ts';
import { SlackEventsPayload, SlashCommandPayload } from './models.ts';

/** An Events API event, as handed to the sink (the deprecated verification token is not passed on). */
export interface SlackEventRecord {
  /** Unique per event; Slack resends the same id when it retries, so consumers dedupe on it. */
  eventId: string;
  /** The inner event type, e.g. `app_mention`, `message`, `reaction_added`. */
  eventType: string;
  teamId: string;
  apiAppId: string | undefined;
  /** Epoch seconds. */
  eventTime: number;
  /** The event object exactly as Slack sent it. */
  event: Record<string, unknown>;
  /** `X-Slack-Retry-Num` when this delivery is a retry. */
  retryNum: number | undefined;
  /** `X-Slack-Retry-Reason`, e.g. `http_timeout`. */
  retryReason: string | undefined;
}

/** A slash command invocation, as handed to the sink (without Slack's verification token). */
export interface SlackCommandRecord {
  command: string;
  text: string;
  teamId: string;
  channelId: string;
  userId: string;
  /** Lets a consumer answer later (30 minutes, 5 times); a capability, so it is never logged. */
  responseUrl: string;
  triggerId: string;
}

/** What a handler gets besides the request. */
export interface SinkContext {
  logger: Logger;
  correlationId: string;
}

/**
 * The accepted-event name for a Slack event type: kebab case, past tense (`app_mention` ->
 * `app-mention-received`; types already in the past tense, like `reaction_added`, stay as they are).
 *
 * @example
 * ```ts
 * slackEventName('reaction_added'); // 'reaction-added'
 * ```
 */
export function slackEventName(type: string): string {
  const kebab = type.replaceAll('_', '-').toLowerCase();
  return /ed$/.test(kebab) ? kebab : `${kebab}-received`;
}

export interface SlackReceiverOptions {
  /** The app's signing secret: a Secret (re-read after a mismatch, at most once a minute) or a literal. */
  signingSecret: CredentialSource;
  /** The ledger and the sink, from the `SLACK_STATE_TABLE` and `SLACK_EVENTS_*` settings. */
  receiving: Pick<EventReceiving, 'requireLedger' | 'sinkOr'>;
  /** The text of the ephemeral acknowledgement of a slash command. */
  acknowledge?: (command: SlackCommandRecord) => string;
  /** Clock, for tests. */
  now?: () => number;
}

/** A signing-secret rotation is picked up at most this often by requests that fail to verify. */
const SECRET_REFRESH_INTERVAL_MS = 60_000;

const FORM = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

function header(request: RouteRequest, name: string): string | undefined {
  const value = request.headers[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Serves Slack's inbound requests. Every request is verified before its body is read; a signing secret
 * that cannot be loaded fails closed (the error's 5xx, never an unverified 2xx).
 *
 * @example
 * ```ts
 * const receiver = new SlackReceiver({ signingSecret: defineSecret('circle-core/slack/signing-secret') });
 * const response = await receiver.handleEvents(request, { logger, correlationId });
 * ```
 */
export class SlackReceiver {
  readonly #signingSecret: CredentialSource;
  readonly #receiving: SlackReceiverOptions['receiving'];
  readonly #acknowledge: (command: SlackCommandRecord) => string;
  readonly #now: () => number;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  /** The one re-read of the signing secret in flight: concurrent requests that fail to verify wait for it. */
  #refreshing: Promise<void> | undefined;

  constructor(options: SlackReceiverOptions) {
    this.#signingSecret = options.signingSecret;
    this.#receiving = options.receiving;
    this.#acknowledge = options.acknowledge ?? ((command) => `Received ${command.command}, working on it.`);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Throws AuthError unless the request carries a fresh, valid Slack signature.
   *
   * @example
   * ```ts
   * await receiver.verify(request); // then trust request.rawBody
   * ```
   */
  async verify(request: RouteRequest): Promise<void> {
    const signed = { headers: request.headers, rawBody: request.rawBody };
    const now = this.#now();
    // The timestamp first: a stale or future request is refused without touching the secret.
    assertSlackTimestamp(request.headers, { now });
    const source = this.#signingSecret;
    try {
      verifySlackHmac(signed, await readCredential(source, 'the Slack signing secret'));
    } catch (error) {
      const worthRefreshing =
        error instanceof AuthError &&
        typeof source !== 'string' &&
        header(request, 'x-slack-signature') !== undefined &&
        (this.#refreshing !== undefined || now - this.#refreshedAt >= SECRET_REFRESH_INTERVAL_MS);
      if (!worthRefreshing) throw error;
      // The secret may have been regenerated in Slack and rotated in Secrets Manager since it was cached.
      // Bounded to once a minute so forged requests cannot turn into a stream of Secrets Manager calls;
      // requests arriving while a re-read is in flight (concurrent invocations share this receiver under
      // Lambda Managed Instances) wait for that one instead of being refused.
      if (this.#refreshing === undefined) {
        this.#refreshedAt = now;
        const refreshing = source.refresh();
        this.#refreshing = refreshing;
        const done = () => {
          if (this.#refreshing === refreshing) this.#refreshing = undefined;
        };
        refreshing.then(done, done);
      }
      await this.#refreshing;
      verifySlackHmac(signed, await readCredential(source, 'the Slack signing secret'));
    }
  }

  /**
   * `POST /slack/events`: answers `url_verification` with its challenge, hands `event_callback` events to
   * the event receiving (dedupe, then the sink) and acknowledges them with 200, acknowledges `app_rate_limited` notices with a warning.
   *
   * @example
   * ```ts
   * route({ method: 'POST', path: '/slack/events', auth: 'signature', handle: (r, c) => receiver.handleEvents(r, c) });
   * ```
   */
  async handleEvents(request: RouteRequest, context: SinkContext): Promise<RouteResponse> {
    await this.verify(request);
    const payload = parseInput(
      SlackEventsPayload,
      parseJson(request.rawBody.toString('utf8'), 'Slack event'),
    );
    switch (payload.type) {
      case 'url_verification':
        return { status: 200, body: { challenge: payload.challenge } };
      case 'app_rate_limited':
        context.logger.warn('Slack paused event delivery: the app exceeded its event rate limit', {
          correlationId: context.correlationId,
          teamId: payload.team_id,
          minuteRateLimited: payload.minute_rate_limited,
        });
        return { status: 200, body: { ok: true } };
      case 'event_callback': {
        const retryNum = Number(header(request, 'x-slack-retry-num'));
        const record: SlackEventRecord = {
          eventId: payload.event_id,
          eventType: payload.event.type,
          teamId: payload.team_id,
          apiAppId: payload.api_app_id,
          eventTime: payload.event_time,
          event: payload.event,
          retryNum: Number.isInteger(retryNum) ? retryNum : undefined,
          retryReason: header(request, 'x-slack-retry-reason')?.slice(0, 64),
        };
        const handed = await this.#handOn(
          {
            name: slackEventName(record.eventType),
            event: record.eventType,
            deliveryId: record.eventId,
            source: record.teamId,
            payload: record,
          },
          context,
        );
        return { status: 200, body: { ok: true, ...handed } };
      }
    }
  }

  /** Dedupes and publishes one accepted event or command; answers what the response body should add. */
  async #handOn(
    accepted: Pick<WebhookEvent, 'name' | 'event' | 'deliveryId' | 'source' | 'payload'> & {
      action?: string;
    },
    context: SinkContext,
  ): Promise<Record<string, unknown>> {
    const event: WebhookEvent = {
      provider: 'slack',
      ...accepted,
      correlationId: context.correlationId,
      receivedAt: new Date(this.#now()).toISOString(),
    };
    const sink = this.#receiving.sinkOr(context.logger);
    const outcome = await handOn(event, {
      ledger: this.#receiving.requireLedger(),
      sink,
      logger: context.logger,
    });
    if (outcome.status === 'duplicate') return { duplicate: true };
    return outcome.durable
      ? {}
      : {
          warning:
            'No SLACK_EVENTS_QUEUE_URL or SLACK_EVENTS_STATE_MACHINE_ARN is configured: the event was logged, not handed on',
        };
  }

  /**
   * `POST /slack/commands`: hands the slash command on (once per signed request) and answers an ephemeral message (only the
   * invoking user sees it) acknowledging it.
   *
   * @example
   * ```ts
   * route({ method: 'POST', path: '/slack/commands', auth: 'signature', handle: (r, c) => receiver.handleCommand(r, c) });
   * ```
   */
  async handleCommand(request: RouteRequest, context: SinkContext): Promise<RouteResponse> {
    await this.verify(request);
    if (!FORM.test(request.headers['content-type'] ?? '')) {
      throw new UnsupportedMediaTypeError('Slash commands are sent as application/x-www-form-urlencoded');
    }
    const form = Object.fromEntries(new URLSearchParams(request.rawBody.toString('utf8')));
    const payload = parseInput(SlashCommandPayload, form);
    const record: SlackCommandRecord = {
      command: payload.command,
      text: payload.text,
      teamId: payload.team_id,
      channelId: payload.channel_id,
      userId: payload.user_id,
      responseUrl: payload.response_url,
      triggerId: payload.trigger_id,
    };
    // A command has no id of its own: its signature (over timestamp and body) identifies a replay.
    const signature = header(request, 'x-slack-signature') ?? '';
    await this.#handOn(
      {
        name: 'command-received',
        event: 'slash_command',
        action: record.command.replace(/^\//, ''),
        deliveryId: `command-${createHash('sha256').update(signature).digest('hex').slice(0, 40)}`,
        source: record.teamId,
        payload: record,
      },
      context,
    );
    return { status: 200, body: { response_type: 'ephemeral', text: this.#acknowledge(record) } };
  }
}
