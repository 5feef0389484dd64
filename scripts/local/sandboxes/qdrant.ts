/**
 * The contract fake of Qdrant's REST API (collections and points), on the contract-fake kit: what the
 * Qdrant connector's tests run against, and its sandbox on the local stack
 * (`npx node scripts/local/sandboxes/qdrant.ts [port]`). It follows Qdrant's published REST reference and
 * does the real search, so scores and filters are checkable:
 *
 * - `PUT /collections/{name}` `{ vectors: { size, distance } }` (`Cosine`, `Euclid`, `Dot`, `Manhattan`):
 *   `{ result: true }`; 409 `Wrong input: Collection `x` already exists!`;
 * - `GET /collections/{name}`: `{ result: { status, points_count, config: { params: { vectors } } } }`;
 *   `DELETE /collections/{name}`: `{ result: true | false }`; `GET /collections`: the names;
 * - `PUT /collections/{name}/points?wait=true` `{ points: [{ id, vector, payload }] }`: ids are unsigned
 *   integers or UUIDs; a payload is any JSON object (nested objects, nulls, lists of anything), kept and
 *   answered as sent, a payload that is no object is a 400; a vector of another size is a 400
 *   `Vector dimension error`; nothing is written when any point is refused; Cosine collections store
 *   vectors normalised, as Qdrant does;
 * - `POST /collections/{name}/points` (retrieve `{ ids, with_payload, with_vector }`),
 *   `POST .../points/search` (`{ vector, limit, filter, with_payload, with_vector }`, score = cosine or
 *   dot similarity, Euclid or Manhattan distance, best first), `POST .../points/query` (`{ query, ... }`,
 *   answering `{ result: { points } }`), `POST .../points/count`, `POST .../points/delete?wait=true`
 *   (`{ points }` or `{ filter }`);
 * - filters: `must`, `should`, `must_not`, nested filters, `{ key, match: { value | any | except } }`
 *   (`value` only text, integer or boolean), `{ key, range: { gt, gte, lt, lte } }`, `is_empty`, `has_id`;
 *   dotted keys reach nested payload, arrays match when any element does;
 * - the `api-key` header (or `Authorization: Bearer`) on every call, else 401; errors as
 *   `{ "status": { "error": "..." }, "time": 0 }`. Faults (`fake.inject`) add 429 with Retry-After, 5xx,
 *   slow, malformed, ... .
 *
 * Seed: the key {@link QDRANT_SANDBOX_KEY}; no collections.
 *
 * @example
 * ```ts
 * const fake = await startQdrantFake();
 * process.env['QDRANT_API_URL'] = fake.url;
 * ```
 */
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type FakeDefinition,
  type FakeServer,
  json,
  type RouteContext,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** The API key the fake accepts unless a test changes `state.keys`: a sandbox credential, not a secret. */
export const QDRANT_SANDBOX_KEY = 'qdrant-sandbox-api-key';

type Distance = 'Cosine' | 'Euclid' | 'Dot' | 'Manhattan';
type Payload = Record<string, unknown>;

export interface QdrantFakePoint {
  id: string | number;
  vector: number[];
  payload: Payload;
}

export interface QdrantFakeCollection {
  size: number;
  distance: Distance;
  points: Map<string, QdrantFakePoint>;
}

export interface QdrantFakeState {
  keys: Set<string>;
  collections: Map<string, QdrantFakeCollection>;
  operations: number;
}

const DISTANCES: readonly Distance[] = ['Cosine', 'Euclid', 'Dot', 'Manhattan'];
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const NAME = /^[^/\\\s\0]{1,255}$/;

function failure(status: number, error: string): Answer {
  return json(status, { status: { error }, time: 0 });
}

const ok = (result: unknown): Answer => json(200, { result, status: 'ok', time: 0.000_1 });

/** Qdrant's error bodies. */
export const qdrantErrors: ErrorDialect = (kind, { status }) =>
  failure(
    status,
    {
      unauthorized: 'Must provide an API key or an Authorization bearer token',
      forbidden: 'Forbidden',
      'not-found': 'Not found',
      conflict: 'Conflict',
      throttled: 'Too many requests',
      'server-error': 'Service internal error',
    }[kind],
  );

const badBody = (what: string): never => refuse(failure(400, `Format error in JSON body: ${what}`));

function collectionOf({ request, state }: RouteContext<QdrantFakeState>): QdrantFakeCollection {
  const name = request.params['name'] ?? '';
  const collection = state.collections.get(name);
  if (collection === undefined) refuse(failure(404, `Not found: Collection \`${name}\` doesn't exist!`));
  return collection;
}

function body(context: RouteContext<QdrantFakeState>): Record<string, unknown> {
  const value = context.request.body;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) badBody('expected an object');
  return value as Record<string, unknown>;
}

/** A point id as Qdrant accepts it, and its map key. */
function pointKey(id: unknown): string {
  if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return String(id);
  if (typeof id === 'string' && UUID.test(id)) return id.replaceAll('-', '').toLowerCase();
  return badBody(
    `value ${JSON.stringify(id)} is not a valid point ID, valid values are either an unsigned integer or a UUID`,
  );
}

function numbers(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    badBody(`${what} must be an array of numbers`);
  }
  return value as number[];
}

const dot = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
const normalise = (v: number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return norm === 0 ? v : v.map((x) => x / norm);
};

/** Qdrant's score: similarity for Cosine and Dot (higher first), distance for Euclid and Manhattan. */
function score(distance: Distance, stored: number[], query: number[]): number {
  switch (distance) {
    case 'Cosine':
      return dot(stored, normalise(query));
    case 'Dot':
      return dot(stored, query);
    case 'Euclid':
      return Math.sqrt(stored.reduce((sum, x, i) => sum + (x - (query[i] ?? 0)) ** 2, 0));
    default:
      return stored.reduce((sum, x, i) => sum + Math.abs(x - (query[i] ?? 0)), 0);
  }
}

function valuesAt(payload: Payload, key: string): unknown[] {
  let values: unknown[] = [payload];
  for (const part of key.split('.')) {
    values = values.flatMap((value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
      return Object.hasOwn(value, part) ? [(value as Payload)[part]] : [];
    });
  }
  return values.flatMap((value) => (Array.isArray(value) ? value : [value]));
}

const isMatchValue = (v: unknown): boolean =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v));

function matches(point: QdrantFakePoint, condition: unknown): boolean {
  if (typeof condition !== 'object' || condition === null) return badBody('a condition must be an object');
  const c = condition as Record<string, unknown>;
  if ('must' in c || 'should' in c || 'must_not' in c) return passes(point, c);
  if ('has_id' in c) return (c['has_id'] as unknown[]).some((id) => pointKey(id) === pointKey(point.id));
  if ('is_empty' in c) {
    const key = (c['is_empty'] as { key?: unknown }).key;
    return valuesAt(point.payload, String(key)).filter((v) => v !== null).length === 0;
  }
  if (typeof c['key'] !== 'string') return badBody('a field condition needs a key');
  const found = valuesAt(point.payload, c['key']);
  if ('match' in c) {
    const match = c['match'] as Record<string, unknown>;
    if ('value' in match) {
      if (!isMatchValue(match['value']))
        badBody('data did not match any variant of untagged enum ValueVariants');
      return found.includes(match['value']);
    }
    if ('any' in match) return (match['any'] as unknown[]).some((v) => found.includes(v));
    if ('except' in match) return found.some((v) => !(match['except'] as unknown[]).includes(v));
    return badBody('unknown match');
  }
  if ('range' in c) {
    const range = c['range'] as Record<string, number | undefined>;
    return found.some(
      (v) =>
        typeof v === 'number' &&
        (range['gt'] === undefined || v > range['gt']) &&
        (range['gte'] === undefined || v >= range['gte']) &&
        (range['lt'] === undefined || v < range['lt']) &&
        (range['lte'] === undefined || v <= range['lte']),
    );
  }
  return badBody('unknown condition');
}

/** Qdrant's filter: every `must`, at least one `should` (when given), no `must_not`. */
function passes(point: QdrantFakePoint, filter: unknown): boolean {
  if (filter === undefined || filter === null) return true;
  const f = filter as Record<string, unknown[] | undefined>;
  const list = (name: string): unknown[] => {
    const value = f[name] ?? [];
    return Array.isArray(value) ? value : [value];
  };
  return (
    list('must').every((c) => matches(point, c)) &&
    (f['should'] === undefined || list('should').some((c) => matches(point, c))) &&
    !list('must_not').some((c) => matches(point, c))
  );
}

function shown(point: QdrantFakePoint, input: Record<string, unknown>): Record<string, unknown> {
  return {
    id: point.id,
    payload: input['with_payload'] === false ? null : point.payload,
    vector: input['with_vector'] === true ? point.vector : null,
  };
}

function search(collection: QdrantFakeCollection, input: Record<string, unknown>, vector: number[]) {
  if (vector.length !== collection.size) {
    refuse(
      failure(
        400,
        `Wrong input: Vector dimension error: expected dim: ${collection.size}, got ${vector.length}`,
      ),
    );
  }
  const limit = input['limit'] ?? 10;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    return badBody('limit must be a positive integer');
  }
  const lowerFirst = collection.distance === 'Euclid' || collection.distance === 'Manhattan';
  return [...collection.points.values()]
    .filter((point) => passes(point, input['filter']))
    .map((point) => ({ point, score: score(collection.distance, point.vector, vector) }))
    .sort((a, b) => (lowerFirst ? a.score - b.score : b.score - a.score))
    .slice(0, limit)
    .map(({ point, score: s }) => ({ ...shown(point, input), version: 0, score: s }));
}

function operation(state: QdrantFakeState): Answer {
  state.operations += 1;
  return ok({ operation_id: state.operations, status: 'completed' });
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(qdrantFake());
 * ```
 */
export function qdrantFake(): FakeDefinition<QdrantFakeState> {
  return {
    name: 'Qdrant',
    seed: () => ({ keys: new Set([QDRANT_SANDBOX_KEY]), collections: new Map(), operations: 0 }),
    errors: qdrantErrors,
    token: (request) =>
      request.headers['api-key'] ?? /^bearer\s+(\S+)$/i.exec(request.headers['authorization'] ?? '')?.[1],
    authorize: ({ request, state }) => (state.keys.has(request.token ?? '') ? undefined : 'unauthorized'),
    secretHeaders: ['api-key'],
    routes: [
      {
        name: 'list-collections',
        method: 'GET',
        path: '/collections',
        handle: ({ state }) => ok({ collections: [...state.collections.keys()].map((name) => ({ name })) }),
      },
      {
        name: 'create-collection',
        method: 'PUT',
        path: '/collections/:name',
        handle: (context) => {
          const name = context.request.params['name'] ?? '';
          if (!NAME.test(name)) refuse(failure(422, `Validation error in path parameters: [name]: bad name`));
          const vectors = body(context)['vectors'] as { size?: unknown; distance?: unknown } | undefined;
          const size = vectors?.size;
          if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 65_536) {
            badBody('vectors.size must be an integer from 1 to 65536');
          }
          if (!DISTANCES.includes(vectors?.distance as Distance)) {
            badBody('unknown variant for distance, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`');
          }
          if (context.state.collections.has(name)) {
            refuse(failure(409, `Wrong input: Collection \`${name}\` already exists!`));
          }
          context.state.collections.set(name, {
            size: size as number,
            distance: vectors?.distance as Distance,
            points: new Map(),
          });
          return ok(true);
        },
      },
      {
        name: 'get-collection',
        method: 'GET',
        path: '/collections/:name',
        handle: (context) => {
          const collection = collectionOf(context);
          return ok({
            status: 'green',
            optimizer_status: 'ok',
            indexed_vectors_count: 0,
            points_count: collection.points.size,
            segments_count: 1,
            config: { params: { vectors: { size: collection.size, distance: collection.distance } } },
            payload_schema: {},
          });
        },
      },
      {
        name: 'delete-collection',
        method: 'DELETE',
        path: '/collections/:name',
        handle: ({ request, state }) => ok(state.collections.delete(request.params['name'] ?? '')),
      },
      {
        name: 'upsert-points',
        method: 'PUT',
        path: '/collections/:name/points',
        handle: (context) => {
          const collection = collectionOf(context);
          const points = body(context)['points'];
          if (!Array.isArray(points)) return badBody('missing field `points`');
          const parsed = points.map((raw: Record<string, unknown>, index: number) => {
            const vector = numbers(raw['vector'], 'vector');
            if (vector.length !== collection.size) {
              refuse(
                failure(
                  400,
                  `Wrong input: Vector dimension error: expected dim: ${collection.size}, got ${vector.length}`,
                ),
              );
            }
            // A payload is any JSON object (nested objects, null values, lists of anything), or absent.
            const payload = raw['payload'] ?? {};
            if (typeof payload !== 'object' || Array.isArray(payload)) {
              badBody(`points[${index}].payload: invalid type, expected a map`);
            }
            const id = raw['id'] as string | number;
            return {
              key: pointKey(id),
              point: {
                id,
                payload: payload as Payload,
                vector: collection.distance === 'Cosine' ? normalise(vector) : vector,
              },
            };
          });
          // Validated whole before anything is written, as Qdrant refuses the request.
          for (const { key, point } of parsed) collection.points.set(key, point);
          return operation(context.state);
        },
      },
      {
        name: 'retrieve-points',
        method: 'POST',
        path: '/collections/:name/points',
        handle: (context) => {
          const collection = collectionOf(context);
          const input = body(context);
          if (!Array.isArray(input['ids'])) return badBody('missing field `ids`');
          return ok(
            input['ids'].flatMap((id) => {
              const point = collection.points.get(pointKey(id));
              return point === undefined ? [] : [shown(point, input)];
            }),
          );
        },
      },
      {
        name: 'search-points',
        method: 'POST',
        path: '/collections/:name/points/search',
        handle: (context) => {
          const input = body(context);
          return ok(search(collectionOf(context), input, numbers(input['vector'], 'vector')));
        },
      },
      {
        name: 'query-points',
        method: 'POST',
        path: '/collections/:name/points/query',
        handle: (context) => {
          const input = body(context);
          return ok({ points: search(collectionOf(context), input, numbers(input['query'], 'query')) });
        },
      },
      {
        name: 'count-points',
        method: 'POST',
        path: '/collections/:name/points/count',
        handle: (context) => {
          const collection = collectionOf(context);
          const filter = body(context)['filter'];
          return ok({
            count: [...collection.points.values()].filter((point) => passes(point, filter)).length,
          });
        },
      },
      {
        name: 'delete-points',
        method: 'POST',
        path: '/collections/:name/points/delete',
        handle: (context) => {
          const collection = collectionOf(context);
          const input = body(context);
          if (Array.isArray(input['points'])) {
            for (const id of input['points']) collection.points.delete(pointKey(id));
          } else if (typeof input['filter'] === 'object' && input['filter'] !== null) {
            for (const [key, point] of collection.points) {
              if (passes(point, input['filter'])) collection.points.delete(key);
            }
          } else {
            badBody('expected `points` or `filter`');
          }
          return operation(context.state);
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
 * const fake = await startQdrantFake();
 * ```
 */
export function startQdrantFake(options?: StartOptions): Promise<FakeServer<QdrantFakeState>> {
  return startFake(qdrantFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/qdrant.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startQdrantFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Qdrant sandbox: QDRANT_API_URL=${fake.url} (api-key ${QDRANT_SANDBOX_KEY})`);
}
