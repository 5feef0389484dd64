/**
 * Athena on the local stack: the JSON API fake (`athena.ts`) over the stack's S3 store, with the Glue-like
 * catalog declared as data in `functions/analytics/athena/sample/catalog.json` (database -> table -> S3
 * prefix, format and columns; `primary` workgroup -> result location). Before the first query the sample
 * objects a table names as `seed` are put under its prefix (once per store: existing objects are kept), so
 * the connector's README examples run on `npm start` as written. Add a table: put its objects under a
 * prefix of the local S3 store and a row in the catalog.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type AthenaCatalog, AthenaEngine, type AthenaTable, athenaService } from './athena.ts';
import type { JsonService } from './protocol.ts';

const SAMPLE = resolve(import.meta.dirname, '..', '..', '..', 'functions', 'analytics', 'athena', 'sample');

type SeededTable = AthenaTable & { seed?: string };
type LocalCatalog = AthenaCatalog & { databases: Record<string, Record<string, SeededTable>> };

/** The local catalog, as declared. */
export async function localAthenaCatalog(): Promise<LocalCatalog> {
  return JSON.parse(await readFile(join(SAMPLE, 'catalog.json'), 'utf8')) as LocalCatalog;
}

function bucketOf(location: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  return { bucket: match?.[1] ?? '', key: match?.[2] ?? '' };
}

async function seed(s3: S3Client, catalog: LocalCatalog): Promise<void> {
  const locations = [
    ...Object.values(catalog.databases).flatMap((tables) => Object.values(tables)),
    ...Object.values(catalog.workGroups ?? {}).map((group) => ({ location: group.outputLocation ?? '' })),
  ];
  for (const bucket of new Set(locations.map((table) => bucketOf(table.location).bucket).filter(Boolean))) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
  }
  for (const table of Object.values(catalog.databases).flatMap((tables) => Object.values(tables))) {
    if (table.seed === undefined) continue;
    const { bucket, key } = bucketOf(table.location);
    const objectKey = `${key.endsWith('/') || key === '' ? key : `${key}/`}${table.seed}`;
    const exists = await s3
      .send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }))
      .then(() => true)
      .catch(() => false);
    if (!exists) {
      const body = await readFile(join(SAMPLE, table.seed));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: body }));
    }
  }
}

/**
 * Athena as the local stack serves it on its AWS endpoint.
 *
 * @example
 * ```ts
 * const athena = await startLocalAthena(() => services.s3Endpoint);
 * services.athena = athena.service;
 * ```
 */
export async function startLocalAthena(
  s3Endpoint: () => string | undefined,
  region = 'us-east-1',
): Promise<{ service: JsonService; engine: AthenaEngine; close(): Promise<void> }> {
  const catalog = await localAthenaCatalog();
  const engine = new AthenaEngine({ catalog, s3Endpoint, region, prepare: (s3) => seed(s3, catalog) });
  return { service: athenaService(engine), engine, close: () => engine.close() };
}
