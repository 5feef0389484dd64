/**
 * A contract fake of PagerDuty's REST API v2 and Events API v2, on the contract-fake kit: what the
 * PagerDuty connector's tests run against, and the local stack's PagerDuty sandbox
 * (`npx node scripts/local/sandboxes/pagerduty.ts [port]`; both APIs on one port).
 *
 * It follows PagerDuty's API reference for what the connector uses:
 * - REST: `Authorization: Token token=<key>` (else 401), errors as `{ error: { message, code, errors } }`
 *   (2001 Invalid Input Provided, 2006 authentication, 2100 Not Found, 2020 rate limit: 429 with
 *   `Retry-After`), `ratelimit-limit`/`ratelimit-remaining`/`ratelimit-reset` on every answer;
 * - `POST /incidents` (needs a `From` header naming a user of the account; an open incident with the same
 *   `incident_key` on the service is a 400 "Open incident with matching dedup key already exists on this
 *   service"; `assignments` together with an `escalation_policy` is a 400, as the reference says they
 *   cannot be given together), `GET /incidents/{id}`, `PUT /incidents/{id}` (status acknowledged or resolved, `From` again),
 *   `GET /incidents` (`statuses[]`, `service_ids[]`, `since`, `until`, `offset`, `limit`, `total`: answers
 *   `{ incidents, offset, limit, more, total }`), `GET /oncalls` (`escalation_policy_ids[]`,
 *   `schedule_ids[]`, `include[]=users`, `earliest`), `GET /abilities`; `GET /incidents` also filters by
 *   `incident_key`; `GET /users/{id}/contact_methods` answers `{ contact_methods }` (`type`
 *   `sms_contact_method`, ..., `address` without the `country_code`), 404 for an unknown user;
 * - Events API v2: `POST /v2/enqueue` with `routing_key`, `event_action` and `dedup_key` -> 202
 *   `{ status: "success", message: "Event processed", dedup_key }`; a trigger opens (or joins) the incident
 *   of that dedup key on the routing key's service, acknowledge and resolve change it; an invalid event is
 *   400 `{ status: "invalid event", message: "Event object is invalid", errors }`.
 *
 * Seed: service `PWIXJZS` (Checkout API, routing key {@link PAGERDUTY_SANDBOX_ROUTING_KEY}), escalation
 * policy `PT20YPA` (level 1 Alice `PXPGF42` on schedule `PI7DH85`, level 2 Bob `PAM4FGS`; Alice's SMS
 * +15558675310, Bob's +15558675311), incidents
 * `PT4KHLK` (#1, triggered) and `PQ1LXJ3` (#2, resolved); API key {@link PAGERDUTY_SANDBOX_TOKEN}.
 *
 * @example
 * ```ts
 * const fake = await startPagerDutyFake();
 * process.env['PAGERDUTY_API_URL'] = fake.url;
 * process.env['PAGERDUTY_EVENTS_API_URL'] = fake.url;
 * ```
 */
import { createHmac, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type FakeDefinition,
  type FakeRequest,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** Sandbox credentials, not secrets. */
export const PAGERDUTY_SANDBOX_TOKEN = 'pagerduty-sandbox-api-key';
export const PAGERDUTY_SANDBOX_ROUTING_KEY = 'pagerdutysandboxroutingkey000001';
export const PAGERDUTY_SANDBOX_WEBHOOK_SECRET = 'pagerduty-sandbox-webhook-secret';
/** The user the sandbox's changes are made as (`From`). */
export const PAGERDUTY_SANDBOX_FROM = 'alice@example.com';

export interface PagerDutyFakeIncident {
  id: string;
  number: number;
  title: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  urgency: 'high' | 'low';
  service: string;
  incidentKey: string | null;
  assignees: string[];
  details: string | null;
  createdAt: string;
}

export interface PagerDutyFakeState {
  tokens: Set<string>;
  /** Routing key -> service id. */
  routingKeys: Map<string, string>;
  users: Map<string, { name: string; email: string }>;
  /** User -> contact methods, as PagerDuty stores them (the country code apart from the address). */
  contactMethods: Map<
    string,
    { id: string; type: string; label: string; address: string; countryCode: number | null }[]
  >;
  services: Map<string, { name: string; escalationPolicy: string }>;
  /** Escalation policy -> levels (schedule or direct user). */
  policies: Map<string, { level: number; user: string; schedule: string | null }[]>;
  incidents: PagerDutyFakeIncident[];
  /** Events received, in order (what a test checks an action against). */
  events: { action: string; dedupKey: string; routingKey: string }[];
  /**
   * The account time zone's offset (`+00:00`, `-05:00`): PagerDuty renders the times it answers in it
   * unless the request names a `time_zone`, which this fake does not model.
   */
  accountOffset: string;
}

/** A UTC time (`...Z`) as PagerDuty renders it in the account's time zone: `-05:00` gives `...-05:00`. */
function rendered(utc: string, offset: string): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  if (minutes === 0) return utc;
  const local = new Date(Date.parse(utc) + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, '');
  return `${local}${offset}`;
}

const failure = (status: number, message: string, code: number, errors?: string[]): Answer =>
  json(status, { error: errors === undefined ? { message, code } : { message, code, errors } });

function invalid(...errors: string[]): never {
  return refuse(failure(400, 'Invalid Input Provided', 2001, errors));
}

/** PagerDuty's REST error bodies. */
export const pagerdutyErrors: ErrorDialect = (kind, { status }) => {
  switch (kind) {
    case 'unauthorized':
      return failure(status, 'Authentication failed', 2006);
    case 'forbidden':
      return failure(status, 'Access Denied', 2010);
    case 'not-found':
      return failure(status, 'Not Found', 2100);
    case 'throttled':
      return failure(status, 'Rate Limit Exceeded', 2020);
    case 'conflict':
      return failure(status, 'Arguments Caused Error', 2002);
    default:
      return failure(status, 'Internal Server Error', 2000);
  }
};

/**
 * The `X-PagerDuty-Signature` value PagerDuty sends for `body` under each of `secrets` (several during a
 * rotation).
 *
 * @example
 * ```ts
 * signPagerDutyWebhook([PAGERDUTY_SANDBOX_WEBHOOK_SECRET], body); // 'v1=...'
 * ```
 */
export function signPagerDutyWebhook(secrets: readonly string[], body: string | Buffer): string {
  return secrets.map((secret) => `v1=${createHmac('sha256', secret).update(body).digest('hex')}`).join(',');
}

/** Every value of a repeated `name[]` query parameter. */
function listParam(request: FakeRequest, name: string): string[] {
  return new URLSearchParams(request.search ?? '').getAll(`${name}[]`);
}

function page(request: FakeRequest): { offset: number; limit: number } {
  const offset = Number(request.query['offset'] ?? 0);
  const limit = Number(request.query['limit'] ?? 25);
  if (!Number.isInteger(offset) || offset < 0) invalid('Offset must be a non-negative integer.');
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) invalid('Limit must be between 1 and 100.');
  return { offset, limit };
}

function incidentAnswer(
  incident: PagerDutyFakeIncident,
  url: string,
  offset = '+00:00',
): Record<string, unknown> {
  return {
    id: incident.id,
    type: 'incident',
    summary: `[#${incident.number}] ${incident.title}`,
    incident_number: incident.number,
    title: incident.title,
    status: incident.status,
    urgency: incident.urgency,
    incident_key: incident.incidentKey,
    service: { id: incident.service, type: 'service_reference' },
    assignments: incident.assignees.map((id) => ({ assignee: { id, type: 'user_reference' } })),
    body: incident.details === null ? undefined : { type: 'incident_body', details: incident.details },
    created_at: rendered(incident.createdAt, offset),
    html_url: `${url}/incidents/${incident.id}`,
    self: `${url}/incidents/${incident.id}`,
  };
}

function findIncident(state: PagerDutyFakeState, id: string | undefined): PagerDutyFakeIncident {
  const incident = state.incidents.find((candidate) => candidate.id === id);
  if (incident === undefined) refuse(failure(404, 'Not Found', 2100));
  return incident;
}

/** The `From` header must name a user of the account on every change. */
function requester(request: FakeRequest, state: PagerDutyFakeState): string {
  const from = request.headers['from'];
  const user = [...state.users].find(([, candidate]) => candidate.email === from)?.[0];
  if (user === undefined) invalid('Requester User Not Found: the From header must be the email of a user');
  return user;
}

const newId = (): string => `P${randomUUID().replaceAll('-', '').slice(0, 6).toUpperCase()}`;

function openIncident(
  state: PagerDutyFakeState,
  fields: Omit<PagerDutyFakeIncident, 'id' | 'number' | 'createdAt' | 'status' | 'assignees'> & {
    assignees?: string[];
  },
): PagerDutyFakeIncident {
  const service = state.services.get(fields.service);
  const firstOnCall = state.policies.get(service?.escalationPolicy ?? '')?.[0]?.user;
  const incident: PagerDutyFakeIncident = {
    ...fields,
    id: newId(),
    number: Math.max(0, ...state.incidents.map((known) => known.number)) + 1,
    status: 'triggered',
    assignees: fields.assignees ?? (firstOnCall === undefined ? [] : [firstOnCall]),
    createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  state.incidents.push(incident);
  return incident;
}

function createIncident(request: FakeRequest, state: PagerDutyFakeState, url: string): Answer {
  requester(request, state);
  const body = (request.body as { incident?: Record<string, unknown> } | undefined)?.incident;
  if (body === undefined || body['type'] !== 'incident') invalid('Incident type must be incident.');
  const title = body['title'];
  if (typeof title !== 'string' || title.trim() === '') invalid('Title cannot be empty.');
  const serviceId = (body['service'] as { id?: unknown } | undefined)?.id;
  if (typeof serviceId !== 'string' || !state.services.has(serviceId)) invalid('Service not found.');
  const key = typeof body['incident_key'] === 'string' ? body['incident_key'] : null;
  const open = state.incidents.find(
    (known) =>
      known.incidentKey === key && key !== null && known.service === serviceId && known.status !== 'resolved',
  );
  if (open !== undefined) invalid('Open incident with matching dedup key already exists on this service');
  const assignments = body['assignments'] as { assignee?: { id?: unknown } }[] | undefined;
  // PagerDuty's reference: assignments "cannot be specified if an escalation policy is given".
  if (assignments !== undefined && body['escalation_policy'] !== undefined) {
    invalid('Assignments cannot be specified if an escalation policy is given.');
  }
  const assignees = assignments?.map((entry) => String(entry.assignee?.id));
  if (assignees?.some((id) => !state.users.has(id))) invalid('Assignee not found.');
  const details = (body['body'] as { details?: unknown } | undefined)?.details;
  const incident = openIncident(state, {
    title: String(title),
    urgency: body['urgency'] === 'low' ? 'low' : 'high',
    service: String(serviceId),
    incidentKey: key,
    details: typeof details === 'string' ? details : null,
    ...(assignees === undefined ? {} : { assignees }),
  });
  return json(201, { incident: incidentAnswer(incident, url, state.accountOffset) });
}

function updateIncident(
  request: FakeRequest,
  state: PagerDutyFakeState,
  id: string | undefined,
  url: string,
) {
  requester(request, state);
  const incident = findIncident(state, id);
  const status = (request.body as { incident?: { status?: unknown } } | undefined)?.incident?.status;
  if (status !== 'acknowledged' && status !== 'resolved') invalid('Status must be acknowledged or resolved.');
  // A resolved incident stays resolved; acknowledging it again changes nothing.
  if (incident.status !== 'resolved' && !(incident.status === 'acknowledged' && status === 'acknowledged')) {
    incident.status = status;
  }
  return json(200, { incident: incidentAnswer(incident, url, state.accountOffset) });
}

function listIncidents(request: FakeRequest, state: PagerDutyFakeState, url: string): Answer {
  const { offset, limit } = page(request);
  const statuses = listParam(request, 'statuses');
  const services = listParam(request, 'service_ids');
  if (statuses.some((status) => !['triggered', 'acknowledged', 'resolved'].includes(status))) {
    invalid('Status must be a list of triggered, acknowledged, or resolved.');
  }
  const since = Date.parse(request.query['since'] ?? '');
  const until = Date.parse(request.query['until'] ?? '');
  const key = request.query['incident_key'];
  const matches = state.incidents.filter(
    (incident) =>
      (key === undefined || incident.incidentKey === key) &&
      (statuses.length === 0 || statuses.includes(incident.status)) &&
      (services.length === 0 || services.includes(incident.service)) &&
      (Number.isNaN(since) || Date.parse(incident.createdAt) >= since) &&
      (Number.isNaN(until) || Date.parse(incident.createdAt) < until),
  );
  const incidents = matches
    .slice(offset, offset + limit)
    .map((incident) => incidentAnswer(incident, url, state.accountOffset));
  const total = request.query['total'] === 'true' ? matches.length : null;
  return json(200, { incidents, offset, limit, more: offset + limit < matches.length, total });
}

function listOncalls(request: FakeRequest, state: PagerDutyFakeState): Answer {
  const { offset, limit } = page(request);
  const policies = listParam(request, 'escalation_policy_ids');
  const schedules = listParam(request, 'schedule_ids');
  const withUsers = listParam(request, 'include').includes('users');
  const all = [...state.policies].flatMap(([policy, levels]) =>
    levels.map((level) => ({ policy, ...level })),
  );
  const matches = all.filter(
    (entry) =>
      (policies.length === 0 || policies.includes(entry.policy)) &&
      (schedules.length === 0 || (entry.schedule !== null && schedules.includes(entry.schedule))),
  );
  const oncalls = matches.slice(offset, offset + limit).map((entry) => {
    const user = state.users.get(entry.user);
    const reference = { id: entry.user, type: 'user_reference', summary: user?.name };
    return {
      user: withUsers ? { ...reference, type: 'user', name: user?.name, email: user?.email } : reference,
      escalation_policy: { id: entry.policy, type: 'escalation_policy_reference' },
      escalation_level: entry.level,
      schedule: entry.schedule === null ? null : { id: entry.schedule, type: 'schedule_reference' },
      start: entry.schedule === null ? null : rendered('2024-05-06T09:00:00Z', state.accountOffset),
      end: entry.schedule === null ? null : rendered('2099-05-13T09:00:00Z', state.accountOffset),
    };
  });
  return json(200, { oncalls, offset, limit, more: offset + limit < matches.length, total: null });
}

function listContactMethods(state: PagerDutyFakeState, userId: string | undefined, url: string): Answer {
  if (userId === undefined || !state.users.has(userId)) refuse(failure(404, 'Not Found', 2100));
  const contactMethods = (state.contactMethods.get(userId) ?? []).map((method) => ({
    id: method.id,
    type: method.type,
    summary: method.label,
    label: method.label,
    address: method.address,
    ...(method.countryCode === null ? {} : { country_code: method.countryCode }),
    self: `${url}/users/${userId}/contact_methods/${method.id}`,
  }));
  return json(200, { contact_methods: contactMethods });
}

function eventInvalid(...errors: string[]): never {
  return refuse(json(400, { status: 'invalid event', message: 'Event object is invalid', errors }));
}

function enqueue(request: FakeRequest, state: PagerDutyFakeState): Answer {
  const event = (request.body ?? {}) as Record<string, unknown>;
  const routingKey = event['routing_key'];
  const service = typeof routingKey === 'string' ? state.routingKeys.get(routingKey) : undefined;
  if (service === undefined) eventInvalid("'routing_key' is invalid");
  const action = event['event_action'];
  if (action !== 'trigger' && action !== 'acknowledge' && action !== 'resolve') {
    eventInvalid("'event_action' must be one of trigger, acknowledge or resolve");
  }
  const given = event['dedup_key'];
  if (action !== 'trigger' && typeof given !== 'string') eventInvalid("'dedup_key' is required");
  const dedupKey = typeof given === 'string' ? given : randomUUID().replaceAll('-', '');
  const open = state.incidents.find(
    (incident) =>
      incident.incidentKey === dedupKey && incident.service === service && incident.status !== 'resolved',
  );
  if (action === 'trigger') {
    const payload = (event['payload'] ?? {}) as Record<string, unknown>;
    if (typeof payload['summary'] !== 'string' || typeof payload['source'] !== 'string') {
      eventInvalid("'payload.summary' and 'payload.source' are required");
    }
    if (!['critical', 'error', 'warning', 'info'].includes(String(payload['severity']))) {
      eventInvalid("'payload.severity' must be critical, error, warning or info");
    }
    if (open === undefined) {
      openIncident(state, {
        title: String(payload['summary']),
        urgency: 'high',
        service: String(service),
        incidentKey: dedupKey,
        details: null,
      });
    }
  } else if (open !== undefined) {
    open.status = action === 'resolve' ? 'resolved' : 'acknowledged';
  }
  state.events.push({ action: String(action), dedupKey, routingKey: String(routingKey) });
  return json(202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
}

function seed(): PagerDutyFakeState {
  return {
    tokens: new Set([PAGERDUTY_SANDBOX_TOKEN]),
    routingKeys: new Map([[PAGERDUTY_SANDBOX_ROUTING_KEY, 'PWIXJZS']]),
    users: new Map([
      ['PXPGF42', { name: 'Alice Example', email: 'alice@example.com' }],
      ['PAM4FGS', { name: 'Bob Example', email: 'bob@example.com' }],
      // The user the connector acts as by default (PAGERDUTY_FROM_EMAIL in function.yml).
      ['PBOT0CC', { name: 'Circle Core bot', email: 'oncall-bot@example.com' }],
    ]),
    contactMethods: new Map([
      [
        'PXPGF42',
        [
          {
            id: 'PSMSA01',
            type: 'sms_contact_method',
            label: 'Mobile',
            address: '5558675310',
            countryCode: 1,
          },
          {
            id: 'PEMLA01',
            type: 'email_contact_method',
            label: 'Work',
            address: 'alice@example.com',
            countryCode: null,
          },
        ],
      ],
      [
        'PAM4FGS',
        [
          {
            id: 'PPHNB01',
            type: 'phone_contact_method',
            label: 'Desk',
            address: '5558675399',
            countryCode: 1,
          },
          {
            id: 'PSMSB01',
            type: 'sms_contact_method',
            label: 'Mobile',
            address: '5558675311',
            countryCode: 1,
          },
        ],
      ],
    ]),
    services: new Map([['PWIXJZS', { name: 'Checkout API', escalationPolicy: 'PT20YPA' }]]),
    policies: new Map([
      [
        'PT20YPA',
        [
          { level: 1, user: 'PXPGF42', schedule: 'PI7DH85' },
          { level: 2, user: 'PAM4FGS', schedule: null },
        ],
      ],
    ]),
    incidents: [
      {
        id: 'PT4KHLK',
        number: 1,
        title: 'The server is on fire.',
        status: 'triggered',
        urgency: 'high',
        service: 'PWIXJZS',
        incidentKey: 'baf7cf21b1da41b4b0221008339ff357',
        assignees: ['PXPGF42'],
        details: 'A disk is full on checkout-db-1',
        createdAt: '2024-05-01T10:00:00Z',
      },
      {
        id: 'PQ1LXJ3',
        number: 2,
        title: 'Checkout latency above 2s',
        status: 'resolved',
        urgency: 'low',
        service: 'PWIXJZS',
        incidentKey: null,
        assignees: ['PAM4FGS'],
        details: null,
        createdAt: '2024-04-20T08:00:00Z',
      },
    ],
    events: [],
    accountOffset: '+00:00',
  };
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(pagerdutyFake());
 * ```
 */
export function pagerdutyFake(): FakeDefinition<PagerDutyFakeState> {
  return {
    name: 'PagerDuty',
    seed,
    errors: pagerdutyErrors,
    token: (request) => /^Token token=(\S+)$/.exec(request.headers['authorization'] ?? '')?.[1],
    authorize: ({ request, state }) => (state.tokens.has(request.token ?? '') ? undefined : 'unauthorized'),
    headers: () => ({ 'ratelimit-limit': '960', 'ratelimit-remaining': '959', 'ratelimit-reset': '60' }),
    secretFields: ['routing_key'],
    routes: [
      {
        name: 'enqueue',
        method: 'POST',
        path: '/v2/enqueue',
        auth: false,
        handle: ({ request, state }) => enqueue(request, state),
      },
      {
        name: 'abilities',
        method: 'GET',
        path: '/abilities',
        handle: () => json(200, { abilities: ['teams', 'urgencies'] }),
      },
      {
        name: 'create-incident',
        method: 'POST',
        path: '/incidents',
        handle: ({ request, state, url }) => createIncident(request, state, url),
      },
      {
        name: 'list-incidents',
        method: 'GET',
        path: '/incidents',
        handle: ({ request, state, url }) => listIncidents(request, state, url),
      },
      {
        name: 'get-incident',
        method: 'GET',
        path: '/incidents/:id',
        handle: ({ params, state, url }) =>
          json(200, {
            incident: incidentAnswer(findIncident(state, params['id']), url, state.accountOffset),
          }),
      },
      {
        name: 'update-incident',
        method: 'PUT',
        path: '/incidents/:id',
        handle: ({ request, params, state, url }) => updateIncident(request, state, params['id'], url),
      },
      {
        name: 'list-contact-methods',
        method: 'GET',
        path: '/users/:id/contact_methods',
        handle: ({ params, state, url }) => listContactMethods(state, params['id'], url),
      },
      {
        name: 'list-oncalls',
        method: 'GET',
        path: '/oncalls',
        handle: ({ request, state }) => listOncalls(request, state),
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startPagerDutyFake();
 * ```
 */
export function startPagerDutyFake(options?: StartOptions): Promise<FakeServer<PagerDutyFakeState>> {
  return startFake(pagerdutyFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/pagerduty.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startPagerDutyFake({ port: Number(process.argv[2] ?? 0) });
  console.log(
    `PagerDuty sandbox: PAGERDUTY_API_URL=${fake.url} PAGERDUTY_EVENTS_API_URL=${fake.url} (API key ${PAGERDUTY_SANDBOX_TOKEN})`,
  );
}
