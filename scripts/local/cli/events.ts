/**
 * Realistic events for `npm run invoke`: an API Gateway HTTP API request, an SQS batch of one record, an
 * EventBridge schedule input and a Step Functions task, built around an operation and its input the way
 * the stack's own triggers build them.
 */
import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import type { HttpRoute } from '../config/model.ts';
import { gatewayEvent } from '../gateway/event.ts';
import { compileRoutes, matchRoute } from '../gateway/routes.ts';
import { md5OfBody } from '../queues/md5.ts';

/** The operation request an event carries. */
export interface OperationInput {
  operation: string;
  input: unknown;
  /** A write's idempotency key (an SQS record without one is keyed by its message id). */
  idempotencyKey?: string;
}

/**
 * An HTTP API event for `POST /<function>/<operation>` (or `GET` for `health`, or any method and path),
 * routed like the gateway routes it, with the authorizer trace of an accepted API key.
 *
 * @example
 * ```ts
 * httpInvokeEvent({ functionKey: 's3', routes, operation: 'list-objects', input: {} });
 * ```
 */
export function httpInvokeEvent(options: {
  functionKey: string;
  routes: HttpRoute[];
  operation?: string;
  input?: unknown;
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
}): unknown {
  const operation = options.operation ?? 'health';
  const method = (
    options.method ?? (operation === 'health' && options.path === undefined ? 'GET' : 'POST')
  ).toUpperCase();
  const url = options.path ?? `/${options.functionKey}/${operation}`;
  const [rawPath = url, rawQueryString = ''] = url.split('?');
  const body =
    options.body !== undefined
      ? Buffer.from(options.body)
      : method === 'GET'
        ? Buffer.alloc(0)
        : Buffer.from(JSON.stringify(options.input ?? {}));
  const match = matchRoute(
    compileRoutes(options.routes.filter((route) => route.functionKey === options.functionKey)),
    method,
    rawPath,
  );
  const route: HttpRoute = match?.route ?? {
    functionKey: options.functionKey,
    method,
    path: rawPath,
    routeKey: `${method} ${rawPath}`,
    authorized: true,
  };
  const headers: Record<string, string> = {
    host: '127.0.0.1:3000',
    'user-agent': 'circle-core-invoke',
    ...(body.length > 0 ? { 'content-type': 'application/json' } : {}),
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  return gatewayEvent(
    { method, rawPath, rawQueryString, headers, body, sourceIp: '127.0.0.1', protocol: 'HTTP/1.1' },
    { route, pathParameters: match?.pathParameters ?? {}, authorized: route.authorized },
  );
}

/**
 * An SQS event of one record whose body is the operation envelope, from the given queue.
 *
 * @example
 * ```ts
 * sqsInvokeEvent({ operation: 'put-object', input }, 'arn:aws:sqs:us-east-1:000000000000:circle-core-dev-S3RequestsQueue');
 * ```
 */
export function sqsInvokeEvent(request: OperationInput, queueArn: string, region = 'us-east-1'): SQSEvent {
  const body = JSON.stringify(request);
  const now = String(Date.now());
  const fifo = queueArn.endsWith('.fifo');
  const attributes: Record<string, string> = {
    ApproximateReceiveCount: '1',
    SentTimestamp: now,
    SenderId: 'AIDAIENQZJOLO23YVJ4VO',
    ApproximateFirstReceiveTimestamp: now,
  };
  if (fifo) {
    attributes['MessageGroupId'] = 'invoke';
    attributes['MessageDeduplicationId'] = randomUUID();
    attributes['SequenceNumber'] = `${now}000000`;
  }
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body,
        attributes: attributes as unknown as SQSEvent['Records'][number]['attributes'],
        messageAttributes: {},
        md5OfBody: md5OfBody(body),
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: region,
      },
    ],
  };
}

/**
 * The input an EventBridge schedule rule sends (the connector contract's shape).
 *
 * @example
 * ```ts
 * scheduleInvokeEvent({ operation: 'sync-issues', input: {} }); // { operation, input, trigger: 'schedule' }
 * ```
 */
export function scheduleInvokeEvent(request: OperationInput): unknown {
  return { ...request, trigger: 'schedule' };
}

/**
 * The payload a Step Functions Lambda task passes.
 *
 * @example
 * ```ts
 * taskInvokeEvent({ operation: 'get-object', input: { key: 'a.txt' } }); // { operation, input, trigger: 'task' }
 * ```
 */
export function taskInvokeEvent(request: OperationInput): unknown {
  return { ...request, trigger: 'task' };
}
