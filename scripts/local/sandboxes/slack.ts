/**
 * A contract fake of the Slack Web API on 127.0.0.1, following Slack's published method reference, for the
 * Slack connector's tests, the workflow suites and the local stack.
 *
 * What it speaks (`POST` or `GET` `<url>/<method>`, e.g. `http://127.0.0.1:PORT/api/chat.postMessage`):
 * - methods `auth.test`, `chat.postMessage`, `chat.update`, `conversations.list`, `users.lookupByEmail`;
 *   any other method answers `unknown_method`;
 * - every answer is HTTP 200 `application/json; charset=utf-8` with `{ ok: true, ... }` or
 *   `{ ok: false, error: '<code>' }`, as Slack does (auth failures included: `not_authed` without a token,
 *   `invalid_auth` for a token it does not know);
 * - the token from `Authorization: Bearer <token>`, or the `token` argument of a form-encoded body or the
 *   query string; a JSON body cannot carry the token (Slack ignores it there);
 * - arguments from the query string and from the body: `application/x-www-form-urlencoded` (JSON-valued
 *   arguments such as `blocks` as strings) or `application/json` (where Slack accepts it: not for
 *   `users.lookupByEmail`, which answers `invalid_post_type`). A JSON body without `charset` still works but
 *   gets the `missing_charset` warning (`warning` and `response_metadata.warnings`); an unknown charset is
 *   `invalid_charset`, a body without content-type `missing_post_type`, bad JSON `invalid_json`
 *   (`multipart/form-data` and `text/plain` bodies are not modelled: `invalid_post_type`);
 * - errors by method: `channel_not_found`, `not_in_channel`, `is_archived`, `no_text`, `msg_too_long`
 *   (over 40 000 characters; the fake counts code points, an emoji as one), `invalid_blocks` (also a section text over 3 000 characters) / `invalid_blocks_format`, `message_not_found`,
 *   `cant_update_message` (a message someone else posted), `users_not_found`, `invalid_cursor`,
 *   `invalid_limit` (not 1..1000), `invalid_types`, `invalid_arguments`. One strictness of its own:
 *   a reply whose `thread_ts` names no message in the channel answers `thread_not_found`;
 * - `conversations.list` pages with `limit` (default 100) and an opaque `cursor`; the next one is in
 *   `response_metadata.next_cursor`, `""` on the last page.
 *
 * Seed data (override with options): workspace `T0CIRCLE`, bot user `U0BOT` / bot `B0BOT`, token
 * {@link DEFAULT_SLACK_TOKEN}; channels `C0GENERAL` (#general), `C0RANDOM`, `C0ALERTS`, private
 * `G0PRIVATE`, archived `C0ARCHIVE`, `C0OUTSIDE` (the bot is not a member); users `U0ALICE`
 * (alice@example.com) and `U0BOB`; one message by Alice in #general, ts {@link SEED_MESSAGE_TS}.
 *
 * For tests:
 * - `fake.failNext(method, fault)` queues a fault for the next call of `method` (`'*'`: any method):
 *   `{ error }` an `ok: false` answer, `{ status }` an HTTP status (5xx get a JSON `internal_error` body, 503 `service_unavailable`),
 *   `{ retryAfter }` HTTP 429 `ratelimited` with `Retry-After` seconds, `{ body, contentType }` a raw
 *   answer (a string is sent as `text/html` unless told), `{ hang: true }` no answer at all (until
 *   `close()`), `{ delayMs }` a slow but normal answer. The faulted call is still recorded.
 * - `fake.inject(method, fault)` queues one of the contract-fake kit's faults (`./kit/faults.ts`) for
 *   `method` (`'*'`: any): besides the error kinds (rendered as Slack answers them: `invalid_auth`,
 *   `missing_scope`, `channel_not_found`, 429 `ratelimited`, 5xx `internal_error`), a malformed, wrong-shaped
 *   or oversized answer, a hang or a dropped connection.
 * - `fake.requests` lists every call received (method, HTTP method, lower-cased headers, parsed args,
 *   token); `fake.messages` the stored messages; `fake.tokens` the accepted tokens (replace them to
 *   simulate a rotation); `fake.channels` and `fake.users` the seed, mutable.
 *
 * @example
 * ```ts
 * const slack = await startSlackFake();
 * process.env.SLACK_API_URL = slack.url;
 * slack.failNext('conversations.list', { retryAfter: 1 });
 * // ... run the code under test ...
 * expect(slack.requests.map((r) => r.method)).toEqual(['conversations.list', 'conversations.list']);
 * await slack.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import {
  type ErrorDialect,
  type FakeRequest,
  type Fault,
  type FaultTarget,
  json,
  type Answer as KitAnswer,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** The bot token the fake accepts unless told otherwise. */
export const DEFAULT_SLACK_TOKEN = 'xoxb-circle-fake-token';
/** The ts of the seeded message (posted by Alice in #general, so the bot cannot update it). */
export const SEED_MESSAGE_TS = '1700000000.000100';

export interface SlackFakeChannel {
  id: string;
  /** Absent for direct messages. */
  name?: string;
  isPrivate?: boolean;
  isArchived?: boolean;
  /** Whether the bot is a member (default true). */
  isMember?: boolean;
  isIm?: boolean;
  isMpim?: boolean;
  isGeneral?: boolean;
  /** For direct messages: the other user. */
  user?: string;
  topic?: string;
  purpose?: string;
  numMembers?: number;
}

export interface SlackFakeUser {
  id: string;
  name: string;
  realName?: string;
  displayName?: string;
  email?: string;
  isBot?: boolean;
  deleted?: boolean;
}

export interface SlackFakeMessage {
  channel: string;
  ts: string;
  user: string;
  botId?: string;
  text?: string;
  blocks?: unknown[];
  threadTs?: string;
  unfurlLinks?: boolean;
  unfurlMedia?: boolean;
  edited?: { user: string; ts: string };
}

export interface SlackFakeRequest {
  /** The Slack method, e.g. `chat.postMessage`. */
  method: string;
  httpMethod: string;
  /** Lower-cased header names, as received (the authorization header included: this is a test double). */
  headers: Record<string, string>;
  contentType: string | undefined;
  bodyKind: 'json' | 'form' | 'none' | 'other';
  /** Query and body arguments merged (body wins). */
  args: Record<string, unknown>;
  token: string | undefined;
  rawBody: string;
}

export interface SlackFault {
  /** Answer `{ ok: false, error }` (HTTP 200 unless `status` says otherwise). */
  error?: string;
  /** HTTP status of the answer. */
  status?: number;
  /** Seconds for `Retry-After`; alone it means HTTP 429 `ratelimited`. */
  retryAfter?: number;
  /** A raw answer: a string as is, an object as JSON. */
  body?: string | Record<string, unknown>;
  /** Content type of a string `body` (default `text/html; charset=utf-8`). */
  contentType?: string;
  headers?: Record<string, string>;
  /** Never answer (the socket stays open until the client gives up or the fake closes). */
  hang?: boolean;
  /** Answer normally, this much later. */
  delayMs?: number;
}

export interface SlackFakeOptions {
  /** Default 0: an ephemeral port (tests); the local stack may pin one. */
  port?: number;
  /** Called with the HTTP server before it listens (the local stack's Host/Origin gate). */
  prepare?: StartOptions['prepare'];
  tokens?: string[];
  channels?: SlackFakeChannel[];
  users?: SlackFakeUser[];
  messages?: SlackFakeMessage[];
}

export interface SlackFake {
  /** Base URL of the Web API, e.g. `http://127.0.0.1:41234/api`; methods are `<url>/<method>`. */
  url: string;
  requests: SlackFakeRequest[];
  messages: SlackFakeMessage[];
  channels: SlackFakeChannel[];
  users: SlackFakeUser[];
  /** Tokens that authenticate; replace the contents to simulate a rotation or a revocation. */
  tokens: Set<string>;
  /** Queues a fault for the next call of `method` (`'*'` for any method). */
  failNext(method: string, fault: SlackFault): void;
  /** Queues a kit fault (malformed, wrong-shape, oversized, throttled, ...) for `method` (`'*'`: any). */
  inject(method: string, fault: Fault, target?: Omit<FaultTarget, 'route' | 'when'>): void;
  /** The recorded calls of one method. */
  requestsFor(method: string): SlackFakeRequest[];
  /** The stored message `ts` in `channel`. */
  message(channel: string, ts: string): SlackFakeMessage | undefined;
  /** Forgets requests and pending faults, and restores the seeded messages, channels, users and tokens. */
  reset(): void;
  close(): Promise<void>;
}

const TEAM = { id: 'T0CIRCLE', name: 'Circle Test', domain: 'circle-test' };
const BOT = { userId: 'U0BOT', botId: 'B0BOT', name: 'circle-bot' };

export function seedChannels(): SlackFakeChannel[] {
  return [
    { id: 'C0GENERAL', name: 'general', isGeneral: true, topic: 'Company-wide announcements', numMembers: 4 },
    { id: 'C0RANDOM', name: 'random', numMembers: 3 },
    { id: 'C0ALERTS', name: 'alerts', topic: 'Pager alerts', numMembers: 2 },
    { id: 'G0PRIVATE', name: 'ops-private', isPrivate: true, numMembers: 2 },
    { id: 'C0ARCHIVE', name: 'old-archive', isArchived: true, isMember: false, numMembers: 0 },
    { id: 'C0OUTSIDE', name: 'outside', isMember: false, numMembers: 5 },
  ];
}

export function seedUsers(): SlackFakeUser[] {
  return [
    {
      id: 'U0ALICE',
      name: 'alice',
      realName: 'Alice Example',
      displayName: 'alice',
      email: 'alice@example.com',
    },
    { id: 'U0BOB', name: 'bob', realName: 'Bob Example', email: 'bob@example.com' },
    { id: BOT.userId, name: BOT.name, realName: 'Circle Bot', isBot: true },
  ];
}

export function seedMessages(): SlackFakeMessage[] {
  return [{ channel: 'C0GENERAL', ts: SEED_MESSAGE_TS, user: 'U0ALICE', text: 'Welcome to #general' }];
}

/** Arguments a method handler reads; every value may be a string (form, query) or JSON. */
type Args = Record<string, unknown>;
type Answer = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

class SlackError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(code);
    this.code = code;
  }
}

function fail(code: string): never {
  throw new SlackError(code);
}

function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function asBoolean(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** Slack's limits, in characters (code points: an emoji is one, not its two UTF-16 units). */
const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
/** Block Kit reference, section block: `text` at most 3 000 characters. */
const MAX_SECTION_TEXT = 3_000;

const characters = (text: string): number => [...text].length;

/** Whether a section block's text is over Slack's 3 000 characters. */
function sectionTooLong(block: unknown): boolean {
  const { type, text } = block as { type: string; text?: { text?: unknown } };
  return type === 'section' && typeof text?.text === 'string' && characters(text.text) > MAX_SECTION_TEXT;
}

/** Blocks as Slack checks them at the outer level: an array of at most 50 objects with a string type. */
function parseBlocks(value: unknown): unknown[] | undefined {
  if (value === undefined || value === '') return undefined;
  let blocks: unknown = value;
  if (typeof value === 'string') {
    try {
      blocks = JSON.parse(value);
    } catch {
      fail('invalid_blocks_format');
    }
  }
  if (!Array.isArray(blocks)) fail('invalid_blocks_format');
  const valid = blocks.every(
    (block) =>
      typeof block === 'object' &&
      block !== null &&
      typeof (block as { type?: unknown }).type === 'string' &&
      (block as { type: string }).type !== '',
  );
  if (!valid || blocks.length > MAX_BLOCKS || blocks.some(sectionTooLong)) fail('invalid_blocks');
  return blocks;
}

/** The entries of `value` that are not undefined (exactOptionalPropertyTypes forbids explicit undefined). */
function defined<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter((entry) => entry[1] !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

function encodeCursor(id: string): string {
  return Buffer.from(`channel:${id}`).toString('base64');
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64').toString('utf8');
  if (!decoded.startsWith('channel:') || decoded.length <= 'channel:'.length) fail('invalid_cursor');
  return decoded.slice('channel:'.length);
}

function channelJson(channel: SlackFakeChannel): Record<string, unknown> {
  if (channel.isIm === true) {
    return {
      id: channel.id,
      created: 1_600_000_000,
      is_im: true,
      is_org_shared: false,
      user: channel.user,
      is_user_deleted: false,
      priority: 0,
    };
  }
  const isPrivate = channel.isPrivate === true || channel.isMpim === true;
  return {
    id: channel.id,
    name: channel.name,
    name_normalized: channel.name,
    is_channel: !isPrivate,
    is_group: isPrivate,
    is_im: false,
    is_mpim: channel.isMpim === true,
    is_private: isPrivate,
    created: 1_600_000_000,
    creator: 'U0ALICE',
    is_archived: channel.isArchived === true,
    is_general: channel.isGeneral === true,
    unlinked: 0,
    is_shared: false,
    is_ext_shared: false,
    is_org_shared: false,
    pending_shared: [],
    is_pending_ext_shared: false,
    is_member: channel.isMember !== false,
    topic: { value: channel.topic ?? '', creator: '', last_set: 0 },
    purpose: { value: channel.purpose ?? '', creator: '', last_set: 0 },
    previous_names: [],
    num_members: channel.numMembers ?? 0,
  };
}

function channelType(channel: SlackFakeChannel): string {
  if (channel.isIm === true) return 'im';
  if (channel.isMpim === true) return 'mpim';
  return channel.isPrivate === true ? 'private_channel' : 'public_channel';
}

/** Slack's 429 and 5xx answers, the only ones that are not HTTP 200. */
const ratelimited = (status = 429): KitAnswer => ({ status, json: { ok: false, error: 'ratelimited' } });
const outage = (status: number): KitAnswer => ({
  status,
  json: { ok: false, error: status === 503 ? 'service_unavailable' : 'internal_error' },
});

const SCOPES = 'chat:write,channels:read,groups:read,users:read,users:read.email';
/** The scope each method needs, for `missing_scope`. */
const NEEDED_SCOPE: Readonly<Record<string, string>> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'conversations.list': 'channels:read',
  'users.lookupByEmail': 'users:read.email',
};
/** The not-found code each method answers. */
const NOT_FOUND: Readonly<Record<string, string>> = {
  'chat.update': 'message_not_found',
  'users.lookupByEmail': 'users_not_found',
};

/** The Web API method a request calls (GET or POST `/api/<method>`), undefined for anything else. */
function slackMethodOf(request: FakeRequest): string | undefined {
  return request.route === undefined ? undefined : /^\/api\/([\w.]+)$/.exec(request.path)?.[1];
}

/**
 * The kit's error kinds as Slack answers them: `ok: false` with HTTP 200 and the code the method uses,
 * except throttling (429 `ratelimited`) and outages (5xx).
 */
const slackErrors: ErrorDialect = (kind, { status, request }) => {
  const method = slackMethodOf(request) ?? '';
  const okFalse = (error: string, extra: Record<string, unknown> = {}): KitAnswer =>
    json(200, { ok: false, error, ...extra });
  switch (kind) {
    case 'unauthorized':
      return okFalse('invalid_auth');
    case 'forbidden':
      return okFalse('missing_scope', { needed: NEEDED_SCOPE[method] ?? 'chat:write', provided: SCOPES });
    case 'not-found':
      return okFalse(NOT_FOUND[method] ?? 'channel_not_found');
    case 'conflict':
      return okFalse(method === 'chat.update' ? 'is_inactive' : 'is_archived');
    case 'throttled':
      return ratelimited(status);
    default:
      return outage(status);
  }
};

/** What a {@link SlackFault} answers instead of the method, or undefined when it leaves the answer alone. */
function faultAnswer(fault: SlackFault): KitAnswer | undefined {
  const headers: Record<string, string> = { ...fault.headers };
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  const status = fault.status ?? (fault.retryAfter !== undefined ? 429 : 200);
  if (typeof fault.body === 'string') {
    return {
      status,
      headers,
      body: fault.body,
      contentType: fault.contentType ?? 'text/html; charset=utf-8',
    };
  }
  if (fault.body !== undefined) return { status, headers, json: fault.body };
  if (fault.error !== undefined) return { status, headers, json: { ok: false, error: fault.error } };
  if (status === 429) return { ...ratelimited(), headers };
  if (status >= 500) return { ...outage(status), headers };
  return undefined;
}

/** A {@link SlackFault} as a kit fault. */
function kitFault(fault: SlackFault): Fault {
  if (fault.hang === true) return { kind: 'hang' };
  const answer = faultAnswer(fault);
  return answer === undefined ? { kind: 'slow', delayMs: 0 } : { kind: 'answer', answer };
}

/** A POST body's media type and charset, as Slack checks them. */
function parseContentType(header: string | undefined): { type: string; charset: string | undefined } {
  if (header === undefined) fail('missing_post_type');
  const [type = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  const charset = params.find((param) => param.startsWith('charset='))?.slice('charset='.length);
  if (charset !== undefined && !['utf-8', 'utf8', 'iso-8859-1'].includes(charset)) fail('invalid_charset');
  return { type, charset };
}

/** A JSON body's arguments. Slack does not read the token from a JSON body, so it is dropped. */
function readJsonBody(raw: string): Args {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    fail('invalid_json');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('json_not_object');
  const { token: _ignored, ...rest } = json as Args;
  return rest;
}

/** Methods that do not read JSON bodies (their reference lists no application/json). */
const FORM_ONLY = new Set(['users.lookupByEmail']);

/** Reads the arguments as Slack does; throws a SlackError for a body it would refuse. */
function readArgs(
  method: string,
  request: FakeRequest,
): { args: Args; kind: SlackFakeRequest['bodyKind']; warnings: string[] } {
  const query: Args = { ...request.query };
  const raw = request.rawBody;
  if (request.method !== 'POST' || raw.length === 0) return { args: query, kind: 'none', warnings: [] };
  const { type, charset } = parseContentType(request.headers['content-type']);
  if (type === 'application/x-www-form-urlencoded') {
    return {
      args: { ...query, ...Object.fromEntries(new URLSearchParams(raw)) },
      kind: 'form',
      warnings: [],
    };
  }
  if (type !== 'application/json' || FORM_ONLY.has(method)) fail('invalid_post_type');
  return {
    args: { ...query, ...readJsonBody(raw) },
    kind: 'json',
    warnings: charset === undefined ? ['missing_charset'] : [],
  };
}

/**
 * The token as Slack reads it: `Authorization: Bearer`, else the `token` argument of a form body or the
 * query string (never of a JSON body).
 */
function slackToken(request: FakeRequest): string | undefined {
  const header = request.headers['authorization'];
  if (header !== undefined) return /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
  if (request.method === 'POST' && request.rawBody.length > 0) {
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return undefined;
    return new URLSearchParams(request.rawBody).get('token') ?? request.query['token'];
  }
  return request.query['token'];
}

/** What `fake.requests` keeps of a call before its body is interpreted. */
function recordOf(method: string, request: FakeRequest): SlackFakeRequest {
  return {
    method,
    httpMethod: request.method,
    headers: request.headers,
    contentType: request.headers['content-type'],
    bodyKind: request.rawBody.length === 0 ? 'none' : 'other',
    args: { ...request.query },
    token: undefined,
    rawBody: request.rawBody,
  };
}

/** The workspace a fake serves. */
interface SlackState {
  messages: SlackFakeMessage[];
  channels: SlackFakeChannel[];
  users: SlackFakeUser[];
  tokens: Set<string>;
}

/** The Web API methods over `state`. */
function slackMethods(state: SlackState, nextTs: () => string): Record<string, (args: Args) => Answer> {
  const findChannel = (reference: unknown): SlackFakeChannel => {
    const text = asString(reference)?.trim() ?? '';
    if (text === '') fail('channel_not_found');
    const byId = state.channels.find((channel) => channel.id === text);
    if (byId !== undefined) return byId;
    const name = text.replace(/^#/, '');
    const byName = state.channels.find((channel) => channel.name === name && channel.isIm !== true);
    if (byName !== undefined) return byName;
    // A user id opens (or reuses) the direct message channel with that user.
    const user = state.users.find((candidate) => candidate.id === text && candidate.deleted !== true);
    if (user === undefined) fail('channel_not_found');
    let im = state.channels.find((channel) => channel.isIm === true && channel.user === user.id);
    if (im === undefined) {
      im = { id: `D${user.id.slice(1)}`, isIm: true, user: user.id };
      state.channels.push(im);
    }
    return im;
  };

  /** The parent ts of a reply; a reply to a reply joins the parent's thread, as Slack does. */
  const threadOf = (channel: SlackFakeChannel, value: unknown): string | undefined => {
    const threadTs = asString(value);
    if (threadTs === undefined || threadTs === '') return undefined;
    const parent = state.messages.find((m) => m.channel === channel.id && m.ts === threadTs);
    if (parent === undefined) fail('thread_not_found');
    return parent.threadTs ?? parent.ts;
  };

  const content = (args: Args): { text: string | undefined; blocks: unknown[] | undefined } => {
    const text = asString(args['text']);
    const blocks = parseBlocks(args['blocks']);
    if ((text === undefined || text === '') && blocks === undefined) fail('no_text');
    if (text !== undefined && characters(text) > MAX_TEXT) fail('msg_too_long');
    return { text: text === '' ? undefined : text, blocks };
  };

  const messageJson = (message: SlackFakeMessage): Record<string, unknown> => {
    const json: Record<string, unknown> = {
      type: 'message',
      text: message.text ?? '',
      user: message.user,
      ts: message.ts,
      team: TEAM.id,
    };
    if (message.botId !== undefined) Object.assign(json, { bot_id: message.botId, app_id: 'A0CIRCLE' });
    if (message.blocks !== undefined) json['blocks'] = message.blocks;
    if (message.threadTs !== undefined) json['thread_ts'] = message.threadTs;
    if (message.edited !== undefined) json['edited'] = message.edited;
    return json;
  };

  return {
    'auth.test': () => ({
      ok: true,
      url: `https://${TEAM.domain}.slack.com/`,
      team: TEAM.name,
      user: BOT.name,
      team_id: TEAM.id,
      user_id: BOT.userId,
      bot_id: BOT.botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const channel = findChannel(args['channel']);
      if (channel.isArchived === true) fail('is_archived');
      if (channel.isIm !== true && channel.isMember === false) fail('not_in_channel');
      const { text, blocks } = content(args);
      const message: SlackFakeMessage = {
        channel: channel.id,
        ts: nextTs(),
        user: BOT.userId,
        botId: BOT.botId,
        ...defined({
          text,
          blocks,
          threadTs: threadOf(channel, args['thread_ts']),
          unfurlLinks: asBoolean(args['unfurl_links']),
          unfurlMedia: asBoolean(args['unfurl_media']),
        }),
      };
      state.messages.push(message);
      return { ok: true, channel: channel.id, ts: message.ts, message: messageJson(message) };
    },

    'chat.update': (args) => {
      const channel = findChannel(args['channel']);
      const ts = asString(args['ts']) ?? '';
      const message = state.messages.find((m) => m.channel === channel.id && m.ts === ts);
      if (message === undefined) fail('message_not_found');
      if (message.user !== BOT.userId) fail('cant_update_message');
      if (channel.isArchived === true) fail('is_inactive');
      const { text, blocks } = content(args);
      if (text === undefined) delete message.text;
      else message.text = text;
      if (blocks === undefined) delete message.blocks;
      else message.blocks = blocks;
      message.edited = { user: BOT.userId, ts: nextTs() };
      return {
        ok: true,
        channel: channel.id,
        ts: message.ts,
        text: message.text ?? '',
        message: messageJson(message),
      };
    },

    'conversations.list': (args) => {
      const typesArg = asString(args['types']) ?? 'public_channel';
      const types = typesArg.split(',').map((type) => type.trim());
      const known = ['public_channel', 'private_channel', 'mpim', 'im'];
      if (types.some((type) => !known.includes(type))) fail('invalid_types');
      const limitArg = args['limit'];
      const limit = limitArg === undefined || limitArg === '' ? 100 : Number(limitArg);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) fail('invalid_limit');
      const excludeArchived = asBoolean(args['exclude_archived']) === true;
      const matching = state.channels.filter(
        (channel) =>
          types.includes(channelType(channel)) && !(excludeArchived && channel.isArchived === true),
      );
      let start = 0;
      const cursor = asString(args['cursor']);
      if (cursor !== undefined && cursor !== '') {
        const id = decodeCursor(cursor);
        start = matching.findIndex((channel) => channel.id === id);
        if (start < 0) fail('invalid_cursor');
      }
      const page = matching.slice(start, start + limit);
      const next = matching[start + limit];
      return {
        ok: true,
        channels: page.map(channelJson),
        response_metadata: { next_cursor: next === undefined ? '' : encodeCursor(next.id) },
      };
    },

    'users.lookupByEmail': (args) => {
      const email = asString(args['email'])?.trim().toLowerCase() ?? '';
      if (email === '') fail('invalid_arguments');
      const user = state.users.find((candidate) => candidate.email?.toLowerCase() === email);
      if (user === undefined || user.deleted === true) fail('users_not_found');
      const profile: Record<string, unknown> = {
        real_name: user.realName ?? '',
        display_name: user.displayName ?? '',
        email: user.email,
      };
      return {
        ok: true,
        user: {
          id: user.id,
          team_id: TEAM.id,
          name: user.name,
          deleted: false,
          real_name: user.realName,
          tz: 'Europe/Amsterdam',
          is_bot: user.isBot === true,
          profile,
        },
      };
    },
  };
}

/** Authenticates and runs the method; every refusal is an `ok: false` answer. */
function answerCall(
  method: string,
  request: FakeRequest,
  record: SlackFakeRequest,
  methods: Record<string, (args: Args) => Answer>,
  tokens: Set<string>,
): Answer {
  try {
    const { args, kind, warnings } = readArgs(method, request);
    Object.assign(record, { args, bodyKind: kind, token: request.token });
    if (record.token === undefined) fail('not_authed');
    if (!tokens.has(record.token)) fail('invalid_auth');
    const handler = methods[method];
    if (handler === undefined) return { ok: false, error: 'unknown_method', req_method: method };
    const answer = handler(args);
    if (warnings.length > 0) {
      const metadata = (answer['response_metadata'] as Record<string, unknown> | undefined) ?? {};
      Object.assign(answer, { warning: warnings.join(','), response_metadata: { ...metadata, warnings } });
    }
    return answer;
  } catch (error) {
    if (!(error instanceof SlackError)) throw error;
    return { ok: false, error: error.code };
  }
}

const NOT_FOUND_PAGE: KitAnswer = {
  status: 404,
  body: '<html><body>Not Found</body></html>',
  contentType: 'text/html; charset=utf-8',
};

/**
 * Starts the fake on 127.0.0.1, on an ephemeral port unless `options.port` names one.
 *
 * @example
 * ```ts
 * const slack = await startSlackFake({ tokens: ['xoxb-a', 'xoxb-b'] });
 * await fetch(`${slack.url}/auth.test`, { method: 'POST', headers: { authorization: 'Bearer xoxb-a' } });
 * ```
 */
export async function startSlackFake(options: SlackFakeOptions = {}): Promise<SlackFake> {
  const requests: SlackFakeRequest[] = [];
  const records = new WeakMap<FakeRequest, SlackFakeRequest>();
  let tsCounter = 0;
  const nextTs = (): string => {
    tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(tsCounter).padStart(6, '0')}`;
  };
  const fake = await startFake<SlackState>(
    {
      name: 'Slack',
      seed: () => ({
        messages: (options.messages ?? seedMessages()).map((message) => ({ ...message })),
        channels: (options.channels ?? seedChannels()).map((channel) => ({ ...channel })),
        users: (options.users ?? seedUsers()).map((user) => ({ ...user })),
        tokens: new Set(options.tokens ?? [DEFAULT_SLACK_TOKEN]),
      }),
      errors: slackErrors,
      token: slackToken,
      unrouted: () => NOT_FOUND_PAGE,
      headers: () => ({ 'x-slack-req-id': randomUUID().replaceAll('-', ''), 'x-oauth-scopes': SCOPES }),
      onRequest: (request) => {
        const method = slackMethodOf(request);
        if (method === undefined) return;
        const record = recordOf(method, request);
        requests.push(record);
        records.set(request, record);
      },
      routes: [
        {
          name: 'web-api',
          method: ['GET', 'POST'],
          path: '/api/:method',
          // Slack checks the body before the token (`invalid_json` wins over `not_authed`): answerCall does both.
          auth: false,
          handle: ({ request, state }) => {
            const record = records.get(request);
            if (record === undefined) return NOT_FOUND_PAGE;
            const methods = slackMethods(state, nextTs);
            return json(200, answerCall(record.method, request, record, methods, state.tokens));
          },
        },
      ],
    },
    {
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.prepare === undefined ? {} : { prepare: options.prepare }),
    },
  );
  const callsOf =
    (method: string) =>
    (request: FakeRequest): boolean => {
      const called = slackMethodOf(request);
      return called !== undefined && (method === '*' || called === method);
    };
  const { state } = fake;

  return {
    url: `${fake.url}/api`,
    requests,
    messages: state.messages,
    channels: state.channels,
    users: state.users,
    tokens: state.tokens,
    // A method's own faults go before the '*' ones.
    failNext: (method, fault) =>
      fake.inject(kitFault(fault), {
        when: callsOf(method),
        priority: method === '*' ? -1 : 0,
        delayMs: fault.hang === true ? 0 : (fault.delayMs ?? 0),
      }),
    inject: (method, fault, target = {}) => fake.inject(fault, { ...target, when: callsOf(method) }),
    requestsFor: (method) => requests.filter((request) => request.method === method),
    message: (channel, ts) => state.messages.find((m) => m.channel === channel && m.ts === ts),
    reset: () => {
      fake.reset();
      requests.length = 0;
    },
    close: () => fake.close(),
  };
}
