import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../../test/peers/aws-endpoint.ts';
import { configureSecrets } from '../secrets.ts';
import { defineConnector } from './define.ts';
import { runSetup } from './setup.ts';

let peer: AwsEndpointPeer;
const prefix = `setup-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  peer = await startAwsEndpointPeer({
    secrets: { [`${prefix}/token`]: 'token-value', [`${prefix}/signing`]: 'signing-value' },
  });
});

afterAll(async () => {
  configureSecrets({});
  await peer.close();
});

beforeEach(() => {
  configureSecrets({
    client: new SecretsManagerClient({
      endpoint: peer.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  });
  peer.secretReads.length = 0;
});

describe('Function: runSetup', () => {
  it('defines the named secrets, prefetches them and hands them to client, services and warmUp', async () => {
    // Prepare
    const seen: string[] = [];
    // Act
    const built = await runSetup(
      {
        secrets: () => ({ token: `${prefix}/token`, signing: `${prefix}/signing`, absent: undefined }),
        secretMaxAgeSeconds: () => 60,
        client: ({ secrets }) => ({ tokenName: secrets.token.name }),
        services: ({ client, secrets }) => ({ both: `${client.tokenName}+${secrets.signing.name}` }),
        warmUp: async ({ services, secrets }) => {
          seen.push(services.both, String(secrets.absent));
        },
      },
      {},
    );
    // Assess
    expect(built.client).toEqual({ tokenName: `${prefix}/token` });
    expect(built.services).toEqual({ both: `${prefix}/token+${prefix}/signing` });
    expect(seen).toEqual([`${prefix}/token+${prefix}/signing`, 'undefined']);
    expect([...peer.secretReads].sort()).toEqual([`${prefix}/signing`, `${prefix}/token`]);
  });

  it('answers no services as an empty object and reads no secret when none is named', async () => {
    // Act
    const built = await runSetup({ client: ({ config }) => ({ config }) }, { A: 1 });
    // Assess
    expect(built).toEqual({ client: { config: { A: 1 } }, services: {} });
    expect(peer.secretReads).toEqual([]);
  });

  it('still builds from the bare function form of setup', async () => {
    // Act
    const built = await runSetup((config: { A: number }) => ({ doubled: config.A * 2 }), { A: 2 });
    // Assess
    expect(built).toEqual({ client: { doubled: 4 }, services: {} });
  });

  it('fails when a step fails, and the connector retries its setup at the next invocation', async () => {
    // Prepare
    let attempts = 0;
    const connector = defineConnector({
      name: `setup-${prefix}`,
      version: '1.0.0',
      config: z.object({}),
      setup: {
        client: () => ({ id: 'client' }),
        services: () => {
          attempts += 1;
          if (attempts === 1) throw new Error('sink not reachable yet');
          return { attempt: attempts };
        },
      },
      operations: (op) => ({
        'which-services': op({
          description: 'Answers what setup built',
          input: z.strictObject({}),
          output: z.object({ client: z.string(), attempt: z.number() }),
          run: async (_input, { client, services }) => ({ client: client.id, attempt: services.attempt }),
        }),
      }),
    });
    // Act
    const first = connector.run('which-services', {});
    // Assess
    await expect(first).rejects.toThrow();
    await expect(connector.run('which-services', {})).resolves.toEqual({ client: 'client', attempt: 2 });
  });
});
