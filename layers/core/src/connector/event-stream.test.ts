/**
 * The kit's response streaming over a real HTTP server: a node:http server plays the function URL, a
 * stand-in for the Lambda runtime's `awslambda` hooks hands the handler the server's response as its
 * response stream, and the client reads the body with fetch as it arrives. No timing assertions: the
 * producer waits for the client to have read a frame before it produces the next one.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { currentCorrelationId, remainingTimeMs } from '../context.ts';
import { NotFoundError, RateLimitedError, UnavailableError, ValidationError } from '../errors.ts';
import {
  STREAM_DEADLINE_MARGIN_MS,
  type StreamEvent,
  type StreamingRuntime,
  type StreamOperation,
  sseFrame,
  streamingHandler,
} from './event-stream.ts';

type Serve = (event: APIGatewayProxyEventV2, stream: Writable, context: Context) => Promise<void>;

/** The heads the handler has committed (`HttpResponseStream.from`), in order. */
const heads: number[] = [];

/** What the Lambda runtime does with a streamed response, on a node:http response. */
const runtime: StreamingRuntime = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from(stream, metadata) {
      heads.push(metadata.statusCode);
      (stream as ServerResponse).writeHead(metadata.statusCode, metadata.headers);
      return stream;
    },
  },
};

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  heads.length = 0;
});

/** Collects the core's JSON lines (the invocation line) written while `act` runs. */
async function capturingLines(act: (lines: Record<string, unknown>[]) => Promise<void>): Promise<void> {
  const lines: Record<string, unknown>[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('{')) lines.push(JSON.parse(text) as Record<string, unknown>);
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    await act(lines);
  } finally {
    process.stdout.write = write;
  }
}

/** Serves the handler the way a function URL does: the request as a payload 2.0 event. */
async function serve(handler: Serve, remainingMs = 30_000): Promise<string> {
  const listening = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const event = {
      version: '2.0',
      rawPath: request.url ?? '/',
      headers: request.headers as Record<string, string>,
      body: Buffer.concat(chunks).toString('utf8'),
      isBase64Encoded: false,
      requestContext: { http: { method: request.method ?? 'GET' } },
    } as unknown as APIGatewayProxyEventV2;
    const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => remainingMs } as Context;
    await handler(event, response, context);
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
}

/** Reads SSE frames from a response body as they arrive. */
async function* frames(response: Response): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = response.body?.getReader();
  if (reader === undefined) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null') as unknown;
      yield { event, data };
    }
  }
}

const Input = z.strictObject({ text: z.string().min(1).describe('What to stream') });

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-correlation-id': 'corr-7' },
    body: JSON.stringify(body),
  });
}

describe('streamingHandler (Lambda response streaming through a function URL)', () => {
  it('sends each frame as it is produced: the client reads the first before the last exists', async () => {
    // Prepare: the producer makes the second word only once the client has read the first.
    let readFirst: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => {
      readFirst = resolve;
    });
    const produced: string[] = [];
    let headsBeforeFirstFrame: number[] | undefined;
    const words: StreamOperation<typeof Input> = {
      input: Input,
      async *run({ text }) {
        const [first = '', ...rest] = text.split(' ');
        produced.push(first);
        headsBeforeFirstFrame = [...heads];
        yield { event: 'delta', data: { text: first } };
        await firstRead;
        for (const word of rest) {
          produced.push(word);
          yield { event: 'delta', data: { text: ` ${word}` } };
        }
        yield { event: 'done', data: { words: produced.length } };
      },
    };
    const url = await serve(streamingHandler('echo', { 'words-stream': words }, runtime) as Serve);

    // Act
    const response = await post(`${url}/echo/words-stream`, { text: 'hello streaming world' });
    const received: { event: string; data: unknown }[] = [];
    let producedWhenFirstRead: string[] = [];
    for await (const frame of frames(response)) {
      received.push(frame);
      if (received.length === 1) {
        producedWhenFirstRead = [...produced];
        readFirst();
      }
    }

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-correlation-id')).toBe('corr-7');
    expect(producedWhenFirstRead).toEqual(['hello']);
    expect(headsBeforeFirstFrame).toEqual([]);
    expect(heads).toEqual([200]);
    expect(received).toEqual([
      { event: 'delta', data: { text: 'hello' } },
      { event: 'delta', data: { text: ' streaming' } },
      { event: 'delta', data: { text: ' world' } },
      { event: 'done', data: { words: 3 } },
    ]);
  });

  it('ends with an error frame (the problem, no internals) when the producer fails after the first frame', async () => {
    // Prepare
    const failing: StreamOperation<typeof Input> = {
      input: Input,
      async *run() {
        yield { event: 'delta', data: { text: 'Hel' } };
        throw new UnavailableError('The provider closed the stream');
      },
    };
    const crashing: StreamOperation<typeof Input> = {
      input: Input,
      async *run() {
        yield { event: 'delta', data: { text: 'Hel' } };
        throw new Error('secret internals at db://user:pw@host');
      },
    };
    const url = await serve(streamingHandler('echo', { failing, crashing }, runtime) as Serve);

    // Act
    const failedResponse = await post(`${url}/failing`, { text: 'x' });
    const failed = [];
    for await (const frame of frames(failedResponse)) failed.push(frame);
    const crashed = [];
    for await (const frame of frames(await post(`${url}/crashing`, { text: 'x' }))) crashed.push(frame);

    // Assess
    expect(failedResponse.status).toBe(200);
    expect(failedResponse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(failed).toEqual([
      { event: 'delta', data: { text: 'Hel' } },
      {
        event: 'error',
        data: {
          correlationId: 'corr-7',
          error: expect.objectContaining({
            name: 'UnavailableError',
            status: 503,
            detail: 'The provider closed the stream',
          }),
        },
      },
    ]);
    expect(crashed.map((frame) => frame.event)).toEqual(['delta', 'error']);
    expect(crashed[1]).toMatchObject({ event: 'error', data: { error: { status: 500 } } });
    expect(JSON.stringify(crashed)).not.toContain('secret');
  });

  it('answers a request the provider refuses before the first frame (404, 400, 429) as its problem, with no frames', async () => {
    // Prepare: producers that fail as a provider call does when the provider refuses the request, after
    // waiting for its answer and before any frame.
    const refusing = (error: Error): StreamOperation<typeof Input> => ({
      input: Input,
      async *run() {
        await new Promise((resolve) => setImmediate(resolve));
        yield* [] as StreamEvent[];
        throw error;
      },
    });
    const operations = {
      'unknown-model': refusing(new NotFoundError('model: nope')),
      'bad-temperature': refusing(
        new ValidationError('temperature: must be at most 1', [
          { pointer: '/temperature', message: 'max 1' },
        ]),
      ),
      throttled: refusing(new RateLimitedError('The provider is busy', { retryAfterMs: 3_000 })),
      crashing: refusing(new Error('secret internals at db://user:pw@host')),
    };
    const url = await serve(streamingHandler('echo', operations, runtime) as Serve);

    await capturingLines(async (lines) => {
      // Act
      const unknownModel = await post(`${url}/unknown-model`, { text: 'x' });
      const unknownModelBody = await unknownModel.text();
      const badTemperature = await post(`${url}/bad-temperature`, { text: 'x' });
      const badTemperatureBody = (await badTemperature.json()) as Record<string, unknown>;
      const throttled = await post(`${url}/throttled`, { text: 'x' });
      await throttled.arrayBuffer();
      const crashed = await post(`${url}/crashing`, { text: 'x' });
      const crashedBody = await crashed.text();

      // Assess
      expect(unknownModel.status).toBe(404);
      expect(unknownModel.headers.get('content-type')).toBe('application/problem+json');
      expect(unknownModel.headers.get('x-correlation-id')).toBe('corr-7');
      expect(unknownModelBody).not.toContain('event:');
      expect(JSON.parse(unknownModelBody)).toMatchObject({ status: 404, code: 'not_found' });
      expect(badTemperature.status).toBe(400);
      expect(badTemperatureBody).toMatchObject({
        status: 400,
        errors: [{ pointer: '/temperature', message: 'max 1' }],
      });
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('3');
      expect(crashed.status).toBe(500);
      expect(crashed.headers.get('content-type')).toBe('application/problem+json');
      expect(crashedBody).not.toContain('secret');
      expect(heads).toEqual([404, 400, 429, 500]);
      const invocations = lines.filter((line) => line['message'] === 'invocation');
      expect(invocations.map((line) => [line['operation'], line['status'], line['errorCode']])).toEqual([
        ['unknown-model', 404, 'not_found'],
        ['bad-temperature', 400, 'validation_error'],
        ['throttled', 429, 'rate_limited'],
        ['crashing', 500, 'internal_error'],
      ]);
    });
  });

  it('answers a producer that has sent nothing by the deadline with a TimeoutError problem (504), not a stream', async () => {
    // Prepare: the provider never answers; only the abort signal releases the producer.
    let aborted = false;
    const silent: StreamOperation<typeof Input> = {
      input: Input,
      async *run(_input, { signal }) {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        aborted = true;
        yield { event: 'delta', data: { text: 'too late' } };
      },
    };
    const url = await serve(
      streamingHandler('echo', { silent }, runtime) as Serve,
      STREAM_DEADLINE_MARGIN_MS + 300,
    );

    // Act
    const response = await post(`${url}/silent`, { text: 'x' });
    const problem = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(504);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(problem).toMatchObject({ status: 504 });
    expect(aborted).toBe(true);
    expect(heads).toEqual([504]);
  });

  it('sends an empty stream (200) for a producer that ends without a frame', async () => {
    // Prepare
    const empty: StreamOperation<typeof Input> = {
      input: Input,
      async *run() {
        yield* [] as StreamEvent[];
      },
    };
    const url = await serve(streamingHandler('echo', { empty }, runtime) as Serve);

    // Act
    const response = await post(`${url}/empty`, { text: 'x' });
    const body = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(body).toBe('');
  });

  it('honours the time budget: a producer still running at the deadline is stopped with a TimeoutError frame', async () => {
    // Prepare: the producer never ends by itself; only its abort signal releases it.
    let aborted = false;
    const hanging: StreamOperation<typeof Input> = {
      input: Input,
      async *run(_input, { signal }) {
        yield { event: 'delta', data: { text: 'first' } };
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        aborted = true;
      },
    };
    const url = await serve(
      streamingHandler('echo', { hanging }, runtime) as Serve,
      STREAM_DEADLINE_MARGIN_MS + 300,
    );

    // Act
    const received = [];
    for await (const frame of frames(await post(`${url}/hanging`, { text: 'x' }))) received.push(frame);

    // Assess
    expect(received.map((frame) => frame.event)).toEqual(['delta', 'error']);
    expect(received[1]?.data).toMatchObject({ error: { name: 'TimeoutError', status: 504 } });
    expect(aborted).toBe(true);
  });

  it("runs the producer in the invocation's scope: the core's clients see the time left and the correlation id", async () => {
    // Prepare
    const scoped: StreamOperation<typeof Input> = {
      input: Input,
      async *run() {
        yield { event: 'scope', data: { left: remainingTimeMs(), correlationId: currentCorrelationId() } };
      },
    };
    const url = await serve(streamingHandler('echo', { scoped }, runtime) as Serve, 30_000);

    // Act
    const received = [];
    for await (const frame of frames(await post(`${url}/scoped`, { text: 'x' }))) received.push(frame);

    // Assess
    const data = received[0]?.data as { left: number; correlationId: string };
    expect(Number.isFinite(data.left)).toBe(true);
    expect(data.left).toBeLessThanOrEqual(30_000);
    expect(data.left).toBeGreaterThan(0);
    expect(data.correlationId).toBe('corr-7');
  });

  it('refuses bad input and unknown operations before streaming, as RFC 9457 problems', async () => {
    // Prepare
    const echo: StreamOperation<typeof Input> = {
      input: Input,
      async *run({ text }) {
        yield { event: 'delta', data: { text } };
      },
    };
    const url = await serve(streamingHandler('echo', { echo }, runtime) as Serve);

    // Act
    const invalid = await post(`${url}/echo`, { text: '' });
    const unknown = await post(`${url}/nope`, { text: 'x' });
    const notJson = await fetch(`${url}/echo`, { method: 'POST', body: '{' });

    // Assess
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toBe('application/problem+json');
    expect(((await invalid.json()) as { errors: unknown[] }).errors).toEqual([
      { pointer: '/text', message: expect.any(String) },
    ]);
    expect(unknown.status).toBe(404);
    expect(notJson.status).toBe(400);
  });

  it('reads the body as the operation routes do: too deep, a polluting key or over the limit is refused, never a crash', async () => {
    // Prepare
    const echo: StreamOperation<typeof Input> = {
      input: Input,
      async *run({ text }) {
        yield { event: 'delta', data: { text } };
      },
    };
    const url = await serve(streamingHandler('echo', { echo }, runtime) as Serve);
    const send = (body: string) =>
      fetch(`${url}/echo`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

    // Act
    const deep = await send(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    const polluting = await send('{"text":"x","__proto__":{"admin":true}}');
    const oversized = await send(JSON.stringify({ text: 'x'.repeat(1_100_000) }));

    // Assess
    expect([deep.status, polluting.status, oversized.status]).toEqual([400, 400, 413]);
    expect(((await deep.json()) as { detail: string }).detail).toContain('nests deeper');
    expect(((await polluting.json()) as { detail: string }).detail).toContain('forbidden key');
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
  });

  it('refuses before the stream when admit fails (a 429 with Retry-After), and logs each invocation with its measures', async () => {
    // Prepare
    const lines: Record<string, unknown>[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = String(chunk);
      if (text.startsWith('{')) lines.push(JSON.parse(text) as Record<string, unknown>);
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    let full = false;
    const metered: StreamOperation<typeof Input> = {
      input: Input,
      async admit() {
        if (full) throw new RateLimitedError('Budget spent', { retryAfterMs: 2_000 });
      },
      async *run({ text }, { measure }) {
        yield { event: 'delta', data: { text } };
        measure({ inputTokens: 2, outputTokens: 1 });
        full = true;
      },
    };
    const url = await serve(streamingHandler('echo', { metered }, runtime, { version: '1.2.3' }) as Serve);

    try {
      // Act
      const admitted = await post(`${url}/metered`, { text: 'hi' });
      const admittedFrames = [];
      for await (const frame of frames(admitted)) admittedFrames.push(frame);
      const refused = await post(`${url}/metered`, { text: 'again' });
      const problem = (await refused.json()) as Record<string, unknown>;

      // Assess
      expect(admittedFrames).toEqual([{ event: 'delta', data: { text: 'hi' } }]);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect(problem).toMatchObject({ status: 429, code: 'rate_limited' });
      const invocations = lines.filter((line) => line['message'] === 'invocation');
      expect(invocations).toHaveLength(2);
      expect(invocations[0]).toMatchObject({
        service: 'echo',
        connectorVersion: '1.2.3',
        trigger: 'stream',
        operation: 'metered',
        correlationId: 'corr-7',
        status: 200,
        frames: 1,
        inputTokens: 2,
        outputTokens: 1,
        invocations: 1,
        errors: 0,
      });
      expect(invocations[1]).toMatchObject({
        level: 'WARN',
        status: 429,
        errorCode: 'rate_limited',
        errors: 1,
      });
    } finally {
      process.stdout.write = write;
    }
  });

  it('writes one-line JSON data per frame', () => {
    expect(sseFrame('delta', { text: 'a\nb' })).toBe('event: delta\ndata: {"text":"a\\nb"}\n\n');
    expect(sseFrame('bad\nname', 1)).toBe('event: badname\ndata: 1\n\n');
  });

  it('needs the Lambda runtime (or a stand-in) to stream', () => {
    expect(() => streamingHandler('echo', {}, {} as StreamingRuntime)).toThrow(/awslambda/);
  });
});
