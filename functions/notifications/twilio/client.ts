/**
 * Twilio Programmable Messaging as data for the core's REST kit, and the calls the operations make: the
 * only file that talks to Twilio. Basic auth with the Account SID and auth token (or an API key SID and
 * secret) from one JSON secret; form-encoded request bodies; `{ code, message, more_info, status }` error
 * bodies mapped by the table in `errors.ts`; pages followed through `next_page_uri`.
 */
import {
  type AuthTarget,
  defineRestProvider,
  type PageQuery,
  type PaginationStyle,
  parseInput,
  type RequestAuth,
  type RestClient,
  type Secret,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import { refuseCapability, requireCapability } from '#shared/interfaces/capabilities.ts';
import type { Notifier, NotifierCapability } from '#shared/interfaces/notifier.ts';
import type {
  FindUserByEmailInput,
  ListChannelsInput,
  ListChannelsOutput,
  NotifierUser,
  PostMessageOutput,
  UpdateMessageInput,
  UpdateMessageOutput,
} from '#shared/models/notifier.ts';
import { NOT_WELL_FORMED } from '#shared/models/paths.ts';
import { TWILIO_ERRORS } from './errors.ts';
import {
  type ListMessagesInput,
  MAX_BODY,
  type Message,
  MessageAnswer,
  type MessagePage,
  MessagePageAnswer,
  type MessageRef,
  PostSmsInput,
  type SendMessageInput,
} from './models.ts';

/** The JSON of the credentials secret. */
export const TwilioCredentials = z.lazy(() =>
  z
    .object({
      accountSid: z.string().regex(/^AC[0-9a-f]{32}$/, 'must be an Account SID (AC and 32 hex digits)'),
      authToken: z.string().min(1).optional(),
      apiKeySid: z
        .string()
        .regex(/^SK[0-9a-f]{32}$/, 'must be an API key SID (SK...)')
        .optional(),
      apiKeySecret: z.string().min(1).optional(),
    })
    .refine((value) => value.authToken !== undefined || (value.apiKeySid && value.apiKeySecret), {
      message: 'needs authToken, or apiKeySid with apiKeySecret',
    }),
);
export type TwilioCredentials = z.output<typeof TwilioCredentials>;

/** Reads the credentials secret; a bad shape is a ConfigurationError naming fields, never values. */
export function readTwilioCredentials(secret: Secret): Promise<TwilioCredentials> {
  // A secret of the wrong shape is the core's ConfigurationError naming the secret; anything else (Secrets
  // Manager throttled or unreachable) stays what it is, retryable.
  return secret.json(TwilioCredentials);
}

/**
 * Basic auth: the API key pair when the secret has one, else Account SID and auth token; re-read after a
 * 401/403, and sent again only when the secret now holds other credentials than the refused request
 * carried. Twilio refuses with codes that are not about credentials (21408 Geo Permissions, 21608 a trial
 * account's unverified number; https://www.twilio.com/docs/api/errors), which the same credentials would
 * only meet again; a send is no idempotent call to repeat for nothing. Those rows of `errors.ts` say
 * `credentialFailure: false`, so the core does not even re-read the secret for them.
 */
export function twilioAuth(secret: Secret): RequestAuth {
  const header = async () => {
    const c = await readTwilioCredentials(secret);
    const pair =
      c.apiKeySid === undefined ? `${c.accountSid}:${c.authToken}` : `${c.apiKeySid}:${c.apiKeySecret}`;
    return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
  };
  return {
    async apply(request) {
      request.headers['authorization'] = await header();
    },
    // `refused` is the request as sent (compared with it rather than with the cache before the re-read,
    // which a concurrent invocation may already have refreshed); without it, one retry as before.
    async refresh(refused?: AuthTarget) {
      await secret.refresh();
      return refused === undefined || (await header()) !== refused.headers['authorization'];
    },
  };
}

const PAGE_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
const invalidCursor = () =>
  new ValidationError('cursor is not one this connector issued', [
    { pointer: '/cursor', message: 'expected the nextCursor of a previous page' },
  ]);

/**
 * Twilio's 400 `Invalid PageToken` (code 21481, a row of the error table; a cursor of a list with other
 * filters, or one Twilio no longer knows) as a refusal of the input's `cursor` only; any other error as it is.
 */
function refusedCursor(error: unknown): unknown {
  if (!(error instanceof ValidationError) || !/\bpage ?token\b/i.test(error.message)) return error;
  return new ValidationError(
    error.message,
    [
      {
        pointer: '/cursor',
        message:
          'Twilio does not accept this cursor: pass it back with the same filters (to, from, dateSent) as the page that gave it',
      },
    ],
    { cause: error, ...(error.details === undefined ? {} : { details: error.details }) },
  );
}

/**
 * Twilio's paging: an answer's `next_page_uri` carries `Page` and `PageToken`; the cursor keeps those two
 * (nothing else from the URI can be smuggled back) and the filters of the first page stay as sent.
 */
export const nextPageUri: PaginationStyle = {
  name: 'next-page-uri',
  query(first: PageQuery, cursor: string | undefined): PageQuery {
    if (cursor === undefined) return first;
    const [page, token] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
    if (page === undefined || !/^\d{1,6}$/.test(page) || token === undefined || !PAGE_TOKEN.test(token)) {
      throw invalidCursor();
    }
    return { ...first, Page: page, PageToken: token };
  },
  next({ body }) {
    const uri = (body as { next_page_uri?: unknown }).next_page_uri;
    if (typeof uri !== 'string' || uri === '') return {};
    const params = new URL(uri, 'https://api.twilio.com').searchParams;
    const page = params.get('Page') ?? '';
    const token = params.get('PageToken') ?? '';
    if (!/^\d{1,6}$/.test(page) || !PAGE_TOKEN.test(token)) return {};
    return { nextCursor: Buffer.from(`${page}:${token}`).toString('base64url'), nextPage: Number(page) };
  },
};

/** Twilio as data; its settings are `TWILIO_API_URL`, `TWILIO_TIMEOUT_MS`, ... */
export const twilioApi = defineRestProvider({
  name: 'Twilio',
  settingsPrefix: 'TWILIO',
  baseUrl: 'https://api.twilio.com',
  baseUrlNote: 'a region edge such as `https://api.dublin.ie1.twilio.com`',
  auth: { kind: 'basic' },
  // Failed answers carry `{ code, message, more_info, status }` with a numeric code.
  errors: { codeIn: 'body', codeField: 'code', rows: TWILIO_ERRORS },
  pagination: nextPageUri,
});

function toMessage(answer: MessageAnswer): Message {
  const segments = answer.num_segments == null ? null : Number.parseInt(answer.num_segments, 10);
  return {
    sid: answer.sid,
    to: answer.to,
    from: answer.from,
    messagingServiceSid: answer.messaging_service_sid ?? null,
    body: answer.body,
    status: answer.status,
    direction: answer.direction,
    segments: Number.isNaN(segments) ? null : segments,
    errorCode: answer.error_code ?? null,
    errorMessage: answer.error_message ?? null,
    createdAt: answer.date_created,
    sentAt: answer.date_sent ?? null,
    price: answer.price ?? null,
    priceUnit: answer.price_unit ?? null,
  };
}

/** The default sender of messages without `from` or `messagingServiceSid` (settings). */
export interface TwilioSender {
  from?: string | undefined;
  messagingServiceSid?: string | undefined;
  statusCallback?: string | undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const SMS_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** A ValidationError naming `pointer` in the SMS text. */
function badBody(pointer: string, message: string): ValidationError {
  return new ValidationError(`The SMS text at ${pointer} ${message}`, [{ pointer, message }]);
}

/**
 * Refuses, before any call, an SMS body Twilio would refuse or garble:
 * - over 1600 characters as Twilio counts them: UTF-16 code units, so an emoji (a character outside the
 *   Basic Multilingual Plane) counts 2 (Twilio error 21617: "emojis ... will be counted as multiple
 *   characters"); the schema's maxLength, in code points, lets such a body through;
 * - a lone surrogate (half an emoji, from text cut with `slice`): the form encoding would send U+FFFD;
 * - a control character other than tab, LF and CR (NUL, ESC, DEL, ...): no SMS encoding (GSM-7 or UCS-2 as
 *   carriers deliver it) carries one, so it cannot be delivered.
 */
export function checkSmsBody(body: string, pointer: string): void {
  if (body.length > MAX_BODY) {
    throw badBody(
      pointer,
      `is ${body.length} characters as Twilio counts them (an emoji counts 2); Twilio takes at most ${MAX_BODY}`,
    );
  }
  if (!body.isWellFormed()) throw badBody(pointer, NOT_WELL_FORMED);
  const found = SMS_CONTROL.exec(body);
  if (found === null) return;
  const code = `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  throw new ValidationError(`The SMS text at ${pointer} contains the control character ${code}`, [
    {
      pointer,
      message: `contains the control character ${code} at index ${found.index}; only tab, LF and CR are allowed`,
    },
  ]);
}

/**
 * Twilio's calls on parsed input, and the notifier interface (post only: SMS has no threads, blocks,
 * edits, channel list or user lookup). Sending is a POST without an idempotency key at Twilio, so it is
 * sent once; reads are retried by the core.
 *
 * @example
 * ```ts
 * const api = new TwilioApi(twilioApi.client({ auth: twilioAuth(secret) }), secret, { from: '+15005550006' });
 * const { sid } = await api.sendMessage({ to: '+15558675310', body: 'Disk full on db-1' });
 * ```
 */
export class TwilioApi implements Notifier {
  readonly capabilities: ReadonlySet<NotifierCapability> = new Set();
  readonly #rest: RestClient;
  readonly #secret: Secret;
  readonly #sender: TwilioSender;

  constructor(rest: RestClient, secret: Secret, sender: TwilioSender = {}) {
    this.#rest = rest;
    this.#secret = secret;
    this.#sender = sender;
  }

  async #account(): Promise<string> {
    return `/2010-04-01/Accounts/${(await readTwilioCredentials(this.#secret)).accountSid}`;
  }

  async sendMessage(input: SendMessageInput): Promise<Message> {
    checkSmsBody(input.body, '/body');
    const from = input.from ?? (input.messagingServiceSid === undefined ? this.#sender.from : undefined);
    const service =
      input.messagingServiceSid ?? (from === undefined ? this.#sender.messagingServiceSid : undefined);
    if (from === undefined && service === undefined) {
      throw new ValidationError('Give from or messagingServiceSid (no default sender is configured)', [
        { pointer: '/from', message: 'required without messagingServiceSid or TWILIO_FROM_NUMBER' },
      ]);
    }
    const form = new URLSearchParams({ To: input.to, Body: input.body });
    if (from !== undefined) form.set('From', from);
    if (service !== undefined) form.set('MessagingServiceSid', service);
    const callback = input.statusCallback ?? this.#sender.statusCallback;
    if (callback !== undefined) form.set('StatusCallback', callback);
    const answer = await this.#rest.post(`${await this.#account()}/Messages.json`, MessageAnswer, {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      what: 'a created message',
    });
    return toMessage(answer);
  }

  async getMessage(input: MessageRef): Promise<Message> {
    const answer = await this.#rest.get(
      `${await this.#account()}/Messages/${input.sid}.json`,
      MessageAnswer,
      {
        what: 'a message',
        notFound: `Twilio message ${input.sid}`,
      },
    );
    return toMessage(answer);
  }

  async listMessages(input: ListMessagesInput): Promise<MessagePage> {
    const account = await this.#account();
    const page = await this.#rest
      .list(`${account}/Messages.json`, MessagePageAnswer, {
        query: { To: input.to, From: input.from, DateSent: input.dateSent, PageSize: input.pageSize },
        cursor: input.cursor,
        what: 'the messages',
        items: (answer) => answer.messages.map(toMessage),
      })
      .catch((error: unknown) => {
        throw input.cursor === undefined ? error : refusedCursor(error);
      });
    return page.nextCursor === undefined
      ? { messages: page.items }
      : { messages: page.items, nextCursor: page.nextCursor };
  }

  /** The notifier's post: an SMS to `channel` (E.164); blocks and threads are refused with a 501. */
  async postMessage(input: PostSmsInput): Promise<PostMessageOutput> {
    const parsed = parseInput(PostSmsInput, input);
    if (parsed.blocks !== undefined) requireCapability(this, 'blocks', 'Twilio SMS');
    if (parsed.threadTs !== undefined) requireCapability(this, 'threads', 'Twilio SMS');
    checkSmsBody(parsed.text ?? '', '/text');
    const sent = await this.sendMessage({ to: parsed.channel, body: parsed.text ?? '' });
    return { channel: sent.to, ts: sent.sid };
  }

  async updateMessage(_input: UpdateMessageInput): Promise<UpdateMessageOutput> {
    return refuseCapability(this, 'update', 'Twilio SMS');
  }

  async listChannels(_input?: ListChannelsInput): Promise<ListChannelsOutput> {
    return refuseCapability(this, 'channels', 'Twilio SMS');
  }

  async findUserByEmail(_input: FindUserByEmailInput): Promise<NotifierUser> {
    return refuseCapability(this, 'user-lookup', 'Twilio SMS');
  }

  /** The cheapest authenticated call: the account's first message, proving credentials and URL. */
  async ping(): Promise<void> {
    await this.#rest.get(`${await this.#account()}/Messages.json`, MessagePageAnswer, {
      query: { PageSize: 1 },
    });
  }

  close(): void {
    this.#rest.close();
  }
}
