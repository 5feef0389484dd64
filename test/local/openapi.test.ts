/**
 * The local stack serves the whole HTTP API's OpenAPI document at `GET /openapi.json`: it passes the same
 * independent validator as the committed files, lists every operation of every connector, names the stack
 * as its server, and describes requests the stack really answers.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../scripts/docs/catalog.ts';
import { openApiProblems } from '../docs/openapi-validator.ts';
import { type StackProcess, startStackProcess } from './stack-process.ts';

type Json = Record<string, unknown>;

let stack: StackProcess;

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 's3']);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function servedDocument(): Promise<{ status: number; type: string | null; document: Json }> {
  const response = await fetch(`${stack.apiUrl}/openapi.json`);
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    document: (await response.json()) as Json,
  };
}

describe('Local stack: GET /openapi.json', () => {
  it('answers without the API key a valid OpenAPI 3.1 document addressed to this stack', async () => {
    // Act
    const { status, type, document } = await servedDocument();

    // Assess
    expect(status).toBe(200);
    expect(type).toMatch(/^application\/json/);
    expect(document['openapi']).toBe('3.1.0');
    expect(document['servers']).toEqual([{ url: stack.apiUrl, description: 'This local stack (npm start)' }]);
    expect(await openApiProblems(document)).toEqual([]);
  });

  it('lists every operation of every connector', async () => {
    // Prepare
    const connectors = await loadCatalog(resolve(import.meta.dirname, '..', '..'));
    const { document } = await servedDocument();
    const paths = document['paths'] as Record<string, Json>;

    // Act
    const missing = connectors.flatMap((connector) =>
      connector.operations
        .map((operation) => `/${connector.name}/${operation.name}`)
        .filter((path) => paths[path]?.['post'] === undefined),
    );

    // Assess
    expect(connectors.flatMap((connector) => connector.operations).length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it('describes calls the stack answers: an operation with its required fields and the bearer key', async () => {
    // Prepare
    const { document } = await servedDocument();
    const schemas = (document['components'] as { schemas: Record<string, Json> }).schemas;
    const output = schemas['S3ListObjectsOutput'] as { required: string[] };
    const [server] = document['servers'] as { url: string }[];

    // Act
    const response = await fetch(`${server?.url}/s3/list-objects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prefix: 'openapi-test/' }),
    });
    const unauthorised = await fetch(`${server?.url}/s3/list-objects`, { method: 'POST', body: '{}' });

    // Assess
    expect(response.status).toBe(200);
    const body = (await response.json()) as Json;
    for (const field of output.required) expect(body).toHaveProperty(field);
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers.get('content-type')).toBe('application/problem+json');
  });
});
