import {
  ConflictError,
  ForbiddenError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AzuritePeer, startAzurite } from '../../../test/peers/azurite.ts';
import { AzureBlobStorage } from './client.ts';
import { azureFailure } from './errors.ts';
import { type FaultProxy, startFaultProxy } from './testing/fault-proxy.ts';

describe('Class: AzureBlobStorage (provider faults)', () => {
  let peer: AzuritePeer;
  let proxy: FaultProxy;
  let storage: AzureBlobStorage;

  beforeAll(async () => {
    peer = await startAzurite({ containers: ['data'] });
    proxy = await startFaultProxy(peer.endpoint);
    storage = new AzureBlobStorage({
      container: 'data',
      credentials: {
        credential: {
          kind: 'shared-key',
          endpoint: proxy.endpoint,
          accountName: peer.accountName,
          accountKey: peer.accountKey,
        },
      },
      timeoutMs: 1500,
      maxAttempts: 3,
    });
  });

  beforeEach(() => {
    proxy.reset();
  });

  afterAll(async () => {
    await proxy?.close();
    await peer?.close();
  });

  it('succeeds after the SDK retries 503 ServerBusy and a 500', async () => {
    // Prepare
    proxy.script({ status: 503, code: 'ServerBusy' }, { status: 500, code: 'InternalError' });
    // Act
    const put = await storage.putObject({ key: 'retried.txt', body: 'ok' });
    // Assess
    expect(put.etag).toMatch(/^0x/);
    expect(proxy.seen.filter((line) => line.startsWith('PUT'))).toHaveLength(3);
  });

  it('throws RateLimitedError with the wait when Azure stays busy', async () => {
    // Prepare
    const busy = { status: 503, code: 'ServerBusy', headers: { 'retry-after': '7' } };
    proxy.script(busy, busy, busy);
    // Act
    const failure = await storage.headObject({ key: 'busy.txt' }).catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(RateLimitedError);
    expect(failure).toMatchObject({ retryAfterMs: 7000 });
  });

  it('throws UnavailableError when Azure keeps failing', async () => {
    // Prepare
    const down = { status: 500, code: 'InternalError' };
    proxy.script(down, down, down);
    // Act
    const failure = storage.getObject({ key: 'down.txt' });
    // Assess
    await expect(failure).rejects.toBeInstanceOf(UnavailableError);
    await expect(failure).rejects.toThrow('InternalError');
  });

  it('throws TimeoutError when Azure does not answer within the budget', async () => {
    // Prepare
    proxy.script({ hang: true });
    // Act
    const failure = await storage.headObject({ key: 'slow.txt' }).catch((error: unknown) => error);
    // Assess
    expect(failure).toBeInstanceOf(TimeoutError);
  });

  it('throws UnexpectedResponseError for a listing that is not Azure XML', async () => {
    // Prepare
    proxy.script({ status: 200, body: '<EnumerationResults><Blobs><Blob>', contentType: 'application/xml' });
    // Act
    const failure = storage.listObjects({});
    // Assess
    await expect(failure).rejects.toBeInstanceOf(UnexpectedResponseError);
  });

  it('reads CannotVerifyCopySource by its status: 500 (not verified in time) is unavailable, 403 forbidden', async () => {
    // Prepare: Azure documents the code as a 500; it also comes as a 403 for a source the request may not read
    await storage.putObject({ key: 'copy-source.txt', body: 'x' });
    const unverified = { status: 500, code: 'CannotVerifyCopySource' };
    proxy.script(unverified, unverified, unverified, { status: 403, code: 'CannotVerifyCopySource' });
    // Act
    const slow = await storage
      .copyObject({ sourceKey: 'copy-source.txt', key: 'copy-a.txt' })
      .catch((caught: unknown) => caught);
    const denied = await storage
      .copyObject({ sourceKey: 'copy-source.txt', key: 'copy-b.txt' })
      .catch((caught: unknown) => caught);
    // Assess
    expect(slow).toBeInstanceOf(UnavailableError);
    expect(denied).toBeInstanceOf(ForbiddenError);
    expect((denied as Error).message).toContain('the copy source could not be read');
  });

  it('maps a 412 ConditionNotMet to ConflictError', async () => {
    // Prepare
    proxy.script({ status: 412, code: 'ConditionNotMet' });
    // Act
    const failure = storage.putObject({ key: 'cond.txt', body: 'x', onlyIfAbsent: true });
    // Assess
    await expect(failure).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('Function: azureFailure', () => {
  const target = { action: 'GetBlob', container: 'data', key: 'a.txt' };

  it('reads the status when the code has no row, and a network code when nothing answered', () => {
    // Act
    const invalid = azureFailure(target, { name: 'RestError', statusCode: 400, code: 'Unheard' });
    const refused = azureFailure(target, { name: 'RestError', code: 'ECONNREFUSED' });
    const unknown = azureFailure(target, new Error('boom'));
    // Assess
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(refused).toBeInstanceOf(UnavailableError);
    expect(unknown.constructor.name).toBe('ConnectorError');
    expect(unknown.expose).toBe(false);
  });

  it('reads each status without a code, and keeps only well-formed codes and request ids in the details', () => {
    // Prepare
    const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name] });
    // Act
    const kinds = [401, 403, 404, 409, 412, 413, 429, 503, 302].map(
      (statusCode) => azureFailure(target, { name: 'RestError', statusCode }).name,
    );
    const odd = azureFailure(target, {
      name: 'RestError',
      statusCode: 500,
      code: 'bad code <script>',
      response: { headers: headers({ 'x-ms-request-id': 'not an id!' }) },
    });
    const busy = azureFailure(target, {
      name: 'RestError',
      statusCode: 503,
      code: 'ServerBusy',
      response: { headers: headers({ 'retry-after': 'soon', 'x-ms-request-id': 'abc-123' }) },
    });
    const aborted = azureFailure({ action: 'ListBlobs', container: 'data' }, { name: 'AbortError' });
    const passed = azureFailure(target, new ValidationError('kept'));
    // Assess
    expect(kinds).toEqual([
      'AuthError',
      'AuthError',
      'NotFoundError',
      'ConflictError',
      'ConflictError',
      'ValidationError',
      'RateLimitedError',
      'UnavailableError',
      'UnexpectedResponseError',
    ]);
    expect(odd.details).toEqual({
      service: 'Azure Blob',
      action: 'GetBlob',
      container: 'data',
      httpStatus: 500,
    });
    expect(odd.message).toContain('(HTTP 500)');
    expect(busy).toMatchObject({ retryAfterMs: undefined, details: { requestId: 'abc-123' } });
    expect(aborted).toBeInstanceOf(TimeoutError);
    expect(aborted.message).toBe('Azure Blob ListBlobs on container "data" timed out');
    expect(passed.message).toBe('kept');
  });
});
