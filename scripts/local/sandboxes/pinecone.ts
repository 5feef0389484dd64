/**
 * The contract fake of Pinecone's REST API (control plane and data plane, API version 2025-04), on the
 * contract-fake kit: what the Pinecone connector's tests run against, and its sandbox on the local stack
 * (`npx node scripts/local/sandboxes/pinecone.ts [port]`). It follows Pinecone's published reference and
 * does the real search, so scores and filters are checkable:
 *
 * - control plane: `GET /indexes` (`{ indexes }`), `POST /indexes` `{ name, dimension, metric, spec: { serverless: { cloud, region } } }`
 *   answers 201 with the index model (`host`, `status.ready`; `status: { ready: false, state: "Initializing" }`
 *   for an index a test marks `initializing`); 409 `ALREADY_EXISTS`; `GET /indexes/{name}`
 *   (404 `NOT_FOUND`); `DELETE /indexes/{name}` 202, or 403 `FORBIDDEN` "Deletion protection is enabled for
 *   this index..." for an index created with `deletion_protection: 'enabled'` (the delete_index reference;
 *   412 `FAILED_PRECONDITION` is its pending-collections answer); errors `{ error: { code, message }, status }`;
 * - data plane, at the index's `host`: `POST /vectors/upsert` `{ vectors, namespace }` -> `{ upsertedCount }`
 *   (a vector of another dimension is a 400 and nothing is written), `POST /query` (`topK`, `filter`,
 *   `includeValues`, `includeMetadata`; score = cosine similarity, dot product, or the squared Euclidean
 *   distance, best first), `GET /vectors/fetch?ids=..&namespace=`, `POST /vectors/delete` (`ids`, `filter`
 *   or `deleteAll`), `POST /describe_index_stats`; errors `{ code, message, details }` (gRPC codes);
 * - metadata values as Pinecone takes them (text, number, boolean, list of text; anything else, null
 *   included, is a 400 and nothing is written); the metadata filter language (`$eq`, `$ne`, `$gt`, `$gte`,
 *   `$lt`, `$lte`, `$in`, `$nin`, `$exists`, `$and`, `$or`); on a list `$eq`/`$in` match when any element
 *   does, `$ne`/`$nin` when none does, and a range never matches (ranges take numbers only);
 * - the `Api-Key` header on every call, else 401 `UNAUTHENTICATED`. Faults (`fake.inject`) add 429, 5xx,
 *   slow, malformed, ... .
 *
 * One difference from Pinecone, for a single local port: an index's `host` is this server's address plus
 * the path `/data/{name}` (Pinecone gives each index a host name of its own).
 *
 * Seed: the key {@link PINECONE_SANDBOX_KEY}; no indexes.
 *
 * @example
 * ```ts
 * const fake = await startPineconeFake();
 * process.env['PINECONE_API_URL'] = fake.url;
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
export const PINECONE_SANDBOX_KEY = 'pcsk_sandbox_pinecone_key';

type Metric = 'cosine' | 'euclidean' | 'dotproduct';
type Metadata = Record<string, unknown>;

export interface PineconeFakeRecord {
  id: string;
  values: number[];
  metadata?: Metadata;
}

export interface PineconeFakeIndex {
  dimension: number;
  metric: Metric;
  /** `deletion_protection: 'enabled'`: a delete is refused with 403 FORBIDDEN. */
  deletionProtection?: boolean;
  /** Just created: describe_index answers `status: { ready: false, state: "Initializing" }`. */
  initializing?: boolean;
  /** namespace -> id -> record */
  namespaces: Map<string, Map<string, PineconeFakeRecord>>;
}

export interface PineconeFakeState {
  keys: Set<string>;
  indexes: Map<string, PineconeFakeIndex>;
  /** This server's `host:port`, for the index hosts it hands out. */
  address: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?$/;

const controlError = (status: number, code: string, message: string): Answer =>
  json(status, { error: { code, message }, status });
const dataError = (status: number, code: number, message: string): Answer =>
  json(status, { code, message, details: [] });

/** Pinecone's control-plane error bodies (the data plane's are written where they happen). */
export const pineconeErrors: ErrorDialect = (kind, { status }) =>
  controlError(
    status,
    {
      unauthorized: 'UNAUTHENTICATED',
      forbidden: 'PERMISSION_DENIED',
      'not-found': 'NOT_FOUND',
      conflict: 'ALREADY_EXISTS',
      throttled: 'RESOURCE_EXHAUSTED',
      'server-error': 'INTERNAL',
    }[kind],
    kind === 'unauthorized' ? 'Invalid API Key' : `${kind} (${status})`,
  );

const invalid = (message: string): never => refuse(dataError(400, 3, message));

function model(name: string, index: PineconeFakeIndex, address: string) {
  return {
    name,
    dimension: index.dimension,
    metric: index.metric,
    host: `${address}/data/${name}`,
    vector_type: 'dense',
    deletion_protection: index.deletionProtection === true ? 'enabled' : 'disabled',
    spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
    status:
      index.initializing === true ? { ready: false, state: 'Initializing' } : { ready: true, state: 'Ready' },
  };
}

function indexOf({ request, state }: RouteContext<PineconeFakeState>): PineconeFakeIndex {
  const name = request.params['name'] ?? '';
  const index = state.indexes.get(name);
  if (index === undefined) refuse(controlError(404, 'NOT_FOUND', `Resource ${name} not found`));
  return index;
}

function namespaceOf(index: PineconeFakeIndex, namespace: unknown): Map<string, PineconeFakeRecord> {
  const name = typeof namespace === 'string' ? namespace : '';
  let records = index.namespaces.get(name);
  if (records === undefined) {
    records = new Map();
    index.namespaces.set(name, records);
  }
  return records;
}

function bodyOf(context: RouteContext<PineconeFakeState>): Record<string, unknown> {
  const value = context.request.body;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return invalid('expected a JSON object');
  return value as Record<string, unknown>;
}

function checkValues(index: PineconeFakeIndex, values: unknown): number[] {
  if (!Array.isArray(values) || values.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    return invalid('values must be an array of numbers');
  }
  if (values.length !== index.dimension) {
    invalid(`Vector dimension ${values.length} does not match the dimension of the index ${index.dimension}`);
  }
  return values as number[];
}

const dot = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

function score(metric: Metric, a: number[], b: number[]): number {
  if (metric === 'dotproduct') return dot(a, b);
  if (metric === 'cosine') return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
  // Pinecone's euclidean score is the squared distance.
  return a.reduce((sum, x, i) => sum + (x - (b[i] ?? 0)) ** 2, 0);
}

/** Pinecone's metadata value types: string, number, boolean, list of strings. */
const isMetadataValue = (v: unknown): boolean =>
  typeof v === 'string' ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  typeof v === 'boolean' ||
  (Array.isArray(v) && v.every((x) => typeof x === 'string'));

function checkMetadata(metadata: unknown): Metadata {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    return invalid('metadata must be an object');
  for (const [key, value] of Object.entries(metadata)) {
    if (!isMetadataValue(value)) {
      invalid(`Metadata value for field ${key} must be a string, number, boolean or list of strings`);
    }
  }
  return metadata as Metadata;
}

function compare(found: unknown, operator: string, target: unknown): boolean {
  const values = Array.isArray(found) ? found : [found];
  switch (operator) {
    case '$eq':
      return values.includes(target);
    case '$ne':
      return !values.includes(target);
    case '$in':
      return (target as unknown[]).some((t) => values.includes(t));
    case '$nin':
      return !(target as unknown[]).some((t) => values.includes(t));
    case '$exists':
      return (found !== undefined) === target;
    default: {
      if (typeof found !== 'number' || typeof target !== 'number') return false;
      if (operator === '$gt') return found > target;
      if (operator === '$gte') return found >= target;
      if (operator === '$lt') return found < target;
      if (operator === '$lte') return found <= target;
      return invalid(`unknown operator ${operator}`);
    }
  }
}

function passes(metadata: Metadata, filter: unknown): boolean {
  if (filter === undefined || filter === null) return true;
  if (typeof filter !== 'object' || Array.isArray(filter)) return invalid('filter must be an object');
  return Object.entries(filter as Record<string, unknown>).every(([key, condition]) => {
    if (key === '$and') return (condition as unknown[]).every((f) => passes(metadata, f));
    if (key === '$or') return (condition as unknown[]).some((f) => passes(metadata, f));
    if (key.startsWith('$')) return invalid(`unknown operator ${key}`);
    const found = Object.hasOwn(metadata, key) ? metadata[key] : undefined;
    if (typeof condition !== 'object' || condition === null) return compare(found, '$eq', condition);
    return Object.entries(condition).every(([operator, target]) => compare(found, operator, target));
  });
}

function shown(record: PineconeFakeRecord, values: boolean, metadata: boolean): Record<string, unknown> {
  return {
    id: record.id,
    ...(values ? { values: record.values } : { values: [] }),
    ...(metadata && record.metadata !== undefined ? { metadata: record.metadata } : {}),
  };
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(pineconeFake());
 * ```
 */
export function pineconeFake(): FakeDefinition<PineconeFakeState> {
  return {
    name: 'Pinecone',
    seed: () => ({ keys: new Set([PINECONE_SANDBOX_KEY]), indexes: new Map(), address: '' }),
    errors: pineconeErrors,
    token: (request) => request.headers['api-key'],
    authorize: ({ request, state }) => (state.keys.has(request.token ?? '') ? undefined : 'unauthorized'),
    secretHeaders: ['api-key'],
    before: ({ request, state }) => {
      // The index hosts this server hands out are its own address.
      state.address = request.headers['host'] ?? state.address;
      return undefined;
    },
    routes: [
      {
        name: 'list-indexes',
        method: 'GET',
        path: '/indexes',
        handle: ({ state }) =>
          json(200, {
            indexes: [...state.indexes].map(([name, index]) => model(name, index, state.address)),
          }),
      },
      {
        name: 'create-index',
        method: 'POST',
        path: '/indexes',
        handle: (context) => {
          const input = bodyOf(context);
          const name = String(input['name'] ?? '');
          if (!NAME.test(name)) {
            refuse(
              controlError(
                400,
                'INVALID_ARGUMENT',
                'Name must consist of lower case alphanumeric characters or -',
              ),
            );
          }
          const dimension = input['dimension'];
          if (
            typeof dimension !== 'number' ||
            !Number.isInteger(dimension) ||
            dimension < 1 ||
            dimension > 20_000
          ) {
            refuse(controlError(400, 'INVALID_ARGUMENT', 'Dimension must be between 1 and 20000'));
          }
          const metric = (input['metric'] ?? 'cosine') as Metric;
          if (!['cosine', 'euclidean', 'dotproduct'].includes(metric)) {
            refuse(
              controlError(400, 'INVALID_ARGUMENT', 'Metric must be one of cosine, euclidean, dotproduct'),
            );
          }
          if (context.state.indexes.has(name)) {
            refuse(controlError(409, 'ALREADY_EXISTS', `Resource ${name} already exists`));
          }
          const index = {
            dimension: dimension as number,
            metric,
            namespaces: new Map(),
            deletionProtection: input['deletion_protection'] === 'enabled',
          };
          context.state.indexes.set(name, index);
          return json(201, model(name, index, context.state.address));
        },
      },
      {
        name: 'describe-index',
        method: 'GET',
        path: '/indexes/:name',
        handle: (context) =>
          json(200, model(context.request.params['name'] ?? '', indexOf(context), context.state.address)),
      },
      {
        name: 'delete-index',
        method: 'DELETE',
        path: '/indexes/:name',
        handle: (context) => {
          if (indexOf(context).deletionProtection === true) {
            refuse(
              controlError(
                403,
                'FORBIDDEN',
                'Deletion protection is enabled for this index. Disable deletion protection before retrying.',
              ),
            );
          }
          context.state.indexes.delete(context.request.params['name'] ?? '');
          return { status: 202 };
        },
      },
      {
        name: 'upsert',
        method: 'POST',
        path: '/data/:name/vectors/upsert',
        handle: (context) => {
          const index = indexOf(context);
          const input = bodyOf(context);
          if (!Array.isArray(input['vectors'])) return invalid('vectors is required');
          const records = (input['vectors'] as Record<string, unknown>[]).map((raw) => {
            if (typeof raw['id'] !== 'string' || raw['id'] === '') return invalid('id is required');
            const record: PineconeFakeRecord = { id: raw['id'], values: checkValues(index, raw['values']) };
            if (raw['metadata'] !== undefined) record.metadata = checkMetadata(raw['metadata']);
            return record;
          });
          const namespace = namespaceOf(index, input['namespace']);
          for (const record of records) namespace.set(record.id, record);
          return json(200, { upsertedCount: records.length });
        },
      },
      {
        name: 'query',
        method: 'POST',
        path: '/data/:name/query',
        handle: (context) => {
          const index = indexOf(context);
          const input = bodyOf(context);
          const vector = checkValues(index, input['vector']);
          const topK = input['topK'];
          if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > 10_000) {
            return invalid('topK must be between 1 and 10000');
          }
          const lowerFirst = index.metric === 'euclidean';
          const matches = [...namespaceOf(index, input['namespace']).values()]
            .filter((record) => passes(record.metadata ?? {}, input['filter']))
            .map((record) => ({ record, score: score(index.metric, record.values, vector) }))
            .sort((a, b) => (lowerFirst ? a.score - b.score : b.score - a.score))
            .slice(0, topK)
            .map(({ record, score: s }) => ({
              ...shown(record, input['includeValues'] === true, input['includeMetadata'] === true),
              score: s,
            }));
          return json(200, {
            results: [],
            matches,
            namespace: input['namespace'] ?? '',
            usage: { readUnits: 5 },
          });
        },
      },
      {
        name: 'fetch',
        method: 'GET',
        path: '/data/:name/vectors/fetch',
        handle: (context) => {
          const index = indexOf(context);
          const ids = new URLSearchParams(context.request.search ?? '').getAll('ids');
          if (ids.length === 0) return invalid('ids is required');
          const namespace = namespaceOf(index, context.request.query['namespace']);
          const vectors = Object.fromEntries(
            ids.flatMap((id) => {
              const record = namespace.get(id);
              return record === undefined ? [] : [[id, shown(record, true, true)]];
            }),
          );
          return json(200, {
            vectors,
            namespace: context.request.query['namespace'] ?? '',
            usage: { readUnits: 1 },
          });
        },
      },
      {
        name: 'delete',
        method: 'POST',
        path: '/data/:name/vectors/delete',
        handle: (context) => {
          const index = indexOf(context);
          const input = bodyOf(context);
          const namespace = namespaceOf(index, input['namespace']);
          if (Array.isArray(input['ids'])) {
            for (const id of input['ids']) namespace.delete(String(id));
          } else if (typeof input['filter'] === 'object' && input['filter'] !== null) {
            for (const [id, record] of namespace)
              if (passes(record.metadata ?? {}, input['filter'])) namespace.delete(id);
          } else if (input['deleteAll'] === true) {
            namespace.clear();
          } else {
            invalid('one of ids, filter or deleteAll is required');
          }
          return json(200, {});
        },
      },
      {
        name: 'describe-index-stats',
        method: 'POST',
        path: '/data/:name/describe_index_stats',
        handle: (context) => {
          const index = indexOf(context);
          const namespaces = Object.fromEntries(
            [...index.namespaces]
              .filter(([, r]) => r.size > 0)
              .map(([name, r]) => [name, { vectorCount: r.size }]),
          );
          const total = Object.values(namespaces).reduce((sum, n) => sum + n.vectorCount, 0);
          return json(200, {
            namespaces,
            dimension: index.dimension,
            indexFullness: 0,
            totalVectorCount: total,
          });
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
 * const fake = await startPineconeFake();
 * ```
 */
export function startPineconeFake(options?: StartOptions): Promise<FakeServer<PineconeFakeState>> {
  return startFake(pineconeFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/pinecone.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startPineconeFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Pinecone sandbox: PINECONE_API_URL=${fake.url} (Api-Key ${PINECONE_SANDBOX_KEY})`);
}
