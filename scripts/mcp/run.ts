/**
 * `npm run -s mcp`: the MCP server on stdio, one tool per connector operation. Tool calls go to the local
 * stack (`npm start`; its API key from CIRCLE_LOCAL_API_KEY or `.local/api-key`) or to `CIRCLE_API_URL`
 * (a deployed stage: SigV4 with the AWS SDK's default credentials; see `caller.ts` for the other modes).
 * stdout carries the protocol only: messages go to stderr.
 */
import { resolve } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { loadCatalog } from '../docs/catalog.ts';
import { apiVersion } from '../docs/generate.ts';
import { createApiCall, targetFromEnvironment } from './caller.ts';
import { createMcpServer } from './server.ts';
import { buildTools } from './tools.ts';

const root = resolve(import.meta.dirname, '..', '..');

try {
  const target = targetFromEnvironment(process.env, root);
  const tools = buildTools(await loadCatalog(root));
  const server = createMcpServer(tools, createApiCall(target.baseUrl, target.auth), {
    version: await apiVersion(root),
    instructions:
      `Circle Core connectors: each tool runs one connector operation against ${target.description}. ` +
      'Failures come back as RFC 9457 problems; a 400 names each invalid field as a JSON pointer.',
  });
  await server.connect(new StdioServerTransport());
  console.error(`circle-core MCP server: ${tools.length} tools, calling ${target.description}`);
} catch (error) {
  console.error(`circle-core MCP server did not start: ${(error as Error).message}`);
  process.exitCode = 1;
}
