/**
 * PagerDuty: the only code that talks to it. Two APIs as data for the core's REST kit: REST API v2
 * (`pagerdutyApi`: `Authorization: Token token=...`, the versioned Accept header, status-based errors with
 * `{ error: { message, code, errors } }` bodies, offset pagination with `more`) and Events API v2
 * (`pagerdutyEvents`: the routing key travels in the body). `PagerDutyApi` holds the calls on parsed input.
 */

import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  type ConnectorError,
  defineRestProvider,
  type FieldIssue,
  type HttpResponse,
  offsetLimit,
  type RestClient,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import { truncateText } from '#shared/text/truncate.ts';
import {
  type AlertRef,
  type ContactMethod,
  ContactMethodListAnswer,
  type ContactMethods,
  type ContactMethodsInput,
  type CreateIncidentInput,
  EnqueueAnswer,
  type EventOutput,
  type Incident,
  type IncidentAnswer,
  IncidentListAnswer,
  type IncidentPage,
  type IncidentRef,
  type ListIncidentsInput,
  type ListOncallsInput,
  OncallListAnswer,
  type OncallPage,
  OneIncidentAnswer,
  type TriggerAlertInput,
} from './models.ts';

const ErrorBody = z.object({
  error: z.object({ message: z.string().optional(), errors: z.array(z.string()).optional() }).optional(),
  message: z.string().optional(),
  errors: z.array(z.string()).optional(),
});

/**
 * PagerDuty's 400s, from both APIs: an open incident with the same incident key is a conflict; anything
 * else names what PagerDuty refused (its `errors` are about the input, never credentials).
 *
 * @example
 * ```ts
 * inspectPagerDutyResponse({ status: 400, body: { error: { message: 'Invalid Input Provided', errors: ['...'] } }, ... });
 * ```
 */
export function inspectPagerDutyResponse(response: HttpResponse): ConnectorError | undefined {
  if (response.status !== 400) return undefined;
  const parsed = ErrorBody.safeParse(response.body);
  const body = parsed.success ? parsed.data : {};
  // At most 200 characters each, cut before a whole character: PagerDuty may quote the input, and half of
  // an emoji (a lone surrogate) in an error would reach callers and logs as text no UTF-8 encoder writes.
  const errors = (body.error?.errors ?? body.errors ?? [])
    .slice(0, 10)
    .map((text) => truncateText(text, 200, '…'));
  const message = truncateText(body.error?.message ?? body.message ?? 'Invalid input', 200, '…');
  if (errors.some((text) => /matching dedup key already exists/i.test(text))) {
    return new ConflictError(`PagerDuty refused the incident: ${errors.join('; ')}`);
  }
  const said = errors.length > 0 ? `: ${errors.join('; ')}` : '';
  return new ValidationError(
    `PagerDuty refused the request (${message})${said}`,
    errors.map((text) => ({ pointer: '', message: text })),
  );
}

/**
 * Whether ISO 8601 date-time `a` is strictly before `b`, offsets applied; digits below the millisecond
 * (which Date drops) decide between equal milliseconds.
 */
function isBefore(a: string, b: string): boolean {
  const instant = (iso: string): [number, string] => [
    Date.parse(iso),
    (/\.\d{3}(\d*)/.exec(iso)?.[1] ?? '').padEnd(9, '0'),
  ];
  const [aMs, aRest] = instant(a);
  const [bMs, bRest] = instant(b);
  return aMs !== bMs ? aMs < bMs : aRest < bRest;
}

/** REST API v2 as data; its settings are `PAGERDUTY_API_URL`, `PAGERDUTY_TIMEOUT_MS`, ... */
export const pagerdutyApi = defineRestProvider({
  name: 'PagerDuty',
  settingsPrefix: 'PAGERDUTY',
  baseUrl: 'https://api.pagerduty.com',
  baseUrlNote: 'EU service region: `https://api.eu.pagerduty.com`',
  auth: { kind: 'api-key', header: 'authorization', prefix: 'Token token=' },
  headers: { accept: 'application/vnd.pagerduty+json;version=2' },
  errors: { codeIn: 'status' },
  inspect: inspectPagerDutyResponse,
  pagination: offsetLimit({ offsetParam: 'offset', limitParam: 'limit', moreField: 'more' }),
  rateLimit: { remaining: 'ratelimit-remaining', reset: 'ratelimit-reset', resetFormat: 'delta-seconds' },
  // REST API keys get 960 requests a minute; about 10% under it.
  rateBudget: { limit: 860, perMs: 60_000 },
});

/** Events API v2 as data; its settings are `PAGERDUTY_EVENTS_API_URL`, ... */
export const pagerdutyEvents = defineRestProvider({
  name: 'PagerDuty Events',
  settingsPrefix: 'PAGERDUTY_EVENTS',
  baseUrl: 'https://events.pagerduty.com',
  baseUrlNote: 'EU service region: `https://events.eu.pagerduty.com`',
  // The routing key is a field of every event, not a header.
  auth: { kind: 'none' },
  errors: { codeIn: 'status' },
  inspect: inspectPagerDutyResponse,
});

/** PagerDuty's `statuses[]=a&statuses[]=b` arrays, which the kit's flat query cannot repeat. */
function withArrays(path: string, arrays: Record<string, readonly string[] | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(arrays))
    for (const value of values ?? []) query.append(`${name}[]`, value);
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** PagerDuty's contact method types, by the short name the connector answers. */
const CONTACT_TYPES: Readonly<Record<string, ContactMethod['type']>> = {
  sms_contact_method: 'sms',
  sms_contact_method_reference: 'sms',
  phone_contact_method: 'phone',
  phone_contact_method_reference: 'phone',
  email_contact_method: 'email',
  email_contact_method_reference: 'email',
  push_notification_contact_method: 'push',
  push_notification_contact_method_reference: 'push',
};

function toIncident(answer: IncidentAnswer): Incident {
  return {
    id: answer.id,
    number: answer.incident_number,
    title: answer.title,
    status: answer.status,
    urgency: answer.urgency,
    serviceId: answer.service.id,
    incidentKey: answer.incident_key ?? null,
    assigneeIds: answer.assignments.map((assignment) => assignment.assignee.id),
    url: answer.html_url,
    createdAt: answer.created_at,
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

function controlIssue(value: string | undefined, pointer: string, what: string): FieldIssue[] {
  const found = value === undefined ? null : CONTROL.exec(value);
  if (found === null) return [];
  const code = `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return [{ pointer, message: `contains the control character ${code} at index ${found.index}; ${what}` }];
}

/**
 * Refuses, before any call, an incident title with a line break or another control character (PagerDuty
 * shows a title on one line) and an incident key with a control character (stored and matched as is).
 */
function checkIncidentText(input: CreateIncidentInput): void {
  const issues = [
    ...controlIssue(input.title, '/title', 'a title is one line of text (put the rest in details)'),
    ...controlIssue(input.incidentKey, '/incidentKey', 'a key takes no control characters'),
  ];
  if (issues.length === 0) return;
  const fields = issues.map((issue) => issue.pointer).join(', ');
  throw new ValidationError(`Invalid input: ${fields}: contains a control character`, issues);
}

/**
 * Refuses, before any call, `assigneeIds` with `escalationPolicyId`: PagerDuty's reference says an
 * incident's assignments cannot be specified if an escalation policy is given.
 */
function checkAssignment(input: CreateIncidentInput): void {
  if (input.assigneeIds === undefined || input.escalationPolicyId === undefined) return;
  const message = 'give assigneeIds or escalationPolicyId, not both: PagerDuty takes one or the other';
  throw new ValidationError(`Invalid input: /assigneeIds: ${message}`, [
    { pointer: '/assigneeIds', message },
  ]);
}

/**
 * PagerDuty's calls on parsed input. Reads and status changes (PUT) are retried by the core; creating an
 * incident is sent once (an `incidentKey` makes a repeat a 409 instead of a second incident). Events are
 * retried with their dedup key: PagerDuty folds a repeated event into the same alert.
 *
 * @example
 * ```ts
 * const pd = new PagerDutyApi(rest, events, { from: 'oncall-bot@acme.com', routingKey: secret });
 * const { dedupKey } = await pd.sendEvent('trigger', { summary: 'Disk full', source: 'db-1', severity: 'critical' });
 * ```
 */
export class PagerDutyApi {
  readonly #rest: RestClient;
  readonly #events: RestClient;
  readonly #from: string;
  readonly #routingKey: () => Promise<string>;

  constructor(
    rest: RestClient,
    events: RestClient,
    options: { from: string; routingKey: () => Promise<string> },
  ) {
    this.#rest = rest;
    this.#events = events;
    this.#from = options.from;
    this.#routingKey = options.routingKey;
  }

  async createIncident(input: CreateIncidentInput): Promise<Incident> {
    checkIncidentText(input);
    checkAssignment(input);
    const incident: Record<string, unknown> = {
      type: 'incident',
      title: input.title,
      service: { id: input.serviceId, type: 'service_reference' },
    };
    if (input.urgency !== undefined) incident['urgency'] = input.urgency;
    if (input.details !== undefined) incident['body'] = { type: 'incident_body', details: input.details };
    if (input.incidentKey !== undefined) incident['incident_key'] = input.incidentKey;
    if (input.escalationPolicyId !== undefined) {
      incident['escalation_policy'] = { id: input.escalationPolicyId, type: 'escalation_policy_reference' };
    }
    if (input.assigneeIds !== undefined) {
      incident['assignments'] = input.assigneeIds.map((id) => ({ assignee: { id, type: 'user_reference' } }));
    }
    const answer = await this.#rest.post('/incidents', OneIncidentAnswer, {
      json: { incident },
      headers: { from: this.#from },
      what: 'a created incident',
      notFound: `PagerDuty service ${input.serviceId}`,
    });
    return toIncident(answer.incident);
  }

  async getIncident(input: IncidentRef): Promise<Incident> {
    const answer = await this.#rest.get(`/incidents/${input.incidentId}`, OneIncidentAnswer, {
      what: 'an incident',
      notFound: `PagerDuty incident ${input.incidentId}`,
    });
    return toIncident(answer.incident);
  }

  /** Acknowledges or resolves an incident (an idempotent PUT: already there is no error). */
  async setIncidentStatus(input: IncidentRef, status: 'acknowledged' | 'resolved'): Promise<Incident> {
    const answer = await this.#rest.put(`/incidents/${input.incidentId}`, OneIncidentAnswer, {
      json: { incident: { type: 'incident_reference', status } },
      headers: { from: this.#from },
      what: 'an incident update',
      notFound: `PagerDuty incident ${input.incidentId}`,
    });
    return toIncident(answer.incident);
  }

  /** One page of incidents; `until` not after `since` (an empty or reversed window) is a ValidationError. */
  async listIncidents(input: ListIncidentsInput): Promise<IncidentPage> {
    // PagerDuty's since is inclusive and until exclusive: until at or before since can match nothing.
    if (input.since !== undefined && input.until !== undefined && !isBefore(input.since, input.until)) {
      const message = 'until must be after since';
      throw new ValidationError(`Invalid input: /until: ${message}`, [{ pointer: '/until', message }]);
    }
    const path = withArrays('/incidents', { statuses: input.statuses, service_ids: input.serviceIds });
    const page = await this.#rest.list(path, IncidentListAnswer, {
      query: { limit: input.limit, since: input.since, until: input.until, incident_key: input.incidentKey },
      cursor: input.cursor,
      what: 'the incidents',
      items: (answer) => answer.incidents.map(toIncident),
    });
    return page.nextCursor === undefined
      ? { incidents: page.items }
      : { incidents: page.items, nextCursor: page.nextCursor };
  }

  async listOncalls(input: ListOncallsInput): Promise<OncallPage> {
    const path = withArrays('/oncalls', {
      escalation_policy_ids: input.escalationPolicyIds,
      schedule_ids: input.scheduleIds,
      include: ['users'],
    });
    const page = await this.#rest.list(path, OncallListAnswer, {
      query: { limit: input.limit, earliest: input.earliest },
      cursor: input.cursor,
      what: 'the on-calls',
      items: (answer) =>
        answer.oncalls.map((oncall) => ({
          userId: oncall.user.id,
          userName: oncall.user.name ?? oncall.user.summary ?? oncall.user.id,
          userEmail: oncall.user.email ?? null,
          escalationPolicyId: oncall.escalation_policy.id,
          escalationLevel: oncall.escalation_level,
          scheduleId: oncall.schedule?.id ?? null,
          start: oncall.start ?? null,
          end: oncall.end ?? null,
        })),
    });
    return page.nextCursor === undefined
      ? { oncalls: page.items }
      : { oncalls: page.items, nextCursor: page.nextCursor };
  }

  /**
   * `GET /users/{id}/contact_methods`: how to reach a user; `smsNumber` is the first SMS method in E.164
   * (PagerDuty keeps the country code apart from the address).
   */
  async listContactMethods(input: ContactMethodsInput): Promise<ContactMethods> {
    const answer = await this.#rest.get(`/users/${input.userId}/contact_methods`, ContactMethodListAnswer, {
      what: "a user's contact methods",
      notFound: `PagerDuty user ${input.userId}`,
    });
    const contactMethods = answer.contact_methods.map((method): ContactMethod => {
      const type = CONTACT_TYPES[method.type] ?? 'other';
      const digits = method.address.replace(/\D/g, '');
      const phone =
        (type === 'sms' || type === 'phone') && method.country_code != null && digits !== ''
          ? `+${method.country_code}${digits}`
          : null;
      return { id: method.id, type, label: method.label ?? null, address: method.address, phone };
    });
    const sms = contactMethods.find((method) => method.type === 'sms' && method.phone !== null);
    return { contactMethods, smsNumber: sms?.phone ?? null };
  }

  /** Sends an Events API v2 event; the dedup key makes a retry land on the same alert. */
  async sendEvent(
    action: 'trigger' | 'acknowledge' | 'resolve',
    input: TriggerAlertInput | AlertRef,
  ): Promise<EventOutput> {
    const dedupKey = input.dedupKey ?? randomUUID();
    const event: Record<string, unknown> = {
      routing_key: await this.#routingKey(),
      event_action: action,
      dedup_key: dedupKey,
    };
    if ('summary' in input) {
      const { summary, source, severity, component, group, timestamp, customDetails } = input;
      event['payload'] = {
        summary,
        source,
        severity,
        ...(component === undefined ? {} : { component }),
        ...(group === undefined ? {} : { group }),
        ...(input.class === undefined ? {} : { class: input.class }),
        ...(timestamp === undefined ? {} : { timestamp }),
        ...(customDetails === undefined ? {} : { custom_details: customDetails }),
      };
    }
    const answer = await this.#events.post('/v2/enqueue', EnqueueAnswer, {
      json: event,
      // Makes the POST retryable; sent as a header (which PagerDuty ignores; the core percent-encodes a key
      // in another script, since a header holds only ASCII).
      idempotencyKey: dedupKey,
      what: 'an event',
    });
    return { dedupKey: answer.dedup_key, status: answer.status, message: answer.message };
  }

  /** `GET /abilities`: proves the API key and the URL for `health`. */
  async ping(): Promise<void> {
    await this.#rest.get('/abilities', z.looseObject({ abilities: z.array(z.string()) }));
  }

  close(): void {
    this.#rest.close();
    this.#events.close();
  }
}
