/**
 * `aws-local-stepfunctions` with the intrinsic `States.Hash` computed as AWS computes it.
 *
 * The library (3.0.0) hashes with its own JavaScript MD5/SHA implementations, whose block loop reads every
 * block after the first from the wrong offset: MD5, SHA-1 and SHA-256 are wrong from 56 bytes of input
 * (SHA-384 and SHA-512 from 112), and inputs that differ late hash alike (e.g. the warehouse-load `loadId`
 * of two tables). Its intrinsic functions are a table inside the bundle that it neither exports nor lets a
 * caller override, so this module evaluates the library's CommonJS build itself (resolved as `require`
 * would, its dependencies required from its own folder), with one line appended that hands the table
 * over, and replaces `States.Hash`'s digest with node:crypto's. The library's own checks and errors
 * (unsupported algorithm, over 10,000 characters) stay. If the build stops matching (no table, no
 * `States.Hash`), loading throws: the engine does not start rather than hash wrongly.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';

type Library = typeof import('aws-local-stepfunctions');

export type { StateMachineDefinition } from 'aws-local-stepfunctions';

interface IntrinsicFunction {
  execute(...args: unknown[]): unknown;
}

/** AWS's algorithm names for `States.Hash`, with node:crypto's for each. */
const ALGORITHMS: Readonly<Record<string, string>> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

/** The service's limit on the string `States.Hash` takes (the library enforces it too). */
const MAX_HASH_INPUT = 10_000;

/** The identifier of the intrinsic function table in the library's bundle. */
const TABLE = 'functions';

function load(): Library {
  const file = createRequire(import.meta.url).resolve('aws-local-stepfunctions');
  const source = readFileSync(file, 'utf8');
  let table: unknown;
  const evaluate = compileFunction(
    `${source}\n;__exposeIntrinsics(typeof ${TABLE} === 'undefined' ? undefined : ${TABLE});`,
    ['exports', 'require', 'module', '__filename', '__dirname', '__exposeIntrinsics'],
    { filename: file },
  );
  const module = { exports: {} as Record<string, unknown> };
  evaluate(module.exports, createRequire(file), module, file, dirname(file), (found: unknown) => {
    table = found;
  });
  const hash = (table as Record<string, IntrinsicFunction | undefined> | undefined)?.['States.Hash'];
  if (typeof hash?.execute !== 'function' || typeof module.exports['StateMachine'] !== 'function') {
    throw new Error(
      `${file}: no intrinsic function table '${TABLE}' with States.Hash (has aws-local-stepfunctions changed?); ` +
        'scripts/local/workflows/local-stepfunctions.ts corrects its States.Hash and must be updated',
    );
  }
  const checked = hash.execute.bind(hash);
  hash.execute = (input: unknown, algorithm: unknown) => {
    const name =
      typeof algorithm === 'string' && Object.hasOwn(ALGORITHMS, algorithm)
        ? ALGORITHMS[algorithm]
        : undefined;
    // Anything the service refuses: the library throws its States.Runtime error.
    if (name === undefined || typeof input !== 'string' || input.length > MAX_HASH_INPUT)
      return checked(input, algorithm);
    return createHash(name).update(input, 'utf8').digest('hex');
  };
  return module.exports as unknown as Library;
}

const library = load();

export const { StateMachine, ExecutionAbortedError, ExecutionError, ExecutionTimeoutError } = library;
