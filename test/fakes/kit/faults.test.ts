/**
 * Every fault kind of the kit, each against a real HTTP request to a running fake (the example items API),
 * with the route's normal answer checked alongside so a fault that does nothing cannot pass.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeServer, startFake } from '../../../scripts/local/sandboxes/kit/server.ts';
import { EXAMPLE_TOKEN, type ExampleState, exampleFake } from './example.ts';

let fake: FakeServer<ExampleState>;

async function call(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${fake.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${EXAMPLE_TOKEN}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const ITEM_A = { id: 'a', name: 'Apple' };

describe('Function: startFake', () => {
  beforeAll(async () => {
    fake = await startFake(exampleFake());
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  describe('Method: inject', () => {
    it('answers the normal route when no fault is pending (the baseline the faults differ from)', async () => {
      // Act
      const answer = await call('/items/a');
      // Assess
      expect([answer.status, JSON.parse(answer.text)]).toEqual([200, ITEM_A]);
      expect(answer.headers.get('content-length')).toBe(String(answer.text.length));
    });

    it.each([
      ['unauthorized', 401, 'UNAUTHORIZED'],
      ['forbidden', 403, 'FORBIDDEN'],
      ['not-found', 404, 'NOT_FOUND'],
      ['conflict', 409, 'CONFLICT'],
    ] as const)(
      'answers %s as the dialect shapes it (HTTP %i) once, then the route again',
      async (kind, status, code) => {
        // Prepare
        fake.inject({ kind }, { route: 'get-item' });
        // Act
        const faulted = await call('/items/a');
        const normal = await call('/items/a');
        // Assess
        expect([faulted.status, JSON.parse(faulted.text)]).toEqual([status, { errors: [{ code, status }] }]);
        expect(faulted.headers.get('x-example-request-id')).toBe('req-1');
        expect(normal.status).toBe(200);
        expect(fake.log.map((entry) => entry.fault)).toEqual([kind, undefined]);
      },
    );

    it('answers throttled with 429 and Retry-After, or with the status the fault names', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 7 });
      fake.inject({ kind: 'throttled', retryAfterSeconds: 1, status: 403 });
      // Act
      const first = await call('/items');
      const second = await call('/items');
      // Assess
      expect([first.status, first.headers.get('retry-after')]).toEqual([429, '7']);
      expect(JSON.parse(first.text)).toEqual({ errors: [{ code: 'THROTTLED', status: 429 }] });
      expect([second.status, second.headers.get('retry-after')]).toEqual([403, '1']);
    });

    it('answers a 5xx n times, then succeeds', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'list-items', times: 2 });
      // Act
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 3; attempt += 1) statuses.push((await call('/items')).status);
      // Assess
      expect(statuses).toEqual([503, 503, 200]);
      expect(fake.log.map((entry) => entry.status)).toEqual([503, 503, 200]);
    });

    it('answers slowly: a client with a shorter timeout gives up, a patient one gets the normal answer', async () => {
      // Prepare
      fake.inject({ kind: 'slow', delayMs: 5_000 });
      fake.inject({ kind: 'slow', delayMs: 10 });
      // Act
      const impatient = await call('/items/a', { signal: AbortSignal.timeout(100) }).catch(
        (error: unknown) => error,
      );
      const patient = await call('/items/a');
      // Assess
      expect((impatient as Error).name).toBe('TimeoutError');
      expect([patient.status, JSON.parse(patient.text)]).toEqual([200, ITEM_A]);
      expect(fake.log.map((entry) => entry.fault)).toEqual(['slow', 'slow']);
    });

    it('delays any fault by the target delayMs', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { delayMs: 5_000 });
      // Act
      const outcome = await call('/items', { signal: AbortSignal.timeout(100) }).catch(
        (error: unknown) => error,
      );
      // Assess
      expect((outcome as Error).name).toBe('TimeoutError');
    });

    it('hangs without an answer, and close() still returns', async () => {
      // Prepare
      const own = await startFake(exampleFake());
      own.inject({ kind: 'hang' });
      const pending = fetch(`${own.url}/items`, {
        headers: { authorization: `Bearer ${EXAMPLE_TOKEN}` },
      }).then(
        () => 'answered',
        () => 'cut',
      );
      await expect.poll(() => own.log.length).toBe(1);
      // Act
      await own.close();
      // Assess
      expect(await pending).toBe('cut');
      expect(own.log[0]?.fault).toBe('hang');
      expect(own.log[0]?.status).toBeUndefined();
    });

    it('drops the connection without an answer', async () => {
      // Prepare
      fake.inject({ kind: 'drop' });
      // Act
      const outcome = await call('/items').catch((error: unknown) => error);
      // Assess
      expect(outcome).toBeInstanceOf(TypeError);
      expect((await call('/items')).status).toBe(200);
    });

    it('cuts a JSON answer short after the route ran (its side effect happened)', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'create-item' });
      // Act
      const answer = await call('/items', { method: 'POST', body: { id: 'c', name: 'Cherry' } });
      // Assess
      expect(answer.status).toBe(201);
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(() => JSON.parse(answer.text)).toThrow(SyntaxError);
      expect(fake.state.items.map((item) => item.id)).toEqual(['a', 'b', 'c']);
    });

    it('answers valid JSON of the wrong shape: an object in an array, an array in an object, or as told', async () => {
      // Prepare
      fake.inject({ kind: 'wrong-shape' }, { route: 'get-item' });
      fake.inject({ kind: 'wrong-shape' }, { route: 'list-items' });
      fake.inject({ kind: 'wrong-shape', json: { id: 42 } }, { route: 'get-item' });
      // Act
      const object = await call('/items/a');
      const list = await call('/items');
      const told = await call('/items/a');
      // Assess
      expect(JSON.parse(object.text)).toEqual([ITEM_A]);
      expect(JSON.parse(list.text)).toEqual({ items: [ITEM_A, { id: 'b', name: 'Banana' }] });
      expect(JSON.parse(told.text)).toEqual({ id: 42 });
    });

    it('pads an answer to the size asked, still valid JSON, with content-length or chunked', async () => {
      // Prepare
      fake.inject({ kind: 'oversized', bytes: 300_000 });
      fake.inject({ kind: 'oversized', bytes: 200_000, chunked: true });
      // Act
      const declared = await call('/items/a');
      const chunked = await call('/items/a');
      // Assess
      expect([declared.text.length, declared.headers.get('content-length')]).toEqual([300_000, '300000']);
      expect(JSON.parse(declared.text)).toEqual(ITEM_A);
      expect(chunked.text.length).toBe(200_000);
      expect(chunked.headers.get('content-length')).toBeNull();
      expect(chunked.headers.get('transfer-encoding')).toBe('chunked');
    });

    it('sends exactly the answer given', async () => {
      // Prepare
      fake.inject({
        kind: 'answer',
        answer: {
          status: 502,
          body: '<html>Bad gateway</html>',
          contentType: 'text/html',
          headers: { 'x-a': '1' },
        },
      });
      // Act
      const answer = await call('/items');
      // Assess
      expect([answer.status, answer.text, answer.headers.get('content-type')]).toEqual([
        502,
        '<html>Bad gateway</html>',
        'text/html',
      ]);
      expect(answer.headers.get('x-a')).toBe('1');
    });
  });

  describe('Method: inject (targets)', () => {
    it('applies a route fault only to that route and a `when` fault only where it holds', async () => {
      // Prepare
      fake.inject({ kind: 'not-found' }, { route: 'list-items' });
      fake.inject({ kind: 'conflict' }, { when: (request) => request.params['id'] === 'b' });
      // Act
      const a = await call('/items/a');
      const b = await call('/items/b');
      const list = await call('/items');
      // Assess
      expect([a.status, b.status, list.status]).toEqual([200, 409, 404]);
    });

    it('tries higher priorities first, then the order injected', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 500 }, { priority: -1 });
      fake.inject({ kind: 'server-error', status: 502 });
      fake.inject({ kind: 'server-error', status: 503 });
      // Act
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 4; attempt += 1) statuses.push((await call('/items')).status);
      // Assess
      expect(statuses).toEqual([502, 503, 500, 200]);
    });

    it('keeps answering an Infinity fault until clearFaults()', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { times: Number.POSITIVE_INFINITY });
      // Act
      const before = [(await call('/items')).status, (await call('/items')).status];
      fake.clearFaults();
      const after = (await call('/items')).status;
      // Assess
      expect([...before, after]).toEqual([500, 500, 200]);
    });
  });
});
