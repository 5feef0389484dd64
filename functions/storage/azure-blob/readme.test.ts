/**
 * The README's examples, run in order against azurite with the function's container `circle-core-dev`
 * (empty, as the local stack starts it): every curl of the Operations block answers 200, the `put-object`
 * answer is the one the README states (an entity tag `0x...`, without quotes), and the same upload with a
 * new idempotency key is the 409 `conflict` the README promises.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configureSecrets } from '@circle-core/core';
import { httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AzuritePeer, startAzurite } from '../../../test/peers/azurite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const SECRET = 'test/azure-blob/readme-credentials';
const BUCKET = 'circle-core-dev';
const README = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');

let azurite: AzuritePeer;
let secrets: SecretsManagerPeer;
let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

async function call(
  operation: string,
  body: unknown,
  key: string,
): Promise<{ status: number; answer: Record<string, unknown> }> {
  const response = (await handler(
    httpEvent({ path: `/azure-blob/${operation}`, body, headers: { 'idempotency-key': key } }),
    lambdaContext(),
  )) as { statusCode: number; body: string };
  return { status: response.statusCode, answer: JSON.parse(response.body) };
}

beforeAll(async () => {
  azurite = await startAzurite({ containers: [BUCKET] });
  secrets = await startSecretsManager({ [SECRET]: azurite.connectionString });
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secrets.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AZURE_BLOB_CONTAINER', BUCKET);
  vi.stubEnv('AZURE_BLOB_SECRET', SECRET);
  vi.stubEnv('CIRCLE_IDEMPOTENCY_TABLE', '');
  configureSecrets({});
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await azurite?.close();
  await secrets?.close();
});

describe('README examples', () => {
  it('run as written, and put-object answers as the README states', async () => {
    // Arrange: the Operations block's curls (operation and body), and the answer stated under it.
    const block = README.split('## Operations')[1]?.match(/```bash\n([\s\S]*?)```/)?.[1] ?? '';
    const calls = [
      ...block.replace(/\\\n\s*/g, ' ').matchAll(/\/azure-blob\/([a-z-]+) .*?-d '([^']*)'/g),
    ].map((match) => ({
      operation: match[1] ?? '',
      body: JSON.parse(match[2] ?? '') as Record<string, unknown>,
    }));
    const stated = JSON.parse(README.match(/The `put-object` answer is `(\{[^`]*\})`/)?.[1] ?? '{}');
    expect(calls.map((step) => step.operation)).toContain('put-object');

    // Act
    const answers = [];
    for (const [index, { operation, body }] of calls.entries()) {
      answers.push({ operation, ...(await call(operation, body, `readme-${index}`)) });
    }
    const put = calls.find((step) => step.operation === 'put-object');
    const again = await call('put-object', put?.body, 'readme-again');

    // Assert
    expect(answers.map(({ operation, status }) => ({ operation, status }))).toEqual(
      calls.map(({ operation }) => ({ operation, status: 200 })),
    );
    expect(stated['etag']).toBe('0x...');
    expect(answers.find((step) => step.operation === 'put-object')?.answer).toEqual({
      ...stated,
      etag: expect.stringMatching(/^0x[0-9A-F]+$/),
    });
    expect({ status: again.status, code: again.answer['code'] }).toEqual({ status: 409, code: 'conflict' });
  });
});
