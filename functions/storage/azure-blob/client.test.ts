import { randomUUID } from 'node:crypto';
import {
  AuthError,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeObjectStorageConformance } from '#shared/interfaces/object-storage.conformance.ts';
import { type AzuritePeer, startAzurite } from '../../../test/peers/azurite.ts';
import { parseCredential } from './auth.ts';
import { AzureBlobStorage } from './client.ts';

describeObjectStorageConformance('AzureBlobStorage on azurite (Shared Key)', async () => {
  const peer = await startAzurite({ containers: ['conformance'] });
  const storage = new AzureBlobStorage({
    container: 'conformance',
    credentials: { credential: parseCredential(peer.connectionString, 'test') },
  });
  return { storage, disallowedBucket: 'elsewhere', close: peer.close };
});

describe('Class: AzureBlobStorage', () => {
  let peer: AzuritePeer;
  let storage: AzureBlobStorage;
  const prefix = `unit-${randomUUID()}/`;

  beforeAll(async () => {
    peer = await startAzurite({ containers: ['data', 'archive'] });
    storage = new AzureBlobStorage({
      container: 'data',
      allowedContainers: ['archive', 'ghost'],
      credentials: { credential: parseCredential(peer.connectionString, 'test') },
      maxBytes: 16,
    });
  });

  afterAll(async () => {
    await peer?.close();
  });

  describe('Method: putObject', () => {
    it('defaults the media type by encoding and keeps Cache-Control and the tier', async () => {
      // Act
      await storage.putObject({
        key: `${prefix}types/text`,
        body: 'hi',
        cacheControl: 'max-age=60',
        accessTier: 'Cool',
      });
      await storage.putObject({ key: `${prefix}types/binary`, body: 'AAE=', encoding: 'base64' });
      // Assess
      await expect(storage.headObject({ key: `${prefix}types/text` })).resolves.toMatchObject({
        contentType: 'text/plain; charset=utf-8',
      });
      await expect(storage.headObject({ key: `${prefix}types/binary` })).resolves.toMatchObject({
        contentType: 'application/octet-stream',
        size: 2,
      });
    });

    it('writes to another allowed container and refuses one outside the list without calling Azure', async () => {
      // Act
      const put = await storage.putObject({ bucket: 'archive', key: `${prefix}old.txt`, body: '1' });
      const refused = storage.putObject({ bucket: 'payroll', key: 'x', body: 'x' });
      // Assess
      expect(put.bucket).toBe('archive');
      await expect(refused).rejects.toBeInstanceOf(ForbiddenError);
      await expect(refused).rejects.toThrow('Container "payroll" is not one of the allowed containers');
    });

    it('refuses a container name Azure refuses (dots, two hyphens in a row) as a ValidationError naming the field', async () => {
      // Act
      const dotted = storage.putObject({ bucket: 'my.archive', key: 'x', body: 'x' });
      const hyphens = storage.copyObject({ sourceBucket: 'no--such', sourceKey: 'x', key: 'y' });
      // Assess
      await expect(dotted).rejects.toBeInstanceOf(ValidationError);
      await expect(dotted).rejects.toMatchObject({
        issues: [{ pointer: '/bucket', message: expect.stringContaining('no dots') }],
      });
      await expect(hyphens).rejects.toMatchObject({
        issues: [{ pointer: '/sourceBucket', message: expect.stringContaining('no two hyphens in a row') }],
      });
    });

    it('refuses a key of more than 254 path segments (Azure names at most 254) naming the field, before any call', async () => {
      // Prepare: 255 segments, 510 bytes, within the shared 1,024-byte key limit.
      const deep = `${'d/'.repeat(254)}x`;
      const fits = `${prefix}${'d/'.repeat(252)}x`; // 254 segments
      // Act
      const put = await storage.putObject({ key: deep, body: 'x' }).catch((error: unknown) => error);
      const copy = await storage
        .copyObject({ sourceKey: deep, key: `${prefix}copy.txt` })
        .catch((error: unknown) => error);
      const kept = await storage.putObject({ key: fits, body: 'x' });
      // Assess
      expect(put).toBeInstanceOf(ValidationError);
      expect(put).toMatchObject({
        issues: [{ pointer: '/key', message: 'expected at most 254 path segments (Azure), got 255' }],
      });
      expect(copy).toMatchObject({ issues: [{ pointer: '/sourceKey' }] });
      await expect(
        storage.headObject({ key: deep }).catch((error: unknown) => error),
      ).resolves.toBeInstanceOf(ValidationError);
      expect(kept.key).toBe(fits);
      await storage.deleteObject({ key: fits });
    });

    it('throws NotFoundError naming the container when an allowed container does not exist', async () => {
      // Act
      const failure = storage.putObject({ bucket: 'ghost', key: 'x', body: 'x' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(NotFoundError);
      await expect(failure).rejects.toThrow('container "ghost"');
    });
  });

  describe('Method: getObject', () => {
    it('answers a blob over maxBytes with a SAS URL that downloads it without credentials', async () => {
      // Prepare
      const key = `${prefix}large.txt`;
      await storage.putObject({ key, body: 'x'.repeat(17) });
      // Act
      const got = await storage.getObject({ key });
      // Assess
      expect(got).toMatchObject({ tooLarge: true, size: 17 });
      if (!got.tooLarge) return;
      expect(new URL(got.url).searchParams.get('sp')).toBe('r');
      await expect(fetch(got.url).then((response) => response.text())).resolves.toBe('x'.repeat(17));
    });

    it('refuses utf8 for bytes that are not UTF-8 and falls back to base64 by default', async () => {
      // Prepare
      const key = `${prefix}bytes.txt`;
      await storage.putObject({ key, body: '/w==', encoding: 'base64', contentType: 'text/plain' });
      // Act
      const asked = await storage.getObject({ key, encoding: 'utf8' }).catch((error: unknown) => error);
      const plain = await storage.getObject({ key });
      // Assess
      expect(asked).toBeInstanceOf(ValidationError);
      expect(plain).toMatchObject({ encoding: 'base64', body: '/w==' });
    });
  });

  describe('Method: presignUrl', () => {
    it('signs a PUT for create and write only, answering the blob-type header Azure needs', async () => {
      // Act
      const put = await storage.presignUrl({
        key: `${prefix}up.csv`,
        method: 'PUT',
        contentType: 'text/csv',
      });
      const upload = await fetch(put.url, { method: 'PUT', body: 'a,b', headers: put.headers });
      // Assess
      expect(put.headers).toEqual({ 'x-ms-blob-type': 'BlockBlob', 'content-type': 'text/csv' });
      expect(new URL(put.url).searchParams.get('sp')).toBe('cw');
      expect(upload.status).toBe(201);
      await expect(storage.headObject({ key: `${prefix}up.csv` })).resolves.toMatchObject({
        contentType: 'text/csv',
      });
    });

    it('refuses contentType on a GET URL', async () => {
      // Act
      const failure = storage.presignUrl({ key: 'x', method: 'GET', contentType: 'text/csv' });
      // Assess
      await expect(failure).rejects.toMatchObject({ issues: [{ pointer: '/contentType' }] });
    });
  });

  describe('Method: copyObject', () => {
    it('copies across allowed containers, keeping the source', async () => {
      // Prepare
      await storage.putObject({ key: `${prefix}to-archive.txt`, body: 'keep', metadata: { a: '1' } });
      // Act
      const copy = await storage.copyObject({
        sourceKey: `${prefix}to-archive.txt`,
        bucket: 'archive',
        key: `${prefix}archived.txt`,
      });
      // Assess
      expect(copy).toMatchObject({ bucket: 'archive', key: `${prefix}archived.txt` });
      expect(copy.etag).toMatch(/^0x/);
      await expect(
        storage.getObject({ bucket: 'archive', key: `${prefix}archived.txt` }),
      ).resolves.toMatchObject({
        body: 'keep',
        metadata: { a: '1' },
      });
    });
  });

  describe('Method: copyObject (what Copy Blob and Set Blob Properties do by default)', () => {
    /** The copy's properties as Azure holds them (Get Blob Properties through the SDK). */
    const held = async (key: string) => {
      const credential = parseCredential(peer.connectionString, 'test');
      if (credential.kind !== 'shared-key') throw new Error('expected a shared key');
      const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
      const service = new BlobServiceClient(
        credential.endpoint,
        new StorageSharedKeyCredential(credential.accountName, credential.accountKey),
      );
      return service.getContainerClient('data').getBlobClient(key).getProperties();
    };

    it('replaces the metadata with none when given an empty object (Copy Blob alone keeps the source metadata)', async () => {
      // Prepare
      await storage.putObject({ key: `${prefix}tagged.txt`, body: 'x', metadata: { owner: 'payroll' } });
      // Act
      await storage.copyObject({
        sourceKey: `${prefix}tagged.txt`,
        key: `${prefix}untagged.txt`,
        metadata: {},
      });
      // Assess
      expect((await storage.headObject({ key: `${prefix}untagged.txt` })).metadata).toEqual({});
      await expect(storage.headObject({ key: `${prefix}tagged.txt` })).resolves.toMatchObject({
        metadata: { owner: 'payroll' },
      });
    });

    it('replaces only the media type, keeping Cache-Control and Content-MD5 (Set Blob Properties clears what it is not sent)', async () => {
      // Prepare
      await storage.putObject({ key: `${prefix}cached.txt`, body: 'a,b', cacheControl: 'max-age=60' });
      const source = await held(`${prefix}cached.txt`);
      // Act
      const copy = await storage.copyObject({
        sourceKey: `${prefix}cached.txt`,
        key: `${prefix}cached.csv`,
        contentType: 'text/csv',
      });
      // Assess
      const properties = await held(`${prefix}cached.csv`);
      expect(properties.contentType).toBe('text/csv');
      expect(properties.cacheControl).toBe('max-age=60');
      expect(properties.contentMD5).toEqual(source.contentMD5);
      expect(copy.etag).toBe(properties.etag?.replaceAll('"', ''));
    });
  });

  describe('Method: checkContainer', () => {
    it('passes for the container and fails for a missing one', async () => {
      // Prepare
      const missing = new AzureBlobStorage({
        container: 'ghost',
        credentials: { credential: parseCredential(peer.connectionString, 'test') },
      });
      // Act & Assess
      await expect(storage.checkContainer()).resolves.toBeUndefined();
      await expect(missing.checkContainer()).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('Credentials', () => {
    it('throws AuthError for a wrong account key, naming neither key nor signature', async () => {
      // Prepare
      const wrong = new AzureBlobStorage({
        container: 'data',
        credentials: {
          credential: {
            kind: 'shared-key',
            endpoint: peer.endpoint,
            accountName: peer.accountName,
            accountKey: Buffer.alloc(64, 1).toString('base64'),
          },
        },
      });
      // Act
      const failure = await wrong.getObject({ key: 'x' }).catch((error: unknown) => error);
      const head = await wrong.headObject({ key: 'x' }).catch((error: unknown) => error);
      // Assess
      expect(failure).toBeInstanceOf(AuthError);
      expect(failure).not.toBeInstanceOf(ForbiddenError);
      expect(head).toBeInstanceOf(AuthError);
      // Azure says AuthenticationFailed; azurite says AuthorizationFailure for a wrong signature.
      expect((failure as Error).message).toMatch(/AuthenticationFailed|AuthorizationFailure/);
      expect(JSON.stringify((failure as AuthError).details)).not.toContain(peer.accountKey);
    });

    it('works with a SAS credential and refuses presigned URLs with NotSupportedError', async () => {
      // Prepare
      const {
        generateAccountSASQueryParameters,
        AccountSASPermissions,
        AccountSASResourceTypes,
        AccountSASServices,
        SASProtocol,
        StorageSharedKeyCredential,
      } = await import('@azure/storage-blob');
      const sas = generateAccountSASQueryParameters(
        {
          permissions: AccountSASPermissions.parse('rwdlc'),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse('b').toString(),
          expiresOn: new Date(Date.now() + 600_000),
          protocol: SASProtocol.HttpsAndHttp,
        },
        new StorageSharedKeyCredential(peer.accountName, peer.accountKey),
      ).toString();
      const viaSas = new AzureBlobStorage({
        container: 'data',
        credentials: {
          credential: parseCredential(`BlobEndpoint=${peer.endpoint};SharedAccessSignature=${sas}`, 'test'),
        },
        maxBytes: 4,
      });
      // Act
      await viaSas.putObject({ key: `${prefix}sas.txt`, body: 'via sas' });
      const listed = await viaSas.listObjects({ prefix: `${prefix}sas` });
      const presign = viaSas.presignUrl({ key: `${prefix}sas.txt` });
      const large = viaSas.getObject({ key: `${prefix}sas.txt` });
      // Assess
      expect(listed.objects.map((object) => object.key)).toEqual([`${prefix}sas.txt`]);
      await expect(presign).rejects.toBeInstanceOf(NotSupportedError);
      await expect(large).rejects.toBeInstanceOf(NotSupportedError);
    });
  });
});
