import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnexpectedResponseError } from '../errors.ts';
import { resetCircuitBreakers } from './circuit-breaker.ts';
import { type Handler, rejection, startServer, type TestServer, testClients } from './testing/server.ts';

let server: TestServer;
const clients = testClients(() => server.origin);
const client = clients.make;

beforeAll(async () => {
  server = await startServer();
});

afterEach(() => {
  clients.closeAll();
  resetCircuitBreakers();
  server.requests.length = 0;
});

afterAll(async () => {
  await server.close();
});

const DOCUMENT = { rows: Array.from({ length: 200 }, (_, i) => [String(i), `row ${i}`]) };
const JSON_BYTES = Buffer.from(JSON.stringify(DOCUMENT));
const MB = 1024 * 1024;

/** Answers `status` with `bytes` as they are, under `encoding`, in chunks of 16 KiB. */
function encoded(
  bytes: Buffer,
  encoding: string,
  { status = 200, contentType = 'application/json' } = {},
): Handler {
  return (_request, response: ServerResponse) => {
    response.writeHead(status, { 'content-type': contentType, 'content-encoding': encoding });
    for (let at = 0; at < bytes.length; at += 16_384) response.write(bytes.subarray(at, at + 16_384));
    response.end();
  };
}

describe('Class: HttpClient', () => {
  describe('Method: request, a compressed answer', () => {
    it.each([
      ['gzip', gzipSync(JSON_BYTES)],
      ['x-gzip', gzipSync(JSON_BYTES)],
      ['GZIP', gzipSync(JSON_BYTES)],
      ['deflate', deflateSync(JSON_BYTES)],
      ['deflate', deflateRawSync(JSON_BYTES)],
      ['br', brotliCompressSync(JSON_BYTES)],
      ['identity', JSON_BYTES],
    ])('decodes a body with Content-Encoding %s before parsing its JSON', async (encoding, bytes) => {
      // Prepare
      server.handle(encoded(bytes, encoding));

      // Act
      const response = await client().request({ method: 'GET', path: '/partition' });

      // Assess
      expect(response.status).toBe(200);
      expect(response.body).toEqual(DOCUMENT);
      expect(server.requests[0]?.headers['accept-encoding']).toBeUndefined();
    });

    it("decodes a gzip error body, so the error carries the provider's message", async () => {
      // Prepare
      server.handle(encoded(gzipSync(JSON.stringify({ message: 'no such thing' })), 'gzip', { status: 404 }));

      // Act
      const error = await rejection(client().request({ method: 'GET', path: '/missing' }));

      // Assess
      expect(error.name).toBe('NotFoundError');
      expect(error.message).toContain('no such thing');
    });

    it('hands over decoded bytes for a bytes request', async () => {
      // Prepare
      const payload = randomBytes(100_000);
      server.handle(encoded(gzipSync(payload), 'gzip', { contentType: 'application/octet-stream' }));

      // Act
      const response = await client().request<Buffer>({ method: 'GET', path: '/file', bytes: true });

      // Assess
      expect(Buffer.compare(response.body, payload)).toBe(0);
    });

    it('refuses a gzip bomb at maxResponseBytes of decoded bytes', async () => {
      // Prepare: 50 MB of zeros is about 50 KB gzipped, well under the 1 MB limit on the wire
      const bomb = gzipSync(Buffer.alloc(50 * MB));
      expect(bomb.length).toBeLessThan(MB);
      server.handle(encoded(bomb, 'gzip'));
      const started = Date.now();

      // Act
      const error = await rejection(
        client({ maxResponseBytes: MB }).request({ method: 'GET', path: '/bomb', maxAttempts: 1 }),
      );

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe(`response from Acme exceeds ${MB} bytes`);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('still refuses a compressed body over maxResponseBytes on the wire', async () => {
      // Prepare: random bytes do not compress
      server.handle(encoded(gzipSync(randomBytes(2 * MB)), 'gzip'));

      // Act
      const error = await rejection(
        client({ maxResponseBytes: MB }).request({ method: 'GET', path: '/big', maxAttempts: 1 }),
      );

      // Assess
      expect(error.message).toBe(`response from Acme exceeds ${MB} bytes`);
    });

    it.each([
      ['gzip', Buffer.concat([gzipSync(JSON_BYTES).subarray(0, 10), Buffer.from('not gzip at all')])],
      ['gzip', gzipSync(JSON_BYTES).subarray(0, 40)],
      ['deflate', Buffer.from('definitely not deflate')],
      ['br', Buffer.from('definitely not brotli, not at all')],
    ])(
      'answers a 502 naming the provider and the encoding for a corrupt %s body',
      async (encoding, bytes) => {
        // Prepare
        server.handle(encoded(bytes, encoding));

        // Act
        const error = await rejection(client().request({ method: 'GET', path: '/corrupt', maxAttempts: 1 }));

        // Assess
        expect(error).toBeInstanceOf(UnexpectedResponseError);
        expect((error as UnexpectedResponseError).status).toBe(502);
        expect(error.message).toBe(`Acme answered a ${encoding} body that does not decode`);
        expect((error as UnexpectedResponseError).details).toMatchObject({ provider: 'Acme', encoding });
      },
    );

    it.each(['compress', 'zstd', 'gzip, br'])(
      'answers a 502 naming an encoding it cannot decode: %s',
      async (encoding) => {
        // Prepare
        server.handle(encoded(Buffer.from('{"a":1}'), encoding));

        // Act
        const error = await rejection(client().request({ method: 'GET', path: '/odd', maxAttempts: 1 }));

        // Assess
        expect(error).toBeInstanceOf(UnexpectedResponseError);
        expect(error.message).toBe(
          `Acme answered a body in Content-Encoding ${encoding}, which is not supported`,
        );
        expect((error as UnexpectedResponseError).details).toMatchObject({ provider: 'Acme', encoding });
      },
    );

    it('keeps an empty body under Content-Encoding as empty', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.writeHead(204, { 'content-encoding': 'gzip' });
        response.end();
      });

      // Act
      const response = await client().request({ method: 'DELETE', path: '/thing' });

      // Assess
      expect(response.status).toBe(204);
      expect(response.body).toBeUndefined();
    });
  });

  describe('Method: stream, a compressed answer', () => {
    it('decodes a gzip event stream chunk by chunk', async () => {
      // Prepare
      const events = Array.from({ length: 50 }, (_, i) => `data: event ${i}\n\n`).join('');
      server.handle(encoded(gzipSync(events), 'gzip', { contentType: 'text/event-stream' }));

      // Act
      const response = await client().stream({ method: 'POST', path: '/chat', json: { stream: true } });
      const read: Buffer[] = [];
      for await (const chunk of response.body) read.push(Buffer.from(chunk));

      // Assess
      expect(Buffer.concat(read).toString('utf8')).toBe(events);
    });

    it('refuses a streamed gzip bomb at maxResponseBytes of decoded bytes', async () => {
      // Prepare
      server.handle(encoded(gzipSync(Buffer.alloc(50 * MB)), 'gzip', { contentType: 'text/event-stream' }));
      const response = await client({ maxResponseBytes: MB }).stream({ method: 'GET', path: '/bomb' });

      // Act
      let read = 0;
      const error = await rejection(
        (async () => {
          for await (const chunk of response.body) read += chunk.length;
        })(),
      );

      // Assess
      expect(error.message).toBe(`response from Acme exceeds ${MB} bytes`);
      expect(read).toBeLessThanOrEqual(MB);
    });

    it('answers a 502 naming the encoding for a corrupt streamed body', async () => {
      // Prepare
      server.handle(
        encoded(Buffer.from('not brotli, not anything'), 'br', { contentType: 'text/event-stream' }),
      );
      const response = await client().stream({ method: 'GET', path: '/corrupt' });

      // Act
      const error = await rejection(
        (async () => {
          for await (const _chunk of response.body) {
            // drain
          }
        })(),
      );

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('Acme answered a br body that does not decode');
    });

    it('refuses a streamed answer in an encoding it cannot decode before reading it', async () => {
      // Prepare
      server.handle(encoded(Buffer.from('data: x\n\n'), 'zstd', { contentType: 'text/event-stream' }));

      // Act
      const error = await rejection(client().stream({ method: 'GET', path: '/odd', maxAttempts: 1 }));

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('Acme answered a body in Content-Encoding zstd, which is not supported');
    });
  });
});
