/**
 * Object names that are not plain ASCII, or hold characters URLs reserve, through GcsStorage to the GCS
 * contract fake. Google's "Encoding URI path parts": an object name in a JSON API path is percent-encoded
 * as a whole, `/` included (`a/b` is `a%2Fb`); query parameters are form-encoded, so a `+` in a prefix
 * is `%2B`, not a space. Names are bytes of UTF-8, not normalised: NFC and NFD spellings are two objects.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GcsFakeState, newServiceAccount, startGcsFake } from '../../../scripts/local/sandboxes/gcs.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { serviceAccountAuth } from './auth.ts';
import { GcsStorage, gcsApi } from './client.ts';
import { memorySecret } from './testing/memory-secret.ts';

/** Google's rule for a path part: every byte but RFC 3986's unreserved characters percent-encoded. */
const pathPart = (name: string): string =>
  encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const NAMES = [
  'reports/q1 summary #1?.txt',
  'a+b%20c%2Fd.txt',
  'ünïcødé/日本語/☃ 🎉.txt',
  "brackets/[x] (y) {z} 'q' !*.txt",
  'semi;colon=eq&amp,comma@at:colon$.txt',
];

describe('Class: GcsStorage, names beyond plain ASCII', () => {
  let fake: FakeServer<GcsFakeState>;
  let storage: GcsStorage;

  beforeAll(async () => {
    fake = await startGcsFake({ buckets: ['data', 'archive'] });
  });

  beforeEach(() => {
    fake.reset();
    const account = newServiceAccount(
      `names-${randomUUID().slice(0, 8)}@circle.iam.gserviceaccount.com`,
      `${fake.url}/token`,
    );
    fake.state.accounts.set(account.email, account.publicKey);
    const secret = memorySecret('test/gcs/service-account', account.keyFile);
    const rest = gcsApi.client({ baseUrl: fake.url, auth: serviceAccountAuth(secret), coordination: false });
    storage = new GcsStorage({
      rest,
      credentials: secret,
      endpoint: fake.url,
      bucket: 'data',
      allowedBuckets: ['archive'],
      maxBytes: 1024,
    });
  });

  afterAll(async () => {
    await fake?.close();
  });

  it.each(NAMES)(
    'round-trips %j: the whole name encoded once in every path, answered as given',
    async (name) => {
      // Act
      const put = await storage.putObject({ key: name, body: name, metadata: { note: 'a=b; c, d%2F+e #f' } });
      const head = await storage.headObject({ key: name });
      const got = await storage.getObject({ key: name });
      const listed = await storage.listObjects({ prefix: name });
      const copy = await storage.copyObject({ sourceKey: name, bucket: 'archive', key: name });
      const signed = await storage.presignUrl({ key: name, expiresIn: 60 });
      const download = await fetch(signed.url);
      await storage.deleteObject({ key: name });
      // Assess
      expect(put.key).toBe(name);
      expect(head).toMatchObject({ key: name, metadata: { note: 'a=b; c, d%2F+e #f' } });
      expect(got).toMatchObject({ key: name, tooLarge: false, body: name });
      expect(listed.objects.map((object) => object.key)).toEqual([name]);
      expect(copy.key).toBe(name);
      expect(fake.state.buckets.get('archive')?.get(name)?.metadata).toEqual({ note: 'a=b; c, d%2F+e #f' });
      expect(download.status).toBe(200);
      expect(await download.text()).toBe(name);
      expect(fake.state.buckets.get('data')?.has(name)).toBe(false);
      const encoded = `/storage/v1/b/data/o/${pathPart(name)}`;
      expect(fake.logFor('get-object').map((entry) => entry.path)).toEqual([encoded, encoded, encoded]);
      expect(fake.logFor('delete-object').map((entry) => entry.path)).toEqual([encoded]);
      expect(fake.logFor('rewrite-object').map((entry) => entry.path)).toEqual([
        `${encoded}/rewriteTo/b/archive/o/${pathPart(name)}`,
      ]);
      expect(fake.logFor('list-objects').map((entry) => entry.query['prefix'])).toEqual([name]);
      // The signed URL keeps `/` as a separator (the XML API's path), every other reserved byte encoded.
      expect(new URL(signed.url).pathname).toBe(`/data/${pathPart(name).replaceAll('%2F', '/')}`);
    },
  );

  it('never encodes twice: a literal "%2F" in a name is sent as "%252F" and stays a literal', async () => {
    // Act
    await storage.putObject({ key: 'x%2Fy', body: 'literal' });
    const got = await storage.getObject({ key: 'x%2Fy' });
    const slash = await storage.getObject({ key: 'x/y' }).catch((e: unknown) => e);
    // Assess
    expect(got).toMatchObject({ key: 'x%2Fy', body: 'literal' });
    expect(fake.logFor('get-object')[0]?.path).toBe('/storage/v1/b/data/o/x%252Fy');
    expect((slash as Error).name).toBe('NotFoundError');
  });

  it('keeps NFC and NFD spellings apart, as Google does (names are not normalised)', async () => {
    // Prepare
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    // Act
    await storage.putObject({ key: nfc, body: 'composed' });
    await storage.putObject({ key: nfd, body: 'decomposed' });
    const composed = await storage.getObject({ key: nfc });
    const decomposed = await storage.getObject({ key: nfd });
    const listed = await storage.listObjects({ prefix: 'caf' });
    // Assess
    expect(composed).toMatchObject({ key: nfc, body: 'composed' });
    expect(decomposed).toMatchObject({ key: nfd, body: 'decomposed' });
    expect(listed.objects.map((object) => object.key).sort()).toEqual([nfd, nfc].sort());
  });

  it('sends a "+" in a prefix as %2B, so it is not read as a space', async () => {
    // Prepare
    await storage.putObject({ key: 'c++/main.cc', body: 'int main() {}' });
    await storage.putObject({ key: 'c  /other.cc', body: 'x' });
    // Act
    const listed = await storage.listObjects({ prefix: 'c++/' });
    // Assess
    expect(listed.objects.map((object) => object.key)).toEqual(['c++/main.cc']);
    expect(fake.log.at(-1)?.path).toBe('/storage/v1/b/data/o');
  });
});
