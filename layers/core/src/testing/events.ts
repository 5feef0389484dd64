import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * A Lambda context whose remaining time counts down from `remainingMs`.
 *
 * @example
 * ```ts
 * await handler(event, lambdaContext({ remainingMs: 3000 }));
 * ```
 */
export function lambdaContext(options: { remainingMs?: number; functionName?: string } = {}): Context {
  const deadline = Date.now() + (options.remainingMs ?? 30_000);
  const functionName = options.functionName ?? 'test-function';
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface HttpEventOptions {
  method?: string;
  path: string;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  base64?: boolean;
  /** The gateway authorizer's trace in the event; `none` for a public route or a missing authorizer. */
  authorizer?: 'iam' | 'jwt' | 'none';
}

/**
 * A faithful API Gateway HTTP API (payload v2) event.
 *
 * @example
 * ```ts
 * const event = httpEvent({ method: 'POST', path: '/s3/put-object', body: { key: 'a', body: 'x' } });
 * ```
 */
export function httpEvent(options: HttpEventOptions): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  const text =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { 'content-type': 'application/json', host: 'api.example.test' };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const authorizer = options.authorizer ?? 'iam';
  const requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: unknown } = {
    accountId: '123456789012',
    apiId: 'api',
    domainName: 'api.example.test',
    domainPrefix: 'api',
    http: { method, path: options.path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'test' },
    requestId: randomUUID(),
    routeKey: '$default',
    stage: '$default',
    time: new Date().toUTCString(),
    timeEpoch: Date.now(),
  };
  if (authorizer === 'iam')
    requestContext.authorizer = {
      iam: { accessKey: 'AKIDEXAMPLE', userArn: 'arn:aws:iam::123456789012:user/test' },
    };
  if (authorizer === 'jwt') requestContext.authorizer = { jwt: { claims: { sub: 'test' }, scopes: [] } };
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: options.path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    requestContext,
    isBase64Encoded: options.base64 ?? false,
  };
  if (options.query !== undefined) event.queryStringParameters = options.query;
  if (text !== undefined) event.body = options.base64 ? Buffer.from(text).toString('base64') : text;
  return event;
}

export interface SqsMessage {
  body: unknown;
  messageId?: string;
  groupId?: string;
  correlationId?: string;
  receiveCount?: number;
}

/**
 * An SQS batch event; bodies that are not strings are sent as JSON. FIFO when `queue` ends in `.fifo`.
 *
 * @example
 * ```ts
 * const event = sqsEvent([{ body: { operation: 'put-object', input } }], { queue: 's3-requests' });
 * ```
 */
export function sqsEvent(messages: SqsMessage[], options: { queue?: string } = {}): SQSEvent {
  const queue = options.queue ?? 'test-queue';
  const Records = messages.map((message): SQSRecord => {
    const attributes: SQSRecord['attributes'] = {
      ApproximateReceiveCount: String(message.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    };
    if (message.groupId !== undefined) {
      attributes.MessageGroupId = message.groupId;
      attributes.SequenceNumber = String(Date.now());
      attributes.MessageDeduplicationId = randomUUID();
    }
    const messageAttributes: SQSRecord['messageAttributes'] = {};
    if (message.correlationId !== undefined) {
      messageAttributes['correlationId'] = { dataType: 'String', stringValue: message.correlationId };
    }
    return {
      messageId: message.messageId ?? randomUUID(),
      receiptHandle: randomUUID(),
      body: typeof message.body === 'string' ? message.body : JSON.stringify(message.body),
      attributes,
      messageAttributes,
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${queue}`,
      awsRegion: 'us-east-1',
    };
  });
  return { Records };
}
