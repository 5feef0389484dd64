import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpRoute } from '../../scripts/local/config/model.ts';
import { hasApiKey, loadApiKey } from '../../scripts/local/gateway/api-key.ts';
import {
  type GatewayRequest,
  gatewayEvent,
  gatewayResponse,
  isTextContent,
  LOCAL_AUTHORIZER,
} from '../../scripts/local/gateway/event.ts';
import { compileRoutes, matchRoute } from '../../scripts/local/gateway/routes.ts';

const route = (method: string, path: string, authorized = true): HttpRoute => ({
  functionKey: 'fn',
  method,
  path,
  routeKey: path === '$default' ? '$default' : `${method} ${path}`,
  authorized,
});

const request = (overrides: Partial<GatewayRequest> = {}): GatewayRequest => ({
  method: 'POST',
  rawPath: '/s3/put-object',
  rawQueryString: '',
  headers: { host: '127.0.0.1:3000', 'content-type': 'application/json', 'user-agent': 'curl/8' },
  body: Buffer.from('{"key":"a"}'),
  sourceIp: '127.0.0.1',
  protocol: 'HTTP/1.1',
  ...overrides,
});

describe('Function: gatewayEvent', () => {
  it('builds a payload 2.0 event with lower-cased headers, cookies, query and path parameters', () => {
    // Prepare
    const incoming = request({
      rawPath: '/files/a%20b',
      rawQueryString: 'tag=x&tag=y&empty=',
      headers: {
        Host: '127.0.0.1:3000',
        'X-Custom': 'One',
        cookie: 'a=1; b=2',
        'content-type': 'text/plain',
      },
      body: Buffer.from('hello'),
    });

    // Act
    const event = gatewayEvent(incoming, {
      route: route('POST', '/files/{name}'),
      pathParameters: { name: 'a b' },
      authorized: true,
    });

    // Assess
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /files/{name}');
    expect(event.rawPath).toBe('/files/a%20b');
    expect(event.headers['x-custom']).toBe('One');
    expect(event.headers['cookie']).toBeUndefined();
    expect(event.headers['x-forwarded-port']).toBe('3000');
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.queryStringParameters).toEqual({ tag: 'x,y', empty: '' });
    expect(event.pathParameters).toEqual({ name: 'a b' });
    expect(event.body).toBe('hello');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.http).toMatchObject({
      method: 'POST',
      path: '/files/a%20b',
      sourceIp: '127.0.0.1',
    });
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect((event.requestContext as { authorizer?: unknown }).authorizer).toEqual(LOCAL_AUTHORIZER);
  });

  it('base64-encodes a binary body and leaves out what the request did not have', () => {
    // Prepare
    const bytes = Buffer.from([0, 255, 1, 2]);

    // Act
    const event = gatewayEvent(
      request({ headers: { host: 'localhost', 'content-type': 'application/octet-stream' }, body: bytes }),
      { route: route('ANY', '$default', false), pathParameters: {}, authorized: false },
    );

    // Assess
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64')).toEqual(bytes);
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.pathParameters).toBeUndefined();
    expect(event.cookies).toBeUndefined();
    expect((event.requestContext as { authorizer?: unknown }).authorizer).toBeUndefined();
  });
});

describe('Function: isTextContent', () => {
  it('treats JSON, XML, text and forms as text and everything else as binary', () => {
    // Act
    const verdicts = [
      'application/json; charset=utf-8',
      'application/problem+json',
      'text/csv',
      'application/x-www-form-urlencoded',
      'image/png',
      'application/octet-stream',
      undefined,
    ].map(isTextContent);

    // Assess
    expect(verdicts).toEqual([true, true, true, true, false, false, false]);
  });
});

describe('Function: gatewayResponse', () => {
  it('maps a structured response with headers, cookies and a base64 body', () => {
    // Act
    const response = gatewayResponse(
      JSON.stringify({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png' },
        cookies: ['a=1'],
        body: Buffer.from([1, 2, 3]).toString('base64'),
        isBase64Encoded: true,
      }),
    );

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers).toEqual({ 'content-type': 'image/png', 'set-cookie': ['a=1'] });
    expect(response.body).toEqual(Buffer.from([1, 2, 3]));
  });

  it('answers 200 with the result as JSON when it has no statusCode', () => {
    // Act
    const response = gatewayResponse('{"ok":true}');

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body.toString()).toBe('{"ok":true}');
  });
});

describe('Function: matchRoute', () => {
  const routes = compileRoutes([
    route('POST', '/s3/{operation}'),
    route('GET', '/s3/health'),
    route('ANY', '/s3/{proxy+}'),
    route('POST', '/github/webhook', false),
    route('ANY', '$default', false),
  ]);

  it('prefers a static segment over a parameter and a parameter over a greedy one', () => {
    // Act
    const health = matchRoute(routes, 'GET', '/s3/health');
    const operation = matchRoute(routes, 'POST', '/s3/put-object');
    const deep = matchRoute(routes, 'GET', '/s3/a/b');

    // Assess
    expect(health?.route.path).toBe('/s3/health');
    expect(operation).toEqual({ route: routes[0]?.route, pathParameters: { operation: 'put-object' } });
    expect(deep?.pathParameters).toEqual({ proxy: 'a/b' });
  });

  it('falls back to $default, and answers nothing when there is none', () => {
    // Act
    const fallback = matchRoute(routes, 'DELETE', '/elsewhere');
    const none = matchRoute(compileRoutes([route('POST', '/s3/{operation}')]), 'GET', '/s3/x');

    // Assess
    expect(fallback?.route.routeKey).toBe('$default');
    expect(none).toBeUndefined();
  });
});

describe('Function: hasApiKey', () => {
  it('accepts only the exact bearer token', () => {
    // Act
    const verdicts = ['Bearer k-1', 'bearer k-1', 'Bearer k-2', 'k-1', undefined].map((header) =>
      hasApiKey(header, 'k-1'),
    );

    // Assess
    expect(verdicts).toEqual([true, true, false, false, false]);
  });
});

describe('Function: loadApiKey', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('generates a key once, stores it with mode 0600 and reads it back; the environment wins', async () => {
    // Prepare
    dir = await mkdtemp(join(tmpdir(), 'api-key-'));

    // Act
    const first = await loadApiKey(dir, {});
    const second = await loadApiKey(dir, {});
    const fromEnv = await loadApiKey(dir, { CIRCLE_LOCAL_API_KEY: 'from-env' });

    // Assess
    expect(first.source).toBe('generated');
    expect(second).toMatchObject({ key: first.key, source: 'file' });
    expect(fromEnv).toMatchObject({ key: 'from-env', source: 'environment' });
    expect((await readFile(first.file, 'utf8')).trim()).toBe(first.key);
    expect((await stat(first.file)).mode & 0o777).toBe(0o600);
  });
});
