/**
 * The document the local HTTP API serves at `GET /openapi.json`: the committed `docs/openapi.json`
 * (`npm run docs` writes it; `test/docs` fails when it is stale), addressed to this stack.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Reads the whole API's OpenAPI document and names this stack as its only server.
 *
 * @example
 * ```ts
 * const document = await localOpenApi(REPO_ROOT, api.url);
 * ```
 */
export async function localOpenApi(repoRoot: string, apiUrl: string): Promise<Record<string, unknown>> {
  const document = JSON.parse(await readFile(join(repoRoot, 'docs', 'openapi.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return { ...document, servers: [{ url: apiUrl, description: 'This local stack (npm start)' }] };
}
