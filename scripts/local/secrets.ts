/**
 * `npm run secrets -- <command>`: manages the local secret store (`.local/secrets.json`) that the stack's
 * Secrets Manager endpoint serves. Works with the stack running or stopped (the endpoint re-reads the file).
 *
 *   set <name> <value>        create or replace (value `-` reads it from stdin, keeping it out of shell history)
 *   set <name> --file <path>  the value is the file's content (e.g. an RDS-style JSON secret)
 *   list                      names and dates, never values
 *   delete <name>             remove at once
 *   push --stage <s> [--region <r>] [--dry-run]
 *                             not the local store: creates the stage's expected secrets in Secrets Manager (the
 *                             AWS account, or AWS_ENDPOINT_URL) with a placeholder, lists the unset ones
 *                             (scripts/secrets/push.ts)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runPush } from '../secrets/push.ts';
import { fail } from './cli/common.ts';
import { localDir } from './paths.ts';
import { SecretStore } from './stores/secret-store.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      description: { type: 'string' },
      stage: { type: 'string' },
      region: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
  });
  const [command, name, value] = positionals;
  const store = new SecretStore(join(localDir(), 'secrets.json'));
  switch (command) {
    case 'push':
      await runPush({
        root: join(import.meta.dirname, '..', '..'),
        stage: values.stage,
        region: values.region,
        dryRun: values['dry-run'] === true,
      });
      return;
    case 'set': {
      if (name === undefined)
        throw new Error('usage: npm run secrets -- set <name> <value | - | --file path>');
      let secret: string;
      if (values.file !== undefined) secret = (await readFile(values.file, 'utf8')).replace(/\r?\n$/, '');
      else if (value === '-') secret = await readStdin();
      else if (value !== undefined) secret = value;
      else throw new Error('usage: npm run secrets -- set <name> <value | - | --file path>');
      const stored = await store.put(name, {
        value: secret,
        ...(values.description === undefined ? {} : { description: values.description }),
      });
      process.stdout.write(`set ${stored.name} (version ${stored.versionId}) in ${store.file}\n`);
      return;
    }
    case 'list': {
      const secrets = await store.list();
      if (secrets.length === 0) {
        process.stdout.write(`no secrets in ${store.file}\n`);
        return;
      }
      for (const secret of secrets) {
        const changed = secret.updatedAt > 0 ? new Date(secret.updatedAt).toISOString() : 'hand-edited';
        const state = secret.deletedAt === undefined ? '' : '  (deleted)';
        process.stdout.write(`${secret.name}  ${changed}${state}\n`);
      }
      return;
    }
    case 'delete': {
      if (name === undefined) throw new Error('usage: npm run secrets -- delete <name>');
      await store.delete(name, { force: true });
      process.stdout.write(`deleted ${name}\n`);
      return;
    }
    default:
      throw new Error(
        'usage: npm run secrets -- set <name> <value> | list | delete <name> | push --stage <stage> [--dry-run]',
      );
  }
}

await main().catch(fail);
