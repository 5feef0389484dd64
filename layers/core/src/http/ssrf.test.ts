import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UnavailableError, ValidationError } from '../errors.ts';
import {
  assertUrlAllowed,
  assertUrlSyntaxAllowed,
  createGuardedLookup,
  guardedLookup,
  isBlockedAddress,
  type Resolver,
} from './ssrf.ts';

const resolvingTo =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

/** Calls a lookup function and returns what its callback received. */
function callLookup(
  lookup: LookupFunction,
  hostname: string,
  options: { all?: boolean; family?: number } = {},
): Promise<{
  error: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number | undefined;
}> {
  return new Promise((resolve) => {
    lookup(hostname, options, (error, address, family) => resolve({ error, address, family }));
  });
}

describe('Function: isBlockedAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '[::ffff:a9fe:a9fe]',
    '::ffff:0:7f00:1',
    '64:ff9b::7f00:1',
    '64:ff9b::10.0.0.1',
    '2002:7f00:1::1',
    '2001:db8::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    // Act & Assess
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '93.184.215.14',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('allows the public address %s', (address) => {
    // Act & Assess
    expect(isBlockedAddress(address)).toBe(false);
  });
});

describe('Function: assertUrlSyntaxAllowed', () => {
  it.each([
    ['file:///etc/passwd', 'scheme file:'],
    ['ftp://example.com/x', 'scheme ftp:'],
    ['gopher://example.com/', 'scheme gopher:'],
    ['data:text/plain,hi', 'scheme data:'],
    ['http://localhost:9001/2018-06-01/runtime/invocation/next', 'localhost is a local host name'],
    ['http://LOCALHOST.:2773/', 'localhost. is a local host name'],
    ['http://metadata.localhost/', 'metadata.localhost is a local host name'],
    ['http://127.0.0.1/', '127.0.0.1 is a private or reserved address'],
    ['http://2130706433/', '127.0.0.1 is a private or reserved address'],
    ['http://0x7f.1/', '127.0.0.1 is a private or reserved address'],
    ['http://017700000001/', '127.0.0.1 is a private or reserved address'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is a private or reserved address'],
    ['http://[::1]:8080/', '::1 is a private or reserved address'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is a private or reserved address'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', '::ffff:7f00:1 is a private or reserved address'],
    ['http://[fd00::1]/', 'fd00::1 is a private or reserved address'],
  ])('refuses %s', (url, reason) => {
    // Act
    const act = () => assertUrlSyntaxAllowed(url);

    // Assess
    expect(act).toThrow(ValidationError);
    expect(act).toThrow(reason);
  });

  it('refuses a string that is not an absolute URL', () => {
    // Act & Assess
    expect(() => assertUrlSyntaxAllowed('/relative/path')).toThrow('URL refused: not a valid absolute URL');
  });

  it('returns the parsed URL of a public https URL', () => {
    // Act
    const url = assertUrlSyntaxAllowed('https://hooks.example.com/T1/B2?x=1');

    // Assess
    expect(url.hostname).toBe('hooks.example.com');
    expect(url.search).toBe('?x=1');
  });

  it('puts neither the query nor the credentials of the URL into the message', () => {
    // Act
    const act = () => assertUrlSyntaxAllowed('http://user:hunter2@127.0.0.1/?api_key=s3cr3t');

    // Assess
    expect(act).toThrow(/^URL refused: 127\.0\.0\.1 is a private or reserved address$/);
  });
});

describe('Function: assertUrlAllowed', () => {
  it('refuses a host name that resolves to a private address', async () => {
    // Act
    const check = assertUrlAllowed('https://intranet.example.com/', { resolve: resolvingTo('10.0.0.8') });

    // Assess
    await expect(check).rejects.toThrow(
      new ValidationError('URL refused: intranet.example.com resolves to a private or reserved address'),
    );
  });

  it('refuses a host name when any one of its addresses is private', async () => {
    // Act
    const check = assertUrlAllowed('https://mixed.example.com/', {
      resolve: resolvingTo('93.184.215.14', '::1'),
    });

    // Assess
    await expect(check).rejects.toBeInstanceOf(ValidationError);
  });

  it('accepts a host name that resolves to public addresses only', async () => {
    // Act
    const check = assertUrlAllowed('https://api.example.com/', {
      resolve: resolvingTo('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'),
    });

    // Assess
    await expect(check).resolves.toBeUndefined();
  });

  it('checks a literal public IP without resolving it', async () => {
    // Prepare
    const resolve: Resolver = async () => {
      throw new Error('must not resolve');
    };

    // Act
    const check = assertUrlAllowed('http://93.184.215.14/', { resolve });

    // Assess
    await expect(check).resolves.toBeUndefined();
  });

  it('refuses a host name that does not resolve', async () => {
    // Prepare
    const resolve: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };

    // Act
    const check = assertUrlAllowed('https://nowhere.example/', { resolve });

    // Assess
    await expect(check).rejects.toThrow(new ValidationError('URL refused: nowhere.example does not resolve'));
  });

  it('refuses a host name that resolves to no address at all', async () => {
    // Act
    const check = assertUrlAllowed('https://empty.example/', { resolve: async () => [] });

    // Assess
    await expect(check).rejects.toThrow('does not resolve');
  });

  it('throws UnavailableError when the resolver fails for another reason', async () => {
    // Prepare
    const resolve: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };

    // Act
    const check = assertUrlAllowed('https://flaky.example/', { resolve });

    // Assess
    await expect(check).rejects.toBeInstanceOf(UnavailableError);
  });

  it('applies the syntax checks first', async () => {
    // Act & Assess
    await expect(assertUrlAllowed('http://[::1]/')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('Function: createGuardedLookup', () => {
  it('answers every address when asked for all', async () => {
    // Prepare
    const lookup = createGuardedLookup({ resolve: resolvingTo('93.184.215.14', '2606:4700::1') });

    // Act
    const result = await callLookup(lookup, 'api.example.com', { all: true });

    // Assess
    expect(result.error).toBeNull();
    expect(result.address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:4700::1', family: 6 },
    ]);
  });

  it('answers the first address and its family when asked for one', async () => {
    // Prepare
    const lookup = createGuardedLookup({ resolve: resolvingTo('93.184.215.14') });

    // Act
    const result = await callLookup(lookup, 'api.example.com');

    // Assess
    expect(result).toEqual({ error: null, address: '93.184.215.14', family: 4 });
  });

  it('passes the requested family to the resolver', async () => {
    // Prepare
    const families: number[] = [];
    const lookup = createGuardedLookup({
      resolve: async (_host, family) => {
        families.push(family);
        return [{ address: '2606:4700::1', family: 6 }];
      },
    });

    // Act
    await callLookup(lookup, 'a.example', { family: 6 });
    await callLookup(lookup, 'a.example', {});

    // Assess
    expect(families).toEqual([6, 0]);
  });

  it('fails with ValidationError when the name resolves to a blocked address (DNS rebinding)', async () => {
    // Prepare
    let calls = 0;
    const lookup = createGuardedLookup({
      resolve: async () => {
        calls += 1;
        return [{ address: calls === 1 ? '93.184.215.14' : '169.254.169.254', family: 4 }];
      },
    });

    // Act
    const first = await callLookup(lookup, 'rebind.example', { all: true });
    const second = await callLookup(lookup, 'rebind.example', { all: true });

    // Assess
    expect(first.error).toBeNull();
    expect(second.error).toBeInstanceOf(ValidationError);
    expect(second.error?.message).toBe(
      'URL refused: rebind.example resolves to a private or reserved address',
    );
  });

  it('uses an injected blocking rule', async () => {
    // Prepare
    const lookup = createGuardedLookup({ resolve: resolvingTo('127.0.0.1'), isBlocked: () => false });

    // Act
    const result = await callLookup(lookup, 'local.test');

    // Assess
    expect(result.error).toBeNull();
    expect(result.address).toBe('127.0.0.1');
  });
});

describe('Constant: guardedLookup', () => {
  it('refuses localhost without asking DNS', async () => {
    // Act
    const result = await callLookup(guardedLookup, 'localhost', { all: true });

    // Assess
    expect(result.error?.message).toBe('URL refused: localhost is a local host name');
  });

  it('refuses a blocked literal IP and passes a public one through', async () => {
    // Act
    const blocked = await callLookup(guardedLookup, '10.0.0.1', { all: true });
    const open = await callLookup(guardedLookup, '93.184.215.14', { all: true });

    // Assess
    expect(blocked.error).toBeInstanceOf(ValidationError);
    expect(open.address).toEqual([{ address: '93.184.215.14', family: 4 }]);
  });
});
