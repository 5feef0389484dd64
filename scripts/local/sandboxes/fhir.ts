/**
 * A FHIR R4 server, on the contract-fake kit: what the FHIR connector's tests run against and the local
 * stack's FHIR sandbox (`npx node scripts/local/sandboxes/fhir.ts [port]`). It follows the FHIR R4 RESTful
 * API (hl7.org/fhir/R4/http.html), its search rules (search.html) and SMART Backend Services
 * (hl7.org/fhir/smart-app-launch/backend-services.html), under the base `/fhir`:
 *
 * - `GET /metadata`: a CapabilityStatement (types, interactions, search parameters, `$everything` on
 *   Patient only, the SMART token URL); `GET /.well-known/smart-configuration`;
 * - `POST /auth/token` (form): `client_credentials` with a `client_assertion` (RS384 or ES384, `iss` =
 *   `sub` = a registered client, `aud` = this URL, `exp` at most 5 minutes on, a `jti` never seen before),
 *   verified against the client's public key; answers `{ access_token, token_type, expires_in, scope }`
 *   or RFC 6749 errors. Issued tokens read with `system/*.read` and write with `system/*.write`;
 * - `GET /{type}/{id}` (ETag `W/"n"`, Last-Modified), `GET /{type}/{id}/_history/{vid}`,
 *   `GET /{type}/{id}/_history`;
 * - `GET /{type}?...` and `POST /{type}/_search`: `_id`, `_lastUpdated`, `identifier`, `name`, `family`,
 *   `given`, `birthdate`, `gender`, `subject`, `patient`, `code`, `status`, `date` (prefixes eq, ge, le,
 *   gt, lt), `:exact`/`:contains` on strings, commas as OR and repeats as AND, `\,` `\|` `\$` `\\` as the
 *   characters (R4 "Escaping search parameters"); `_count` (default 20, at
 *   most 100) and `_sort=_lastUpdated|-_lastUpdated`; a searchset Bundle with `total` and a `next` link
 *   (`GET /fhir?_getpages=<id>&_getpagesoffset=<n>&_count=<n>`, 410 once forgotten); an unknown
 *   parameter is a 400, as HAPI answers;
 * - `POST /{type}` (201, Location, ETag; `If-None-Exist`: one match answers 200 with it, several 412;
 *   `Prefer: return=minimal` answers no body), `PUT /{type}/{id}` (a new version; `If-Match: W/"n"` not
 *   the current version is a 412; an unknown id is created); `state.lostAnswers` makes a write apply
 *   and then answer a proxy's 502 (the lost answer a retry must cope with);
 * - `POST /` with a `transaction` Bundle (all or nothing, `urn:uuid:` references resolved, conditional
 *   entries honoured) or a `batch` Bundle (each entry on its own);
 * - `GET /Patient/{id}/$everything` (`_count`, `_since`), paged like a search;
 * - every error an OperationOutcome (`application/fhir+json`), with `issue.severity`, `code`,
 *   `diagnostics` and `expression`. A Patient with an invalid birthDate is refused with diagnostics that
 *   quote its name, as real servers echo what they were sent (the connector must keep that out of logs).
 *
 * Seed: the token {@link FHIR_SANDBOX_TOKEN} (every scope); patients `pat-1`..`pat-4` (three named
 * Okafor), observations, an encounter and a condition of `pat-1`; synthetic data only.
 *
 * @example
 * ```ts
 * const fake = await startFhirFake();
 * process.env['FHIR_API_URL'] = `${fake.url}/fhir`;
 * fake.state.clients.set('client-1', { publicKey, scope: 'system/*.read' });
 * ```
 */
import { createPublicKey, type KeyObject, randomUUID, verify } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  AnswerError,
  type ErrorDialect,
  type ErrorKind,
  type FakeDefinition,
  type FakeServer,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** The token the fake accepts with every scope unless a test changes `state.tokens`: a sandbox credential. */
export const FHIR_SANDBOX_TOKEN = 'fhir-sandbox-token';
/** The token URL's path, under the fake's URL. */
export const FHIR_TOKEN_PATH = '/auth/token';

type Json = Record<string, unknown>;

export interface FhirFakeVersion {
  resource: Json;
  lastUpdated: string;
}

export interface FhirFakeClient {
  /** The client's registered public key (PEM or KeyObject). */
  publicKey: KeyObject | string;
  /** The scopes it may be granted (space-separated); default `system/*.read system/*.write`. */
  scope?: string;
}

export interface FhirFakeState {
  /** Tokens with every scope (the sandbox's, a user's). */
  tokens: Set<string>;
  /** Tokens the token endpoint issued: scope and expiry (epoch ms). */
  issued: Map<string, { scope: string; expiresAt: number }>;
  /** SMART clients by client id. */
  clients: Map<string, FhirFakeClient>;
  /** `jti`s of assertions already used (replays are refused). */
  jtis: Set<string>;
  /** `Type/id` -> its versions, oldest first. */
  resources: Map<string, FhirFakeVersion[]>;
  /** Search results kept for paging: id -> the `Type/id` keys matched. */
  searches: Map<string, string[]>;
  /** Whether `$everything` is offered (the CapabilityStatement lists it on Patient). */
  everything: boolean;
  /**
   * Lost answers: how many more writes of a route (`create`, `update`, `transaction`) to apply and then
   * answer 502 as a failing proxy in front of the server would (plain text, no OperationOutcome), so the
   * client sees a failure although the write was made.
   */
  lostAnswers: Map<'create' | 'update' | 'transaction', number>;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const TYPES = [
  'Patient',
  'Observation',
  'Encounter',
  'Condition',
  'Practitioner',
  'Organization',
  'Procedure',
  'MedicationRequest',
  'AllergyIntolerance',
  'DiagnosticReport',
  'Immunization',
] as const;
const MAX_COUNT = 100;
const DEFAULT_COUNT = 20;

/** An answer with a FHIR JSON body. */
function fhir(status: number, body: unknown, headers?: Record<string, string>): Answer {
  return { status, json: body, contentType: FHIR_JSON, ...(headers === undefined ? {} : { headers }) };
}

/** An OperationOutcome with one error issue. */
function outcome(status: number, code: string, diagnostics: string, expression?: string): Answer {
  const issue: Json = { severity: status >= 500 ? 'fatal' : 'error', code, diagnostics };
  if (expression !== undefined) issue['expression'] = [expression];
  return fhir(status, { resourceType: 'OperationOutcome', issue: [issue] });
}

const fail = (status: number, code: string, diagnostics: string, expression?: string): never =>
  refuse(outcome(status, code, diagnostics, expression));

const ISSUE_CODES: Readonly<Record<ErrorKind, string>> = {
  unauthorized: 'login',
  forbidden: 'forbidden',
  'not-found': 'not-found',
  conflict: 'conflict',
  throttled: 'throttled',
  'server-error': 'exception',
};

/** FHIR's error bodies: an OperationOutcome for every error kind. */
export const fhirErrors: ErrorDialect = (kind, { status }) =>
  outcome(status, ISSUE_CODES[kind], `${kind} (${status})`);

// ---------------------------------------------------------------- seed

const SYSTEM_MRN = 'urn:oid:2.16.840.1.113883.19.5';
const LOINC = 'http://loinc.org';

function patient(id: string, family: string, given: string, mrn: string, birthDate: string, gender: string) {
  return {
    resourceType: 'Patient',
    id,
    identifier: [{ system: SYSTEM_MRN, value: mrn }],
    active: true,
    name: [{ use: 'official', family, given: [given] }],
    gender,
    birthDate,
  };
}

function heartRate(id: string, day: string, bpm: number) {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
    subject: { reference: 'Patient/pat-1' },
    effectiveDateTime: `2026-01-${day}T09:30:00Z`,
    valueQuantity: { value: bpm, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

const SEED_RESOURCES: Json[] = [
  patient('pat-1', 'Okafor', 'Amara', 'MRN-1001', '1984-03-12', 'female'),
  patient('pat-2', 'Okafor', 'Chidi', 'MRN-1002', '1979-07-30', 'male'),
  patient('pat-3', 'Lindqvist', 'Sven', 'MRN-1003', '1991-11-02', 'male'),
  patient('pat-4', 'Okafor', 'Ngozi', 'MRN-1004', '2001-05-19', 'female'),
  heartRate('obs-1', '03', 72),
  heartRate('obs-2', '10', 88),
  heartRate('obs-3', '17', 64),
  {
    resourceType: 'Encounter',
    id: 'enc-1',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    subject: { reference: 'Patient/pat-1' },
    period: { start: '2026-01-10T09:00:00Z', end: '2026-01-10T09:45:00Z' },
  },
  {
    resourceType: 'Condition',
    id: 'cond-1',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertension' }] },
    subject: { reference: 'Patient/pat-1' },
    onsetDateTime: '2025-11-20',
    recordedDate: '2025-11-20',
  },
];

function seed(): FhirFakeState {
  const resources = new Map<string, FhirFakeVersion[]>();
  SEED_RESOURCES.forEach((resource, index) => {
    const lastUpdated = new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString();
    const stored = { ...resource, meta: { versionId: '1', lastUpdated } };
    resources.set(`${resource['resourceType']}/${resource['id']}`, [{ resource: stored, lastUpdated }]);
  });
  return {
    tokens: new Set([FHIR_SANDBOX_TOKEN]),
    issued: new Map(),
    clients: new Map(),
    jtis: new Set(),
    resources,
    searches: new Map(),
    everything: true,
    lostAnswers: new Map(),
  };
}

/** The answer a write gets: its own, or (while `state.lostAnswers` asks) a proxy's 502 after it was made. */
function lostOr(state: FhirFakeState, route: 'create' | 'update' | 'transaction', answer: Answer): Answer {
  const left = state.lostAnswers.get(route) ?? 0;
  if (left <= 0) return answer;
  state.lostAnswers.set(route, left - 1);
  return { status: 502, body: 'Bad Gateway', contentType: 'text/plain; charset=utf-8' };
}

// ---------------------------------------------------------------- scopes and SMART token endpoint

const ALL_SCOPES = 'system/*.read system/*.write';

/** Whether a scope list lets `type` be read or written (SMART v1 `.read`/`.write`/`.*`, v2 `.rs`/`.cud`). */
function allows(scope: string, type: string | undefined, write: boolean): boolean {
  return scope.split(/\s+/).some((granted) => {
    const match = /^system\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)$/.exec(granted);
    if (match === null) return false;
    const [, on, what = ''] = match;
    if (on !== '*' && on !== type) return false;
    if (what === '*') return true;
    if (what === 'read' || what === 'write') return (what === 'write') === write;
    // SMART v2: c(reate) r(ead) u(pdate) d(elete) s(earch).
    return write ? /[cud]/.test(what) : /[rs]/.test(what);
  });
}

function oauthError(status: number, error: string, description: string): Answer {
  return { status, json: { error, error_description: description } };
}

function decodePart(part: string | undefined): Json | undefined {
  try {
    const value = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** Checks a client assertion as SMART Backend Services says; answers the client id or refuses. */
function checkAssertion(state: FhirFakeState, assertion: string, tokenUrl: string): string {
  const invalid = (why: string): never => refuse(oauthError(401, 'invalid_client', why));
  const [rawHeader, rawClaims, rawSignature] = assertion.split('.');
  const header = decodePart(rawHeader);
  const claims = decodePart(rawClaims);
  if (header === undefined || claims === undefined || rawSignature === undefined) {
    return invalid('client_assertion is not a JWT');
  }
  const alg = header['alg'];
  if (alg !== 'RS384' && alg !== 'ES384') return invalid('client_assertion must be signed RS384 or ES384');
  const clientId = claims['iss'];
  const client = typeof clientId === 'string' ? state.clients.get(clientId) : undefined;
  if (client === undefined || claims['sub'] !== clientId) return invalid('unknown client');
  const key = typeof client.publicKey === 'string' ? createPublicKey(client.publicKey) : client.publicKey;
  const signed = Buffer.from(`${rawHeader}.${rawClaims}`);
  const signature = Buffer.from(rawSignature, 'base64url');
  const good =
    alg === 'RS384'
      ? key.asymmetricKeyType === 'rsa' && verify('sha384', signed, key, signature)
      : key.asymmetricKeyType === 'ec' &&
        verify('sha384', signed, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!good) return invalid('client_assertion signature does not verify');
  if (claims['aud'] !== tokenUrl) return invalid('client_assertion aud is not the token URL');
  const now = Math.floor(Date.now() / 1000);
  const exp = claims['exp'];
  if (typeof exp !== 'number' || exp < now || exp > now + 300 + 5) {
    return invalid('client_assertion exp must be in the next five minutes');
  }
  const jti = claims['jti'];
  if (typeof jti !== 'string' || jti === '' || state.jtis.has(jti)) {
    return invalid('client_assertion jti is missing or was used before');
  }
  state.jtis.add(jti);
  return clientId as string;
}

// ---------------------------------------------------------------- store

const current = (state: FhirFakeState, key: string): Json | undefined =>
  state.resources.get(key)?.at(-1)?.resource;

function knownType(type: string | undefined): string {
  if (type === undefined || !(TYPES as readonly string[]).includes(type)) {
    return fail(404, 'not-supported', `Unknown resource type "${String(type).slice(0, 64)}"`);
  }
  return type;
}

const lastUpdatedOf = (resource: Json | undefined): string =>
  String(((resource?.['meta'] ?? {}) as Json)['lastUpdated'] ?? '');

const etagOf = (resource: Json): string => `W/"${(resource['meta'] as Json)['versionId']}"`;

function versionHeaders(base: string, resource: Json): Record<string, string> {
  const meta = resource['meta'] as Json;
  return {
    etag: etagOf(resource),
    'last-modified': new Date(String(meta['lastUpdated'])).toUTCString(),
    location: `${base}/${resource['resourceType']}/${resource['id']}/_history/${meta['versionId']}`,
  };
}

const DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;

/** A FHIR date that is a real calendar date (`1984-02-30` is not). */
function isDate(value: unknown): boolean {
  const text = String(value);
  if (!DATE.test(text)) return false;
  const [year = 0, month = 1, day = 1] = text.split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** The elements R4 requires (cardinality 1..) of the four modelled types. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  Observation: ['status', 'code'],
  Encounter: ['status', 'class'],
  Condition: ['subject'],
};

/** The checks a server runs on what it is sent: resourceType, ids, the required elements of the four. */
function validate(type: string, body: unknown, id?: string): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(400, 'structure', 'The body is not a FHIR JSON resource');
  }
  const resource = body as Json;
  if (resource['resourceType'] !== type) {
    return fail(400, 'invalid', `resourceType must be ${type}`, 'resourceType');
  }
  if (id !== undefined && resource['id'] !== id) {
    return fail(400, 'invalid', 'The resource id must match the id in the URL', `${type}.id`);
  }
  for (const element of REQUIRED[type] ?? []) {
    if (resource[element] === undefined || resource[element] === null) {
      fail(
        422,
        'required',
        `${type}.${element}: minimum required = 1, but only found 0`,
        `${type}.${element}`,
      );
    }
  }
  if (type === 'Patient' && resource['birthDate'] !== undefined && !isDate(resource['birthDate'])) {
    // As servers do, the message quotes what it was sent: PHI the connector must not log.
    const name = (resource['name'] as Json[] | undefined)?.[0];
    const who = `${(name?.['given'] as string[] | undefined)?.join(' ') ?? ''} ${String(name?.['family'] ?? '')}`;
    fail(
      422,
      'value',
      `Invalid birthDate "${String(resource['birthDate'])}" for patient ${who.trim()}`,
      'Patient.birthDate',
    );
  }
  return resource;
}

/** Stores a new version of `resource` (a new resource when `id` is new) and answers it. */
function store(state: FhirFakeState, type: string, resource: Json, id: string = randomUUID()): Json {
  const key = `${type}/${id}`;
  const versions = state.resources.get(key) ?? [];
  const lastUpdated = new Date(
    Math.max(Date.now(), Date.parse(versions.at(-1)?.lastUpdated ?? '') + 1 || 0),
  ).toISOString();
  const stored = {
    ...resource,
    id,
    meta: {
      ...((resource['meta'] as Json | undefined) ?? {}),
      versionId: String(versions.length + 1),
      lastUpdated,
    },
  };
  versions.push({ resource: stored, lastUpdated });
  state.resources.set(key, versions);
  return stored;
}

// ---------------------------------------------------------------- search

type Params = [string, string][];

/** The strings a name element can match: text, family, given, prefix, suffix. */
function nameParts(resource: Json, part: 'any' | 'family' | 'given'): string[] {
  const names = (resource['name'] as Json[] | undefined) ?? [];
  return names.flatMap((name) => {
    const family = typeof name['family'] === 'string' ? [name['family']] : [];
    const given = (name['given'] as string[] | undefined) ?? [];
    if (part === 'family') return family;
    if (part === 'given') return given;
    const text = typeof name['text'] === 'string' ? [name['text']] : [];
    return [...text, ...family, ...given, ...((name['prefix'] as string[] | undefined) ?? [])];
  });
}

/**
 * FHIR R4's "Escaping search parameters": `,` (OR), `|` (system|code) and `$` (composites) separate, unless
 * written `\,`, `\|`, `\$`; `\\` is a backslash. Splits `value` at each unescaped `separator`.
 */
function splitUnescaped(value: string, separator: ',' | '|'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let at = 0; at < value.length; at += 1) {
    const char = value[at] ?? '';
    if (char === '\\' && at + 1 < value.length) {
      current += char + (value[at + 1] ?? '');
      at += 1;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  return [...parts, current];
}

/** A value with its FHIR escapes (`\,` `\|` `\$` `\\`) read as the characters they stand for. */
const unescapeValue = (value: string): string => value.replace(/\\([,|$\\])/g, '$1');

function stringMatch(values: string[], wanted: string, modifier: string | undefined): boolean {
  const lower = wanted.toLowerCase();
  return values.some((value) => {
    if (modifier === 'exact') return value === wanted;
    if (modifier === 'contains') return value.toLowerCase().includes(lower);
    return value.toLowerCase().startsWith(lower);
  });
}

/** `system|code`, `|code`, `code` or `system|` against codings or identifiers. */
function tokenMatch(items: Json[], wanted: string, valueField: 'code' | 'value'): boolean {
  const [first = '', ...rest] = splitUnescaped(wanted, '|');
  const system = rest.length === 0 ? undefined : unescapeValue(first);
  const value = unescapeValue(rest.length === 0 ? first : rest.join('|'));
  return items.some((item) => {
    if (system !== undefined && (system === '' ? item['system'] !== undefined : item['system'] !== system)) {
      return false;
    }
    return value === '' || item[valueField] === value;
  });
}

/** The epoch ms range a date parameter value covers (`2026`, `2026-01`, `2026-01-03`, a dateTime). */
function rangeOf(value: string): [number, number] | undefined {
  const start = Date.parse(
    value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value,
  );
  if (Number.isNaN(start)) return undefined;
  if (value.length === 4) return [start, Date.UTC(Number(value) + 1, 0, 1) - 1];
  if (value.length === 7) {
    const [year, month] = value.split('-').map(Number) as [number, number];
    return [start, Date.UTC(year, month, 1) - 1];
  }
  if (value.length === 10) return [start, start + 86_400_000 - 1];
  return [start, start];
}

function dateMatch(dates: string[], wanted: string, name: string): boolean {
  const prefix = /^(eq|ne|ge|le|gt|lt)/.exec(wanted)?.[1] ?? 'eq';
  const range = rangeOf(wanted.replace(/^(eq|ne|ge|le|gt|lt)/, ''));
  if (range === undefined) return fail(400, 'invalid', `Invalid date value for search parameter ${name}`);
  const [low, high] = range;
  return dates.some((date) => {
    const own = rangeOf(date);
    if (own === undefined) return false;
    const [start, end] = own;
    switch (prefix) {
      case 'ge':
        return end >= low;
      case 'le':
        return start <= high;
      case 'gt':
        return end > high;
      case 'lt':
        return start < low;
      case 'ne':
        return end < low || start > high;
      default:
        return start >= low && end <= high;
    }
  });
}

const references = (resource: Json, field: string): string[] => {
  const value = resource[field] as Json | undefined;
  return typeof value?.['reference'] === 'string' ? [value['reference']] : [];
};

const codings = (resource: Json, field: string): Json[] =>
  ((resource[field] as Json | undefined)?.['coding'] as Json[] | undefined) ?? [];

function datesOf(resource: Json, type: string, name: string): string[] {
  const pick = (...values: unknown[]) => values.filter((value): value is string => typeof value === 'string');
  if (name === '_lastUpdated') return pick((resource['meta'] as Json)['lastUpdated']);
  if (name === 'birthdate') return pick(resource['birthDate']);
  if (type === 'Observation') {
    return pick(resource['effectiveDateTime'], (resource['effectivePeriod'] as Json | undefined)?.['start']);
  }
  if (type === 'Encounter') return pick((resource['period'] as Json | undefined)?.['start']);
  if (type === 'Condition')
    return pick(name === 'onset-date' ? resource['onsetDateTime'] : resource['recordedDate']);
  return pick(resource['date']);
}

/** The parameters each type knows beyond the common ones, and their kinds. */
const PARAMETERS: Readonly<
  Record<string, Readonly<Record<string, 'string' | 'token' | 'reference' | 'date'>>>
> = {
  Patient: {
    identifier: 'token',
    name: 'string',
    family: 'string',
    given: 'string',
    birthdate: 'date',
    gender: 'token',
  },
  Observation: {
    subject: 'reference',
    patient: 'reference',
    code: 'token',
    date: 'date',
    status: 'token',
    identifier: 'token',
  },
  Encounter: {
    subject: 'reference',
    patient: 'reference',
    date: 'date',
    status: 'token',
    identifier: 'token',
  },
  Condition: {
    subject: 'reference',
    patient: 'reference',
    code: 'token',
    'onset-date': 'date',
    'recorded-date': 'date',
    'clinical-status': 'token',
    identifier: 'token',
  },
};
const GENERIC: Readonly<Record<string, 'string' | 'token' | 'reference' | 'date'>> = {
  identifier: 'token',
  subject: 'reference',
  patient: 'reference',
};
const CONTROL = new Set(['_count', '_sort', '_total', '_format', '_summary']);

/** Whether one parameter (one of its comma-separated values) matches the resource. */
function matches(
  resource: Json,
  type: string,
  name: string,
  modifier: string | undefined,
  value: string,
): boolean {
  if (name === '_id') return splitUnescaped(value, ',').map(unescapeValue).includes(String(resource['id']));
  const kind = name === '_lastUpdated' ? 'date' : (PARAMETERS[type] ?? GENERIC)[name];
  if (kind === undefined)
    return fail(400, 'not-supported', `Unknown search parameter "${name}" for resource type "${type}"`);
  if (modifier !== undefined && !(kind === 'string' && (modifier === 'exact' || modifier === 'contains'))) {
    return fail(400, 'not-supported', `Unsupported modifier :${modifier.slice(0, 32)} on ${name}`);
  }
  return splitUnescaped(value, ',').some((one) => matchOne(resource, type, name, kind, modifier, one));
}

function referenceMatch(resource: Json, type: string, name: string, one: string): boolean {
  const wanted = name === 'patient' && !one.includes('/') ? `Patient/${one}` : one;
  const field = name === 'patient' ? (type === 'Patient' ? 'link' : 'subject') : name;
  return references(resource, field).some(
    (ref) => ref === wanted || (!one.includes('/') && ref.endsWith(`/${one}`)),
  );
}

function tokenParameter(resource: Json, name: string, one: string): boolean {
  if (name === 'identifier')
    return tokenMatch((resource['identifier'] as Json[] | undefined) ?? [], one, 'value');
  if (name === 'code') return tokenMatch(codings(resource, 'code'), one, 'code');
  if (name === 'clinical-status') return tokenMatch(codings(resource, 'clinicalStatus'), one, 'code');
  return resource[name] === unescapeValue(one);
}

/** One value (no unescaped commas; its escapes still in) of one parameter against the resource. */
function matchOne(
  resource: Json,
  type: string,
  name: string,
  kind: 'string' | 'token' | 'reference' | 'date',
  modifier: string | undefined,
  one: string,
): boolean {
  if (kind === 'string') {
    return stringMatch(
      nameParts(resource, name === 'name' ? 'any' : (name as 'family' | 'given')),
      unescapeValue(one),
      modifier,
    );
  }
  if (kind === 'date') return dateMatch(datesOf(resource, type, name), unescapeValue(one), name);
  if (kind === 'reference') return referenceMatch(resource, type, name, unescapeValue(one));
  return tokenParameter(resource, name, one);
}

/** The current resources of `type` the parameters select, in the order `_sort` asks. */
function search(state: FhirFakeState, type: string, params: Params): Json[] {
  let found = [...state.resources.entries()]
    .filter(([key]) => key.startsWith(`${type}/`))
    .map(([, versions]) => versions.at(-1)?.resource as Json);
  for (const [raw, value] of params) {
    const [name = '', modifier] = raw.split(':');
    if (CONTROL.has(name)) continue;
    found = found.filter((resource) => matches(resource, type, name, modifier, value));
  }
  const sort = params.findLast(([name]) => name === '_sort')?.[1];
  if (sort !== undefined) {
    if (sort !== '_lastUpdated' && sort !== '-_lastUpdated')
      fail(400, 'not-supported', `Unsupported _sort ${sort.slice(0, 32)}`);
    const updated = (resource: Json) => String((resource['meta'] as Json)['lastUpdated']);
    found.sort((a, b) => updated(a).localeCompare(updated(b)) * (sort.startsWith('-') ? -1 : 1));
  }
  return found;
}

function countOf(params: Params): number {
  const raw = params.findLast(([name]) => name === '_count')?.[1];
  if (raw === undefined) return DEFAULT_COUNT;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 0) fail(400, 'invalid', '_count must be a non-negative integer');
  return Math.min(count, MAX_COUNT);
}

/** A searchset page of the kept search `id`. */
function page(
  state: FhirFakeState,
  base: string,
  id: string,
  offset: number,
  count: number,
  self: string,
): Answer {
  const keys = state.searches.get(id);
  if (keys === undefined) return outcome(410, 'not-found', 'The search results are no longer available');
  const slice = keys.slice(offset, offset + count);
  const link = [{ relation: 'self', url: self }];
  if (offset + count < keys.length && count > 0) {
    link.push({
      relation: 'next',
      url: `${base}?_getpages=${id}&_getpagesoffset=${offset + count}&_count=${count}&_bundletype=searchset`,
    });
  }
  return fhir(200, {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'searchset',
    total: keys.length,
    link,
    entry: slice.flatMap((key) => {
      const resource = current(state, key);
      return resource === undefined
        ? []
        : [{ fullUrl: `${base}/${key}`, resource, search: { mode: 'match' } }];
    }),
  });
}

/** Runs a search, keeps its result for paging and answers the first page. */
function searchAnswer(
  state: FhirFakeState,
  base: string,
  type: string,
  params: Params,
  self: string,
): Answer {
  const count = countOf(params);
  const keys = search(state, type, params).map((resource) => `${type}/${resource['id']}`);
  const id = randomUUID();
  state.searches.set(id, keys);
  return page(state, base, id, 0, count, self);
}

const paramsOf = (search: string | undefined): Params => [...new URLSearchParams(search ?? '')];

// ---------------------------------------------------------------- interactions (routes and bundle entries)

interface Written {
  status: number;
  resource: Json;
}

function create(state: FhirFakeState, type: string, body: unknown, ifNoneExist: string | undefined): Written {
  const resource = validate(type, body);
  if (ifNoneExist !== undefined && ifNoneExist.trim() !== '') {
    const found = search(state, type, paramsOf(ifNoneExist.replace(/^.*\?/, '')));
    if (found.length > 1) fail(412, 'multiple-matches', `If-None-Exist matched ${found.length} resources`);
    if (found.length === 1) return { status: 200, resource: found[0] as Json };
  }
  const { id: _ignored, ...rest } = resource;
  return { status: 201, resource: store(state, type, rest) };
}

function update(
  state: FhirFakeState,
  type: string,
  id: string,
  body: unknown,
  ifMatch: string | undefined,
): Written {
  const resource = validate(type, body, id);
  const existing = current(state, `${type}/${id}`);
  if (ifMatch !== undefined) {
    if (existing === undefined) fail(404, 'not-found', `Resource ${type}/${id} is not known`);
    else if (ifMatch.trim() !== etagOf(existing)) {
      fail(
        412,
        'conflict',
        `Version ${ifMatch.trim().slice(0, 32)} is not the current version ${etagOf(existing)}`,
      );
    }
  }
  return { status: existing === undefined ? 201 : 200, resource: store(state, type, resource, id) };
}

function read(state: FhirFakeState, type: string, id: string): Json {
  const resource = current(state, `${type}/${id}`);
  return resource ?? fail(404, 'not-found', `Resource ${type}/${id} is not known`);
}

function written(base: string, prefer: string | undefined, { status, resource }: Written): Answer {
  const headers = versionHeaders(base, resource);
  if (/return=minimal/.test(prefer ?? '')) return { status, headers };
  if (/return=OperationOutcome/.test(prefer ?? '')) {
    return fhir(
      status,
      {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', diagnostics: 'Done' }],
      },
      headers,
    );
  }
  return fhir(status, resource, headers);
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 200: '200 OK', 201: '201 Created' };

/** One bundle entry's interaction: what a transaction or batch does with it. */
function entryOf(state: FhirFakeState, base: string, entry: Json): Json {
  const request = (entry['request'] ?? {}) as Json;
  const method = String(request['method'] ?? '');
  const [path = '', query] = String(request['url'] ?? '').split('?');
  const [type, id] = path.replace(/^\/+/, '').split('/');
  const known = knownType(type);
  let result: Written;
  if (method === 'GET') {
    if (id === undefined) {
      const answer = searchAnswer(state, base, known, paramsOf(query), `${base}/${known}?${query ?? ''}`);
      return { resource: answer.json, response: { status: '200 OK' } };
    }
    result = { status: 200, resource: read(state, known, id) };
  } else if (method === 'POST') {
    result = create(state, known, entry['resource'], request['ifNoneExist'] as string | undefined);
  } else if (method === 'PUT' && id !== undefined) {
    result = update(state, known, id, entry['resource'], request['ifMatch'] as string | undefined);
  } else {
    return fail(400, 'not-supported', `Bundle entry method ${method.slice(0, 8)} is not supported here`);
  }
  const headers = versionHeaders(base, result.resource);
  return {
    resource: result.resource,
    response: {
      status: STATUS_TEXT[result.status] ?? String(result.status),
      location: headers['location'],
      etag: headers['etag'],
      lastModified: (result.resource['meta'] as Json)['lastUpdated'],
    },
  };
}

/** `urn:uuid:` references of a transaction replaced by the ids the POSTs got. */
function resolveReferences(entries: Json[], ids: Map<string, string>): void {
  if (ids.size === 0) return;
  for (const entry of entries) {
    if (entry['resource'] === undefined) continue;
    let text = JSON.stringify(entry['resource']);
    for (const [urn, reference] of ids) text = text.replaceAll(`"${urn}"`, JSON.stringify(reference));
    entry['resource'] = JSON.parse(text);
  }
}

/** A batch: each entry on its own, a failure answered in its entry. */
function batch(state: FhirFakeState, base: string, entries: Json[]): Answer {
  const responses = entries.map((entry) => {
    try {
      return entryOf(state, base, entry);
    } catch (error) {
      if (!(error instanceof AnswerError)) throw error;
      return { response: { status: String(error.answer.status), outcome: error.answer.json } };
    }
  });
  return fhir(200, { resourceType: 'Bundle', type: 'batch-response', entry: responses });
}

interface Planned {
  /** `urn:uuid:...` -> `Type/id` of the POSTs with one. */
  ids: Map<string, string>;
  /** Entry index -> the resource its conditional create matched. */
  matched: Map<number, Json>;
}

/** Gives each POST with a `urn:uuid:` fullUrl its id (or its one conditional match), before any write. */
function plan(state: FhirFakeState, entries: Json[]): Planned {
  const planned: Planned = { ids: new Map(), matched: new Map() };
  entries.forEach((entry, index) => {
    const request = (entry['request'] ?? {}) as Json;
    const fullUrl = String(entry['fullUrl'] ?? '');
    if (request['method'] !== 'POST' || !fullUrl.startsWith('urn:uuid:')) return;
    const type = knownType(String(request['url']).split('?')[0]);
    const conditional = request['ifNoneExist'];
    const found =
      typeof conditional === 'string' ? search(state, type, paramsOf(conditional.replace(/^.*\?/, ''))) : [];
    if (found.length > 1) fail(412, 'multiple-matches', `If-None-Exist matched ${found.length} resources`);
    const id = found.length === 1 ? String(found[0]?.['id']) : randomUUID();
    if (found.length === 1) planned.matched.set(index, found[0] as Json);
    planned.ids.set(fullUrl, `${type}/${id}`);
    const resource = entry['resource'];
    if (typeof resource === 'object' && resource !== null) (resource as Json)['id'] = id;
  });
  return planned;
}

/** One transaction entry: a planned POST keeps its id, everything else runs as in a batch. */
function transactionEntry(
  state: FhirFakeState,
  base: string,
  entry: Json,
  existing: Json | undefined,
  id: string | undefined,
): Json {
  const request = (entry['request'] ?? {}) as Json;
  if (request['method'] !== 'POST' || id === undefined) return entryOf(state, base, entry);
  const [type = ''] = id.split('/');
  const result: Written =
    existing === undefined
      ? {
          status: 201,
          resource: store(state, type, validate(type, entry['resource']), id.slice(type.length + 1)),
        }
      : { status: 200, resource: existing };
  const headers = versionHeaders(base, result.resource);
  return {
    resource: result.resource,
    response: { status: STATUS_TEXT[result.status], location: headers['location'], etag: headers['etag'] },
  };
}

const rank = (entry: Json): number =>
  ({ POST: 1, PUT: 2, GET: 3 })[String((entry['request'] as Json | undefined)?.['method'])] ?? 9;

/** A transaction or batch Bundle; a transaction is all or nothing, in the order the spec gives (POST, PUT, GET). */
function transaction(state: FhirFakeState, base: string, body: unknown): Answer {
  const bundle = (body ?? {}) as Json;
  const type = bundle['type'];
  if (bundle['resourceType'] !== 'Bundle' || (type !== 'transaction' && type !== 'batch')) {
    return outcome(400, 'invalid', 'Expected a Bundle of type transaction or batch', 'Bundle.type');
  }
  const entries = ((bundle['entry'] as Json[] | undefined) ?? []).map((entry) => structuredClone(entry));
  if (type === 'batch') return batch(state, base, entries);
  const { ids, matched } = plan(state, entries);
  resolveReferences(entries, ids);
  const saved = new Map([...state.resources].map(([key, versions]) => [key, [...versions]]));
  const sequence = entries.map((entry, index) => ({ entry, index }));
  sequence.sort((a, b) => rank(a.entry) - rank(b.entry));
  const responses: Json[] = new Array(entries.length);
  try {
    for (const { entry, index } of sequence) {
      responses[index] = transactionEntry(
        state,
        base,
        entry,
        matched.get(index),
        ids.get(String(entry['fullUrl'])),
      );
    }
  } catch (error) {
    state.resources.clear();
    for (const [key, versions] of saved) state.resources.set(key, versions);
    throw error;
  }
  return fhir(200, { resourceType: 'Bundle', type: 'transaction-response', entry: responses });
}

function capabilities(base: string, state: FhirFakeState): Json {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-01-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    implementation: { description: 'Circle Core FHIR R4 contract fake', url: base },
    software: { name: 'circle-core-fhir-fake', version: '1.0.0' },
    rest: [
      {
        mode: 'server',
        security: {
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
            },
          ],
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: `${new URL(base).origin}${FHIR_TOKEN_PATH}` }],
            },
          ],
        },
        resource: TYPES.map((type) => ({
          type,
          versioning: 'versioned',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          interaction: ['read', 'vread', 'update', 'history-instance', 'create', 'search-type'].map(
            (code) => ({ code }),
          ),
          searchParam: ['_id', '_lastUpdated', ...Object.keys(PARAMETERS[type] ?? GENERIC)].map((name) => ({
            name,
            type:
              name === '_lastUpdated' || (PARAMETERS[type] ?? GENERIC)[name] === 'date'
                ? 'date'
                : name === '_id'
                  ? 'token'
                  : ((PARAMETERS[type] ?? GENERIC)[name] ?? 'string'),
          })),
          ...(type === 'Patient' && state.everything
            ? {
                operation: [
                  {
                    name: 'everything',
                    definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                  },
                ],
              }
            : {}),
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(fhirFake());
 * ```
 */
export function fhirFake(): FakeDefinition<FhirFakeState> {
  const base = (url: string) => `${url}/fhir`;
  return {
    name: 'FHIR R4',
    seed,
    errors: fhirErrors,
    secretFields: ['client_assertion'],
    authorize: ({ request, state, params }) => {
      const token = request.token ?? '';
      if (state.tokens.has(token)) return undefined;
      const issued = state.issued.get(token);
      if (issued === undefined || issued.expiresAt < Date.now()) return 'unauthorized';
      const write = request.method !== 'GET' && request.route !== 'search-post';
      return allows(issued.scope, params['type'], write) ? undefined : 'forbidden';
    },
    routes: [
      {
        name: 'smart-configuration',
        method: 'GET',
        path: '/fhir/.well-known/smart-configuration',
        auth: false,
        handle: ({ url }) =>
          ({
            status: 200,
            json: {
              token_endpoint: `${url}${FHIR_TOKEN_PATH}`,
              token_endpoint_auth_methods_supported: ['private_key_jwt'],
              token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
              grant_types_supported: ['client_credentials'],
              scopes_supported: ['system/*.read', 'system/*.write'],
              capabilities: ['client-confidential-asymmetric'],
            },
          }) satisfies Answer,
      },
      {
        name: 'metadata',
        method: 'GET',
        path: '/fhir/metadata',
        auth: false,
        handle: ({ url, state }) => fhir(200, capabilities(base(url), state)),
      },
      {
        name: 'token',
        method: 'POST',
        path: FHIR_TOKEN_PATH,
        auth: false,
        handle: ({ request, state, url }) => {
          const form = (request.body ?? {}) as Record<string, unknown>;
          if (form['grant_type'] !== 'client_credentials') {
            refuse(oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported'));
          }
          if (form['client_assertion_type'] !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
            refuse(oauthError(400, 'invalid_request', 'client_assertion_type must be jwt-bearer'));
          }
          const clientId = checkAssertion(
            state,
            String(form['client_assertion'] ?? ''),
            `${url}${FHIR_TOKEN_PATH}`,
          );
          const allowed = state.clients.get(clientId)?.scope ?? ALL_SCOPES;
          const asked = typeof form['scope'] === 'string' ? form['scope'] : allowed;
          const refused = asked.split(/\s+/).filter((scope) => !allowed.split(/\s+/).includes(scope));
          if (refused.length > 0)
            refuse(oauthError(400, 'invalid_scope', `not granted: ${refused.join(' ')}`));
          const token = `fhir-at-${randomUUID()}`;
          state.issued.set(token, { scope: asked, expiresAt: Date.now() + 300_000 });
          return {
            status: 200,
            json: { access_token: token, token_type: 'bearer', expires_in: 300, scope: asked },
          };
        },
      },
      {
        name: 'everything',
        method: 'GET',
        path: '/fhir/:type/:id/$everything',
        handle: ({ request, params, state, url }) => {
          if (params['type'] !== 'Patient' || !state.everything) {
            fail(
              400,
              'not-supported',
              `Operation $everything is not supported on ${String(params['type']).slice(0, 64)}`,
            );
          }
          const id = params['id'] ?? '';
          const patientResource = read(state, 'Patient', id);
          const query = paramsOf(request.search);
          const since = query.findLast(([name]) => name === '_since')?.[1];
          const keys = [`Patient/${patientResource['id']}`];
          for (const [key, versions] of state.resources) {
            const resource = versions.at(-1)?.resource as Json;
            const refs = [...references(resource, 'subject'), ...references(resource, 'patient')];
            if (refs.includes(`Patient/${id}`)) keys.push(key);
          }
          const selected = keys.filter(
            (key) => since === undefined || lastUpdatedOf(current(state, key)) >= since,
          );
          const searchId = randomUUID();
          state.searches.set(searchId, selected);
          return page(
            state,
            base(url),
            searchId,
            0,
            countOf(query),
            `${base(url)}${request.path.slice(5)}${request.search ?? ''}`,
          );
        },
      },
      {
        name: 'vread',
        method: 'GET',
        path: '/fhir/:type/:id/_history/:vid',
        handle: ({ params, state, url }) => {
          const type = knownType(params['type']);
          const versions = state.resources.get(`${type}/${params['id']}`);
          if (versions === undefined) fail(404, 'not-found', `Resource ${type}/${params['id']} is not known`);
          const version = versions?.find(
            (one) => (one.resource['meta'] as Json)['versionId'] === params['vid'],
          );
          if (version === undefined)
            fail(
              404,
              'not-found',
              `Version ${String(params['vid']).slice(0, 16)} of ${type}/${params['id']} is not known`,
            );
          const resource = (version as FhirFakeVersion).resource;
          return fhir(200, resource, versionHeaders(base(url), resource));
        },
      },
      {
        name: 'history',
        method: 'GET',
        path: '/fhir/:type/:id/_history',
        handle: ({ params, state, url }) => {
          const type = knownType(params['type']);
          const versions =
            state.resources.get(`${type}/${params['id']}`) ??
            fail(404, 'not-found', `Resource ${type}/${params['id']} is not known`);
          return fhir(200, {
            resourceType: 'Bundle',
            type: 'history',
            total: versions.length,
            entry: [...versions].reverse().map(({ resource }) => ({
              fullUrl: `${base(url)}/${type}/${resource['id']}`,
              resource,
              request: {
                method: (resource['meta'] as Json)['versionId'] === '1' ? 'POST' : 'PUT',
                url: type,
              },
              response: { status: '200 OK', etag: etagOf(resource) },
            })),
          });
        },
      },
      {
        name: 'search-post',
        method: 'POST',
        path: '/fhir/:type/_search',
        handle: ({ request, params, state, url }) => {
          const type = knownType(params['type']);
          const form = paramsOf(
            request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true
              ? request.rawBody
              : '',
          );
          return searchAnswer(
            state,
            base(url),
            type,
            [...paramsOf(request.search), ...form],
            `${base(url)}/${type}/_search`,
          );
        },
      },
      {
        name: 'read',
        method: 'GET',
        path: '/fhir/:type/:id',
        handle: ({ params, state, url }) => {
          const resource = read(state, knownType(params['type']), params['id'] ?? '');
          return fhir(200, resource, versionHeaders(base(url), resource));
        },
      },
      {
        name: 'update',
        method: 'PUT',
        path: '/fhir/:type/:id',
        handle: ({ request, params, state, url }) => {
          const type = knownType(params['type']);
          const result = update(state, type, params['id'] ?? '', request.body, request.headers['if-match']);
          return lostOr(state, 'update', written(base(url), request.headers['prefer'], result));
        },
      },
      {
        name: 'search',
        method: 'GET',
        path: '/fhir/:type',
        handle: ({ request, params, state, url }) => {
          const type = knownType(params['type']);
          return searchAnswer(
            state,
            base(url),
            type,
            paramsOf(request.search),
            `${base(url)}/${type}${request.search ?? ''}`,
          );
        },
      },
      {
        name: 'create',
        method: 'POST',
        path: '/fhir/:type',
        handle: ({ request, params, state, url }) => {
          const type = knownType(params['type']);
          const result = create(state, type, request.body, request.headers['if-none-exist']);
          return lostOr(state, 'create', written(base(url), request.headers['prefer'], result));
        },
      },
      {
        name: 'pages',
        method: 'GET',
        path: '/fhir',
        handle: ({ request, state, url }) => {
          const query = paramsOf(request.search);
          const id = query.findLast(([name]) => name === '_getpages')?.[1];
          if (id === undefined) return outcome(400, 'invalid', 'Expected _getpages');
          const offset = Number(query.findLast(([name]) => name === '_getpagesoffset')?.[1] ?? 0);
          return page(
            state,
            base(url),
            id,
            Number.isInteger(offset) && offset >= 0 ? offset : 0,
            countOf(query),
            `${base(url)}${request.search ?? ''}`,
          );
        },
      },
      {
        name: 'transaction',
        method: 'POST',
        path: '/fhir',
        handle: ({ request, state, url }) =>
          lostOr(state, 'transaction', transaction(state, base(url), request.body)),
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startFhirFake();
 * ```
 */
export function startFhirFake(options?: StartOptions): Promise<FakeServer<FhirFakeState>> {
  return startFake(fhirFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/fhir.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startFhirFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`FHIR R4 sandbox: FHIR_API_URL=${fake.url}/fhir (token ${FHIR_SANDBOX_TOKEN})`);
}
