import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkRequest, isLoopbackHost } from '../../scripts/local/guard.ts';

/** Just what the gate reads from a request. */
function incoming(headers: Record<string, string>, url = '/', localPort = 4566): IncomingMessage {
  return { headers, url, socket: { localPort } } as unknown as IncomingMessage;
}

describe('Function: isLoopbackHost', () => {
  it('accepts loopback names and addresses, with or without a port', () => {
    // Act
    const verdicts = [
      'localhost',
      'LOCALHOST:3000',
      'app.localhost:4566',
      '127.0.0.1',
      '127.255.0.9:80',
      '[::1]',
      '[::1]:4566',
    ].map(isLoopbackHost);

    // Assess
    expect(verdicts.every(Boolean)).toBe(true);
  });

  it('refuses every other name, and anything that is not a bare host', () => {
    // Prepare
    const hosts = [
      undefined,
      '',
      'evil.example',
      '127.0.0.1.evil.example',
      'localhost.evil.example',
      'localhost.',
      '.localhost',
      '127.0.0.256',
      '127.1',
      '0.0.0.0',
      '[::ffff:127.0.0.1]',
      '127.0.0.1@evil.example',
      'localhost/evil',
      'localhost:99999999',
      'localhost evil.example',
    ];

    // Act
    const accepted = hosts.filter(isLoopbackHost);

    // Assess
    expect(accepted).toEqual([]);
  });
});

describe('Function: checkRequest', () => {
  it('lets through a loopback Host with no Origin, or with its own origin', () => {
    // Act
    const verdicts = [
      checkRequest(incoming({ host: '127.0.0.1:4566' })),
      checkRequest(incoming({ host: '127.0.0.1:4566', origin: 'http://localhost:4566' })),
      checkRequest(incoming({ host: 'localhost', origin: 'http://localhost' }, '/', 80)),
      checkRequest(incoming({ host: 'localhost:3000', origin: 'http://app.test' }, '/', 3000), [
        'http://app.test',
      ]),
    ];

    // Assess
    expect(verdicts).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('refuses a foreign Origin, a null one, another port, https, and a path-bearing one', () => {
    // Prepare
    const origins = [
      'http://evil.example',
      'null',
      'http://127.0.0.1:3000',
      'https://localhost:4566',
      'http://localhost:4566/x',
    ];

    // Act
    const refusals = origins.map((origin) => checkRequest(incoming({ host: '127.0.0.1:4566', origin })));

    // Assess
    for (const refusal of refusals) expect(refusal?.header).toBe('origin');
  });

  it('refuses a foreign Host, a missing one, and an absolute-form target naming another host', () => {
    // Act
    const refusals = [
      checkRequest(incoming({ host: 'evil.example:4566' })),
      checkRequest(incoming({})),
      checkRequest(incoming({ host: '127.0.0.1:4566' }, 'http://evil.example/2015-03-31/functions')),
    ];

    // Assess
    for (const refusal of refusals) expect(refusal?.header).toBe('host');
    expect(refusals[0]?.message).toContain('"evil.example:4566"');
    expect(refusals[1]?.message).toContain('(none)');
  });

  it('quotes a refused value short and printable', () => {
    // Act
    const refusal = checkRequest(
      incoming({ host: '127.0.0.1', origin: `http://${'a'.repeat(300)}.example` }),
    );

    // Assess
    expect(refusal?.message).toContain(`${'a'.repeat(93)}..."`);
    expect(refusal?.message.length).toBeLessThan(400);
  });
});
