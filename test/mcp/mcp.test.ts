/**
 * The MCP server, driven by the MCP SDK's own client: over an in-memory transport for the tool list and
 * the calls, and over stdio against `scripts/mcp/run.ts` (what `npm run -s mcp` starts). Calls land on a
 * real HTTP server on 127.0.0.1 that records each request and answers what the test asks for.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectorEntry, loadCatalog } from '../../scripts/docs/catalog.ts';
import { operationId } from '../../scripts/docs/openapi.ts';
import { bearerAuth, createApiCall, sigV4Auth, targetFromEnvironment } from '../../scripts/mcp/caller.ts';
import { createMcpServer } from '../../scripts/mcp/server.ts';
import { buildTools, type ToolSpec } from '../../scripts/mcp/tools.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server that records requests and answers `next` (200 `{ ok: true }` by default). */
class RecordingApi {
  readonly requests: Recorded[] = [];
  next: { status: number; type: string; body: unknown } = {
    status: 200,
    type: 'application/json',
    body: { ok: true },
  };
  readonly #server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(this.next.status, { 'content-type': this.next.type });
      res.end(JSON.stringify(this.next.body));
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((done) => this.#server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((done) => this.#server.close(() => done()));
  }
}

let connectors: ConnectorEntry[];
let tools: ToolSpec[];
const api = new RecordingApi();
let apiUrl: string;

beforeAll(async () => {
  connectors = await loadCatalog(ROOT);
  tools = buildTools(connectors);
  apiUrl = await api.start();
});

afterAll(() => api.close());

afterEach(() => {
  api.requests.length = 0;
  api.next = { status: 200, type: 'application/json', body: { ok: true } };
});

/** An SDK client connected in memory to a server whose calls go to the recording API with a bearer key. */
async function connectInMemory(): Promise<Client> {
  const server = createMcpServer(tools, createApiCall(apiUrl, bearerAuth('test-key')), { version: '0.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'mcp-test', version: '0.0.0' });
  await client.connect(clientSide);
  return client;
}

describe('MCP server', () => {
  describe('Method: tools/list', () => {
    it('lists every operation of every connector, with its description and input JSON Schema', async () => {
      // Prepare
      const client = await connectInMemory();

      // Act
      const { tools: listed } = await client.listTools();

      // Assess
      const expected = connectors.flatMap((connector) => [
        ...connector.operations.map((operation) => operationId(connector.name, operation.name)),
        operationId(connector.name, 'health'),
      ]);
      expect(listed.map((tool) => tool.name).sort()).toEqual(expected.sort());
      expect(listed.length).toBeGreaterThan(connectors.length);
      const put = listed.find((tool) => tool.name === 's3_put_object');
      expect(put?.description).toMatch(/^Stores an object/);
      expect(put?.inputSchema).toMatchObject({
        type: 'object',
        required: expect.arrayContaining(['key', 'body']),
        properties: { key: { description: expect.stringMatching(/Object key/) } },
      });
      expect(put?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
      expect(listed.find((tool) => tool.name === 's3_list_objects')?.annotations?.readOnlyHint).toBe(true);
      await client.close();
    });
  });

  describe('Method: tools/call', () => {
    it('POSTs a write to its route with the bearer key, the input as body and the idempotency key as a header', async () => {
      // Prepare
      const client = await connectInMemory();
      api.next = { status: 200, type: 'application/json', body: { bucket: 'b', key: 'hello.txt', size: 5 } };

      // Act
      const result = await client.callTool({
        name: 's3_put_object',
        arguments: { key: 'hello.txt', body: 'hello', idempotencyKey: 'key-1' },
      });

      // Assess
      expect(api.requests).toHaveLength(1);
      const [request] = api.requests;
      expect(request).toMatchObject({ method: 'POST', path: '/s3/put-object' });
      expect(request?.headers['authorization']).toBe('Bearer test-key');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.headers['idempotency-key']).toBe('key-1');
      expect(JSON.parse(request?.body ?? '')).toEqual({ key: 'hello.txt', body: 'hello' });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual({ bucket: 'b', key: 'hello.txt', size: 5 });
      expect(result.content).toEqual([
        { type: 'text', text: JSON.stringify({ bucket: 'b', key: 'hello.txt', size: 5 }, null, 2) },
      ]);
      await client.close();
    });

    it('sends a read without an idempotency key, and health as a GET', async () => {
      // Prepare
      const client = await connectInMemory();

      // Act
      await client.callTool({ name: 's3_list_objects', arguments: { prefix: 'reports/' } });
      await client.callTool({ name: 's3_health', arguments: {} });

      // Assess
      expect(api.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        'POST /s3/list-objects',
        'GET /s3/health',
      ]);
      expect(api.requests[0]?.headers['idempotency-key']).toBeUndefined();
      expect(JSON.parse(api.requests[0]?.body ?? '')).toEqual({ prefix: 'reports/' });
      await client.close();
    });

    it('answers a problem as a tool error the model can read, JSON pointers included', async () => {
      // Prepare
      const client = await connectInMemory();
      const problem = {
        type: 'https://circle-core.dev/problems/validation-error',
        title: 'Bad Request',
        status: 400,
        detail: 'Invalid input: /key: Required',
        code: 'validation_error',
        errors: [{ pointer: '/key', message: 'Required' }],
      };
      api.next = { status: 400, type: 'application/problem+json', body: problem };

      // Act
      const result = await client.callTool({ name: 's3_head_object', arguments: {} });

      // Assess
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toEqual(problem);
      expect(JSON.stringify(result.content)).toContain('HTTP 400');
      await client.close();
    });

    it('answers an unreachable API as a tool error naming the failure', async () => {
      // Prepare
      const down = createMcpServer(tools, createApiCall('http://127.0.0.1:9', bearerAuth('k')), {
        version: '0',
      });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await down.connect(serverSide);
      const client = new Client({ name: 'mcp-test', version: '0.0.0' });
      await client.connect(clientSide);

      // Act
      const result = await client.callTool({ name: 's3_list_objects', arguments: {} });

      // Assess
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain('The request did not complete');
      await client.close();
    });

    it('refuses an unknown tool', async () => {
      // Prepare
      const client = await connectInMemory();

      // Act + Assess
      await expect(client.callTool({ name: 'nope_nothing', arguments: {} })).rejects.toThrow(/Unknown tool/);
      expect(api.requests).toHaveLength(0);
      await client.close();
    });
  });

  describe('Function: sigV4Auth', () => {
    it('signs for execute-api in the region with the given credentials', async () => {
      // Prepare
      const call = createApiCall(
        apiUrl,
        sigV4Auth({
          region: 'eu-west-1',
          credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' },
        }),
      );

      // Act
      await call({ method: 'POST', path: '/postgres/query', body: { sql: 'select 1' } });

      // Assess
      const headers = api.requests[0]?.headers ?? {};
      expect(headers['authorization']).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*content-type;host;[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      expect(headers['x-amz-security-token']).toBe('session');
    });
  });

  describe('Function: targetFromEnvironment', () => {
    it('calls the local stack with its API key when no URL is set', async () => {
      // Act
      const target = targetFromEnvironment({ PORT: '3999', CIRCLE_LOCAL_API_KEY: 'local' }, ROOT);
      const headers = await target.auth({
        method: 'GET',
        url: new URL(target.baseUrl),
        headers: {},
        body: undefined,
      });

      // Assess
      expect(target.baseUrl).toBe('http://127.0.0.1:3999');
      expect(headers['authorization']).toBe('Bearer local');
    });

    it('signs with SigV4 for a deployed stage, the region read from its host', () => {
      // Act
      const target = targetFromEnvironment(
        { CIRCLE_API_URL: 'https://abc123.execute-api.eu-central-1.amazonaws.com' },
        ROOT,
      );

      // Assess
      expect(target.description).toBe(
        'https://abc123.execute-api.eu-central-1.amazonaws.com (SigV4, eu-central-1)',
      );
    });

    it('refuses what it cannot use, saying what to set', () => {
      // Act + Assess
      expect(() => targetFromEnvironment({ CIRCLE_API_URL: 'https://api.example.com' }, ROOT)).toThrow(
        /AWS_REGION/,
      );
      expect(() =>
        targetFromEnvironment({ CIRCLE_API_URL: 'https://api.example.com', CIRCLE_API_AUTH: 'bearer' }, ROOT),
      ).toThrow(/CIRCLE_API_TOKEN/);
      expect(() => targetFromEnvironment({ CIRCLE_API_URL: 'not a url' }, ROOT)).toThrow(/CIRCLE_API_URL/);
      expect(() => targetFromEnvironment({ CIRCLE_API_AUTH: 'magic' }, ROOT)).toThrow(/CIRCLE_API_AUTH/);
    });
  });

  describe('CLI: scripts/mcp/run.ts over stdio', () => {
    it('lists the tools and calls one against CIRCLE_API_URL with the local key', async () => {
      // Prepare
      const env = Object.fromEntries(
        Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [join(ROOT, 'scripts', 'mcp', 'run.ts')],
        cwd: ROOT,
        env: { ...env, CIRCLE_API_URL: apiUrl, CIRCLE_LOCAL_API_KEY: 'stdio-key' },
        stderr: 'pipe',
      });
      const client = new Client({ name: 'mcp-stdio-test', version: '0.0.0' });
      await client.connect(transport);

      // Act
      const { tools: listed } = await client.listTools();
      const result = await client.callTool({ name: 'postgres_list_tables', arguments: { schema: 'public' } });

      // Assess
      expect(listed).toHaveLength(tools.length);
      expect(result.isError).toBeFalsy();
      expect(api.requests).toHaveLength(1);
      expect(api.requests[0]).toMatchObject({ method: 'POST', path: '/postgres/list-tables' });
      expect(api.requests[0]?.headers['authorization']).toBe('Bearer stdio-key');
      expect(JSON.parse(api.requests[0]?.body ?? '')).toEqual({ schema: 'public' });
      await client.close();
    });
  });
});
