/**
 * Names that come from input (the operation in a path, an envelope, a queue record) are looked up by own
 * property only. `Object.prototype` names must answer a clean, non-retryable 4xx (404 `NotFoundError`, or
 * 400 where the envelope's operation pattern refuses the name) on every trigger of every connector, never a
 * 500 from calling `Object.prototype.constructor` as if it were an operation.
 */
import { lambdaContext, sqsEvent } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTOR_NAMES, type Suite, startSuite } from './support/suite.ts';

/** Every own name of `Object.prototype` (constructor, toString, __proto__, hasOwnProperty, ...). */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
}, 60_000);

afterAll(async () => {
  await suite?.close();
});

describe('Names from input: Object.prototype members are not operations', () => {
  it('covers the names the probe used', () => {
    expect(PROTOTYPE_NAMES).toEqual(
      expect.arrayContaining(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']),
    );
  });

  describe.each(CONNECTOR_NAMES)('connector %s', (name) => {
    it('answers 404 problem+json over HTTP for each name', async () => {
      for (const operation of PROTOTYPE_NAMES) {
        const response = await suite.http(name, { path: `/${name}/${operation}`, body: {} });
        expect({ operation, status: response.statusCode }).toEqual({ operation, status: 404 });
        expect(response.headers['content-type']).toBe('application/problem+json');
        expect(JSON.parse(response.body)).toMatchObject({ code: 'not_found' });
      }
    });

    it('fails each name as a non-retryable 4xx error on a task, schedule or direct invoke', async () => {
      for (const operation of PROTOTYPE_NAMES) {
        for (const trigger of ['task', 'schedule', undefined]) {
          const event = { operation, input: {}, ...(trigger === undefined ? {} : { trigger }) };
          const failure = await suite.connectors[name].handler(event, lambdaContext()).then(
            () => undefined,
            (error: unknown) => error as Error,
          );
          // `constructor` is operation-shaped (unknown operation); `__proto__` is not (invalid envelope).
          const expected = /^[a-z][a-z0-9-]*$/.test(operation) ? 'NotFoundError' : 'ValidationError';
          expect({ operation, trigger, error: failure?.name }).toEqual({
            operation,
            trigger,
            error: expected,
          });
        }
      }
    });

    it('reports each queued name as a failed record, and the rest of the batch still runs', async () => {
      const messages = PROTOTYPE_NAMES.map((operation, index) => ({
        messageId: `proto-${index}`,
        body: { operation, input: {} },
      }));
      const healthy = { messageId: 'healthy', body: { operation: 'health', input: {} } };
      const outcome = (await suite.connectors[name].handler(
        sqsEvent([...messages, healthy]),
        lambdaContext(),
      )) as { batchItemFailures: { itemIdentifier: string }[] };
      const failed = outcome.batchItemFailures.map((failure) => failure.itemIdentifier).sort();
      expect(failed).toEqual(messages.map((message) => message.messageId).sort());
    });

    it('answers NotFoundError for each name through library use', async () => {
      const connector = suite.connectors[name] as unknown as {
        run(operation: string, input: unknown): Promise<unknown>;
      };
      for (const operation of PROTOTYPE_NAMES) {
        await expect(connector.run(operation, {})).rejects.toMatchObject({ name: 'NotFoundError' });
      }
    });
  });
});
