/**
 * The local secret store: one git-ignored JSON file (`.local/secrets.json`, mode 0600) behind the Secrets
 * Manager endpoint and `npm run secrets`. It is re-read on every call, so the CLI can edit it while the
 * stack runs or is stopped. A hand-written `"name": "value"` entry is accepted too.
 */
import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One secret as the store keeps it. */
export interface StoredSecret {
  name: string;
  /** SecretString. */
  value?: string;
  /** SecretBinary, base64. */
  binary?: string;
  description?: string;
  versionId: string;
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  /** Set when deleted with a recovery window: the secret is kept but cannot be read. */
  deletedAt?: number;
}

interface FileShape {
  secrets: Record<string, Omit<StoredSecret, 'name'> | string>;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The ARN of a local secret: the name plus a six-character suffix, as Secrets Manager makes them. The
 * suffix is derived from the name, so ARNs stay stable across restarts and hand edits.
 *
 * @example
 * ```ts
 * secretArn('circle-core/slack/bot-token', 'us-east-1'); // 'arn:aws:secretsmanager:us-east-1:000000000000:secret:circle-core/slack/bot-token-Xy12Ab'
 * ```
 */
export function secretArn(name: string, region: string, accountId = '000000000000'): string {
  const digest = createHash('sha256').update(name).digest();
  const suffix = [...digest.subarray(0, 6)].map((byte) => ALPHABET[byte % ALPHABET.length]).join('');
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
}

/** A secret name from a name or a full or partial ARN. */
function nameOf(secretId: string): string {
  const match = /^arn:aws[\w-]*:secretsmanager:[^:]*:\d*:secret:(.+)$/.exec(secretId);
  if (match?.[1] === undefined) return secretId;
  // A full ARN ends in -XXXXXX; a partial ARN may not.
  return match[1];
}

/** The local secret store file. */
export class SecretStore {
  readonly file: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  async #read(): Promise<Map<string, StoredSecret>> {
    let parsed: FileShape;
    try {
      parsed = JSON.parse(await readFile(this.file, 'utf8')) as FileShape;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new Error(`${this.file} is not valid JSON; fix or delete it`);
    }
    const secrets = new Map<string, StoredSecret>();
    for (const [name, entry] of Object.entries(parsed.secrets ?? {})) {
      if (typeof entry === 'string') {
        secrets.set(name, { name, value: entry, versionId: 'hand-edited', createdAt: 0, updatedAt: 0 });
      } else if (typeof entry === 'object' && entry !== null) {
        secrets.set(name, { ...entry, name });
      }
    }
    return secrets;
  }

  async #write(secrets: Map<string, StoredSecret>): Promise<void> {
    const shape: FileShape = { secrets: {} };
    for (const [name, secret] of [...secrets].sort(([a], [b]) => a.localeCompare(b))) {
      const { name: _omit, ...rest } = secret;
      shape.secrets[name] = rest;
    }
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temporary, `${JSON.stringify(shape, null, 2)}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.file);
  }

  /** Runs read-modify-write steps one at a time within this process. */
  #mutate<T>(step: (secrets: Map<string, StoredSecret>) => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const secrets = await this.#read();
      const result = step(secrets);
      await this.#write(secrets);
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Every secret, deleted ones included (check `deletedAt`).
   *
   * @example
   * ```ts
   * const names = (await store.list()).map((secret) => secret.name);
   * ```
   */
  async list(): Promise<StoredSecret[]> {
    return [...(await this.#read()).values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * One secret by name or ARN, or undefined.
   *
   * @example
   * ```ts
   * const token = await store.get('circle-core/slack/bot-token');
   * ```
   */
  async get(secretId: string): Promise<StoredSecret | undefined> {
    const secrets = await this.#read();
    const name = nameOf(secretId);
    return secrets.get(name) ?? secrets.get(name.replace(/-[A-Za-z0-9]{6}$/, ''));
  }

  /**
   * Creates or replaces a secret's value. `mode: 'create'` fails when it exists, `'update'` when it does not.
   *
   * @example
   * ```ts
   * await store.put('circle-core/slack/bot-token', { value: 'xoxb-...' });
   * ```
   */
  put(
    secretId: string,
    content: { value?: string; binary?: string; description?: string },
    mode: 'create' | 'update' | 'upsert' = 'upsert',
  ): Promise<StoredSecret> {
    return this.#mutate((secrets) => {
      const name = nameOf(secretId);
      const key = secrets.has(name) ? name : name.replace(/-[A-Za-z0-9]{6}$/, '');
      const existing = secrets.get(key);
      refusePut(name, existing, mode);
      const now = Date.now();
      const secret: StoredSecret = {
        name: existing?.name ?? name,
        versionId: randomUUID(),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      if (content.value !== undefined) secret.value = content.value;
      if (content.binary !== undefined) secret.binary = content.binary;
      const description = content.description ?? existing?.description;
      if (description !== undefined) secret.description = description;
      secrets.set(secret.name, secret);
      return secret;
    });
  }

  /**
   * Deletes a secret now (`force`) or marks it deleted (a recovery window, as Secrets Manager does).
   *
   * @example
   * ```ts
   * await store.delete('circle-core/slack/bot-token', { force: true });
   * ```
   */
  delete(secretId: string, options: { force?: boolean } = {}): Promise<StoredSecret> {
    return this.#mutate((secrets) => {
      const name = nameOf(secretId);
      const key = secrets.has(name) ? name : name.replace(/-[A-Za-z0-9]{6}$/, '');
      const existing = secrets.get(key);
      if (existing === undefined) throw new SecretStoreError('not-found', name);
      if (options.force) {
        secrets.delete(key);
        return { ...existing, deletedAt: Date.now() };
      }
      const deleted = { ...existing, deletedAt: existing.deletedAt ?? Date.now() };
      secrets.set(key, deleted);
      return deleted;
    });
  }

  /**
   * Undoes a delete that kept the secret (a recovery window).
   *
   * @example
   * ```ts
   * await store.restore('circle-core/slack/bot-token');
   * ```
   */
  restore(secretId: string): Promise<StoredSecret> {
    return this.#mutate((secrets) => {
      const name = nameOf(secretId);
      const key = secrets.has(name) ? name : name.replace(/-[A-Za-z0-9]{6}$/, '');
      const existing = secrets.get(key);
      if (existing === undefined) throw new SecretStoreError('not-found', name);
      const { deletedAt: _deleted, ...restored } = existing;
      secrets.set(key, restored);
      return restored;
    });
  }
}

/** Throws why `put` cannot write `name` in this `mode`, given the secret that exists under it. */
function refusePut(
  name: string,
  existing: StoredSecret | undefined,
  mode: 'create' | 'update' | 'upsert',
): void {
  if (mode === 'create' && existing !== undefined) throw new SecretStoreError('exists', name);
  if (mode === 'update' && existing === undefined) throw new SecretStoreError('not-found', name);
  if (existing?.deletedAt !== undefined) throw new SecretStoreError('deleted', name);
  if (existing === undefined && !validSecretName(name)) throw new SecretStoreError('invalid-name', name);
}

/**
 * The names Secrets Manager takes for a new secret: 1-512 characters, ASCII letters, digits and `/_+=.@-`.
 *
 * @example
 * ```ts
 * validSecretName('circle-core/slack/bot-token'); // true
 * validSecretName('bad name with spaces'); // false
 * ```
 */
export function validSecretName(name: string): boolean {
  return /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name);
}

/** Why a store operation was refused; `name` only, never a value. */
export class SecretStoreError extends Error {
  readonly reason: 'exists' | 'not-found' | 'deleted' | 'invalid-name';
  readonly secretName: string;

  constructor(reason: 'exists' | 'not-found' | 'deleted' | 'invalid-name', secretName: string) {
    const messages = {
      exists: `secret ${secretName} already exists`,
      'not-found': `secret ${secretName} was not found`,
      deleted: `secret ${secretName} is marked for deletion`,
      'invalid-name':
        `'${secretName.length > 80 ? `${secretName.slice(0, 80)}...` : secretName}' is not a valid secret name: ` +
        `Secrets Manager takes 1 to 512 characters, only ASCII letters, digits and / _ + = . @ -`,
    };
    super(messages[reason]);
    this.name = 'SecretStoreError';
    this.reason = reason;
    this.secretName = secretName;
  }
}
