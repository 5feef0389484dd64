/**
 * Microsoft Teams as data for the core's REST kit, and the calls the operations make: the only file that
 * talks to Teams. Two ways in: Microsoft Graph (`/teams/{team-id}/channels/{channel-id}/messages`, replies)
 * with an app-only token from the Microsoft identity platform (OAuth2 client credentials, the core's
 * `oauth2ClientCredentials`), and a Workflows webhook (a signed URL kept in Secrets Manager) that takes
 * Adaptive Cards. Both answer `{ error: { code, message } }`, mapped by the table in `errors.ts`.
 */
import {
  ConfigurationError,
  type ConnectorError,
  defineRestProvider,
  ForbiddenError,
  type HttpResponse,
  oauth2ClientCredentials,
  type PageQuery,
  type PaginationStyle,
  PayloadTooLargeError,
  parseInput,
  type RequestAuth,
  type RestClient,
  type Secret,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import { refuseCapability } from '#shared/interfaces/capabilities.ts';
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
import { TEAMS_ERRORS } from './errors.ts';
import {
  type AdaptiveCard,
  ChatMessageAnswer,
  ChatMessagePageAnswer,
  type ListRepliesInput,
  type Message,
  type MessagePage,
  type MessageRef,
  PostChannelMessageInput,
  type PostWebhookInput,
  type PostWebhookOutput,
} from './models.ts';

/** The app-only scope of Graph: every application permission granted to the app. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const CARD_TYPE = 'application/vnd.microsoft.card.adaptive';
const ChannelsAnswer = z.looseObject({ value: z.array(z.unknown()) });
/**
 * Teams refuses a message over about 28 KB (the request body as sent: the card JSON and its wrapper),
 * with HTTP 413; the connector refuses such a post before sending it.
 */
export const MAX_WEBHOOK_BYTES = 28 * 1024;

const invalidCursor = () =>
  new ValidationError('cursor is not one this connector issued', [
    { pointer: '/cursor', message: 'expected the nextCursor of a previous page' },
  ]);
const SKIP_TOKEN = /^[A-Za-z0-9_.~+/=%!*'()-]{1,1500}$/;

/**
 * Graph's paging: an answer's `@odata.nextLink` carries `$skiptoken`; the cursor keeps only that (nothing
 * else of the link can be smuggled back) and the first page's `$top` stays as sent.
 */
export const odataNextLink: PaginationStyle = {
  name: 'odata-next-link',
  query(first: PageQuery, cursor: string | undefined): PageQuery {
    if (cursor === undefined) return first;
    const token = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!SKIP_TOKEN.test(token)) throw invalidCursor();
    return { ...first, $skiptoken: token };
  },
  next({ body }) {
    const link = (body as { '@odata.nextLink'?: unknown })['@odata.nextLink'];
    if (typeof link !== 'string') return {};
    let token: string | null = null;
    try {
      token = new URL(link).searchParams.get('$skiptoken');
    } catch {
      return {};
    }
    if (token === null || !SKIP_TOKEN.test(token)) return {};
    return { nextCursor: Buffer.from(token, 'utf8').toString('base64url') };
  },
};

/**
 * Graph answers a channel post with an app-only token 401 `Unauthorized` when the app may not post there
 * (Graph grants application posts for import only, unless the team consented;
 * https://learn.microsoft.com/graph/api/channel-post-messages, permissions: application
 * `Teamwork.Migrate.All` "for migration"): no new token helps, so it is a ForbiddenError saying what to
 * do, marked `credentialFailure: false` so the core's client neither renews the token nor posts again.
 */
function importOnly(response: HttpResponse): ConnectorError | undefined {
  if (response.status === 413) {
    return new PayloadTooLargeError(MAX_WEBHOOK_BYTES, {
      message: `Microsoft Teams refused the message as too large (HTTP 413); a message takes at most about ${MAX_WEBHOOK_BYTES} bytes`,
      details: { providerError: 'RequestEntityTooLarge' },
    });
  }
  if (response.status !== 401) return undefined;
  const message = (response.body as { error?: { message?: unknown } } | undefined)?.error?.message;
  if (typeof message !== 'string' || !message.includes('application-only context only for import')) {
    return undefined;
  }
  return new ForbiddenError(
    'Microsoft Teams refused an app-only post in this channel (Graph allows it for import or with the team\u2019s consent); use post-webhook-message, or grant the app ChannelMessage.Send.Group in the team',
    { details: { providerError: 'Unauthorized', operation: 'messages' }, credentialFailure: false },
  );
}

/** Microsoft Graph as data; its settings are `TEAMS_API_URL`, `TEAMS_TIMEOUT_MS`, ... */
export const teamsApi = defineRestProvider({
  name: 'Microsoft Teams',
  settingsPrefix: 'TEAMS',
  baseUrl: 'https://graph.microsoft.com/v1.0',
  baseUrlNote: 'a national cloud such as `https://graph.microsoft.us/v1.0`',
  auth: { kind: 'bearer' },
  errors: { codeIn: 'body', codeField: 'error.code', rows: TEAMS_ERRORS },
  inspect: importOnly,
  pagination: odataNextLink,
});

/** No credential: a webhook URL carries its own signature. */
export const NO_AUTH: RequestAuth = { apply: async () => undefined, refresh: async () => false };

/**
 * The app-only Graph token: client credentials against `{login}/{tenant}/oauth2/v2.0/token` with the
 * `.default` scope, the secret's `{ clientId, clientSecret }` sent in the form (as Microsoft documents),
 * cached until shortly before it expires and renewed with a re-read secret after a Graph 401.
 *
 * @example
 * ```ts
 * const auth = graphAuth({ loginUrl: 'https://login.microsoftonline.com', tenantId }, defineSecret(name));
 * ```
 */
export function graphAuth(
  where: { loginUrl: string; tenantId: string | undefined },
  secret: Secret,
): RequestAuth {
  if (where.tenantId === undefined) {
    const missing = async (): Promise<never> => {
      throw new ConfigurationError('TEAMS_TENANT_ID is not set: Graph calls need the directory (tenant) id');
    };
    return { apply: missing, refresh: async () => false };
  }
  return oauth2ClientCredentials({
    tokenUrl: `${where.loginUrl.replace(/\/+$/, '')}/${encodeURIComponent(where.tenantId)}/oauth2/v2.0/token`,
    credentials: secret,
    scope: GRAPH_SCOPE,
    clientAuthentication: 'body',
  });
}

const WebhookUrl = z.url({ protocol: /^https?$/ });
/** The webhooks secret: one URL (named `default`), or JSON `{ "<name>": "<url>", ... }`. */
const WebhookMap = z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), WebhookUrl);

function loopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The stored URL of one webhook; the URL itself never reaches a message (its sig is a credential). */
export async function webhookUrl(secret: Secret, name: string): Promise<URL> {
  const text = (await secret.text()).trim();
  let urls: Record<string, string>;
  if (text.startsWith('{')) urls = await secret.json(WebhookMap);
  else if (WebhookUrl.safeParse(text).success) urls = { default: text };
  else throw new ConfigurationError(`The webhooks secret ${secret.name} is neither a URL nor { name: url }`);
  const stored = Object.hasOwn(urls, name) ? urls[name] : undefined;
  if (stored === undefined) {
    throw new ValidationError(`No webhook named ${name} in ${secret.name}`, [
      { pointer: '/webhook', message: `not a key of the webhooks secret (${Object.keys(urls).join(', ')})` },
    ]);
  }
  const url = new URL(stored);
  if (url.protocol !== 'https:' && !loopback(url.hostname)) {
    throw new ConfigurationError(`The webhook ${name} in ${secret.name} must be an https URL`);
  }
  return url;
}

/** A channel as Graph paths name it. */
interface ChannelPath {
  team: string;
  channel: string;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Blocks as the body of one Adaptive Card (version 1.4: what Teams renders everywhere). */
export function cardOf(body: unknown[]): AdaptiveCard {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.4',
    body: body as AdaptiveCard['body'],
  };
}

/** The input field that makes most of a webhook post: `/card`, or `/text` when it is larger or alone. */
function largestField(input: PostWebhookInput): '/card' | '/text' {
  if (input.card === undefined) return '/text';
  if (input.text === undefined) return '/card';
  const text = Buffer.byteLength(input.text, 'utf8');
  return text > Buffer.byteLength(JSON.stringify(input.card), 'utf8') ? '/text' : '/card';
}

/** A webhook post over Teams' message limit, naming the field that makes most of it. */
function tooLarge(pointer: string, size: number, cause?: PayloadTooLargeError): PayloadTooLargeError {
  const said = cause === undefined ? '' : ' (Microsoft Teams refused it: HTTP 413)';
  return new PayloadTooLargeError(MAX_WEBHOOK_BYTES, {
    message: `The message is too large at ${pointer}: ${size} bytes as sent${said}; Teams takes at most ${MAX_WEBHOOK_BYTES} bytes (28 KB) per message`,
    details: { pointer },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The default team and how webhook clients are made. */
export interface TeamsOptions {
  teamId?: string | undefined;
  /** A client for a webhook URL's origin (no auth; the URL is signed). */
  webhookClient?: ((origin: string) => RestClient) | undefined;
  webhooks?: Secret | undefined;
  /** The Graph auth, for a health check without a default team (a token proves the credentials). */
  auth?: RequestAuth | undefined;
}

/**
 * Teams' calls on parsed input, and the notifier interface (posts, cards as blocks, thread replies; Graph
 * lets an app-only token neither edit a message's content nor, here, list channels or people). Posts are
 * POSTs without an idempotency key at Graph, so they are sent once; reads are retried by the core.
 *
 * @example
 * ```ts
 * const api = new TeamsApi(teamsApi.client({ auth: graphAuth(where, secret) }), { teamId });
 * const { ts } = await api.postMessage({ channel: '19:ops-alerts@thread.tacv2', text: 'Disk full on db-1' });
 * ```
 */
export class TeamsApi implements Notifier {
  readonly capabilities: ReadonlySet<NotifierCapability> = new Set(['threads', 'blocks']);
  readonly #rest: RestClient;
  readonly #options: TeamsOptions;
  readonly #webhookClients = new Map<string, RestClient>();

  constructor(rest: RestClient, options: TeamsOptions = {}) {
    this.#rest = rest;
    this.#options = options;
  }

  #channel(channel: string): ChannelPath {
    const slash = channel.indexOf('/');
    if (slash > 0) return { team: channel.slice(0, slash), channel: channel.slice(slash + 1) };
    if (this.#options.teamId === undefined) {
      throw new ValidationError('The channel names no team and TEAMS_TEAM_ID is not set', [
        { pointer: '/channel', message: 'give {team-id}/{channel-id}' },
      ]);
    }
    return { team: this.#options.teamId, channel };
  }

  #messages({ team, channel }: ChannelPath): string {
    return `/teams/${encodeURIComponent(team)}/channels/${encodeURIComponent(channel)}/messages`;
  }

  #toMessage(at: ChannelPath, answer: ChatMessageAnswer): Message {
    const from = answer.from?.application?.displayName ?? answer.from?.user?.displayName ?? null;
    return {
      id: answer.id,
      channel: `${at.team}/${at.channel}`,
      replyToId: answer.replyToId ?? null,
      createdAt: answer.createdDateTime,
      lastModifiedAt: answer.lastModifiedDateTime ?? null,
      subject: answer.subject ?? null,
      importance: answer.importance ?? 'normal',
      contentType: answer.body.contentType,
      content: answer.body.content ?? '',
      from,
      cards: (answer.attachments ?? []).filter((a) => a.contentType === CARD_TYPE).length,
      webUrl: answer.webUrl ?? null,
    };
  }

  /** The notifier's post: text and/or blocks (one Adaptive Card) to a channel, or a reply with threadTs. */
  async postMessage(input: PostChannelMessageInput): Promise<PostMessageOutput> {
    const parsed = parseInput(PostChannelMessageInput, input);
    const at = this.#channel(parsed.channel);
    const text = parsed.text === undefined ? '' : escapeHtml(parsed.text);
    const message =
      parsed.blocks === undefined
        ? { body: { contentType: 'text', content: parsed.text } }
        : {
            body: { contentType: 'html', content: `${text}<attachment id="card"></attachment>` },
            attachments: [
              {
                id: 'card',
                contentType: CARD_TYPE,
                contentUrl: null,
                content: JSON.stringify(cardOf(parsed.blocks)),
              },
            ],
          };
    const path =
      parsed.threadTs === undefined ? this.#messages(at) : `${this.#messages(at)}/${parsed.threadTs}/replies`;
    const answer = await this.#rest.post(path, ChatMessageAnswer, {
      json: message,
      what: 'a posted message',
      notFound: parsed.threadTs === undefined ? `Channel ${parsed.channel}` : `Message ${parsed.threadTs}`,
    });
    const out = { channel: parsed.channel, ts: answer.id };
    return parsed.threadTs === undefined ? out : { ...out, threadTs: parsed.threadTs };
  }

  async getMessage(input: MessageRef): Promise<Message> {
    const at = this.#channel(input.channel);
    const path =
      input.threadTs === undefined
        ? `${this.#messages(at)}/${input.ts}`
        : `${this.#messages(at)}/${input.threadTs}/replies/${input.ts}`;
    const answer = await this.#rest.get(path, ChatMessageAnswer, {
      what: 'a message',
      notFound: `Message ${input.ts}`,
    });
    return this.#toMessage(at, answer);
  }

  async listReplies(input: ListRepliesInput): Promise<MessagePage> {
    const at = this.#channel(input.channel);
    const page = await this.#rest.list(`${this.#messages(at)}/${input.ts}/replies`, ChatMessagePageAnswer, {
      query: { $top: input.limit },
      cursor: input.cursor,
      what: 'the replies',
      notFound: `Message ${input.ts}`,
      items: (answer) => answer.value.map((m) => this.#toMessage(at, m)),
    });
    return page.nextCursor === undefined
      ? { messages: page.items }
      : { messages: page.items, nextCursor: page.nextCursor };
  }

  /** Posts text and/or an Adaptive Card to a stored Workflows webhook, as a Teams message attachment. */
  async postWebhook(input: PostWebhookInput): Promise<PostWebhookOutput> {
    const { webhooks, webhookClient } = this.#options;
    if (webhooks === undefined || webhookClient === undefined) {
      throw new ConfigurationError('No webhooks secret is configured (TEAMS_WEBHOOKS_SECRET)');
    }
    const url = await webhookUrl(webhooks, input.webhook);
    const lead = input.text === undefined ? [] : [{ type: 'TextBlock', text: input.text, wrap: true }];
    const card = input.card ?? cardOf([]);
    const content = { ...card, body: [...lead, ...(card.body ?? [])] };
    const message = { type: 'message', attachments: [{ contentType: CARD_TYPE, contentUrl: null, content }] };
    const size = Buffer.byteLength(JSON.stringify(message), 'utf8');
    const field = largestField(input);
    if (size > MAX_WEBHOOK_BYTES) throw tooLarge(field, size);
    let client = this.#webhookClients.get(url.origin);
    if (client === undefined) {
      client = webhookClient(url.origin);
      this.#webhookClients.set(url.origin, client);
    }
    try {
      const answer = await client.send('POST', `${url.pathname}${url.search}`, undefined, {
        json: message,
        what: 'a webhook post',
        notFound: `Webhook ${input.webhook}`,
      });
      return { webhook: input.webhook, status: answer.status };
    } catch (error) {
      if (error instanceof PayloadTooLargeError) throw tooLarge(field, size, error);
      throw error;
    }
  }

  async updateMessage(_input: UpdateMessageInput): Promise<UpdateMessageOutput> {
    return refuseCapability(this, 'update', 'Microsoft Teams (app-only Graph)');
  }

  async listChannels(_input?: ListChannelsInput): Promise<ListChannelsOutput> {
    return refuseCapability(this, 'channels', 'Microsoft Teams');
  }

  async findUserByEmail(_input: FindUserByEmailInput): Promise<NotifierUser> {
    return refuseCapability(this, 'user-lookup', 'Microsoft Teams');
  }

  /** The cheapest authenticated call: the default team's channels, or without one a token. */
  async ping(): Promise<void> {
    const team = this.#options.teamId;
    if (team !== undefined) {
      await this.#rest.get(`/teams/${encodeURIComponent(team)}/channels`, ChannelsAnswer, {
        query: { $select: 'id' },
      });
    } else if (this.#options.auth !== undefined) {
      await this.#options.auth.apply({ url: new URL(GRAPH_SCOPE), headers: {} });
    }
  }

  close(): void {
    this.#rest.close();
    for (const client of this.#webhookClients.values()) client.close();
  }
}
