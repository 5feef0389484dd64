/**
 * Raw variant, HTTP: the least a hand-written API Gateway handler does (parse the JSON body, validate it
 * with zod, answer 200). No framework and no log line: the floor the other variants are compared with.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CreateItemInput, createItem } from './operation.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * Validates the body and answers the item, or a 400.
 *
 * @example
 * ```ts
 * const response = await handler(event); // { statusCode: 200, body: '{"id":"item-widget-3",...}' }
 * ```
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  let body: unknown;
  try {
    body = JSON.parse(event.body ?? '');
  } catch {
    return { statusCode: 400, headers: JSON_HEADERS, body: '{"title":"The body is not JSON"}' };
  }
  const parsed = CreateItemInput.safeParse(body);
  if (!parsed.success) return { statusCode: 400, headers: JSON_HEADERS, body: '{"title":"Invalid input"}' };
  return { statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify(createItem(parsed.data)) };
}
