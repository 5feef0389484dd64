/**
 * The PagerDuty connector's models: each operation's input and output (every field described; inputs
 * refuse unknown fields), and the shapes of PagerDuty's REST API v2 and Events API v2 answers the client
 * reads (open objects: PagerDuty adds fields).
 */
import * as z from 'zod';
import { utcTimestamp } from '#shared/data/timestamps.ts';
import { NOT_WELL_FORMED } from '#shared/models/paths.ts';

/** Ids of the sandbox's seeded objects, the examples the docs give. */
const EXAMPLE_IDS: Readonly<Record<string, string>> = {
  service: 'PWIXJZS',
  incident: 'PT4KHLK',
  'escalation policy': 'PT20YPA',
  user: 'PXPGF42',
  schedule: 'PI7DH85',
};

/** A PagerDuty object id (`PT4KHLK`). */
const PagerDutyId = (what: string) =>
  z
    .string()
    .regex(/^[A-Z0-9]{1,20}$/, `expected a PagerDuty ${what} id`)
    .describe(`The ${what} id, e.g. "${EXAMPLE_IDS[what] ?? 'PIJ90N7'}"`);
const IdList = (what: string) => z.array(PagerDutyId(what)).min(1).max(50);
const Cursor = z.string().min(1).max(200).optional().describe('The nextCursor of a previous page');
const Limit = (fallback: number) =>
  z.number().int().min(1).max(100).default(fallback).describe(`Page size, 1 to 100, default ${fallback}`);

export const IncidentStatus = z
  .enum(['triggered', 'acknowledged', 'resolved'])
  .describe('triggered, acknowledged or resolved');

/** A dedup key (Events API) or incident key (REST): the same key is the same alert or incident. */
const DedupKey = z
  .string()
  .min(1)
  .max(255)
  .refine((key) => key.isWellFormed(), NOT_WELL_FORMED)
  .describe('Deduplication key: events and incidents with the same key are one alert or incident');

export const CreateIncidentInput = z.strictObject({
  title: z.string().trim().min(1).max(1024).describe('The incident title'),
  serviceId: PagerDutyId('service'),
  urgency: z.enum(['high', 'low']).optional().describe("high or low; default the service's urgency rule"),
  details: z.string().max(65_535).optional().describe('Details shown in the incident body'),
  incidentKey: DedupKey.optional().describe(
    'Deduplication key: while an incident with this key is open on the service, another is refused (409)',
  ),
  escalationPolicyId: PagerDutyId('escalation policy').optional(),
  assigneeIds: IdList('user').optional().describe('Users to assign instead of the escalation policy'),
});
export type CreateIncidentInput = z.output<typeof CreateIncidentInput>;

export const IncidentRef = z.strictObject({ incidentId: PagerDutyId('incident') });
export type IncidentRef = z.output<typeof IncidentRef>;

export const Incident = z.object({
  id: z.string().describe('The incident id'),
  number: z.number().int().describe('The incident number in the account'),
  title: z.string().describe('The incident title'),
  status: IncidentStatus,
  urgency: z.string().describe('high or low'),
  serviceId: z.string().describe('The service it belongs to'),
  incidentKey: z.string().nullable().describe('Its deduplication key'),
  assigneeIds: z.array(z.string()).describe('Assigned users'),
  url: z.string().describe('The incident page for people'),
  createdAt: z.string().describe('When it was created, ISO 8601'),
});
export type Incident = z.output<typeof Incident>;

export const ListIncidentsInput = z.strictObject({
  statuses: z.array(IncidentStatus).min(1).max(3).optional().describe('Only these statuses; default all'),
  serviceIds: IdList('service').optional().describe('Only incidents of these services'),
  since: z.iso.datetime({ offset: true }).optional().describe('Created at or after, ISO 8601'),
  until: z.iso.datetime({ offset: true }).optional().describe('Created before, ISO 8601'),
  incidentKey: DedupKey.optional().describe(
    'Only the incidents with this deduplication key (incident_key), e.g. "baf7cf21b1da41b4b0221008339ff357"',
  ),
  limit: Limit(25),
  cursor: Cursor,
});
export type ListIncidentsInput = z.output<typeof ListIncidentsInput>;

export const IncidentPage = z.object({
  incidents: z.array(Incident).describe('One page of incidents'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last'),
});
export type IncidentPage = z.output<typeof IncidentPage>;

export const ListOncallsInput = z.strictObject({
  escalationPolicyIds: IdList('escalation policy').optional().describe('Only these escalation policies'),
  scheduleIds: IdList('schedule').optional().describe('Only these schedules'),
  earliest: z
    .boolean()
    .default(true)
    .describe('One entry per user, level and policy (the earliest shift); default true'),
  limit: Limit(25),
  cursor: Cursor,
});
export type ListOncallsInput = z.output<typeof ListOncallsInput>;

export const Oncall = z.object({
  userId: z.string().describe('The user on call'),
  userName: z.string().describe('Their name'),
  userEmail: z.string().nullable().describe('Their email address'),
  escalationPolicyId: z.string().describe('The escalation policy'),
  escalationLevel: z.number().int().describe('The level within it (1 is paged first)'),
  scheduleId: z
    .string()
    .nullable()
    .describe('The schedule that puts them on call, null for a direct assignment'),
  start: z.string().nullable().describe('Start of the shift, ISO 8601; null when always on call'),
  end: z.string().nullable().describe('End of the shift, ISO 8601; null when always on call'),
});
export type Oncall = z.output<typeof Oncall>;

export const OncallPage = z.object({
  oncalls: z.array(Oncall).describe('Who is on call, lowest escalation level first'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last'),
});
export type OncallPage = z.output<typeof OncallPage>;

export const ContactMethodsInput = z.strictObject({ userId: PagerDutyId('user') });
export type ContactMethodsInput = z.output<typeof ContactMethodsInput>;

export const ContactMethod = z.object({
  id: z.string().describe('The contact method id'),
  type: z.enum(['sms', 'phone', 'email', 'push', 'other']).describe('sms, phone, email, push or other'),
  label: z.string().nullable().describe('Its label (Mobile, Work)'),
  address: z.string().describe('The address: a phone number without its country code, an email, a device'),
  phone: z
    .string()
    .nullable()
    .describe('For sms and phone: the number in E.164 (+ country code and address); null otherwise'),
});
export type ContactMethod = z.output<typeof ContactMethod>;

export const ContactMethods = z.object({
  contactMethods: z.array(ContactMethod).describe("The user's contact methods, as PagerDuty lists them"),
  smsNumber: z
    .string()
    .nullable()
    .describe('The first SMS contact method in E.164 (where to text them), null when they have none'),
});
export type ContactMethods = z.output<typeof ContactMethods>;

export const TriggerAlertInput = z.strictObject({
  summary: z.string().trim().min(1).max(1024).describe('What is wrong; the alert and incident title'),
  source: z.string().min(1).max(255).describe('Where it happened: a host, a service, a URL'),
  severity: z.enum(['critical', 'error', 'warning', 'info']).describe('critical, error, warning or info'),
  dedupKey: DedupKey.optional().describe(
    'The alert key; default a new one (answered back: acknowledge and resolve with it)',
  ),
  component: z.string().max(255).optional().describe('The part of the source that is broken'),
  group: z.string().max(255).optional().describe('A logical grouping (a cluster, a service)'),
  class: z.string().max(255).optional().describe('The class of problem (disk, cpu)'),
  customDetails: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Free-form details shown with the alert (JSON object)'),
  timestamp: z.iso.datetime({ offset: true }).optional().describe('When it was detected, ISO 8601'),
});
export type TriggerAlertInput = z.output<typeof TriggerAlertInput>;

export const AlertRef = z.strictObject({ dedupKey: DedupKey });
export type AlertRef = z.output<typeof AlertRef>;

export const EventOutput = z.object({
  dedupKey: z.string().describe('The alert key PagerDuty grouped the event under'),
  status: z.string().describe('success'),
  message: z.string().describe("PagerDuty's word on it (Event processed)"),
});
export type EventOutput = z.output<typeof EventOutput>;

// --- PagerDuty's answers -----------------------------------------------------------------------------

const Reference = z.looseObject({ id: z.string() });

/** A time PagerDuty rendered in the account's time zone (`...-05:00`), answered in UTC (`...Z`). */
const UtcTime = z.string().transform(utcTimestamp);

export const IncidentAnswer = z.looseObject({
  id: z.string(),
  incident_number: z.number(),
  title: z.string(),
  status: IncidentStatus,
  urgency: z.string(),
  service: Reference,
  incident_key: z.string().nullish(),
  assignments: z.array(z.looseObject({ assignee: Reference })).default([]),
  html_url: z.string(),
  created_at: UtcTime,
});
export type IncidentAnswer = z.output<typeof IncidentAnswer>;

export const OneIncidentAnswer = z.looseObject({ incident: IncidentAnswer });
export const IncidentListAnswer = z.looseObject({ incidents: z.array(IncidentAnswer), more: z.boolean() });

export const OncallAnswer = z.looseObject({
  user: z.looseObject({
    id: z.string(),
    summary: z.string().optional(),
    name: z.string().optional(),
    email: z.string().optional(),
  }),
  escalation_policy: Reference,
  escalation_level: z.number(),
  schedule: Reference.nullish(),
  start: UtcTime.nullish(),
  end: UtcTime.nullish(),
});
export const OncallListAnswer = z.looseObject({ oncalls: z.array(OncallAnswer), more: z.boolean() });

export const ContactMethodListAnswer = z.looseObject({
  contact_methods: z.array(
    z.looseObject({
      id: z.string(),
      type: z.string(),
      label: z.string().nullish(),
      address: z.string(),
      country_code: z.number().nullish(),
    }),
  ),
});

export const EnqueueAnswer = z.looseObject({
  status: z.string(),
  message: z.string(),
  dedup_key: z.string(),
});
