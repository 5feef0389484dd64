/**
 * The smallest complete fake on the kit, for the kit's own tests and as the pattern a provider fake
 * follows: seeded state, a token check, routes with parameters, a provider error dialect.
 */
import {
  type Answer,
  type ErrorDialect,
  json,
  refuse,
} from '../../../scripts/local/sandboxes/kit/answers.ts';
import type { FakeDefinition } from '../../../scripts/local/sandboxes/kit/server.ts';

export interface ExampleItem {
  id: string;
  name: string;
}

export interface ExampleState {
  /** Tokens that may read; `writers` may also write. */
  tokens: Set<string>;
  writers: Set<string>;
  items: ExampleItem[];
}

export const EXAMPLE_TOKEN = 'ex-writer';
export const EXAMPLE_READ_ONLY_TOKEN = 'ex-reader';

/** An error dialect in the style of an API that puts errors in `{ errors: [{ code }] }`. */
export const exampleErrors: ErrorDialect = (kind, { status }) => ({
  status,
  json: { errors: [{ code: kind.toUpperCase().replace('-', '_'), status }] },
});

const notFound = (): never => refuse({ status: 404, json: { errors: [{ code: 'NOT_FOUND', status: 404 }] } });

/**
 * An items API: `GET /items`, `GET /items/:id`, `POST /items` (409 for a taken id, writers only), and
 * `GET /files/*path` without a token.
 *
 * @example
 * ```ts
 * const fake = await startFake(exampleFake());
 * ```
 */
export function exampleFake(): FakeDefinition<ExampleState> {
  return {
    name: 'Example',
    seed: () => ({
      tokens: new Set([EXAMPLE_TOKEN, EXAMPLE_READ_ONLY_TOKEN]),
      writers: new Set([EXAMPLE_TOKEN]),
      items: [
        { id: 'a', name: 'Apple' },
        { id: 'b', name: 'Banana' },
      ],
    }),
    errors: exampleErrors,
    authorize: ({ request, state }) => {
      const token = request.token ?? '';
      if (!state.tokens.has(token)) return 'unauthorized';
      return request.method !== 'GET' && !state.writers.has(token) ? 'forbidden' : undefined;
    },
    headers: () => ({ 'x-example-request-id': 'req-1' }),
    routes: [
      { name: 'list-items', method: 'GET', path: '/items', handle: ({ state }) => json(200, state.items) },
      {
        name: 'get-item',
        method: 'GET',
        path: '/items/:id',
        handle: ({ params, state }) =>
          json(200, state.items.find((item) => item.id === params['id']) ?? notFound()),
      },
      {
        name: 'create-item',
        method: 'POST',
        path: '/items',
        handle: ({ request, state }): Answer => {
          const item = request.body as ExampleItem;
          if (state.items.some((existing) => existing.id === item.id)) {
            refuse({ status: 409, json: { errors: [{ code: 'CONFLICT', status: 409 }] } });
          }
          state.items.push(item);
          return json(201, item, { location: `/items/${item.id}` });
        },
      },
      {
        name: 'get-file',
        method: ['GET', 'HEAD'],
        path: '/files/*path',
        auth: false,
        handle: ({ params }) => ({ status: 200, body: `file:${params['path']}` }),
      },
    ],
  };
}
