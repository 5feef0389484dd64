import { ConfigurationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { parseCredential } from './auth.ts';

const KEY = Buffer.alloc(32, 3).toString('base64');
const SAS = 'sv=2025-11-05&ss=b&srt=sco&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=abc%3D';

describe('Function: parseCredential', () => {
  it('reads a connection string with an account key, deriving the endpoint', () => {
    // Act
    const credential = parseCredential(
      `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${KEY};EndpointSuffix=core.windows.net`,
      's',
    );
    // Assess
    expect(credential).toEqual({
      kind: 'shared-key',
      endpoint: 'https://acme.blob.core.windows.net',
      accountName: 'acme',
      accountKey: KEY,
    });
  });

  it('reads a SAS connection string and JSON forms, the setting winning over the endpoint', () => {
    // Act
    const sas = parseCredential(
      `BlobEndpoint=https://acme.blob.core.windows.net/;SharedAccessSignature=${SAS}`,
      's',
    );
    const json = parseCredential(
      JSON.stringify({ accountName: 'acme', sasToken: `?${SAS}` }),
      's',
      'http://127.0.0.1:1/acme/',
    );
    const wrapped = parseCredential(
      JSON.stringify({ connectionString: `AccountName=acme;AccountKey=${KEY}` }),
      's',
    );
    // Assess
    expect(sas).toEqual({ kind: 'sas', endpoint: 'https://acme.blob.core.windows.net', sasToken: SAS });
    expect(json).toEqual({ kind: 'sas', endpoint: 'http://127.0.0.1:1/acme', sasToken: SAS });
    expect(wrapped).toMatchObject({ kind: 'shared-key', endpoint: 'https://acme.blob.core.windows.net' });
  });

  it.each([
    ['not json', '{"accountName":', 'is not valid JSON'],
    ['no pairs', 'just-text', 'is not a connection string'],
    ['no account', `AccountKey=${KEY}`, 'without AccountName or BlobEndpoint'],
    ['no key or sas', 'AccountName=acme', 'neither AccountName+AccountKey nor SharedAccessSignature'],
    ['bad field', JSON.stringify({ accountName: 'Acme!', accountKey: KEY }), 'check: accountName'],
    ['sas without place', JSON.stringify({ sasToken: SAS }), 'without accountName or endpoint'],
  ])('throws ConfigurationError for %s, naming the secret and never the value', (_case, text, message) => {
    // Act
    const failure = (() => {
      try {
        return parseCredential(text, 'prod/azure');
      } catch (error) {
        return error;
      }
    })();
    // Assess
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect((failure as Error).message).toContain('prod/azure');
    expect((failure as Error).message).toContain(message);
    expect((failure as Error).message).not.toContain(KEY);
  });
});
