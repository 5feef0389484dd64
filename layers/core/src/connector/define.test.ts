import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ConfigurationError, RateLimitedError, UnavailableError } from '../errors.ts';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext, sqsEvent } from '../testing/index.ts';
import { defineConnector } from './define.ts';

const calls: string[] = [];

function echoConnector(env: Record<string, string> = {}) {
  Object.assign(process.env, env);
  return defineConnector({
    name: 'echo',
    version: '1.2.3',
    config: z.object({
      ECHO_PREFIX: z.string().default('>'),
      ECHO_LIMIT: z.coerce.number().int().default(10),
    }),
    capabilities: ['shout'],
    setup: (config) => ({ prefix: config.ECHO_PREFIX }),
    operations: (op) => ({
      'echo-text': op({
        description: 'Echoes text',
        input: z.object({
          text: z.string().min(1).describe('What to echo'),
          nested: z.object({ n: z.number() }).optional(),
        }),
        output: z.object({ text: z.string() }),
        run: async ({ text }, { client }) => {
          calls.push(text);
          if (text === 'throttle') throw new RateLimitedError('slow down', { retryAfterMs: 2000 });
          if (text === 'down') throw new UnavailableError('provider down');
          if (text === 'crash') throw new TypeError('secret-internal-detail');
          return { text: `${client.prefix}${text}` };
        },
      }),
    }),
    healthCheck: async () => undefined,
  });
}

describe('Function: defineConnector', () => {
  let logs: CapturedLogs;
  beforeEach(() => {
    calls.length = 0;
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
    delete process.env['ECHO_LIMIT'];
  });

  describe('HTTP trigger', () => {
    it('runs the operation and answers JSON with the correlation id', async () => {
      // Prepare
      const connector = echoConnector();
      const event = httpEvent({
        path: '/echo/echo-text',
        body: { text: 'hi' },
        headers: { 'X-Correlation-Id': 'abc-1' },
      });
      // Act
      const response = (await connector.handler(event, lambdaContext())) as {
        statusCode: number;
        body: string;
        headers: Record<string, string>;
      };
      // Assess
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ text: '>hi' });
      expect(response.headers['x-correlation-id']).toBe('abc-1');
      const line = logs.records().find((record) => record['message'] === 'invocation');
      expect(line).toMatchObject({
        correlationId: 'abc-1',
        operation: 'echo-text',
        status: 200,
        service: 'echo',
      });
      // The metrics ride on the invocation line as Embedded Metric Format: one line per invocation.
      expect(line).toMatchObject({
        invocations: 1,
        errors: 0,
        _aws: { CloudWatchMetrics: [{ Namespace: 'CircleCore' }] },
      });
      expect(logs.records()).toHaveLength(1);
    });

    it("puts an operation's measures on the invocation line as metrics, and none for a failed call", async () => {
      // Prepare
      const connector = defineConnector({
        name: 'measured',
        version: '1.0.0',
        config: z.object({}),
        setup: () => ({}),
        operations: (op) => ({
          'count-words': op({
            description: 'Counts words',
            input: z.object({ text: z.string().describe('Words') }),
            output: z.object({ words: z.number() }),
            measures: ({ words }) => ({ wordsCounted: words }),
            run: async ({ text }) => {
              if (text === 'fail') throw new UnavailableError('down');
              return { words: text.split(' ').length };
            },
          }),
        }),
      });
      // Act
      await connector.handler(
        httpEvent({ path: '/measured/count-words', body: { text: 'one two three' } }),
        lambdaContext(),
      );
      await connector.handler(
        httpEvent({ path: '/measured/count-words', body: { text: 'fail' } }),
        lambdaContext(),
      );
      // Assess
      const [ok, failed] = logs.records().filter((record) => record['message'] === 'invocation');
      expect(ok).toMatchObject({ status: 200, wordsCounted: 3 });
      expect(JSON.stringify(ok?.['_aws'])).toContain('"Name":"wordsCounted"');
      expect(failed).toMatchObject({ status: 503, errors: 1 });
      expect(failed).not.toHaveProperty('wordsCounted');
    });

    it('still emits the metrics when the log level drops the invocation line', async () => {
      process.env['POWERTOOLS_LOG_LEVEL'] = 'ERROR';
      try {
        const connector = echoConnector();
        await connector.handler(
          httpEvent({ path: '/echo/echo-text', body: { text: 'quiet' } }),
          lambdaContext(),
        );
      } finally {
        delete process.env['POWERTOOLS_LOG_LEVEL'];
      }
      const records = logs.records();
      expect(records.find((record) => record['message'] === 'invocation')).toBeUndefined();
      expect(records.find((record) => record['_aws'] !== undefined)).toMatchObject({
        operation: 'echo-text',
        invocations: 1,
      });
    });

    it('answers 400 problem+json with a JSON pointer per invalid field', async () => {
      const connector = echoConnector();
      const response = (await connector.handler(
        httpEvent({ path: '/echo/echo-text', body: { text: '', nested: { n: 'x' } } }),
        lambdaContext(),
      )) as { statusCode: number; body: string; headers: Record<string, string> };
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toBe('application/problem+json');
      const problem = JSON.parse(response.body);
      expect(problem.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
        '/nested/n',
        '/text',
      ]);
      expect(calls).toEqual([]);
    });

    it('refuses an operation route without an authorizer', async () => {
      const connector = echoConnector();
      const response = (await connector.handler(
        httpEvent({ path: '/echo/echo-text', body: { text: 'x' }, authorizer: 'none' }),
        lambdaContext(),
      )) as { statusCode: number };
      expect(response.statusCode).toBe(401);
      expect(calls).toEqual([]);
    });

    it('hides internals of unexpected failures and sets Retry-After on rate limits', async () => {
      const connector = echoConnector();
      const crash = (await connector.handler(
        httpEvent({ path: '/echo/echo-text', body: { text: 'crash' } }),
        lambdaContext(),
      )) as { statusCode: number; body: string };
      expect(crash.statusCode).toBe(500);
      expect(crash.body).not.toContain('secret-internal-detail');
      const slow = (await connector.handler(
        httpEvent({ path: '/echo/echo-text', body: { text: 'throttle' } }),
        lambdaContext(),
      )) as { statusCode: number; headers: Record<string, string> };
      expect(slow.statusCode).toBe(429);
      expect(slow.headers['retry-after']).toBe('2');
    });

    it('refuses prototype pollution, wrong content types and oversized bodies with 4xx', async () => {
      const connector = echoConnector();
      const polluted = (await connector.handler(
        httpEvent({ path: '/echo/echo-text', body: '{"text":"a","__proto__":{"polluted":true}}' }),
        lambdaContext(),
      )) as { statusCode: number };
      expect(polluted.statusCode).toBe(400);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      const xml = (await connector.handler(
        httpEvent({ path: '/echo/echo-text', body: '<a/>', headers: { 'content-type': 'text/xml' } }),
        lambdaContext(),
      )) as { statusCode: number };
      expect(xml.statusCode).toBe(415);
      // Read at a connector's first request (once per container): a new connector sees the new limit.
      process.env['CIRCLE_MAX_BODY_BYTES'] = '64';
      const big = (await echoConnector().handler(
        httpEvent({ path: '/echo/echo-text', body: { text: 'x'.repeat(100) } }),
        lambdaContext(),
      )) as { statusCode: number };
      delete process.env['CIRCLE_MAX_BODY_BYTES'];
      expect(big.statusCode).toBe(413);
    });

    it('serves health with version and capabilities', async () => {
      const connector = echoConnector();
      const response = (await connector.handler(
        httpEvent({ method: 'GET', path: '/echo/health' }),
        lambdaContext(),
      )) as { statusCode: number; body: string };
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        connector: 'echo',
        version: '1.2.3',
        status: 'ok',
        capabilities: ['shout'],
      });
    });
  });

  describe('SQS trigger', () => {
    it('reports only the failed records', async () => {
      const connector = echoConnector();
      const event = sqsEvent([
        { messageId: 'm1', body: { operation: 'echo-text', input: { text: 'a' } } },
        { messageId: 'm2', body: { operation: 'echo-text', input: { text: 'down' } } },
        { messageId: 'm3', body: 'not json' },
        { messageId: 'm4', body: { operation: 'echo-text', input: { text: 'b' } } },
      ]);
      const response = (await connector.handler(event, lambdaContext())) as {
        batchItemFailures: { itemIdentifier: string }[];
      };
      expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
        'm2',
        'm3',
      ]);
      expect(calls.sort()).toEqual(['a', 'b', 'down']);
    });

    it('processes a hand-made record without attributes and reports its failure', async () => {
      const connector = echoConnector();
      const bare = (messageId: string, text: string) => ({
        messageId,
        body: JSON.stringify({ operation: 'echo-text', input: { text } }),
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:hand-made',
      });
      const response = await connector.handler(
        { Records: [bare('ok', 'fine'), bare('bad', 'down')] },
        lambdaContext(),
      );
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
      expect(calls.sort()).toEqual(['down', 'fine']);
    });

    it('keeps concurrent batches apart (the shared batch processor is never used twice at once)', async () => {
      const connector = echoConnector();
      const batch = (prefix: string) =>
        sqsEvent([
          { messageId: `${prefix}-ok`, body: { operation: 'echo-text', input: { text: `${prefix}-a` } } },
          { messageId: `${prefix}-bad`, body: { operation: 'echo-text', input: { text: 'down' } } },
        ]);
      const [first, second] = (await Promise.all([
        connector.handler(batch('one'), lambdaContext()),
        connector.handler(batch('two'), lambdaContext()),
      ])) as { batchItemFailures: { itemIdentifier: string }[] }[];
      expect(first?.batchItemFailures).toEqual([{ itemIdentifier: 'one-bad' }]);
      expect(second?.batchItemFailures).toEqual([{ itemIdentifier: 'two-bad' }]);
    });

    it('stops a FIFO group at its first failure and goes on with other groups', async () => {
      const connector = echoConnector();
      const event = sqsEvent(
        [
          { messageId: 'a', groupId: 'g1', body: { operation: 'echo-text', input: { text: 'a' } } },
          { messageId: 'b', groupId: 'g1', body: { operation: 'echo-text', input: { text: 'down' } } },
          { messageId: 'c', groupId: 'g1', body: { operation: 'echo-text', input: { text: 'c' } } },
          { messageId: 'd', groupId: 'g2', body: { operation: 'echo-text', input: { text: 'd' } } },
        ],
        { queue: 'q.fifo' },
      );
      const response = await connector.handler(event, lambdaContext());
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'c' }] });
      expect(calls).toEqual(['a', 'down', 'd']);
    });
  });

  describe('Step Functions task and direct invoke', () => {
    it('returns the output and throws stable error names', async () => {
      const connector = echoConnector();
      await expect(
        connector.handler({ operation: 'echo-text', input: { text: 'x' } }, lambdaContext()),
      ).resolves.toEqual({ text: '>x' });
      await expect(
        connector.handler({ operation: 'echo-text', input: { text: 'throttle' } }, lambdaContext()),
      ).rejects.toMatchObject({ name: 'RateLimitedError' });
      await expect(connector.handler({ operation: 'nope' }, lambdaContext())).rejects.toMatchObject({
        name: 'NotFoundError',
      });
    });
  });

  describe('configuration', () => {
    it('answers every invocation with the cold-start configuration error naming the variable', async () => {
      const connector = echoConnector({ ECHO_LIMIT: 'many' });
      await expect(connector.run('echo-text', { text: 'x' })).rejects.toBeInstanceOf(ConfigurationError);
      await expect(connector.run('echo-text', { text: 'x' })).rejects.toThrow(/ECHO_LIMIT/);
      const health = await connector.run('health', {});
      expect(health).toMatchObject({ status: 'failing' });
      expect(calls).toEqual([]);
    });
  });
});
