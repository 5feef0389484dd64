/**
 * The SSRF guard for URLs that come from input, through the core's `assertUrlAllowed` and an `HttpClient`
 * request marked `untrustedUrl` (no reference connector takes a URL from input yet; any that does goes
 * through these two). Every internal form from the issue is refused before a connection opens: a real
 * server on 127.0.0.1 counts the connections it accepts, and the client counts the sockets it opened.
 * Covered: loopback in every spelling (dotted, decimal, hex, octal, short, IPv6, IPv4-mapped, NAT64),
 * 0.0.0.0, link-local and the metadata endpoints (IPv4 and IPv6), the private, CGNAT and unique-local
 * ranges, `localhost` (the Lambda runtime API on 9001, the extensions API on 2773), host names that
 * resolve to a private address (also only on the second lookup: DNS rebinding), redirects to each of
 * them, and every scheme but http and https.
 */

import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  assertUrlAllowed,
  createGuardedLookup,
  HttpClient,
  isBlockedAddress,
  type Resolver,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

interface Target {
  server: Server;
  port: number;
  connections: number;
  requests: number;
}

/** `public.test` is our stand-in for a public host: it lives on 127.0.0.2, which only the test allows. */
const PUBLIC_ADDRESS = '127.0.0.2';
let internal: Target;
let publicServer: Target;
/** Where the public server redirects the next request to. */
let redirectTo = '';

async function listen(
  host: string,
  handler: (target: Target) => Parameters<typeof createServer>[1],
): Promise<Target> {
  const target = { port: 0, connections: 0, requests: 0 } as Target;
  target.server = createServer(handler(target));
  target.server.on('connection', () => {
    target.connections += 1;
  });
  await new Promise<void>((resolve) => target.server.listen(0, host, resolve));
  target.port = (target.server.address() as AddressInfo).port;
  return target;
}

const hosts: Record<string, LookupAddress[]> = {};
const resolver: Resolver = async (hostname) => hosts[hostname] ?? [];
/** The guard as deployed, except that the stand-in public address counts as public. */
const isBlocked = (address: string): boolean => address !== PUBLIC_ADDRESS && isBlockedAddress(address);
const lookup = createGuardedLookup({ resolve: resolver, isBlocked });

function guardedClient(maxRedirects = 0): HttpClient {
  return new HttpClient({
    provider: 'Input URL',
    lookup,
    maxRedirects,
    maxAttempts: 1,
    timeoutMs: 2_000,
    circuitBreaker: false,
  });
}

/** The internal addresses of the issue, each pointed at the counting server's port where it is loopback. */
function internalUrls(port: number): string[] {
  return [
    `http://127.0.0.1:${port}/`,
    `http://127.1:${port}/`,
    `http://127.0.0.2:${port}/`,
    `http://2130706433:${port}/`,
    `http://0x7f000001:${port}/`,
    `http://0x7f.0.0.1:${port}/`,
    `http://0177.0.0.1:${port}/`,
    `http://017700000001:${port}/`,
    `http://[::1]:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://[::ffff:7f00:1]:${port}/`,
    `http://[0:0:0:0:0:ffff:127.0.0.1]:${port}/`,
    `http://[64:ff9b::127.0.0.1]:${port}/`,
    `http://0.0.0.0:${port}/`,
    `http://0:${port}/`,
    `http://[::]:${port}/`,
    `http://localhost:${port}/`,
    `http://LOCALHOST.:${port}/`,
    `http://api.localhost:${port}/`,
    'http://localhost:9001/2018-06-01/runtime/invocation/next',
    'http://localhost:2773/systemsmanager/parameters/get?name=x',
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://169.254.170.2/v2/credentials',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fe80::1]/',
    'http://10.0.0.1/',
    'http://10.255.255.255/',
    'http://172.16.0.1/',
    'http://172.31.255.254/',
    'http://192.168.0.1/',
    'http://192.168.255.255/',
    'http://100.64.0.1/',
    'http://100.127.255.254/',
    'http://[fd00::1]/',
    'http://[fdff:ffff::1]/',
    'http://[fc00::1]/',
    'https://10.1.2.3:8443/admin',
  ];
}

const SCHEMES = [
  'file:///etc/passwd',
  'file://localhost/etc/passwd',
  'ftp://example.com/file',
  'gopher://example.com:70/_x',
  'dict://example.com:11211/stat',
  'ldap://example.com/',
  'ws://example.com/',
  'data:text/plain,hello',
  'javascript:alert(1)',
  'jar:http://example.com!/',
  '//example.com/',
  'example.com',
];

beforeAll(async () => {
  internal = await listen('127.0.0.1', (target) => (_request, response) => {
    target.requests += 1;
    response.end('internal secret');
  });
  publicServer = await listen(PUBLIC_ADDRESS, (target) => (_request, response) => {
    target.requests += 1;
    response.writeHead(302, { location: redirectTo });
    response.end();
  });
  hosts['public.test'] = [{ address: PUBLIC_ADDRESS, family: 4 }];
  hosts['internal.test'] = [{ address: '127.0.0.1', family: 4 }];
  hosts['metadata.test'] = [{ address: '169.254.169.254', family: 4 }];
  hosts['private-v6.test'] = [{ address: 'fd00::7', family: 6 }];
  hosts['mixed.test'] = [
    { address: PUBLIC_ADDRESS, family: 4 },
    { address: '10.0.0.7', family: 4 },
  ];
});

afterAll(async () => {
  for (const target of [internal, publicServer]) {
    await new Promise<void>((resolve) => {
      target.server.closeAllConnections();
      target.server.close(() => resolve());
    });
  }
});

beforeEach(() => {
  internal.connections = 0;
  internal.requests = 0;
  publicServer.connections = 0;
  publicServer.requests = 0;
});

describe('SSRF: the counting target', () => {
  it('does count a connection that is allowed to open (the checks below are not vacuous)', async () => {
    // Prepare
    const trusted = new HttpClient({ provider: 'Trusted', maxAttempts: 1, circuitBreaker: false });
    // Act
    const response = await trusted.request({ method: 'GET', url: `http://127.0.0.1:${internal.port}/` });
    trusted.close();
    // Assess
    expect(response.body).toBe('internal secret');
    expect(internal.connections).toBe(1);
  });

  it('lets a guarded request reach the stand-in public host', async () => {
    // Prepare
    const client = guardedClient();
    // Act
    const response = await client.request({
      method: 'GET',
      url: `http://public.test:${publicServer.port}/`,
      untrustedUrl: true,
    });
    client.close();
    // Assess
    expect(response.status).toBe(302);
    expect(publicServer.requests).toBe(1);
  });
});

describe('SSRF: internal addresses', () => {
  it.each(internalUrls(0).map((url, index) => [url, index]))(
    'refuses %s before connecting',
    async (_label, index) => {
      // Prepare
      const url = internalUrls(internal.port)[index as number] as string;
      const client = guardedClient();
      // Act
      const checked = assertUrlAllowed(url, { resolve: resolver });
      const requested = client.request({ method: 'GET', url, untrustedUrl: true });
      // Assess
      await expect(checked).rejects.toBeInstanceOf(ValidationError);
      await expect(requested).rejects.toBeInstanceOf(ValidationError);
      expect(client.stats.socketsOpened).toBe(0);
      expect(internal.connections).toBe(0);
      client.close();
    },
  );

  it.each([
    ['a name resolving to 127.0.0.1', 'internal.test'],
    ['a name resolving to the metadata address', 'metadata.test'],
    ['a name resolving to a unique-local IPv6 address', 'private-v6.test'],
    ['a name with one public and one private address', 'mixed.test'],
  ])('refuses %s before connecting', async (_what, host) => {
    // Prepare
    const url = `http://${host}:${internal.port}/`;
    const client = guardedClient();
    // Act
    const checked = assertUrlAllowed(url, { resolve: resolver, isBlocked });
    const requested = client.request({ method: 'GET', url, untrustedUrl: true });
    // Assess
    await expect(checked).rejects.toThrow(/resolves to a private or reserved address/);
    await expect(requested).rejects.toBeInstanceOf(ValidationError);
    expect(client.stats.socketsOpened).toBe(0);
    expect(internal.connections).toBe(0);
    client.close();
  });

  it('checks the address it connects to: a name that resolves publicly, then privately (DNS rebinding), is refused', async () => {
    // Prepare
    let lookups = 0;
    const rebinding: Resolver = async () => {
      lookups += 1;
      return [{ address: lookups === 1 ? PUBLIC_ADDRESS : '127.0.0.1', family: 4 }];
    };
    const client = new HttpClient({
      provider: 'Input URL',
      lookup: createGuardedLookup({ resolve: rebinding, isBlocked }),
      maxAttempts: 1,
      circuitBreaker: false,
    });
    const url = `http://rebind.test:${internal.port}/`;
    // Act
    await assertUrlAllowed(url, { resolve: rebinding, isBlocked });
    const requested = client.request({ method: 'GET', url, untrustedUrl: true });
    // Assess
    await expect(requested).rejects.toBeInstanceOf(ValidationError);
    expect(lookups).toBe(2);
    expect(internal.connections).toBe(0);
    client.close();
  });
});

describe('SSRF: redirects', () => {
  const targets = (port = internal.port): string[] => [
    ...internalUrls(port),
    `http://internal.test:${port}/`,
    `http://metadata.test/latest/meta-data/`,
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_FLUSHALL',
  ];

  it.each(targets(0).map((url, index) => [url, index]))(
    'refuses a redirect to %s before connecting',
    async (_label, index) => {
      // Prepare
      redirectTo = targets()[index as number] as string;
      const client = guardedClient(3);
      // Act
      const requested = client.request({
        method: 'GET',
        url: `http://public.test:${publicServer.port}/go`,
        untrustedUrl: true,
      });
      // Assess
      await expect(requested, redirectTo).rejects.toMatchObject({
        name: expect.stringMatching(/ValidationError|UnexpectedResponseError/),
      });
      expect(publicServer.requests).toBe(1);
      expect(internal.connections, redirectTo).toBe(0);
      client.close();
    },
  );

  it('drops credentials on a redirect to another origin it is allowed to follow', async () => {
    // Prepare
    hosts['other.test'] = [{ address: PUBLIC_ADDRESS, family: 4 }];
    const seen: (string | undefined)[] = [];
    const other = await listen(PUBLIC_ADDRESS, () => (request, response) => {
      seen.push(request.headers.authorization);
      response.end('ok');
    });
    redirectTo = `http://other.test:${other.port}/landing`;
    const client = new HttpClient({
      provider: 'Input URL',
      lookup,
      maxRedirects: 3,
      maxAttempts: 1,
      circuitBreaker: false,
      auth: {
        apply: async (target) => {
          target.headers['authorization'] = 'Bearer input-url-secret';
        },
      },
    });
    // Act
    const response = await client.request({
      method: 'GET',
      url: `http://public.test:${publicServer.port}/go`,
      untrustedUrl: true,
    });
    client.close();
    await new Promise<void>((resolve) => other.server.close(() => resolve()));
    // Assess
    expect(response.body).toBe('ok');
    expect(seen).toEqual([undefined]);
  });
});

describe('SSRF: schemes', () => {
  it.each(SCHEMES)('refuses %s', async (url) => {
    // Prepare
    const client = guardedClient();
    // Act
    const checked = assertUrlAllowed(url, { resolve: resolver });
    const requested = client.request({ method: 'GET', url, untrustedUrl: true });
    // Assess
    await expect(checked).rejects.toBeInstanceOf(ValidationError);
    await expect(requested).rejects.toBeInstanceOf(ValidationError);
    expect(client.stats.socketsOpened).toBe(0);
    client.close();
  });
});
