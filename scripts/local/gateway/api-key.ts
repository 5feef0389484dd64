/**
 * The local API key: what the gateway asks for on routes that have an authorizer in AWS (IAM, JWT). From
 * `CIRCLE_LOCAL_API_KEY`, else `.local/api-key` (mode 0600), generated at the first start.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Loads (or creates) the local API key.
 *
 * @example
 * ```ts
 * const { key, file } = await loadApiKey('.local');
 * ```
 */
export async function loadApiKey(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ key: string; source: 'environment' | 'file' | 'generated'; file: string }> {
  const file = join(dir, 'api-key');
  const configured = env['CIRCLE_LOCAL_API_KEY'];
  if (configured !== undefined && configured.trim() !== '')
    return { key: configured.trim(), source: 'environment', file };
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored !== '') return { key: stored, source: 'file', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = `ccl_${randomBytes(24).toString('base64url')}`;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return { key, source: 'generated', file };
}

/**
 * Whether an `Authorization` header carries the key as a bearer token (constant-time comparison).
 *
 * @example
 * ```ts
 * hasApiKey(req.headers.authorization, key); // true for 'Bearer <key>'
 * ```
 */
export function hasApiKey(authorization: string | undefined, key: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (match?.[1] === undefined) return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(key));
}
