/**
 * The Slack Web API client: the only code that talks to Slack, usable as a library outside Lambda. It
 * implements the shared notifier interface; every failure reaches the caller as a core error (the table
 * in errors.ts, applied once by the HTTP client's `inspect` hook).
 */
import {
  type CredentialSource,
  HttpClient,
  type HttpRequest,
  parseInput,
  UnexpectedResponseError,
} from '@circle-core/core';
import type * as z from 'zod';
import type { Notifier, NotifierCapability } from '#shared/interfaces/notifier.ts';
import type { ListChannelsOutput, NotifierChannelInfo } from '#shared/models/notifier.ts';
import { slackBotAuth } from './auth.ts';
import { inspectSlackResponse } from './errors.ts';
import {
  AuthTestAnswer,
  type ConversationAnswer,
  ConversationsListAnswer,
  FindUserByEmailInput,
  LookupByEmailAnswer,
  PostMessageAnswer,
  type PostMessageOutput,
  type SlackFindUserOutput,
  type SlackIdentity,
  SlackListChannelsInput,
  SlackPostMessageInput,
  SlackUpdateMessageInput,
  UpdateMessageAnswer,
  type UpdateMessageOutput,
} from './models.ts';

/** Slack's public Web API. */
export const SLACK_API_URL = 'https://slack.com/api';

/** What this client offers of the notifier interface: everything. */
export const SLACK_CAPABILITIES: readonly NotifierCapability[] = [
  'threads',
  'blocks',
  'update',
  'channels',
  'user-lookup',
];

export interface SlackClientOptions {
  /** The bot token: a Secret (refreshed after a rejection) or a literal. */
  token: CredentialSource;
  /** Default https://slack.com/api. */
  baseUrl?: string;
  /** Per attempt, default 10 000 ms (capped by the invocation's remaining time). */
  timeoutMs?: number;
  /** Attempts of read calls, default 3. Writes are sent once (see {@link SlackClient}). */
  maxAttempts?: number;
}

/**
 * The outbound HTTP client Slack needs: bearer token, Slack's `ok: false` mapping, JSON bodies.
 *
 * @example
 * ```ts
 * const http = createSlackHttpClient({ token: 'xoxb-...', timeoutMs: 5_000 });
 * ```
 */
export function createSlackHttpClient(options: SlackClientOptions): HttpClient {
  return new HttpClient({
    provider: 'Slack',
    baseUrl: options.baseUrl ?? SLACK_API_URL,
    auth: slackBotAuth(options.token),
    timeoutMs: options.timeoutMs ?? 10_000,
    maxAttempts: options.maxAttempts ?? 3,
    inspect: inspectSlackResponse,
  });
}

type Args = Record<string, string | number | boolean | undefined>;

/**
 * Slack's Web API as a notifier. Read methods (`conversations.list`, `users.lookupByEmail`, `auth.test`)
 * are sent as GET with query arguments, so the core retries them after a 5xx, a timeout or a short
 * `Retry-After`. Writes (`chat.postMessage`, `chat.update`) are JSON POSTs sent once: Slack has no
 * idempotency keys, and a repeat after a lost answer would post the message twice. A rejected token is
 * the exception: the core re-reads the secret and sends once more, since Slack did nothing with it.
 *
 * @example
 * ```ts
 * const slack = new SlackClient({ token: defineSecret('circle-core/slack/bot-token') });
 * const { ts } = await slack.postMessage({ channel: 'C0123ABCD', text: 'Deploy finished' });
 * await slack.updateMessage({ channel: 'C0123ABCD', ts, text: 'Deploy finished :white_check_mark:' });
 * ```
 */
export class SlackClient implements Notifier {
  readonly capabilities: ReadonlySet<NotifierCapability> = new Set(SLACK_CAPABILITIES);
  readonly #http: HttpClient;

  constructor(options: SlackClientOptions, http: HttpClient = createSlackHttpClient(options)) {
    this.#http = http;
  }

  /**
   * Posts a message (`chat.postMessage`): text and/or Block Kit blocks, in a thread with `threadTs`.
   *
   * @example
   * ```ts
   * await slack.postMessage({ channel: 'C0123ABCD', text: 'Build failed', threadTs: '1503435956.000247' });
   * ```
   */
  async postMessage(input: SlackPostMessageInput): Promise<PostMessageOutput> {
    const { channel, text, blocks, threadTs, unfurlLinks } = parseInput(SlackPostMessageInput, input);
    const answer = await this.#post('chat.postMessage', PostMessageAnswer, {
      channel,
      text,
      blocks,
      thread_ts: threadTs,
      unfurl_links: unfurlLinks,
    });
    const parent = answer.message?.thread_ts ?? threadTs;
    const output: PostMessageOutput = { channel: answer.channel, ts: answer.ts };
    if (parent !== undefined && parent !== answer.ts) output.threadTs = parent;
    return output;
  }

  /**
   * Replaces the text and/or blocks of a message the bot posted (`chat.update`).
   *
   * @example
   * ```ts
   * await slack.updateMessage({ channel: 'C0123ABCD', ts: '1503435956.000247', text: 'Resolved' });
   * ```
   */
  async updateMessage(input: SlackUpdateMessageInput): Promise<UpdateMessageOutput> {
    const { channel, ts, text, blocks } = parseInput(SlackUpdateMessageInput, input);
    const answer = await this.#post('chat.update', UpdateMessageAnswer, { channel, ts, text, blocks });
    return { channel: answer.channel, ts: answer.ts };
  }

  /**
   * One page of the conversations the bot can see (`conversations.list`); follow `nextCursor`.
   *
   * @example
   * ```ts
   * const { channels, nextCursor } = await slack.listChannels({ limit: 200, excludeArchived: true });
   * ```
   */
  async listChannels(input: SlackListChannelsInput = {}): Promise<ListChannelsOutput> {
    const { cursor, limit, types, excludeArchived } = parseInput(SlackListChannelsInput, input);
    const answer = await this.#get('conversations.list', ConversationsListAnswer, {
      cursor,
      limit,
      types: types?.join(','),
      exclude_archived: excludeArchived,
    });
    const next = answer.response_metadata?.next_cursor;
    const output: ListChannelsOutput = { channels: answer.channels.map(toChannel) };
    if (next !== undefined && next !== '') output.nextCursor = next;
    return output;
  }

  /**
   * Finds a workspace member by email (`users.lookupByEmail`, scope `users:read.email`).
   *
   * @example
   * ```ts
   * const { id } = await slack.findUserByEmail({ email: 'alice@example.com' });
   * ```
   */
  async findUserByEmail(input: z.input<typeof FindUserByEmailInput>): Promise<SlackFindUserOutput> {
    const { email } = parseInput(FindUserByEmailInput, input);
    const { user } = await this.#get('users.lookupByEmail', LookupByEmailAnswer, { email });
    const output: SlackFindUserOutput = {
      id: user.id,
      name: user.name,
      realName: user.real_name || user.profile?.real_name || user.profile?.display_name || user.name,
    };
    if (user.profile?.email !== undefined) output.email = user.profile.email;
    return output;
  }

  /**
   * Whom the token belongs to (`auth.test`): the cheap call that proves credentials and reachability.
   *
   * @example
   * ```ts
   * const { teamId, userId } = await slack.authTest();
   * ```
   */
  async authTest(): Promise<SlackIdentity> {
    const answer = await this.#get('auth.test', AuthTestAnswer, {});
    const identity: SlackIdentity = {
      url: answer.url,
      team: answer.team,
      teamId: answer.team_id,
      user: answer.user,
      userId: answer.user_id,
    };
    if (answer.bot_id !== undefined) identity.botId = answer.bot_id;
    return identity;
  }

  /**
   * Closes the connection pool.
   *
   * @example
   * ```ts
   * afterAll(() => slack.close());
   * ```
   */
  close(): void {
    this.#http.close();
  }

  #get<S extends z.ZodType>(method: string, answer: S, args: Args): Promise<z.output<S>> {
    return this.#call(method, answer, { method: 'GET', path: `/${method}`, query: args });
  }

  #post<S extends z.ZodType>(method: string, answer: S, args: Record<string, unknown>): Promise<z.output<S>> {
    return this.#call(method, answer, {
      method: 'POST',
      path: `/${method}`,
      json: args,
      // Slack warns (missing_charset) about JSON without a charset.
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  }

  async #call<S extends z.ZodType>(method: string, answer: S, request: HttpRequest): Promise<z.output<S>> {
    const response = await this.#http.request(request);
    const parsed = answer.safeParse(response.body);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
      throw new UnexpectedResponseError(
        `Slack answered ${method} without the expected fields (${fields.join(', ').slice(0, 200)})`,
        { details: { provider: 'Slack', method } },
      );
    }
    return parsed.data;
  }
}

function toChannel(conversation: z.output<typeof ConversationAnswer>): NotifierChannelInfo {
  const isIm = conversation.is_im === true;
  const channel: NotifierChannelInfo = {
    id: conversation.id,
    isPrivate: isIm || conversation.is_private === true,
    isArchived: conversation.is_archived === true,
    // A direct message always includes the bot; Slack omits is_member there.
    isMember: isIm || conversation.is_member === true,
  };
  if (conversation.name !== undefined) channel.name = conversation.name;
  const topic = conversation.topic?.value;
  if (topic !== undefined && topic !== '') channel.topic = topic;
  if (conversation.num_members !== undefined) channel.memberCount = conversation.num_members;
  return channel;
}
