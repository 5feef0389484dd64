/**
 * The README's curl examples, run in order against dynalite with the table the README names: each
 * request body goes to the connector over HTTP, and the answer written under it (`# {...}`) must be what
 * the connector answers, versions aside (random per run: the README's is any 16-character token, `...` any
 * token); `# 409: <message>` must be a 409 with that message. A README example that drifts from what the
 * connector returns fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';

/** The table the README's messages name (the local stack's `dev` table). */
const TABLE = 'circle-core-dev-key-value';

interface Step {
  operation: string;
  body: unknown;
  /** The README's answer: a JSON body, or a status and message. */
  shown: { json: Record<string, unknown> } | { status: number; message: string };
}

/** The curl commands of the README's first shell block, continuations joined, with the answer under each. */
function steps(): Step[] {
  const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
  const block = readme.match(/```bash\n([\s\S]*?)```/)?.[1] ?? '';
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n');
  const found: Step[] = [];
  lines.forEach((line, index) => {
    const call = line.match(/\/dynamodb\/([a-z-]+) .*-d '([^']*)'/);
    const answer = lines[index + 1]?.match(/^# (?:(\{.*\})|(\d{3}): (.*))$/);
    if (call === null || answer === null || answer === undefined) return;
    const shown =
      answer[1] !== undefined
        ? { json: JSON.parse(answer[1]) as Record<string, unknown> }
        : { status: Number(answer[2]), message: answer[3] ?? '' };
    found.push({ operation: call[1] ?? '', body: JSON.parse(call[2] ?? ''), shown });
  });
  return found;
}

let dynamo: DynalitePeer;
let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

beforeAll(async () => {
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, TABLE, { partitionKey: 'pk', sortKey: 'sk' });
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('DYNAMODB_TABLE', TABLE);
  vi.stubEnv('CIRCLE_IDEMPOTENCY_TABLE', '');
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await dynamo?.close();
});

describe('README examples', () => {
  it('answer as the README shows, run in its order', async () => {
    // Arrange
    const examples = steps();
    expect(examples.length).toBeGreaterThanOrEqual(5);

    for (const [index, { operation, body, shown }] of examples.entries()) {
      // Act
      const response = (await handler(
        httpEvent({
          path: `/dynamodb/${operation}`,
          body,
          headers: { 'idempotency-key': `readme-${index}` },
        }),
        lambdaContext(),
      )) as { statusCode: number; body: string };
      const answer = JSON.parse(response.body) as Record<string, unknown>;

      // Assert
      if ('json' in shown) {
        const version = shown.json['version'];
        const expected =
          version === undefined
            ? shown.json
            : {
                ...shown.json,
                version: version === '...' ? expect.any(String) : expect.stringMatching(/^[\w-]{16}$/),
              };
        expect({ operation, status: response.statusCode, answer }).toEqual({
          operation,
          status: 200,
          answer: expected,
        });
      } else {
        expect({ operation, status: response.statusCode, detail: answer['detail'] }).toEqual({
          operation,
          status: shown.status,
          detail: expect.stringContaining(shown.message),
        });
      }
    }
  });
});
