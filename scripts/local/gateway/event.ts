/**
 * API Gateway HTTP API payload 2.0: the event built from an incoming request, and the HTTP response built
 * from what the function returned, following API Gateway's documented rules.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HttpRoute } from '../config/model.ts';

/** What API Gateway adds to `requestContext.authorizer` once the local key was accepted. */
export const LOCAL_AUTHORIZER = { lambda: { principal: 'local-api-key' } } as const;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function gatewayTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/**
 * Whether API Gateway passes a body of this content type as text (otherwise it is base64-encoded).
 *
 * @example
 * ```ts
 * isTextContent('application/json; charset=utf-8'); // true
 * isTextContent('image/png'); // false
 * ```
 */
export function isTextContent(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    /^application\/([\w.-]+\+)?(json|xml)$/.test(type) ||
    type === 'application/javascript' ||
    type === 'application/x-www-form-urlencoded' ||
    type === 'application/graphql' ||
    type === 'application/yaml'
  );
}

/** Lower-cased, comma-joined headers; the Cookie header becomes the `cookies` list, as in payload 2.0. */
function splitHeaders(raw: IncomingHttpHeaders): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const joined = Array.isArray(value) ? value.join(lower === 'cookie' ? '; ' : ',') : value;
    if (lower === 'cookie') {
      cookies.push(
        ...joined
          .split(';')
          .map((cookie) => cookie.trim())
          .filter(Boolean),
      );
    } else {
      headers[lower] = joined;
    }
  }
  return { headers, cookies };
}

/** The headers API Gateway adds in front of the integration. */
function addForwardedHeaders(headers: Record<string, string>, sourceIp: string): void {
  const host = headers['host'] ?? '127.0.0.1';
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${sourceIp}`
    : sourceIp;
  headers['x-forwarded-port'] = /:(\d+)$/.exec(host)?.[1] ?? '80';
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/** A request as the gateway saw it. */
export interface GatewayRequest {
  method: string;
  /** The raw path (percent-encoded as sent). */
  rawPath: string;
  rawQueryString: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sourceIp: string;
  protocol: string;
}

/**
 * Builds the payload 2.0 event for a matched route.
 *
 * @example
 * ```ts
 * const event = gatewayEvent(request, { route, pathParameters: { operation: 'put-object' }, authorized: true });
 * ```
 */
export function gatewayEvent(
  request: GatewayRequest,
  options: {
    route: HttpRoute;
    pathParameters: Record<string, string>;
    authorized: boolean;
    /** `requestContext.authorizer` of an authorized request (a JWT authorizer's claims); else the local key's. */
    authorizer?: unknown;
    requestId?: string;
  },
): APIGatewayProxyEventV2 {
  const { headers, cookies } = splitHeaders(request.headers);
  addForwardedHeaders(headers, request.sourceIp);
  const host = headers['host'] ?? '127.0.0.1';
  const domainName = host.replace(/:\d+$/, '');

  const query = new URLSearchParams(request.rawQueryString);
  const queryStringParameters: Record<string, string> = {};
  for (const key of new Set(query.keys())) queryStringParameters[key] = query.getAll(key).join(',');

  const now = new Date();
  const requestId =
    options.requestId ?? randomBytes(12).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
  const requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: unknown } = {
    accountId: '000000000000',
    apiId: 'local',
    domainName,
    domainPrefix: domainName.split('.')[0] ?? domainName,
    http: {
      method: request.method,
      path: request.rawPath,
      protocol: request.protocol,
      sourceIp: request.sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId,
    routeKey: options.route.routeKey,
    stage: '$default',
    time: gatewayTime(now),
    timeEpoch: now.getTime(),
  };
  if (options.authorized) requestContext.authorizer = options.authorizer ?? LOCAL_AUTHORIZER;

  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: options.route.routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    headers,
    requestContext,
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (request.rawQueryString !== '') event.queryStringParameters = queryStringParameters;
  if (Object.keys(options.pathParameters).length > 0) event.pathParameters = options.pathParameters;
  if (request.body.length > 0) {
    const text = isTextContent(headers['content-type']);
    event.body = text ? request.body.toString('utf8') : request.body.toString('base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

/** An HTTP response to write. */
export interface GatewayResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a function's result (JSON text) into the HTTP response, as payload format 2.0 specifies: a
 * `statusCode` means a structured response; anything else is a 200 with the result as a JSON body.
 *
 * @example
 * ```ts
 * gatewayResponse('{"statusCode":201,"body":"ok"}').status; // 201
 * ```
 */
export function gatewayResponse(payload: string): GatewayResponse {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    value = payload;
  }
  if (!isRecord(value) || value['statusCode'] === undefined) {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(payload) };
  }
  const headers: Record<string, string | string[]> = {};
  if (isRecord(value['headers'])) {
    for (const [name, header] of Object.entries(value['headers']))
      headers[name.toLowerCase()] = String(header);
  }
  if (Array.isArray(value['cookies']) && value['cookies'].length > 0)
    headers['set-cookie'] = value['cookies'].map(String);
  const rawBody = value['body'];
  const bodyText =
    rawBody === undefined || rawBody === null
      ? ''
      : typeof rawBody === 'string'
        ? rawBody
        : JSON.stringify(rawBody);
  const body =
    value['isBase64Encoded'] === true ? Buffer.from(bodyText, 'base64') : Buffer.from(bodyText, 'utf8');
  return { status: Number(value['statusCode']), headers, body };
}

/** A fresh request id for gateway answers that never reach a function. */
export function gatewayRequestId(): string {
  return randomUUID();
}
