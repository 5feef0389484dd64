/**
 * The Slack Web API: the only code that talks to Slack. `slackApi` states Slack's facts for the core's
 * REST kit (auth, error table, pagination); `SlackApi` holds the calls on parsed input (the runtime's
 * parse is the one parse); `SlackClient` is the library face, the notifier interface for callers outside
 * the runtime, which parses their input once.
 */
import {
  bodyCursor,
  type CredentialSource,
  defineRestProvider,
  parseInput,
  type RestClient,
} from '@circle-core/core';
import type * as z from 'zod';
import type { Notifier, NotifierCapability } from '#shared/interfaces/notifier.ts';
import type { ListChannelsOutput, NotifierChannelInfo } from '#shared/models/notifier.ts';
import { SLACK_ERRORS } from './errors.ts';
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

/** Slack's Web API as data; its settings are `SLACK_API_URL`, `SLACK_TIMEOUT_MS`, ... */
export const slackApi = defineRestProvider({
  name: 'Slack',
  settingsPrefix: 'SLACK',
  baseUrl: 'https://slack.com/api',
  auth: { kind: 'bearer' },
  // Slack warns (missing_charset) about JSON without a charset.
  jsonContentType: 'application/json; charset=utf-8',
  // Most failures are HTTP 200 `{ ok: false, error }`; other statuses keep the core's mapping.
  errors: {
    codeIn: 'ok-false',
    codeField: 'error',
    rows: SLACK_ERRORS,
    detailKeys: { code: 'slackError', operation: 'method' },
    detailFields: ['needed', 'provided'],
    messageFields: ['needed'],
  },
  pagination: bodyCursor({ field: 'response_metadata.next_cursor', param: 'cursor' }),
  // Web API tier 3 (50+ calls a minute per method and workspace), shared by every container.
  rateBudget: { limit: 45, perMs: 60_000 },
});

/** What this client offers of the notifier interface: everything. */
export const SLACK_CAPABILITIES: readonly NotifierCapability[] = [
  'threads',
  'blocks',
  'update',
  'channels',
  'user-lookup',
];

/**
 * Slack's Web API on parsed input. Reads (`conversations.list`, `users.lookupByEmail`, `auth.test`) are
 * GETs, so the core retries them after a 5xx, a timeout or a short `Retry-After`. Writes
 * (`chat.postMessage`, `chat.update`) are JSON POSTs sent once: Slack has no idempotency keys, and a repeat
 * after a lost answer would post twice. A rejected token is the exception: the core re-reads the secret
 * and sends once more, since Slack did nothing with it.
 *
 * @example
 * ```ts
 * const slack = new SlackApi(slackApi.client({ credential: defineSecret('circle-core/slack/bot-token') }));
 * const { ts } = await slack.postMessage({ channel: 'C0123ABCD', text: 'Deploy finished' });
 * ```
 */
export class SlackApi {
  readonly #rest: RestClient;

  constructor(rest: RestClient) {
    this.#rest = rest;
  }

  /**
   * Posts a message (`chat.postMessage`): text and/or Block Kit blocks, in a thread with `threadTs`.
   *
   * @example
   * ```ts
   * await slack.postMessage({ channel: 'C0123ABCD', text: 'Build failed', threadTs: '1503435956.000247' });
   * ```
   */
  async postMessage(input: z.output<typeof SlackPostMessageInput>): Promise<PostMessageOutput> {
    const { channel, text, blocks, threadTs, unfurlLinks } = input;
    const json = { channel, text, blocks, thread_ts: threadTs, unfurl_links: unfurlLinks };
    const answer = await this.#rest.post('/chat.postMessage', PostMessageAnswer, { json });
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
  async updateMessage(input: z.output<typeof SlackUpdateMessageInput>): Promise<UpdateMessageOutput> {
    const { channel, ts, text, blocks } = input;
    const answer = await this.#rest.post('/chat.update', UpdateMessageAnswer, {
      json: { channel, ts, text, blocks },
    });
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
  async listChannels(input: z.output<typeof SlackListChannelsInput>): Promise<ListChannelsOutput> {
    const { cursor, limit, types, excludeArchived } = input;
    const page = await this.#rest.list('/conversations.list', ConversationsListAnswer, {
      query: { limit, types: types?.join(','), exclude_archived: excludeArchived },
      cursor,
      items: (answer) => answer.channels.map(toChannel),
    });
    const output: ListChannelsOutput = { channels: page.items };
    if (page.nextCursor !== undefined) output.nextCursor = page.nextCursor;
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
  async findUserByEmail(input: z.output<typeof FindUserByEmailInput>): Promise<SlackFindUserOutput> {
    const { user } = await this.#rest.get('/users.lookupByEmail', LookupByEmailAnswer, {
      query: { email: input.email },
    });
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
    const answer = await this.#rest.get('/auth.test', AuthTestAnswer);
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
    this.#rest.close();
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

export interface SlackClientOptions {
  /** The bot token: a Secret (re-read after a rejection) or a literal. */
  token: CredentialSource;
  /** Default https://slack.com/api. */
  baseUrl?: string;
  /** Per attempt, default 10 000 ms (capped by the invocation's time left). */
  timeoutMs?: number;
  /** Attempts of read calls, default 3. Writes are sent once. */
  maxAttempts?: number;
}

/**
 * Slack as a notifier for library use: each method parses its caller's input (a ValidationError before
 * any call to Slack), then runs the {@link SlackApi} call. The connector's operations call `SlackApi`
 * directly, with the input the runtime already parsed.
 *
 * @example
 * ```ts
 * const slack = new SlackClient({ token: defineSecret('circle-core/slack/bot-token') });
 * await slack.postMessage({ channel: 'C0123ABCD', text: 'Deploy finished' });
 * ```
 */
export class SlackClient implements Notifier {
  readonly capabilities: ReadonlySet<NotifierCapability> = new Set(SLACK_CAPABILITIES);
  readonly api: SlackApi;

  constructor(
    options: SlackClientOptions,
    rest: RestClient = slackApi.client({ ...options, credential: options.token }),
  ) {
    this.api = new SlackApi(rest);
  }

  async postMessage(input: SlackPostMessageInput): Promise<PostMessageOutput> {
    return this.api.postMessage(parseInput(SlackPostMessageInput, input));
  }

  async updateMessage(input: SlackUpdateMessageInput): Promise<UpdateMessageOutput> {
    return this.api.updateMessage(parseInput(SlackUpdateMessageInput, input));
  }

  async listChannels(input: SlackListChannelsInput = {}): Promise<ListChannelsOutput> {
    return this.api.listChannels(parseInput(SlackListChannelsInput, input));
  }

  async findUserByEmail(input: z.input<typeof FindUserByEmailInput>): Promise<SlackFindUserOutput> {
    return this.api.findUserByEmail(parseInput(FindUserByEmailInput, input));
  }

  authTest(): Promise<SlackIdentity> {
    return this.api.authTest();
  }

  close(): void {
    this.api.close();
  }
}
