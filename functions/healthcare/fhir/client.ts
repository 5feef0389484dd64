/**
 * FHIR R4's RESTful API as data for the core's REST kit, and the calls the operations make: the only file
 * that talks to a FHIR server. Failures are mapped once, by the OperationOutcome hook (`errors.ts`); any
 * failure's text has the values the request sent redacted, since servers echo them and they are PHI.
 */
import {
  ConflictError,
  ConnectorError,
  defineRestProvider,
  type HttpMethod,
  NotSupportedError,
  type RestCallOptions,
  type RestClient,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import type * as z from 'zod';
import { inspectFhirResponse, summarise } from './errors.ts';
import {
  type BundleAnswer,
  BundleAnswer as BundleSchema,
  type CapabilitiesOutput,
  CapabilityAnswer,
  type CreateResourceInput,
  type GetEverythingInput,
  type ReadResourceInput,
  type ReadResourceVersionInput,
  Resource,
  type ResourceOutput,
  type ResourcePage,
  type RunTransactionInput,
  type RunTransactionOutput,
  type SearchResourcesInput,
  type UpdateResourceInput,
  type WriteOutput,
} from './models.ts';

const FHIR_JSON = 'application/fhir+json';

/** An answer as `#send` gives it. */
type FhirAnswer = { status: number; headers: Record<string, string>; body: unknown };

/** FHIR R4 as data; its settings are `FHIR_API_URL` (the server's base), `FHIR_TIMEOUT_MS`, ... */
export const fhirApi = defineRestProvider({
  name: 'FHIR',
  settingsPrefix: 'FHIR',
  // `.example` never resolves: a deployment names its server's base URL (README: Configuration).
  baseUrl: 'https://fhir.example.org/r4',
  baseUrlNote: "the FHIR server's base URL, the one its CapabilityStatement is under (…/metadata)",
  auth: { kind: 'bearer' },
  headers: { accept: FHIR_JSON },
  jsonContentType: `${FHIR_JSON}; charset=utf-8`,
  inspect: inspectFhirResponse,
});

/**
 * The strings a request carried (resource elements, search values): redacted from any failure's text. A
 * whole value of two characters counts (family names such as Wu, Li or Ng); the pieces a value splits into
 * need three, or every "is" and "to" of a free-text note would be cut from the server's diagnostics.
 */
function sentStrings(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    if (value.length >= 2) into.add(value);
    for (const part of value.split(/[=&|,\s]+/)) if (part.length >= 3) into.add(part);
  } else if (Array.isArray(value)) for (const item of value) sentStrings(item, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) if (key !== 'resourceType') sentStrings(item, into);
  }
  return into;
}

/**
 * Removes what the request sent from a failure's message and details, longest first: a server's
 * diagnostics often quote the resource ("Invalid birthDate for patient Amara Okafor"), and failures are
 * logged. The failure object is changed in place (its class, status and cause stay).
 *
 * @example
 * ```ts
 * redactSent(error, { name: [{ family: 'Okafor' }] }); // error.message: '... patient [redacted]'
 * ```
 */
export function redactSent(error: unknown, sent: unknown): unknown {
  if (!(error instanceof ConnectorError) || sent === undefined) return error;
  const values = [...sentStrings(sent)].sort((a, b) => b.length - a.length);
  if (values.length === 0) return error;
  // Whole words only: a given name "Pat" must not eat "Patient".
  const words = values.map((value) => new RegExp(`(?<!\\w)${escapeRegExp(value)}(?!\\w)`, 'g'));
  const clean = (text: string): string => words.reduce((out, word) => out.replace(word, '[redacted]'), text);
  error.message = clean(error.message);
  const issues = error.details?.['issues'];
  if (Array.isArray(issues)) {
    for (const issue of issues as { diagnostics?: string }[]) {
      if (issue.diagnostics !== undefined) issue.diagnostics = clean(issue.diagnostics);
    }
  }
  if (error instanceof ValidationError)
    for (const issue of error.issues) issue.message = clean(issue.message);
  return error;
}

/** The values a next link's query carries (many servers keep the search there), to redact like params. */
const cursorValues = (cursor: string): string[] => {
  try {
    return [...new URL(cursor).searchParams.values()];
  } catch {
    return [];
  }
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A resource as JSON with sorted keys, without the meta elements the server sets on each write. */
function canonical(value: unknown, top = true): unknown {
  if (Array.isArray(value)) return value.map((item) => canonical(item, false));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    let item = (value as Record<string, unknown>)[key];
    if (top && key === 'meta' && typeof item === 'object' && item !== null) {
      const { versionId: _versionId, lastUpdated: _lastUpdated, ...rest } = item as Record<string, unknown>;
      if (Object.keys(rest).length === 0) continue;
      item = rest;
    }
    out[key] = canonical(item, false);
  }
  return out;
}

/** Whether a read resource holds what an update sent, `meta.versionId` and `meta.lastUpdated` aside. */
const sameContent = (read: unknown, sent: unknown): boolean =>
  JSON.stringify(canonical(read)) === JSON.stringify(canonical(sent));

/** `W/"3"` (or `"3"`) -> `3`. */
const versionOf = (etag: string | undefined): string | undefined =>
  /^(?:W\/)?"([^"]+)"$/.exec(etag ?? '')?.[1];

/**
 * An id as one URL path segment. `.` and `..` match FHIR's id pattern, but a URL drops or climbs them:
 * `Patient/..` would reach the server's base. Refused, naming the field.
 */
function segment(id: string, pointer: string): string {
  if (id === '.' || id === '..') {
    const message = '"." and ".." cannot name a resource in a URL';
    throw new ValidationError(`Invalid input: ${pointer}: ${message}`, [{ pointer, message }]);
  }
  return encodeURIComponent(id);
}

/**
 * A search query carried in a header (`If-None-Exist`): what a header cannot hold (a space, a control
 * character, a letter beyond ASCII) percent-encoded, as it would be in a URL's query, which is how the
 * server reads it, and so is `+`, which a query reads as a space. `family=Łukasiewicz` goes as
 * `family=%C5%81ukasiewicz`, `identifier=urn:x|A+B` as `identifier=urn:x|A%2BB`.
 */
const headerQuery = (query: string): string =>
  query.toWellFormed().replace(/[^\x21-\x2a\x2c-\x7e]/gu, (char) => encodeURIComponent(char));

/** A search's query string: repeated names for lists, `_count` and `_sort` from their fields. */
function queryOf(params: SearchResourcesInput['params'], extra: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) query.append(name, one);
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) query.set(name, value);
  return query.toString();
}

/**
 * The FHIR calls on parsed input (the runtime parsed it once). Reads are GETs, retried by the core after
 * a 5xx, a timeout or a short Retry-After; creates and transactions are sent once (FHIR has no
 * idempotency key: use `ifNoneExist` or the core's idempotency key); updates are PUTs, retried.
 *
 * @example
 * ```ts
 * const api = new FhirApi(fhirApi.client({ baseUrl, credential: defineSecret('circle-core/fhir/credentials') }), baseUrl);
 * const { resources, nextCursor } = await api.searchResources({ resourceType: 'Patient', params: { family: 'Okafor' } });
 * ```
 */
export class FhirApi {
  readonly #rest: RestClient;
  readonly #base: string;
  #capabilities: Promise<CapabilitiesOutput> | undefined;

  constructor(rest: RestClient, baseUrl: string) {
    this.#rest = rest;
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  async readResource(input: ReadResourceInput): Promise<ResourceOutput> {
    const path = `${input.resourceType}/${segment(input.id, '/id')}`;
    return this.#resource(await this.#send('GET', path, { notFound: `${input.resourceType}/${input.id}` }));
  }

  async readResourceVersion(input: ReadResourceVersionInput): Promise<ResourceOutput> {
    const path = `${input.resourceType}/${segment(input.id, '/id')}/_history/${segment(input.versionId, '/versionId')}`;
    const subject = `${input.resourceType}/${input.id} version ${input.versionId}`;
    return this.#resource(await this.#send('GET', path, { notFound: subject }));
  }

  async searchResources(input: SearchResourcesInput): Promise<ResourcePage> {
    const path =
      input.cursor === undefined
        ? `${input.resourceType}?${queryOf(input.params, { _count: input.count?.toString(), _sort: input.sort })}`
        : this.#cursorPath(input.cursor);
    const sent = input.cursor === undefined ? input.params : [input.params, cursorValues(input.cursor)];
    return this.#page(await this.#send('GET', path, {}, sent));
  }

  async getEverything(input: GetEverythingInput): Promise<ResourcePage> {
    if (input.cursor !== undefined)
      return this.#page(
        await this.#send('GET', this.#cursorPath(input.cursor), {}, cursorValues(input.cursor)),
      );
    const offered = (await this.getCapabilities()).resources.find((one) => one.type === input.resourceType);
    if (!offered?.operations.includes('everything')) {
      throw new NotSupportedError(`This FHIR server does not offer $everything on ${input.resourceType}`);
    }
    const query = queryOf({}, { _since: input.since, _count: input.count?.toString() });
    const path = `${input.resourceType}/${segment(input.id, '/id')}/$everything${query === '' ? '' : `?${query}`}`;
    return this.#page(await this.#send('GET', path, { notFound: `${input.resourceType}/${input.id}` }));
  }

  async createResource(input: CreateResourceInput): Promise<WriteOutput> {
    const headers: Record<string, string> = { prefer: 'return=representation' };
    if (input.ifNoneExist !== undefined) headers['if-none-exist'] = headerQuery(input.ifNoneExist);
    const answer = await this.#send(
      'POST',
      String(input.resource.resourceType),
      { json: input.resource, headers },
      input,
    );
    return this.#written(answer, answer.status === 201);
  }

  async updateResource(input: UpdateResourceInput): Promise<WriteOutput> {
    const { resource } = input;
    if (resource.id === undefined) {
      throw new ValidationError('update-resource needs resource.id', [
        { pointer: '/resource/id', message: 'required to update' },
      ]);
    }
    const headers: Record<string, string> = { prefer: 'return=representation' };
    if (input.ifMatch !== undefined) headers['if-match'] = `W/"${input.ifMatch}"`;
    const path = `${resource.resourceType}/${segment(resource.id, '/resource/id')}`;
    let answer: FhirAnswer;
    try {
      answer = await this.#send('PUT', path, { json: resource, headers }, input);
    } catch (error) {
      if (!(error instanceof ConflictError) || input.ifMatch === undefined) throw error;
      // A 412 may answer our own retry: the first attempt was written but its answer was lost (a proxy's
      // 5xx, a dropped connection), so the version moved on. When the current version holds what was
      // sent, the update is in place: answer it. Anything else (other content, a failed read) stays the
      // conflict.
      const current = await this.#send('GET', path).catch(() => undefined);
      if (current === undefined || !sameContent(current.body, resource)) throw error;
      return this.#written(current, false);
    }
    return this.#written(answer, answer.status === 201);
  }

  async runTransaction(input: RunTransactionInput): Promise<RunTransactionOutput> {
    const bundle = { resourceType: 'Bundle', type: input.type, entry: input.entry };
    const answer = await this.#send(
      'POST',
      '',
      { json: bundle, headers: { prefer: 'return=representation' } },
      input,
    );
    const parsed = this.#parse(BundleSchema, answer.body, 'a transaction Bundle');
    return {
      type: parsed.type,
      entries: (parsed.entry ?? []).map((entry) => ({
        status: entry.response?.status ?? '',
        ...(entry.response?.location === undefined ? {} : { location: entry.response.location }),
        ...(entry.response?.etag === undefined ? {} : { etag: entry.response.etag }),
        ...(entry.resource === undefined ? {} : { resource: entry.resource }),
        ...(entry.response?.outcome === undefined ? {} : { outcome: entry.response.outcome }),
      })),
    };
  }

  /** The server's CapabilityStatement, read once per container. */
  getCapabilities(): Promise<CapabilitiesOutput> {
    this.#capabilities ??= this.#readCapabilities().catch((error: unknown) => {
      this.#capabilities = undefined;
      throw error;
    });
    return this.#capabilities;
  }

  /** `GET /metadata`: proves the URL (and the token, where the statement needs one) for `health`. */
  async ping(): Promise<void> {
    await this.#rest.get('metadata', CapabilityAnswer, { what: 'the CapabilityStatement' });
  }

  close(): void {
    this.#rest.close();
  }

  async #readCapabilities(): Promise<CapabilitiesOutput> {
    const statement = await this.#rest.get('metadata', CapabilityAnswer, { what: 'the CapabilityStatement' });
    const server = statement.rest?.find((rest) => rest.mode === 'server');
    const oauth = server?.security?.extension?.find((extension) => extension.url.endsWith('/oauth-uris'));
    const tokenUrl = oauth?.extension?.find((extension) => extension.url === 'token')?.valueUri;
    const { software } = statement;
    return {
      fhirVersion: statement.fhirVersion,
      ...(software === undefined ? {} : { software: `${software.name} ${software.version ?? ''}`.trim() }),
      resources: (server?.resource ?? []).map((resource) => ({
        type: resource.type,
        interactions: (resource.interaction ?? []).map((interaction) => interaction.code),
        searchParams: (resource.searchParam ?? []).map((param) => param.name),
        operations: (resource.operation ?? []).map((operation) => operation.name),
      })),
      ...(tokenUrl === undefined ? {} : { tokenUrl }),
    };
  }

  /** A next link as a path under the base; a link elsewhere is refused (it would carry the token). */
  #cursorPath(cursor: string): string {
    const refuse = (): never => {
      throw new ValidationError('cursor is not a link of this FHIR server', [
        { pointer: '/cursor', message: 'must be a URL under the configured FHIR base URL' },
      ]);
    };
    let url: URL | undefined;
    try {
      url = new URL(cursor);
    } catch {
      refuse();
    }
    const link = url as URL;
    const base = new URL(this.#base);
    const basePath = base.pathname.replace(/\/+$/, '');
    // Compared after the URL parser resolved dot segments (`/fhir/../admin` is not under `/fhir`). An
    // encoded `/`, `\` or `%` is refused: a proxy or server that decodes before it resolves would read
    // `/fhir/..%2F..%2Fadmin` as `/admin`.
    const under = link.pathname === basePath || link.pathname.startsWith(`${basePath}/`);
    const hidden = /%(?:2f|5c|25)/i.test(link.pathname);
    if (link.origin !== base.origin || !under || hidden || link.username !== '' || link.password !== '') {
      refuse();
    }
    const rest = link.pathname.slice(basePath.length + 1);
    if (rest !== '' || basePath === '') return `${rest}${link.search}`;
    // The base itself with a query (HAPI's `?_getpages=`): the client joins paths with `/`, so step back
    // onto the base's last segment rather than asking for `<base>/?...`.
    return `../${basePath.split('/').pop() ?? ''}${link.search}`;
  }

  async #send(
    method: HttpMethod,
    path: string,
    options: RestCallOptions = {},
    sent?: unknown,
  ): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
    try {
      return await this.#rest.send(method, path, undefined, { what: 'a FHIR answer', ...options });
    } catch (error) {
      throw redactSent(error, sent);
    }
  }

  #resource(answer: { headers: Record<string, string>; body: unknown }): ResourceOutput {
    const resource = this.#parse(Resource, answer.body, 'a resource');
    const versionId = versionOf(answer.headers['etag']) ?? resource.meta?.versionId;
    return versionId === undefined ? { resource } : { resource, versionId };
  }

  async #written(
    answer: { status: number; headers: Record<string, string>; body: unknown },
    created: boolean,
  ): Promise<WriteOutput> {
    const location = answer.headers['location'] ?? answer.headers['content-location'];
    let read: ResourceOutput;
    if (answer.body === undefined || answer.body === '') {
      // The server answered return=minimal anyway: read what it wrote.
      if (location === undefined)
        throw new ConnectorError('FHIR server answered a write with no body and no Location');
      read = this.#resource(
        await this.#send(
          'GET',
          this.#cursorPath(location.startsWith('http') ? location : `${this.#base}/${location}`),
        ),
      );
    } else read = this.#resource(answer);
    const versionId = versionOf(answer.headers['etag']) ?? read.versionId;
    return {
      resource: read.resource,
      ...(versionId === undefined ? {} : { versionId }),
      created,
      ...(location === undefined ? {} : { location }),
    };
  }

  #page(answer: { body: unknown }): ResourcePage {
    const bundle: BundleAnswer = this.#parse(BundleSchema, answer.body, 'a search Bundle');
    const resources: z.output<typeof Resource>[] = [];
    const included: z.output<typeof Resource>[] = [];
    const issues: NonNullable<ResourcePage['issues']> = [];
    for (const entry of bundle.entry ?? []) {
      if (entry.resource === undefined) continue;
      const mode = entry.search?.mode ?? 'match';
      if (mode === 'outcome' || entry.resource.resourceType === 'OperationOutcome') {
        issues.push(...(summarise(entry.resource)?.issues ?? []));
        continue;
      }
      (mode === 'include' ? included : resources).push(
        this.#parse(Resource, entry.resource, 'a Bundle entry'),
      );
    }
    const next = bundle.link?.find((link) => link.relation === 'next')?.url;
    return {
      resources,
      ...(included.length === 0 ? {} : { included }),
      ...(issues.length === 0 ? {} : { issues }),
      ...(bundle.total === undefined ? {} : { total: bundle.total }),
      ...(next === undefined ? {} : { nextCursor: next }),
    };
  }

  /** An answer checked against its model; a failure names the fields, never their values (PHI). */
  #parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(
      0,
      10,
    );
    throw new UnexpectedResponseError(
      `FHIR server answered ${what} that does not fit its model (${fields.join(', ')})`,
      {
        details: { fields },
      },
    );
  }
}
