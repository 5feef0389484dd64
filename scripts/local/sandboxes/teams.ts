/**
 * The contract fake of Microsoft Teams, on the contract-fake kit: what the Teams connector's tests run
 * against, and its sandbox on the local stack (`npx node scripts/local/sandboxes/teams.ts [port]`). It
 * follows Microsoft's published references:
 *
 * - the Microsoft identity platform's token endpoint, `POST /{tenant}/oauth2/v2.0/token` with the client
 *   credentials grant (form `client_id`, `client_secret` or HTTP Basic, `scope` ending in `/.default`):
 *   `{ token_type: 'Bearer', expires_in, ext_expires_in, access_token }`, or its errors
 *   `{ error, error_description: 'AADSTS...', error_codes, timestamp, trace_id, correlation_id }`: 400
 *   `invalid_request` (AADSTS90002, unknown tenant), `unsupported_grant_type`, `unauthorized_client`
 *   (AADSTS700016, unknown app), `invalid_scope` (AADSTS1002012); 401 `invalid_client` (AADSTS7000215,
 *   wrong secret);
 * - Microsoft Graph v1.0 under `/v1.0`: `POST /teams/{team-id}/channels/{channel-id}/messages` and
 *   `.../messages/{message-id}/replies` (201 with the chatMessage; an attachment must be referenced by an
 *   `<attachment id>` tag of an html body, an Adaptive Card's content must be JSON; a reply's parent must
 *   be a root message), `GET .../messages/{id}`, `GET .../messages/{id}/replies?$top=` (1-50, default
 *   20, `@odata.nextLink` with `$skiptoken`), `GET .../replies/{reply-id}`, `GET /teams/{team-id}/channels`;
 *   a Bearer token the endpoint issued (and not expired), else 401 `InvalidAuthenticationToken`; an
 *   app-only post in a channel whose team gave no consent is 401 `Unauthorized` ("Message POST is allowed
 *   in application-only context only for import purposes", as Graph answers); errors as
 *   `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`, 404 `NotFound`,
 *   400 `BadRequest`, 429 `TooManyRequests` with `Retry-After`;
 * - a Workflows webhook ("When a Teams webhook request is received"):
 *   `POST /workflows/{id}/triggers/manual/paths/invoke?api-version=...&sp=...&sv=1.0&sig=...`, 202 with no
 *   body; a wrong `sig` 401 `DirectApiInvalidAuthorizationSignature`, an unknown workflow 404
 *   `WorkflowNotFound`, a body that is not JSON 400 `InvalidRequestContent`, a body over the 28 KB message
 *   limit 413 `RequestEntityTooLarge`. Each Adaptive Card attachment
 *   is posted in the workflow's channel, as the flow would.
 *
 * Faults (`fake.inject`) add 5xx, 429, slow, malformed, ... in Graph's error shape.
 *
 * Seed: tenant {@link TEAMS_SANDBOX_TENANT}, app {@link TEAMS_SANDBOX_CLIENT_ID} with secret
 * {@link TEAMS_SANDBOX_CLIENT_SECRET} (the JSON {@link TEAMS_SANDBOX_SECRET}), team
 * {@link TEAMS_SANDBOX_TEAM} with channel {@link TEAMS_SANDBOX_CHANNEL} (app posts consented; a thread
 * {@link TEAMS_SANDBOX_THREAD} with three replies) and {@link TEAMS_IMPORT_ONLY_CHANNEL} (no consent), a
 * webhook into the first ({@link teamsWebhookUrl}).
 *
 * @example
 * ```ts
 * const fake = await startTeamsFake();
 * process.env['TEAMS_API_URL'] = `${fake.url}/v1.0`;
 * process.env['TEAMS_LOGIN_URL'] = fake.url;
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type ErrorKind,
  type FakeDefinition,
  type FakeRequest,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** Sandbox identities: sandbox credentials, not secrets. */
export const TEAMS_SANDBOX_TENANT = '72f988bf-0000-4000-8000-00000000c1c1';
export const TEAMS_SANDBOX_CLIENT_ID = '5e3ce6c0-0000-4000-8000-00000000c1c1';
export const TEAMS_SANDBOX_CLIENT_SECRET = 'teams-sandbox-client-secret';
/** The credentials secret the connector reads, as the local stack stores it. */
export const TEAMS_SANDBOX_SECRET = JSON.stringify({
  clientId: TEAMS_SANDBOX_CLIENT_ID,
  clientSecret: TEAMS_SANDBOX_CLIENT_SECRET,
});
export const TEAMS_SANDBOX_TEAM = 'a1c2e3f4-0000-4000-8000-00000000c1c1';
export const TEAMS_SANDBOX_CHANNEL = '19:ops-alerts@thread.tacv2';
export const TEAMS_IMPORT_ONLY_CHANNEL = '19:general@thread.tacv2';
/** The seeded thread parent in the ops channel. */
export const TEAMS_SANDBOX_THREAD = '1767603600000';
export const TEAMS_SANDBOX_WORKFLOW = 'c1c1e5a4db0c4d0f9a2b3c4d5e6f7a8b';
export const TEAMS_SANDBOX_WEBHOOK_SIG = 'teams-sandbox-webhook-sig';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const CARD_TYPE = 'application/vnd.microsoft.card.adaptive';
const TOKEN_LIFE_SECONDS = 3599;
/** Teams' message size limit: about 28 KB of request body. */
export const TEAMS_WEBHOOK_MAX_BYTES = 28 * 1024;

/** The sandbox webhook's URL on a running fake, as a Workflows trigger URL looks. */
export function teamsWebhookUrl(
  base: string,
  workflow = TEAMS_SANDBOX_WORKFLOW,
  sig = TEAMS_SANDBOX_WEBHOOK_SIG,
): string {
  const query = new URLSearchParams({
    'api-version': '2016-06-01',
    sp: '/triggers/manual/run',
    sv: '1.0',
    sig,
  });
  return `${base}/workflows/${workflow}/triggers/manual/paths/invoke?${query}`;
}

export interface TeamsFakeMessage {
  id: string;
  replyToId: string | null;
  createdDateTime: string;
  body: { contentType: string; content: string };
  attachments: { id: string | null; contentType: string; contentUrl: null; content: string | null }[];
  from: string;
}

export interface TeamsFakeChannel {
  displayName: string;
  /** Whether an app-only token may post (the team consented); else Graph's import-only 401. */
  applicationPosts: boolean;
  /** Roots and replies, oldest first. */
  messages: TeamsFakeMessage[];
}

export interface TeamsFakeState {
  tenants: Set<string>;
  /** client id -> client secret. */
  apps: Map<string, string>;
  /** Issued access tokens -> expiry (epoch ms). */
  tokens: Map<string, number>;
  /** team id -> channel id -> channel. */
  teams: Map<string, Map<string, TeamsFakeChannel>>;
  /** workflow id -> its sig and the channel it posts in. */
  workflows: Map<string, { sig: string; team: string; channel: string; enabled: boolean }>;
  /** Every webhook body accepted, in order. */
  webhookPosts: unknown[];
  /** The largest webhook body Teams takes (28 KB); a larger one is refused with HTTP 413. */
  webhookMaxBytes: number;
  lastId: number;
}

function innerError(request: FakeRequest): Record<string, string> {
  const id = request.headers['client-request-id'] ?? randomUUID();
  return { date: new Date().toISOString().slice(0, 19), 'request-id': randomUUID(), 'client-request-id': id };
}

/** Graph's error body. */
function graphError(status: number, code: string, message: string, request: FakeRequest): Answer {
  return json(status, { error: { code, message, innerError: innerError(request) } });
}

const CODES: Readonly<Record<ErrorKind, [string, string]>> = {
  unauthorized: ['InvalidAuthenticationToken', 'Access token validation failure.'],
  forbidden: ['Forbidden', 'Missing role permissions on the request.'],
  'not-found': ['NotFound', 'Resource not found.'],
  conflict: ['Conflict', 'Conflict.'],
  throttled: ['TooManyRequests', 'Too many requests.'],
  'server-error': ['ServiceNotAvailable', 'The service is temporarily unavailable.'],
};

/** Graph's error bodies for the kit's faults. */
export const graphErrors: ErrorDialect = (kind, { status, request }) => {
  const [code, message] = CODES[kind];
  return graphError(status, code, message, request);
};

/** The identity platform's error body. */
function aadError(status: number, error: string, code: number, description: string): Answer {
  const trace = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19);
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${trace} Correlation ID: ${randomUUID()} Timestamp: ${timestamp}Z`,
    error_codes: [code],
    timestamp: `${timestamp}Z`,
    trace_id: trace,
    correlation_id: randomUUID(),
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

function issueToken(state: TeamsFakeState, request: FakeRequest, tenant: string): Answer {
  const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
    string,
    string
  >;
  let clientId = form['client_id'];
  let clientSecret = form['client_secret'];
  const basic = /^basic\s+(\S+)$/i.exec(request.headers['authorization'] ?? '')?.[1];
  if (basic !== undefined) {
    const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    clientId = decodeURIComponent(id ?? '');
    clientSecret = decodeURIComponent(secret ?? '');
  }
  if (!state.tenants.has(tenant)) {
    return aadError(400, 'invalid_request', 90002, `Tenant '${tenant.slice(0, 64)}' not found.`);
  }
  if (form['grant_type'] !== 'client_credentials') {
    return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  }
  if (clientId === undefined || !state.apps.has(clientId)) {
    return aadError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${String(clientId).slice(0, 64)}' was not found in the directory.`,
    );
  }
  if (clientSecret !== state.apps.get(clientId)) {
    return aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
  }
  if (form['scope'] !== GRAPH_SCOPE) {
    return aadError(
      400,
      'invalid_scope',
      1002012,
      'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
    );
  }
  const token = `graph-fake-${randomBytes(18).toString('base64url')}`;
  state.tokens.set(token, Date.now() + TOKEN_LIFE_SECONDS * 1000);
  return json(200, {
    token_type: 'Bearer',
    expires_in: TOKEN_LIFE_SECONDS,
    ext_expires_in: TOKEN_LIFE_SECONDS,
    access_token: token,
  });
}

function channelOf(
  state: TeamsFakeState,
  params: Record<string, string>,
  request: FakeRequest,
): TeamsFakeChannel {
  const team = state.teams.get(params['team'] ?? '');
  if (team === undefined) refuse(graphError(404, 'NotFound', 'No team found with Group Id', request));
  const channel = team.get(params['channel'] ?? '');
  if (channel === undefined) refuse(graphError(404, 'NotFound', 'Channel not found.', request));
  return channel;
}

function rootOf(channel: TeamsFakeChannel, id: string | undefined, request: FakeRequest): TeamsFakeMessage {
  const found = channel.messages.find((m) => m.id === id && m.replyToId === null);
  if (found === undefined) refuse(graphError(404, 'NotFound', 'Message not found.', request));
  return found;
}

function resource(state: TeamsFakeState, team: string, channel: string, m: TeamsFakeMessage) {
  const app = m.from === 'Workflows' ? 'Workflows' : m.from;
  return {
    '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#teams('${team}')/channels('${encodeURIComponent(channel)}')/messages/$entity`,
    id: m.id,
    replyToId: m.replyToId,
    etag: m.id,
    messageType: 'message',
    createdDateTime: m.createdDateTime,
    lastModifiedDateTime: m.createdDateTime,
    lastEditedDateTime: null,
    deletedDateTime: null,
    subject: null,
    summary: null,
    chatId: null,
    importance: 'normal',
    locale: 'en-us',
    webUrl: `https://teams.microsoft.com/l/message/${encodeURIComponent(channel)}/${m.id}?groupId=${team}&tenantId=${[...state.tenants][0] ?? ''}&createdTime=${m.id}&parentMessageId=${m.replyToId ?? m.id}`,
    policyViolation: null,
    eventDetail: null,
    from: {
      application: {
        '@odata.type': '#microsoft.graph.teamworkApplicationIdentity',
        id: TEAMS_SANDBOX_CLIENT_ID,
        displayName: app,
        applicationIdentityType: 'bot',
      },
      device: null,
      user: null,
    },
    body: m.body,
    channelIdentity: { teamId: team, channelId: channel },
    attachments: m.attachments,
    mentions: [],
    reactions: [],
  };
}

function nextId(state: TeamsFakeState): string {
  state.lastId = Math.max(Date.now(), state.lastId + 1);
  return String(state.lastId);
}

type RawAttachment = { id?: unknown; contentType?: unknown; content?: unknown };

/** Graph's rules for attachments: each referenced by an `<attachment id>` tag of an html body; cards JSON. */
function attachmentsOf(
  raw: unknown,
  body: { contentType: string; content: string },
  bad: (message: string) => never,
): TeamsFakeMessage['attachments'] {
  const list = (Array.isArray(raw) ? raw : []) as RawAttachment[];
  return list.map((attachment) => {
    const id = typeof attachment.id === 'string' ? attachment.id : '';
    if (body.contentType !== 'html' || !body.content.includes(`<attachment id="${id}"></attachment>`)) {
      bad(`Attachment with id '${id.slice(0, 40)}' is not referenced in the message body.`);
    }
    if (attachment.contentType === CARD_TYPE) {
      try {
        JSON.parse(String(attachment.content));
      } catch {
        bad('Adaptive card content is not valid JSON.');
      }
    }
    return {
      id,
      contentType: String(attachment.contentType),
      contentUrl: null,
      content: typeof attachment.content === 'string' ? attachment.content : null,
    };
  });
}

/** Checks a chatMessage body as Graph does and stores it. */
function createMessage(
  state: TeamsFakeState,
  channel: TeamsFakeChannel,
  request: FakeRequest,
  replyToId: string | null,
): TeamsFakeMessage {
  function bad(message: string): never {
    refuse(graphError(400, 'BadRequest', message, request));
  }
  const input = request.body as
    | { body?: { contentType?: unknown; content?: unknown }; attachments?: unknown }
    | undefined;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    bad('Empty Payload. JSON content expected.');
  }
  const contentType = input.body?.contentType ?? 'text';
  const content = input.body?.content;
  if (contentType !== 'text' && contentType !== 'html') bad('Invalid body contentType.');
  if (typeof content !== 'string' || content === '') bad('Missing body content.');
  const body = { contentType, content };
  const message: TeamsFakeMessage = {
    id: nextId(state),
    replyToId,
    createdDateTime: new Date().toISOString(),
    body,
    attachments: attachmentsOf(input.attachments, body, bad),
    from: 'Circle Core',
  };
  channel.messages.push(message);
  return message;
}

/**
 * What a posted message looks like to the notifier conformance suite: text (a text body, or an html body
 * without its attachment tags), the blocks of its Adaptive Card, and its thread parent.
 *
 * @example
 * ```ts
 * storedTeamsMessage(fake.state, `${TEAMS_SANDBOX_TEAM}/${TEAMS_SANDBOX_CHANNEL}`, ts);
 * ```
 */
export function storedTeamsMessage(
  state: TeamsFakeState,
  where: string,
  id: string,
): { text?: string; blocks?: unknown[]; threadTs?: string } | undefined {
  const [team, channel] = where.split('/');
  const found = state.teams
    .get(team ?? '')
    ?.get(channel ?? '')
    ?.messages.find((m) => m.id === id);
  if (found === undefined) return undefined;
  const view: { text?: string; blocks?: unknown[]; threadTs?: string } = {};
  const text =
    found.body.contentType === 'text'
      ? found.body.content
      : found.body.content.replace(/<attachment id="[^"]*"><\/attachment>/g, '');
  if (text !== '') view.text = text;
  const card = found.attachments.find((a) => a.contentType === CARD_TYPE);
  if (card?.content != null) view.blocks = (JSON.parse(card.content) as { body?: unknown[] }).body ?? [];
  if (found.replyToId !== null) view.threadTs = found.replyToId;
  return view;
}

function seedTeams(): Map<string, Map<string, TeamsFakeChannel>> {
  const created = Date.UTC(2026, 0, 5, 9, 0, 0);
  const at = (offset: number) => new Date(created + offset * 60_000).toISOString();
  const text = (content: string) => ({ contentType: 'text', content });
  const messages: TeamsFakeMessage[] = [
    {
      id: TEAMS_SANDBOX_THREAD,
      replyToId: null,
      createdDateTime: at(0),
      body: text('Incident INC-42: api is down'),
      attachments: [],
      from: 'Circle Core',
    },
    ...['Paged the on-call', 'Rolled back to v41', 'Incident INC-42 resolved'].map((content, index) => ({
      id: String(Number(TEAMS_SANDBOX_THREAD) + (index + 1) * 60_000),
      replyToId: TEAMS_SANDBOX_THREAD,
      createdDateTime: at(index + 1),
      body: text(content),
      attachments: [],
      from: 'Circle Core',
    })),
  ];
  return new Map([
    [
      TEAMS_SANDBOX_TEAM,
      new Map([
        [TEAMS_SANDBOX_CHANNEL, { displayName: 'Ops alerts', applicationPosts: true, messages }],
        [TEAMS_IMPORT_ONLY_CHANNEL, { displayName: 'General', applicationPosts: false, messages: [] }],
      ]),
    ],
  ]);
}

const CHANNEL_PATH = '/v1.0/teams/:team/channels/:channel/messages';

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(teamsFake());
 * ```
 */
export function teamsFake(): FakeDefinition<TeamsFakeState> {
  return {
    name: 'Microsoft Teams',
    seed: () => ({
      tenants: new Set([TEAMS_SANDBOX_TENANT]),
      apps: new Map([[TEAMS_SANDBOX_CLIENT_ID, TEAMS_SANDBOX_CLIENT_SECRET]]),
      tokens: new Map(),
      teams: seedTeams(),
      workflows: new Map([
        [
          TEAMS_SANDBOX_WORKFLOW,
          {
            sig: TEAMS_SANDBOX_WEBHOOK_SIG,
            team: TEAMS_SANDBOX_TEAM,
            channel: TEAMS_SANDBOX_CHANNEL,
            enabled: true,
          },
        ],
      ]),
      webhookPosts: [],
      webhookMaxBytes: TEAMS_WEBHOOK_MAX_BYTES,
      lastId: Number(TEAMS_SANDBOX_THREAD) + 10 * 60_000,
    }),
    errors: graphErrors,
    secretFields: ['sig'],
    authorize: ({ request, state }) => {
      const expires = state.tokens.get(request.token ?? '');
      return expires !== undefined && expires > Date.now() ? undefined : 'unauthorized';
    },
    routes: [
      {
        name: 'token',
        method: 'POST',
        path: '/:tenant/oauth2/v2.0/token',
        auth: false,
        handle: ({ request, params, state }) => {
          if (!/^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '')) {
            return aadError(
              400,
              'invalid_request',
              900144,
              "The request body must contain the following parameter: 'grant_type'.",
            );
          }
          return issueToken(state, request, params['tenant'] ?? '');
        },
      },
      {
        name: 'webhook',
        method: 'POST',
        path: '/workflows/:workflow/triggers/manual/paths/invoke',
        auth: false,
        handle: ({ request, params, state }) => {
          const workflow = state.workflows.get(params['workflow'] ?? '');
          if (workflow === undefined) {
            return graphError(404, 'WorkflowNotFound', 'The workflow was not found.', request);
          }
          if (request.query['sig'] !== workflow.sig) {
            return graphError(
              401,
              'DirectApiInvalidAuthorizationSignature',
              'The provided authorization signature is invalid.',
              request,
            );
          }
          if (!workflow.enabled) {
            return graphError(409, 'WorkflowTriggerIsNotEnabled', 'The workflow is disabled.', request);
          }
          const body = request.body as { attachments?: unknown } | undefined;
          if (typeof body !== 'object' || body === null) {
            return graphError(
              400,
              'InvalidRequestContent',
              'The request content is not valid JSON.',
              request,
            );
          }
          if (request.bytes.length > state.webhookMaxBytes) {
            return graphError(
              413,
              'RequestEntityTooLarge',
              'Message size too large. The message size limit is 28 KB.',
              request,
            );
          }
          state.webhookPosts.push(body);
          const channel = state.teams.get(workflow.team)?.get(workflow.channel);
          const cards = Array.isArray(body.attachments) ? body.attachments : [];
          for (const card of cards as { contentType?: unknown; content?: unknown }[]) {
            if (card.contentType !== CARD_TYPE || channel === undefined) continue;
            channel.messages.push({
              id: nextId(state),
              replyToId: null,
              createdDateTime: new Date().toISOString(),
              body: { contentType: 'html', content: '<attachment id="card"></attachment>' },
              attachments: [
                {
                  id: 'card',
                  contentType: CARD_TYPE,
                  contentUrl: null,
                  content: JSON.stringify(card.content),
                },
              ],
              from: 'Workflows',
            });
          }
          return { status: 202 };
        },
      },
      {
        name: 'list-channels',
        method: 'GET',
        path: '/v1.0/teams/:team/channels',
        handle: ({ request, params, state }) => {
          const team = state.teams.get(params['team'] ?? '');
          if (team === undefined) refuse(graphError(404, 'NotFound', 'No team found with Group Id', request));
          const value = [...team].map(([id, c]) => ({
            id,
            displayName: c.displayName,
            description: null,
            membershipType: 'standard',
            createdDateTime: '2026-01-05T09:00:00Z',
          }));
          return json(200, { '@odata.count': value.length, value });
        },
      },
      {
        name: 'post-message',
        method: 'POST',
        path: CHANNEL_PATH,
        handle: ({ request, params, state }) => {
          const channel = channelOf(state, params, request);
          if (!channel.applicationPosts) {
            refuse(
              graphError(
                401,
                'Unauthorized',
                'Message POST is allowed in application-only context only for import purposes. Refer to https://docs.microsoft.com/microsoftteams/platform/graph-api/import-messages/import-external-messages-to-teams for more details.',
                request,
              ),
            );
          }
          const message = createMessage(state, channel, request, null);
          return json(201, resource(state, params['team'] ?? '', params['channel'] ?? '', message));
        },
      },
      {
        name: 'post-reply',
        method: 'POST',
        path: `${CHANNEL_PATH}/:message/replies`,
        handle: ({ request, params, state }) => {
          const channel = channelOf(state, params, request);
          const parent = rootOf(channel, params['message'], request);
          const message = createMessage(state, channel, request, parent.id);
          return json(201, resource(state, params['team'] ?? '', params['channel'] ?? '', message));
        },
      },
      {
        name: 'get-message',
        method: 'GET',
        path: `${CHANNEL_PATH}/:message`,
        handle: ({ request, params, state }) => {
          const root = rootOf(channelOf(state, params, request), params['message'], request);
          return json(200, resource(state, params['team'] ?? '', params['channel'] ?? '', root));
        },
      },
      {
        name: 'list-replies',
        method: 'GET',
        path: `${CHANNEL_PATH}/:message/replies`,
        handle: ({ request, params, state, url }) => {
          const channel = channelOf(state, params, request);
          const parent = rootOf(channel, params['message'], request);
          const top = Number(request.query['$top'] ?? 20);
          if (!Number.isInteger(top) || top < 1 || top > 50) {
            refuse(
              graphError(400, 'BadRequest', 'The limit of 50 for $top query has been exceeded.', request),
            );
          }
          const replies = channel.messages.filter((m) => m.replyToId === parent.id).reverse();
          let start = 0;
          const skip = request.query['$skiptoken'];
          if (skip !== undefined) {
            start = Number(Buffer.from(skip, 'base64url').toString('utf8'));
            if (!Number.isInteger(start) || start < 0)
              refuse(graphError(400, 'BadRequest', 'Invalid skip token.', request));
          }
          const team = params['team'] ?? '';
          const id = params['channel'] ?? '';
          const page = replies.slice(start, start + top);
          const answer: Record<string, unknown> = {
            '@odata.count': page.length,
            value: page.map((m) => resource(state, team, id, m)),
          };
          if (start + top < replies.length) {
            const next = new URLSearchParams({
              $top: String(top),
              $skiptoken: Buffer.from(String(start + top)).toString('base64url'),
            });
            answer['@odata.nextLink'] =
              `${url}/v1.0/teams/${team}/channels/${encodeURIComponent(id)}/messages/${parent.id}/replies?${next}`;
          }
          return json(200, answer);
        },
      },
      {
        name: 'get-reply',
        method: 'GET',
        path: `${CHANNEL_PATH}/:message/replies/:reply`,
        handle: ({ request, params, state }) => {
          const channel = channelOf(state, params, request);
          const parent = rootOf(channel, params['message'], request);
          const reply = channel.messages.find((m) => m.id === params['reply'] && m.replyToId === parent.id);
          if (reply === undefined) refuse(graphError(404, 'NotFound', 'Message not found.', request));
          return json(200, resource(state, params['team'] ?? '', params['channel'] ?? '', reply));
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startTeamsFake();
 * ```
 */
export function startTeamsFake(options?: StartOptions): Promise<FakeServer<TeamsFakeState>> {
  return startFake(teamsFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/teams.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startTeamsFake({ port: Number(process.argv[2] ?? 0) });
  console.log(
    `Microsoft Teams sandbox: TEAMS_API_URL=${fake.url}/v1.0 TEAMS_LOGIN_URL=${fake.url} TEAMS_TENANT_ID=${TEAMS_SANDBOX_TENANT} (secret ${TEAMS_SANDBOX_SECRET}; webhook ${teamsWebhookUrl(fake.url)})`,
  );
}
