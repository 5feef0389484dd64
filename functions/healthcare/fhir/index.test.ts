/**
 * The FHIR connector against the FHIR R4 contract fake (`scripts/local/sandboxes/fhir.ts`) and the local
 * stack's Secrets Manager: each operation on each trigger, search paging across bundles, versioning and
 * conditional headers, OperationOutcome mapping, the failure paths every connector must survive, and PHI
 * kept out of every log line and error.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { configureSecrets, resetCircuitBreakers, ValidationError } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FHIR_SANDBOX_TOKEN,
  type FhirFakeState,
  startFhirFake,
} from '../../../scripts/local/sandboxes/fhir.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { redactSent } from './client.ts';

const TOKEN_SECRET = 'test/fhir/credentials';
const ROTATED_TOKEN = 'fhir-rotated-token';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

type Json = Record<string, unknown>;

let fake: FakeServer<FhirFakeState>;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/fhir/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Json => JSON.parse(response.body);
const resourceOf = (response: HttpResult): Json => parsed(response)['resource'] as Json;
const idsOf = (response: HttpResult): unknown[] =>
  (parsed(response)['resources'] as Json[]).map(
    (resource) => `${resource['resourceType']}/${resource['id']}`,
  );
const stored = (key: string) => fake.state.resources.get(key) ?? [];

beforeAll(async () => {
  fake = await startFhirFake();
  secrets = await startSecretsManager({ [TOKEN_SECRET]: FHIR_SANDBOX_TOKEN });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    FHIR_API_URL: `${fake.url}/fhir`,
    FHIR_CREDENTIALS_SECRET: TOKEN_SECRET,
    FHIR_TIMEOUT_MS: '1000',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
  await secrets.close();
});

beforeEach(async () => {
  fake.reset();
  await secrets.set(TOKEN_SECRET, FHIR_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

const NEW_PATIENT = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-2001' }],
  name: [{ family: 'Example', given: ['Pat'] }],
  birthDate: '1990-01-01',
};

describe('Connector: fhir', () => {
  describe('Operation: read-resource and read-resource-version', () => {
    it('reads the current version with its versionId, and an older one by vread', async () => {
      // Prepare
      const updated = await call('update-resource', {
        resource: {
          ...resourceOf(await call('read-resource', { resourceType: 'Patient', id: 'pat-3' })),
          active: false,
        },
      });

      // Act
      const now = await call('read-resource', { resourceType: 'Patient', id: 'pat-3' });
      const first = await call('read-resource-version', {
        resourceType: 'Patient',
        id: 'pat-3',
        versionId: '1',
      });

      // Assess
      expect(updated.statusCode).toBe(200);
      expect(parsed(now)).toMatchObject({ versionId: '2', resource: { id: 'pat-3', active: false } });
      expect(parsed(first)).toMatchObject({ versionId: '1', resource: { id: 'pat-3', active: true } });
      expect(fake.logFor('vread')[0]?.path).toBe('/fhir/Patient/pat-3/_history/1');
    });

    it('answers 404 with the OperationOutcome diagnostics for an unknown id or version', async () => {
      // Act
      const missing = await call('read-resource', { resourceType: 'Patient', id: 'nobody' });
      const version = await call('read-resource-version', {
        resourceType: 'Patient',
        id: 'pat-1',
        versionId: '9',
      });

      // Assess
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('Patient/nobody was not found');
      expect(parsed(missing)['detail']).toContain('error not-found: Resource Patient/nobody is not known');
      expect(version.statusCode).toBe(404);
    });

    it('refuses a bad id or resource type with a 400 naming the field, before any call', async () => {
      // Act
      const badId = await call('read-resource', { resourceType: 'Patient', id: 'a/b' });
      const badType = await call('read-resource', { resourceType: 'patient', id: 'pat-1' });

      // Assess
      expect(badId.statusCode).toBe(400);
      expect(parsed(badId)['errors']).toEqual([expect.objectContaining({ pointer: '/id' })]);
      expect(parsed(badType)['errors']).toEqual([expect.objectContaining({ pointer: '/resourceType' })]);
      expect(fake.log).toEqual([]);
    });

    it('refuses "." and ".." as ids (a URL would climb out of the resource) with a 400 naming the field', async () => {
      // Act
      const read = await call('read-resource', { resourceType: 'Patient', id: '..' });
      const vread = await call('read-resource-version', {
        resourceType: 'Patient',
        id: 'pat-1',
        versionId: '.',
      });
      const update = await call('update-resource', { resource: { resourceType: 'Patient', id: '..' } });
      const everything = await call('get-everything', { resourceType: 'Patient', id: '..' });

      // Assess
      const answers = [read, vread, update, everything].map((answer) => ({
        status: answer.statusCode,
        errors: parsed(answer)['errors'],
      }));
      const refused = (pointer: string) => ({
        status: 400,
        errors: [{ pointer, message: '"." and ".." cannot name a resource in a URL' }],
      });
      expect(answers).toEqual([
        refused('/id'),
        refused('/versionId'),
        refused('/resource/id'),
        refused('/id'),
      ]);
      expect(fake.log.filter((entry) => entry.path !== '/fhir/metadata')).toEqual([]);
    });
  });

  describe('Operation: search-resources', () => {
    it('pages through three bundles with the next links as cursors', async () => {
      // Act
      const pages: HttpResult[] = [];
      let cursor: unknown;
      do {
        const input = {
          resourceType: 'Patient',
          params: { family: 'Okafor' },
          count: 1,
          sort: '_lastUpdated',
        };
        const page = await call('search-resources', cursor === undefined ? input : { ...input, cursor });
        pages.push(page);
        cursor = parsed(page)['nextCursor'];
      } while (cursor !== undefined && pages.length < 5);

      // Assess
      expect(pages.map((page) => page.statusCode)).toEqual([200, 200, 200]);
      expect(pages.map(idsOf)).toEqual([['Patient/pat-1'], ['Patient/pat-2'], ['Patient/pat-4']]);
      expect(parsed(pages[0] as HttpResult)['total']).toBe(3);
      expect(fake.logFor('search')).toHaveLength(1);
      expect(fake.logFor('pages').map((entry) => entry.query['_getpagesoffset'])).toEqual(['1', '2']);
    });

    it('honours identifier, name, subject, code, date prefixes, _id and _sort', async () => {
      // Act
      const byIdentifier = await call('search-resources', {
        resourceType: 'Patient',
        params: { identifier: 'urn:oid:2.16.840.1.113883.19.5|MRN-1003' },
      });
      const byName = await call('search-resources', { resourceType: 'Patient', params: { name: 'ngo' } });
      const byDate = await call('search-resources', {
        resourceType: 'Observation',
        params: {
          subject: 'Patient/pat-1',
          code: 'http://loinc.org|8867-4',
          date: ['ge2026-01-05', 'le2026-01-31'],
        },
      });
      const newest = await call('search-resources', {
        resourceType: 'Observation',
        params: { patient: 'pat-1', _id: 'obs-1,obs-3' },
        sort: '-_lastUpdated',
      });

      // Assess
      expect(idsOf(byIdentifier)).toEqual(['Patient/pat-3']);
      expect(idsOf(byName)).toEqual(['Patient/pat-4']);
      expect(idsOf(byDate)).toEqual(['Observation/obs-2', 'Observation/obs-3']);
      expect(idsOf(newest)).toEqual(['Observation/obs-3', 'Observation/obs-1']);
      expect(parsed(byName)['nextCursor']).toBeUndefined();
    });

    it('reads FHIR escapes in values (\\, \\| \\$ \\\\) as characters, and sends non-ASCII and "+" as they are', async () => {
      // Prepare: names and an identifier holding FHIR's separator characters.
      const patient = (family: string, value: string) => ({
        resourceType: 'Patient',
        identifier: [{ system: 'urn:example:mrn', value }],
        name: [{ family, given: ['Ann'] }],
      });
      const comma = resourceOf(await call('create-resource', { resource: patient('O,Brien', 'A|1') }));
      const brien = resourceOf(await call('create-resource', { resource: patient('Brien', 'A') }));
      const dollar = resourceOf(await call('create-resource', { resource: patient('Pay$\\Day', 'B$2') }));
      const accented = resourceOf(await call('create-resource', { resource: patient('Łukasiewicz+Ó', 'C') }));
      fake.log.length = 0;

      // Act
      const escapedComma = await call('search-resources', {
        resourceType: 'Patient',
        params: { 'family:exact': 'O\\,Brien' },
      });
      const either = await call('search-resources', {
        resourceType: 'Patient',
        params: { 'family:exact': 'O\\,Brien,Brien' },
      });
      const bar = await call('search-resources', {
        resourceType: 'Patient',
        params: { identifier: 'urn:example:mrn|A\\|1' },
      });
      const escapes = await call('search-resources', {
        resourceType: 'Patient',
        params: { 'family:exact': 'Pay\\$\\\\Day', identifier: 'urn:example:mrn|B\\$2' },
      });
      const plus = await call('search-resources', {
        resourceType: 'Patient',
        params: { 'family:exact': 'Łukasiewicz+Ó' },
      });

      // Assess
      expect(idsOf(escapedComma)).toEqual([`Patient/${comma['id']}`]);
      expect(new Set(idsOf(either))).toEqual(new Set([`Patient/${comma['id']}`, `Patient/${brien['id']}`]));
      expect(idsOf(bar)).toEqual([`Patient/${comma['id']}`]);
      expect(idsOf(escapes)).toEqual([`Patient/${dollar['id']}`]);
      expect(idsOf(plus)).toEqual([`Patient/${accented['id']}`]);
      expect(fake.logFor('search').map((entry) => entry.query)).toEqual([
        { 'family:exact': 'O\\,Brien' },
        { 'family:exact': 'O\\,Brien,Brien' },
        { identifier: 'urn:example:mrn|A\\|1' },
        { 'family:exact': 'Pay\\$\\\\Day', identifier: 'urn:example:mrn|B\\$2' },
        { 'family:exact': 'Łukasiewicz+Ó' },
      ]);
    });

    it('maps the server refusing an unknown parameter to a 400 with its diagnostics', async () => {
      // Act
      const response = await call('search-resources', { resourceType: 'Patient', params: { shoe: '9' } });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('error not-supported');
      expect(parsed(response)['detail']).toContain('Unknown search parameter "shoe"');
    });

    it('refuses a cursor that is not on the configured base URL, without calling anyone', async () => {
      // Act
      const elsewhere = await call('search-resources', {
        resourceType: 'Patient',
        cursor: 'https://attacker.example/fhir?_getpages=x',
      });
      const sibling = await call('search-resources', {
        resourceType: 'Patient',
        cursor: `${fake.url}/fhirish?_getpages=x`,
      });
      const traversal = await call('search-resources', {
        resourceType: 'Patient',
        cursor: `${fake.url}/fhir/%2e%2e/auth/token`,
      });

      // Assess
      expect(elsewhere.statusCode).toBe(400);
      expect(parsed(elsewhere)['errors']).toEqual([expect.objectContaining({ pointer: '/cursor' })]);
      expect(sibling.statusCode).toBe(400);
      expect(traversal.statusCode).toBe(400);
      expect(fake.log).toEqual([]);
    });

    it('refuses a cursor whose path hides a separator (%2F, %5C) that a proxy would decode and climb out with', async () => {
      // Act: each is under /fhir to the URL parser, but `..%2F..%2Fadmin` is `../../admin` once decoded.
      const cursors = [
        `${fake.url}/fhir/..%2F..%2Fadmin?x=1`,
        `${fake.url}/fhir/Patient%2f..%2f..%2fauth%2ftoken`,
        `${fake.url}/fhir/..%5C..%5Cadmin`,
        `${fake.url}/fhir/%252e%252e/admin`,
      ];
      const responses = [];
      for (const cursor of cursors) {
        responses.push(await call('search-resources', { resourceType: 'Patient', cursor }));
      }

      // Assess
      expect(responses.map((response) => response.statusCode)).toEqual([400, 400, 400, 400]);
      for (const response of responses) {
        expect(parsed(response)['errors']).toEqual([expect.objectContaining({ pointer: '/cursor' })]);
      }
      expect(fake.log).toEqual([]);
    });

    it('redacts the search values a next link carries when that page fails and the server echoes them', async () => {
      // Prepare: a next link that keeps the search in its query (Firely, Azure: `?family=...&ct=...`).
      const cursor = `${fake.url}/fhir/Patient?family=Okafor&_count=1&ct=page-2`;
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 400,
            json: {
              resourceType: 'OperationOutcome',
              issue: [
                { severity: 'error', code: 'invalid', diagnostics: 'Continuation for family=Okafor expired' },
              ],
            },
          },
        },
        { route: 'search' },
      );

      // Act
      const response = await call('search-resources', { resourceType: 'Patient', cursor });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(response.body).not.toContain('Okafor');
      expect(logs.text()).not.toContain('Okafor');
    });

    it('answers 404 (410 Gone) for a cursor whose search the server forgot', async () => {
      // Prepare
      const first = await call('search-resources', { resourceType: 'Patient', count: 1 });
      fake.state.searches.clear();

      // Act
      const response = await call('search-resources', {
        resourceType: 'Patient',
        cursor: parsed(first)['nextCursor'],
      });

      // Assess
      expect(response.statusCode).toBe(404);
      expect(fake.logFor('pages')[0]?.status).toBe(410);
    });
  });

  describe('Operation: create-resource', () => {
    it('creates once with ifNoneExist: the second call answers the same resource, created false', async () => {
      // Act
      const ifNoneExist = 'identifier=urn:oid:2.16.840.1.113883.19.5|MRN-2001';
      const first = await call('create-resource', { resource: NEW_PATIENT, ifNoneExist });
      const second = await call('create-resource', { resource: NEW_PATIENT, ifNoneExist });

      // Assess
      expect(first.statusCode).toBe(200);
      expect(parsed(first)).toMatchObject({
        created: true,
        versionId: '1',
        resource: { name: NEW_PATIENT.name },
      });
      expect(parsed(second)).toMatchObject({ created: false, resource: { id: resourceOf(first)['id'] } });
      const patients = [...fake.state.resources.keys()].filter((key) => key.startsWith('Patient/'));
      expect(patients).toHaveLength(5);
      expect(fake.logFor('create').map((entry) => entry.headers['if-none-exist'])).toEqual([
        ifNoneExist,
        ifNoneExist,
      ]);
      expect(fake.logFor('create')[0]?.headers['content-type']).toContain('application/fhir+json');
    });

    it('after a create whose answer was lost, sending it again with ifNoneExist answers the one made, created false', async () => {
      // Prepare: the server creates the patient, then a proxy answers 502 in its place.
      fake.state.lostAnswers.set('create', 1);
      const ifNoneExist = 'identifier=urn:oid:2.16.840.1.113883.19.5|MRN-2001';

      // Act
      const lost = await call('create-resource', { resource: NEW_PATIENT, ifNoneExist });
      const again = await call('create-resource', { resource: NEW_PATIENT, ifNoneExist });

      // Assess: a POST is sent once, so the caller sees the failure; its retry finds the match.
      expect(lost.statusCode).toBe(503);
      expect(fake.logFor('create').map((entry) => entry.status)).toEqual([502, 200]);
      expect(parsed(again)).toMatchObject({ created: false, resource: { name: NEW_PATIENT.name } });
      const patients = [...fake.state.resources.keys()].filter((key) => key.startsWith('Patient/'));
      expect(patients).toHaveLength(5);
    });

    it('sends an ifNoneExist with letters beyond ASCII percent-encoded, as in a URL, and the server matches it', async () => {
      // Act
      const resource = { resourceType: 'Patient', name: [{ family: '\u0141ukasiewicz', given: ['Jan'] }] };
      const ifNoneExist = 'family=\u0141ukasiewicz&given=Jan';
      const first = await call('create-resource', { resource, ifNoneExist });
      const second = await call('create-resource', { resource, ifNoneExist });

      // Assess
      expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
      expect(parsed(first)).toMatchObject({ created: true });
      expect(parsed(second)).toMatchObject({ created: false, resource: { id: resourceOf(first)['id'] } });
      expect(fake.logFor('create').map((entry) => entry.headers['if-none-exist'])).toEqual([
        'family=%C5%81ukasiewicz&given=Jan',
        'family=%C5%81ukasiewicz&given=Jan',
      ]);
    });

    it('sends a "+" in an ifNoneExist value as %2B, so the server does not read it as a space', async () => {
      // Act
      const resource = {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:example:mrn', value: 'A+B 1' }],
        name: [{ family: 'Plus' }],
      };
      const ifNoneExist = 'identifier=urn:example:mrn|A+B 1';
      const first = await call('create-resource', { resource, ifNoneExist });
      const second = await call('create-resource', { resource, ifNoneExist });

      // Assess
      expect(parsed(first)).toMatchObject({ created: true });
      expect(parsed(second)).toMatchObject({ created: false, resource: { id: resourceOf(first)['id'] } });
      expect(fake.logFor('create')[0]?.headers['if-none-exist']).toBe('identifier=urn:example:mrn|A%2BB%201');
    });

    it('answers 409 when ifNoneExist matches several resources', async () => {
      // Act
      const response = await call('create-resource', { resource: NEW_PATIENT, ifNoneExist: 'family=Okafor' });

      // Assess
      expect(response.statusCode).toBe(409);
      expect(parsed(response)['detail']).toContain('multiple-matches');
      expect(fake.logFor('create')[0]?.status).toBe(412);
    });

    it('checks Patient, Observation, Encounter and Condition against their models, others pass as Resource', async () => {
      // Act
      const observation = await call('create-resource', {
        resource: { resourceType: 'Observation', code: { text: 'Heart rate' } },
      });
      const gender = await call('create-resource', { resource: { resourceType: 'Patient', gender: 'x' } });
      const practitioner = await call('create-resource', {
        resource: { resourceType: 'Practitioner', name: [{ family: 'Adeyemi' }], qualification: [] },
      });

      // Assess
      expect(observation.statusCode).toBe(400);
      expect(parsed(observation)['errors']).toEqual([
        expect.objectContaining({ pointer: '/resource/status' }),
      ]);
      expect(parsed(gender)['errors']).toEqual([expect.objectContaining({ pointer: '/resource/gender' })]);
      expect(practitioner.statusCode).toBe(200);
      expect(resourceOf(practitioner)).toMatchObject({ resourceType: 'Practitioner', qualification: [] });
      expect(fake.logFor('create')).toHaveLength(1);
    });

    it("maps the server's 422 OperationOutcome to a 400 naming the element from its expression", async () => {
      // Act
      const response = await call('create-resource', {
        resource: { ...NEW_PATIENT, birthDate: '1990-02-30' },
      });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('error value at Patient.birthDate: Invalid birthDate');
      expect(parsed(response)['errors']).toEqual([
        expect.objectContaining({ pointer: '/resource/birthDate' }),
      ]);
    });
  });

  describe('Operation: update-resource', () => {
    it('updates over the current version (If-Match W/"1") and answers 409 for a stale one', async () => {
      // Prepare
      const current = resourceOf(await call('read-resource', { resourceType: 'Condition', id: 'cond-1' }));

      // Act
      const updated = await call('update-resource', {
        resource: { ...current, recordedDate: '2025-11-21' },
        ifMatch: '1',
      });
      const stale = await call('update-resource', {
        resource: { ...current, recordedDate: '2025-11-22' },
        ifMatch: '1',
      });

      // Assess
      expect(parsed(updated)).toMatchObject({ created: false, versionId: '2' });
      expect(stale.statusCode).toBe(409);
      expect(parsed(stale)['code']).toBe('conflict');
      expect(parsed(stale)['detail']).toContain('is not the current version');
      expect(fake.logFor('update').map((entry) => [entry.headers['if-match'], entry.status])).toEqual([
        ['W/"1"', 200],
        ['W/"1"', 412],
      ]);
      expect(stored('Condition/cond-1').at(-1)?.resource['recordedDate']).toBe('2025-11-21');
    });

    it('answers success when a retried If-Match update gets 412 because its first attempt was applied (its answer lost)', async () => {
      // Prepare: the server writes version 2, then a proxy answers 502 in its place.
      const current = resourceOf(await call('read-resource', { resourceType: 'Condition', id: 'cond-1' }));
      fake.state.lostAnswers.set('update', 1);

      // Act
      const response = await call('update-resource', {
        resource: { ...current, recordedDate: '2025-11-21' },
        ifMatch: '1',
      });

      // Assess
      expect(fake.logFor('update').map((entry) => entry.status)).toEqual([502, 412]);
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        created: false,
        versionId: '2',
        resource: { id: 'cond-1', recordedDate: '2025-11-21' },
      });
      expect(stored('Condition/cond-1')).toHaveLength(2);
    });

    it('still answers 409 for a 412 when the current version holds other content, or cannot be read to check', async () => {
      // Prepare: another writer moved cond-1 on to version 2.
      const current = resourceOf(await call('read-resource', { resourceType: 'Condition', id: 'cond-1' }));
      await call('update-resource', { resource: { ...current, recordedDate: '2025-12-01' } });

      // Act
      const other = await call('update-resource', {
        resource: { ...current, recordedDate: '2025-11-21' },
        ifMatch: '1',
      });
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'read', times: Number.POSITIVE_INFINITY });
      const unread = await call('update-resource', {
        resource: { ...current, recordedDate: '2025-12-01' },
        ifMatch: '1',
      });

      // Assess
      expect(other.statusCode).toBe(409);
      expect(parsed(other)['detail']).toContain('is not the current version');
      expect(unread.statusCode).toBe(409);
      expect(stored('Condition/cond-1').at(-1)?.resource['recordedDate']).toBe('2025-12-01');
    });

    it('refuses a resource without an id with a 400 naming resource.id', async () => {
      // Act
      const response = await call('update-resource', { resource: NEW_PATIENT });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([
        { pointer: '/resource/id', message: 'required to update' },
      ]);
      expect(fake.log).toEqual([]);
    });
  });

  describe('Operation: run-transaction', () => {
    it('creates a patient and its observation in one transaction, resolving the urn:uuid reference', async () => {
      // Act
      const response = await call('run-transaction', {
        entry: [
          {
            fullUrl: 'urn:uuid:0b7ef4a6-1111-4e3f-9a0e-0d3c1f7d0001',
            resource: NEW_PATIENT,
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'Heart rate' },
              subject: { reference: 'urn:uuid:0b7ef4a6-1111-4e3f-9a0e-0d3c1f7d0001' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const { type, entries } = parsed(response) as { type: string; entries: Json[] };
      expect(type).toBe('transaction-response');
      expect(entries.map((entry) => entry['status'])).toEqual(['201 Created', '201 Created']);
      const patientId = ((entries[0] as Json)['resource'] as Json)['id'];
      expect(((entries[1] as Json)['resource'] as Json)['subject']).toEqual({
        reference: `Patient/${patientId}`,
      });
    });

    it('rolls a failing transaction back entirely, and a batch keeps its good entries', async () => {
      // Prepare
      const entry = [
        { resource: NEW_PATIENT, request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Patient', id: 'pat-3' },
          request: { method: 'PUT', url: 'Patient/pat-3', ifMatch: 'W/"7"' },
        },
      ];

      // Act
      const transaction = await call('run-transaction', { type: 'transaction', entry });
      const afterTransaction = fake.state.resources.size;
      const batch = await call('run-transaction', { type: 'batch', entry });

      // Assess
      expect(transaction.statusCode).toBe(409);
      expect(afterTransaction).toBe(9);
      expect(batch.statusCode).toBe(200);
      expect((parsed(batch)['entries'] as Json[]).map((one) => one['status'])).toEqual([
        '201 Created',
        '412',
      ]);
      expect(fake.state.resources.size).toBe(10);
    });

    it('moves only the refused entries of a queued batch to the dead-letter queue, with their status and no PHI', async () => {
      // Prepare: a dead-letter queue on the local AWS endpoint
      const aws: AwsEndpointPeer = await startAwsEndpointPeer({ queues: ['fhir-dlq'] });
      process.env['AWS_ENDPOINT_URL_SQS'] = aws.endpoint;
      process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'] = aws.queueUrl('fhir-dlq');
      const stale = {
        resource: { resourceType: 'Patient', id: 'pat-3' },
        request: { method: 'PUT', url: 'Patient/pat-3', ifMatch: 'W/"7"' },
      };
      const entry = [{ resource: NEW_PATIENT, request: { method: 'POST', url: 'Patient' } }, stale];
      const sqs = new SQSClient({
        endpoint: aws.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      try {
        // Act
        const queued = await connector.handler(
          sqsEvent([
            {
              messageId: 'bundle-1',
              body: { operation: 'run-transaction', input: { type: 'batch', entry } },
            },
          ]),
          lambdaContext(),
        );
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: aws.queueUrl('fhir-dlq'),
            MaxNumberOfMessages: 10,
            MessageAttributeNames: ['All'],
          }),
        );

        // Assess
        expect(queued).toEqual({ batchItemFailures: [] });
        expect(fake.state.resources.size).toBe(10);
        expect(Messages).toHaveLength(1);
        expect(JSON.parse(Messages[0]?.Body ?? '{}')).toMatchObject({
          operation: 'run-transaction',
          input: { type: 'batch', entry: [stale] },
          idempotencyKey: 'bundle-1:unfinished',
        });
        const reason = Messages[0]?.MessageAttributes?.['errorMessage']?.StringValue ?? '';
        expect(Messages[0]?.MessageAttributes?.['errorName']?.StringValue).toBe('ValidationError');
        expect(reason).toContain('/entry/1: the server answered status 412 (conflict)');
        expect(reason).not.toContain('/entry/0');
        // The outcome's text may quote the resource: only its issue code is kept.
        expect(reason).not.toContain('not the current version');
      } finally {
        delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
        sqs.destroy();
        await aws.close();
      }
    });
  });

  describe('Operation: get-everything', () => {
    it("pages through a patient's whole record", async () => {
      // Act
      const first = await call('get-everything', { id: 'pat-1', count: 4 });
      const second = await call('get-everything', { id: 'pat-1', cursor: parsed(first)['nextCursor'] });

      // Assess
      expect(first.statusCode).toBe(200);
      expect(parsed(first)['total']).toBe(6);
      expect([...idsOf(first), ...idsOf(second)].sort()).toEqual([
        'Condition/cond-1',
        'Encounter/enc-1',
        'Observation/obs-1',
        'Observation/obs-2',
        'Observation/obs-3',
        'Patient/pat-1',
      ]);
      expect(parsed(second)['nextCursor']).toBeUndefined();
    });

    it('answers 501 where the CapabilityStatement does not offer $everything', async () => {
      // Act
      const encounter = await call('get-everything', { resourceType: 'Encounter', id: 'enc-1' });

      // Assess
      expect(encounter.statusCode).toBe(501);
      expect(parsed(encounter)['code']).toBe('not_supported');
      expect(fake.logFor('everything')).toEqual([]);
    });
  });

  describe('Operation: get-capabilities', () => {
    it('summarises the CapabilityStatement with the SMART token URL', async () => {
      // Act
      const response = await call('get-capabilities', {});

      // Assess
      const body = parsed(response);
      expect(body['fhirVersion']).toBe('4.0.1');
      expect(body['tokenUrl']).toBe(`${fake.url}/auth/token`);
      const patient = (body['resources'] as Json[]).find((resource) => resource['type'] === 'Patient');
      expect(patient).toMatchObject({ operations: ['everything'] });
      expect(patient?.['searchParams']).toEqual(
        expect.arrayContaining(['identifier', 'family', 'birthdate']),
      );
    });
  });

  describe('Failures', () => {
    it('waits as Retry-After says, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'read' });

      // Act
      const response = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('read').map((entry) => entry.status)).toEqual([429, 200]);
    });

    it('retries a 5xx, and answers 503 with the diagnostics when the server keeps failing', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { route: 'read' });

      // Act
      const recovered = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'read', times: Number.POSITIVE_INFINITY });
      const failed = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });

      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
      expect(parsed(failed)['code']).toBe('provider_unavailable');
    });

    it('sends a create once, and retries an update (a PUT writes the same resource again) after a 5xx, as the README says', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'create' });
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'update' });
      const creates = fake.logFor('create').length;
      const updates = fake.logFor('update').length;
      const patient = { resourceType: 'Patient', id: 'pat-retried', name: [{ family: 'Retried' }] };

      // Act
      const created = await call('create-resource', { resource: { resourceType: 'Patient' } });
      const updated = await call('update-resource', { resource: patient });

      // Assess
      expect(created.statusCode).toBe(503);
      expect(
        fake
          .logFor('create')
          .slice(creates)
          .map((entry) => entry.status),
      ).toEqual([503]);
      expect(updated.statusCode).toBe(200);
      expect(
        fake
          .logFor('update')
          .slice(updates)
          .map((entry) => entry.status),
      ).toEqual([503, 201]);
    });

    it('answers 502 for a malformed answer, a resource that breaks its model, or a 200 OperationOutcome error', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'read' });
      const broken = { ...stored('Patient/pat-2')[0]?.resource, gender: 'robot' };

      // Act
      const malformed = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });
      fake.inject({ kind: 'answer', answer: { status: 200, json: broken } }, { route: 'read' });
      const model = await call('read-resource', { resourceType: 'Patient', id: 'pat-2' });
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 200,
            json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing' }] },
          },
        },
        { route: 'read' },
      );
      const outcome = await call('read-resource', { resourceType: 'Patient', id: 'pat-2' });

      // Assess
      expect([malformed, model, outcome].map((response) => response.statusCode)).toEqual([502, 502, 502]);
      expect(parsed(model)['detail']).toContain('(gender)');
      expect(parsed(model)['detail']).not.toContain('robot');
      expect(parsed(outcome)['detail']).toContain('error processing');
    });

    it('answers 504 when the server does not answer in time', async () => {
      // Prepare
      fake.inject({ kind: 'hang' }, { route: 'read', times: Number.POSITIVE_INFINITY });

      // Act
      const response = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });

      // Assess
      expect(response.statusCode).toBe(504);
    }, 15_000);

    it('reads the secret again after a 401 (rotation) and succeeds with the new token', async () => {
      // Prepare
      await connector.run('read-resource', { resourceType: 'Patient', id: 'pat-1' });
      fake.state.tokens.clear();
      fake.state.tokens.add(ROTATED_TOKEN);
      await secrets.set(TOKEN_SECRET, ROTATED_TOKEN);

      // Act
      const response = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('read').map((entry) => [entry.status, entry.token])).toEqual([
        [200, FHIR_SANDBOX_TOKEN],
        [401, FHIR_SANDBOX_TOKEN],
        [200, ROTATED_TOKEN],
      ]);
    });

    it('answers 401 when the token stays refused, and never shows it', async () => {
      // Prepare
      fake.state.tokens.clear();

      // Act
      const response = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });

      // Assess
      expect(response.statusCode).toBe(401);
      expect(parsed(response)['detail']).toContain('error login');
      expect(`${response.body}${logs.text()}`).not.toContain(FHIR_SANDBOX_TOKEN);
    });
  });

  describe('Answers servers give', () => {
    it('reads the Location when a write answers without a body (return=minimal)', async () => {
      // Prepare
      const location = `${fake.url}/fhir/Patient/pat-2/_history/1`;
      fake.inject(
        { kind: 'answer', answer: { status: 201, headers: { location, etag: 'W/"1"' } } },
        { route: 'create' },
      );

      // Act
      const response = await call('create-resource', { resource: NEW_PATIENT });

      // Assess
      expect(parsed(response)).toMatchObject({
        created: true,
        versionId: '1',
        location,
        resource: { id: 'pat-2' },
      });
      expect(fake.logFor('vread')).toHaveLength(1);
    });

    it('answers included resources and outcome warnings of a search Bundle apart from the matches', async () => {
      // Prepare
      const patient = stored('Patient/pat-1')[0]?.resource;
      const observation = stored('Observation/obs-1')[0]?.resource;
      const bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [
          { resource: observation, search: { mode: 'match' } },
          { resource: patient, search: { mode: 'include' } },
          {
            resource: {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'warning', code: 'too-costly' }],
            },
            search: { mode: 'outcome' },
          },
        ],
      };
      fake.inject({ kind: 'answer', answer: { status: 200, json: bundle } }, { route: 'search' });

      // Act
      const response = await call('search-resources', {
        resourceType: 'Observation',
        params: { _include: 'Observation:subject' },
      });

      // Assess
      expect(idsOf(response)).toEqual(['Observation/obs-1']);
      expect(parsed(response)['included']).toEqual([expect.objectContaining({ id: 'pat-1' })]);
      expect(parsed(response)['issues']).toEqual([{ severity: 'warning', code: 'too-costly' }]);
      expect(parsed(response)).not.toHaveProperty('nextCursor');
    });

    it('maps a 412 without an OperationOutcome to 409, and a 403 OperationOutcome to 403', async () => {
      // Prepare
      fake.inject({ kind: 'answer', answer: { status: 412, body: '' } }, { route: 'update' });

      // Act
      const stale = await call('update-resource', {
        resource: { resourceType: 'Patient', id: 'pat-3' },
        ifMatch: '1',
      });
      fake.inject({ kind: 'forbidden' }, { route: 'read', times: 2 });
      const forbidden = await call('read-resource', { resourceType: 'Patient', id: 'pat-1' });

      // Assess
      expect(stale.statusCode).toBe(409);
      expect(parsed(stale)['detail']).toContain('precondition failed');
      expect(forbidden.statusCode).toBe(403);
      expect(parsed(forbidden)['detail']).toContain('error forbidden');
    });
  });

  describe('PHI', () => {
    const PHI = {
      given: 'Zelda',
      family: 'Quixotica-Marlowe',
      mrn: 'MRN-PHI-99731',
      birthDate: '1961-02-30',
      phone: '+1-555-0142-771',
    };
    const patientWithPhi = (birthDate: string) => ({
      resourceType: 'Patient',
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: PHI.mrn }],
      name: [{ family: PHI.family, given: [PHI.given] }],
      telecom: [{ system: 'phone', value: PHI.phone }],
      birthDate,
    });

    it('keeps patient names and identifiers out of every log line and error, even when the server echoes them', async () => {
      // Act: a server refusal that quotes the patient, successful writes and reads, failing searches.
      const refused = await call('create-resource', { resource: patientWithPhi(PHI.birthDate) });
      const created = await call('create-resource', {
        resource: patientWithPhi('1961-02-27'),
        ifNoneExist: `identifier=urn:oid:2.16.840.1.113883.19.5|${PHI.mrn}`,
      });
      const found = await call('search-resources', {
        resourceType: 'Patient',
        params: { family: PHI.family },
      });
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'search', times: Number.POSITIVE_INFINITY },
      );
      const failed = await call('search-resources', {
        resourceType: 'Patient',
        params: { identifier: PHI.mrn, name: PHI.given },
      });
      const queued = await connector.handler(
        sqsEvent([
          { body: { operation: 'create-resource', input: { resource: patientWithPhi(PHI.birthDate) } } },
        ]),
        lambdaContext(),
      );

      // Assess: each path ran (the server did echo the name), and nothing of the patient reached a log or error.
      expect(fake.logFor('create').map((entry) => entry.status)).toEqual([422, 201, 422]);
      expect(refused.statusCode).toBe(400);
      expect(parsed(refused)['detail']).toContain(
        'Invalid birthDate "[redacted]" for patient [redacted] [redacted]',
      );
      expect(created.statusCode).toBe(200);
      expect(idsOf(found)).toHaveLength(1);
      expect(failed.statusCode).toBe(503);
      expect((queued as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
      const errors = [refused.body, failed.body].join('\n');
      const logged = logs.text();
      expect(logged).toContain('create-resource');
      for (const value of Object.values(PHI)) {
        expect(logged).not.toContain(value);
        expect(errors).not.toContain(value);
      }
    });

    it('redacts two-letter names the request sent (Wu, Al) as whole words, and keeps the words around them', () => {
      // Prepare
      const error = new ValidationError(
        'FHIR server answered HTTP 400: family name Wu given Al is not allowed',
      );

      // Act
      redactSent(error, { resource: { resourceType: 'Patient', name: [{ family: 'Wu', given: ['Al'] }] } });

      // Assess
      expect(error.message).toBe(
        'FHIR server answered HTTP 400: family name [redacted] given [redacted] is not allowed',
      );
    });
  });

  describe('Triggers', () => {
    it('runs a queued create and a Step Functions task, and answers health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'create-resource', input: { resource: NEW_PATIENT } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        {
          trigger: 'task',
          operation: 'search-resources',
          input: { resourceType: 'Patient', params: { family: 'Example' } },
        },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/fhir/health' }),
        lambdaContext(),
      );

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ resources: [{ resourceType: 'Patient', name: NEW_PATIENT.name }] });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
