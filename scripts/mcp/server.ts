/**
 * The MCP server: lists every operation as a tool and answers a tool call with one HTTP request to the
 * API. Arguments go to the connector as they are: it validates them once and names each bad field as a
 * JSON pointer, which the model sees in the tool's error result.
 */
import { randomUUID } from 'node:crypto';
// The low-level Server, not McpServer: McpServer takes zod shapes and validates arguments itself, and the
// tools here hand over the same JSON Schema the OpenAPI documents carry and leave validation to the connector.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import type { ApiAnswer, ApiCall } from './caller.ts';
import { IDEMPOTENCY_ARGUMENT, type ToolSpec } from './tools.ts';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An HTTP answer as a tool result: JSON text, structured content for objects, `isError` from 4xx/5xx. */
function toResult(answer: ApiAnswer): CallToolResult {
  const ok = answer.status >= 200 && answer.status < 300;
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2);
  return {
    content: [{ type: 'text', text: ok ? text : `HTTP ${answer.status}: ${text}` }],
    ...(isPlainObject(answer.body) ? { structuredContent: answer.body } : {}),
    ...(ok ? {} : { isError: true }),
  };
}

/**
 * An MCP server for these tools; `call` sends each tool call to the HTTP API. Connect it to a transport
 * (stdio for `npm run mcp`, in-memory in tests).
 *
 * @example
 * ```ts
 * const server = createMcpServer(buildTools(connectors), createApiCall(url, auth), { version: '0.1.0' });
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createMcpServer(
  tools: readonly ToolSpec[],
  call: ApiCall,
  options: { version: string; instructions?: string },
): Server {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const server = new Server(
    { name: 'circle-core', version: options.version },
    {
      capabilities: { tools: {} },
      ...(options.instructions === undefined ? {} : { instructions: options.instructions }),
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: tool.inputSchema,
      annotations: {
        readOnlyHint: tool.effect === 'read',
        // A write may replace or delete; nothing tells which, so none is promised harmless.
        destructiveHint: tool.effect === 'write',
        openWorldHint: true,
      },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name);
    if (tool === undefined) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${request.params.name.slice(0, 100)}`);
    }
    const { [IDEMPOTENCY_ARGUMENT]: key, ...rest } = request.params.arguments ?? {};
    const input = tool.takesIdempotencyKey ? rest : (request.params.arguments ?? {});
    const headers: Record<string, string> = {};
    if (tool.effect === 'write') {
      headers['idempotency-key'] = tool.takesIdempotencyKey && typeof key === 'string' ? key : randomUUID();
    }
    try {
      const answer = await call({
        method: tool.method,
        path: tool.path,
        headers,
        ...(tool.method === 'POST' ? { body: input } : {}),
      });
      return toResult(answer);
    } catch (error) {
      // Unreachable API, missing credentials: the model should read why, not see a protocol failure.
      return {
        content: [{ type: 'text', text: `The request did not complete: ${(error as Error).message}` }],
        isError: true,
      };
    }
  });

  return server;
}
