/**
 * `chunkObject`'s refusal of part keys over the 1,024-byte limit, on a store that records its calls: the
 * refusal names the caller's fields, counts bytes of UTF-8 (not characters), and comes before the read when
 * the key alone is too long, before any write when the object's version makes it so.
 */
import { ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { ChunkObjectInput } from '../models/object-chunks.ts';
import { chunkObject } from './object-chunks.ts';
import type { ObjectStorage } from './object-storage.ts';

/** A store of one object whose version is `version`, recording every call made to it. */
function recordingStore(version: string): { store: ObjectStorage; calls: string[] } {
  const calls: string[] = [];
  const store = {
    getObject: async (input: { key: string }) => {
      calls.push(`get ${input.key}`);
      return {
        bucket: 'data',
        key: input.key,
        size: 4,
        etag: version,
        tooLarge: false,
        body: 'text',
        encoding: 'utf8',
      };
    },
    putObject: async (input: { key: string }) => {
      calls.push(`put ${input.key}`);
      return { bucket: 'data', key: input.key, etag: 'e' };
    },
  } as unknown as ObjectStorage;
  return { store, calls };
}

describe('Function: chunkObject, part key length', () => {
  it('refuses a key of 500 two-byte characters (1,000 bytes) before reading it', async () => {
    // Prepare
    const { store, calls } = recordingStore('v1');
    const input = ChunkObjectInput.parse({ key: 'é'.repeat(500), outputPrefix: '' });

    // Act
    const refused = await chunkObject(store, input).catch((error: unknown) => error);

    // Assess: 1,000 + '/' + 1-byte version + '/' + 'batch-00000.json' = 1,019 fits; with 'v1' too.
    expect(refused).not.toBeInstanceOf(Error);
    const key = 'é'.repeat(500);
    expect(calls).toEqual([`get ${key}`, `put ${key}/v1/batch-00000.json`]);

    const longer = ChunkObjectInput.parse({ key: 'é'.repeat(504) });
    const before = calls.length;
    const tooLong = await chunkObject(store, longer).catch((error: unknown) => error);
    expect(tooLong).toBeInstanceOf(ValidationError);
    expect(tooLong).toMatchObject({
      issues: [
        { pointer: '/key', message: expect.stringContaining('of at least 1034 bytes') },
        { pointer: '/outputPrefix', message: expect.stringContaining('its 7 bytes') },
      ],
    });
    expect(calls.length).toBe(before);
  });

  it('refuses, after the read and before any write, when the version is what makes the part keys too long', async () => {
    // Prepare: 1,000 bytes of key fit with a 7-byte version, not with a 40-byte one.
    const { store, calls } = recordingStore('x'.repeat(40));
    const input = ChunkObjectInput.parse({ key: `docs/${'k'.repeat(995)}`, outputPrefix: '' });

    // Act
    const refused = await chunkObject(store, input).catch((error: unknown) => error);

    // Assess
    expect(refused).toMatchObject({
      name: 'ValidationError',
      issues: [{ pointer: '/key', message: expect.stringContaining('of 1058 bytes') }],
    });
    expect((refused as ValidationError).issues).toHaveLength(1);
    expect(calls).toEqual([`get docs/${'k'.repeat(995)}`]);
  });
});
