/**
 * The stack's one AWS endpoint (127.0.0.1:4566 by default): routes each request by its protocol to SQS,
 * Secrets Manager, Step Functions, EventBridge (JSON protocols, `x-amz-target`), Lambda (REST), SNS (query
 * protocol), SES v2 (REST JSON, mail captured: `ses.ts`), the IoT Core data plane (REST JSON, `iot-data.ts`),
 * STS and CloudFormation stand-ins (query protocol, for the Serverless CLI), or forwards it to the embedded
 * S3 and DynamoDB.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionRegistry } from '../functions/registry.ts';
import { guard, type RefusalWriter } from '../guard.ts';
import type { StackLog } from '../log.ts';
import { type IotDataService, serveIotData } from './iot-data.ts';
import { handleLambda } from './lambda.ts';
import {
  AwsError,
  escapeXml,
  type JsonService,
  mediaType,
  type RestService,
  readBody,
  sendJson,
  sendJsonError,
  sendXmlError,
  serveRestJson,
} from './protocol.ts';
import { proxy, signedService } from './proxy.ts';
import { parseQuery, type QueryService, queryResponse } from './query.ts';
import { type SesMail, serveLocalMail } from './ses.ts';
import { SNS_NAMESPACE } from './sns.ts';

const BODY_LIMIT = 16 * 1024 * 1024;

/** What the endpoint serves; filled in while the stack starts (requests before that get a 503). */
export interface AwsServices {
  sqs?: JsonService;
  secretsManager?: JsonService;
  stepFunctions?: JsonService;
  /** EventBridge (JSON 1.1, `AWSEvents.<Operation>`). */
  events?: JsonService;
  /** Athena (JSON 1.1, `AmazonAthena.<Operation>`): queries run on DuckDB over the S3 store (`athena.ts`). */
  athena?: JsonService;
  /** SNS (query protocol). */
  sns?: QueryService;
  /** SES v2 (REST JSON under `/v2/email/`), and the account whose sent mail it captures. */
  ses?: RestService;
  mail?: SesMail;
  /** The AWS IoT Core data plane (REST JSON, signed for `iotdata`: `iot-data.ts`). */
  iotData?: IotDataService;
  functions?: FunctionRegistry;
  s3Endpoint?: string;
  dynamodbEndpoint?: string;
  accountId: string;
  /** Local control routes (`/_local/...`): answers true when it served the request. */
  control?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;
}

/** The running endpoint. */
export interface AwsEndpoint {
  url: string;
  port: number;
  close(): Promise<void>;
}

const JSON_TARGETS: Record<string, { service: keyof AwsServices; version: '1.0' | '1.1'; prefix: string }> = {
  AmazonSQS: { service: 'sqs', version: '1.0', prefix: 'com.amazonaws.sqs#' },
  secretsmanager: { service: 'secretsManager', version: '1.1', prefix: '' },
  AWSStepFunctions: { service: 'stepFunctions', version: '1.0', prefix: '' },
  AWSEvents: { service: 'events', version: '1.1', prefix: '' },
  AmazonAthena: { service: 'athena', version: '1.1', prefix: '' },
};

function unavailable(name: string): AwsError {
  return new AwsError('ServiceUnavailable', `${name} is not ready yet (the local stack is starting)`, {
    status: 503,
  });
}

async function serveJson(
  req: IncomingMessage,
  res: ServerResponse,
  services: AwsServices,
  target: string,
): Promise<void> {
  const dot = target.indexOf('.');
  const prefix = target.slice(0, dot);
  const operation = target.slice(dot + 1);
  if (prefix.startsWith('DynamoDB')) {
    if (services.dynamodbEndpoint === undefined) throw unavailable('DynamoDB');
    proxy(req, res, services.dynamodbEndpoint);
    return;
  }
  const route = JSON_TARGETS[prefix];
  const version = route?.version ?? '1.1';
  try {
    if (route === undefined) {
      throw new AwsError('UnknownOperationException', `${target} is not served by the local stack`);
    }
    const service = services[route.service] as JsonService | undefined;
    if (service === undefined) throw unavailable(prefix);
    const raw = (await readBody(req, BODY_LIMIT)).toString('utf8');
    let body: Record<string, unknown> = {};
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        throw new AwsError('SerializationException', 'The request body is not valid JSON');
      }
    }
    sendJson(res, 200, await service({ operation, body }), version);
  } catch (error) {
    if (error instanceof AwsError) {
      sendJsonError(res, error, version, route?.prefix ?? '');
      return;
    }
    throw error;
  }
}

function sendXml(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function serveQuery(req: IncomingMessage, res: ServerResponse, services: AwsServices, service: string) {
  const request = parseQuery((await readBody(req, BODY_LIMIT)).toString('utf8'));
  const { action } = request;
  const params = new Map(Object.entries(request.params));
  if (service === 'sns') {
    if (services.sns === undefined) throw unavailable('SNS');
    try {
      sendXml(res, queryResponse(action, await services.sns(request), SNS_NAMESPACE));
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      sendXmlError(res, error);
    }
    return;
  }
  if (service === 'sts' && action === 'GetCallerIdentity') {
    const account = escapeXml(services.accountId);
    sendXml(
      res,
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
        `<Arn>arn:aws:iam::${account}:user/local</Arn><UserId>AIDALOCALSTACKUSER</UserId><Account>${account}</Account>` +
        `</GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    );
    return;
  }
  if (service === 'cloudformation') {
    // Nothing is deployed locally: every stack lookup answers as CloudFormation does for a missing stack.
    const stack = params.get('StackName') ?? 'unknown';
    sendXmlError(res, new AwsError('ValidationError', `Stack with id ${stack} does not exist`));
    return;
  }
  if (service === 'sqs') {
    sendXmlError(
      res,
      new AwsError(
        'InvalidAction',
        'The local stack speaks the SQS JSON protocol; use a current AWS SDK or CLI',
      ),
    );
    return;
  }
  sendXmlError(res, new AwsError('InvalidAction', `${service} ${action} is not served by the local stack`));
}

/** SES v2 (signed for `ses`, under `/v2/email/`) and its captured mail (`/_local/ses/`): true when served. */
async function serveSes(
  req: IncomingMessage,
  res: ServerResponse,
  services: AwsServices,
  path: string,
): Promise<boolean> {
  if (path.startsWith('/_local/ses/'))
    return services.mail !== undefined && serveLocalMail(req, res, services.mail);
  if (!path.startsWith('/v2/email/') || signedService(req) !== 'ses') return false;
  if (services.ses === undefined) throw unavailable('SES');
  await serveRestJson(req, res, services.ses, await readBody(req, BODY_LIMIT));
  return true;
}

/** The IoT Core data plane (signed for `iotdata`): true when served. */
async function serveIot(req: IncomingMessage, res: ServerResponse, services: AwsServices): Promise<boolean> {
  if (signedService(req) !== 'iotdata') return false;
  if (services.iotData === undefined) throw unavailable('IoT data plane');
  await serveIotData(req, res, services.iotData, await readBody(req, BODY_LIMIT));
  return true;
}

async function route(req: IncomingMessage, res: ServerResponse, services: AwsServices): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.startsWith('/2015-03-31/functions')) {
    if (services.functions === undefined) throw unavailable('Lambda');
    await handleLambda(req, res, await readBody(req, BODY_LIMIT), services.functions);
    return;
  }
  if (path.startsWith('/_local/')) {
    // Firing a schedule changes state: like Lambda Invoke, it takes no body a web page can send unasked.
    if (req.method === 'POST' && mediaType(req.headers['content-type']) !== 'application/json') {
      const message = 'Local control requests need content-type application/json';
      throw new AwsError('UnsupportedMediaTypeException', message, { status: 415 });
    }
    const served =
      services.control !== undefined && (await services.control(req, res, await readBody(req, BODY_LIMIT)));
    if (!served) sendJson(res, 404, { message: `No local route ${path}` }, '1.1');
    return;
  }
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) {
    await serveJson(req, res, services, target);
    return;
  }
  const service = signedService(req);
  if (service === 's3') {
    if (services.s3Endpoint === undefined) throw unavailable('S3');
    proxy(req, res, services.s3Endpoint, { s3: true });
    return;
  }
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    await serveQuery(req, res, services, service ?? 'unknown');
    return;
  }
  throw new AwsError('UnknownOperationException', 'The local AWS endpoint did not recognise this request');
}

/**
 * Starts the endpoint on 127.0.0.1 (`port` 0 picks a free one).
 *
 * @example
 * ```ts
 * const aws = await startAwsEndpoint({ port: 4566, services: { accountId: '000000000000' }, log });
 * ```
 */
export async function startAwsEndpoint(options: {
  port: number;
  services: AwsServices;
  log: StackLog;
}): Promise<AwsEndpoint> {
  const refuse: RefusalWriter = (_req, res, refusal) =>
    sendJsonError(res, new AwsError('AccessDeniedException', refusal.message, { status: 403 }), '1.1');
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    serveSes(req, res, options.services, (req.url ?? '/').split('?')[0] ?? '/')
      .then((served) => served || serveIot(req, res, options.services))
      .then((served) => (served ? undefined : route(req, res, options.services)))
      .catch((error: unknown) => {
        const err =
          error instanceof AwsError
            ? error
            : new AwsError('InternalFailure', 'The local stack failed to serve the request', { status: 500 });
        if (!(error instanceof AwsError))
          options.log.error('AWS endpoint error', { error: (error as Error).message });
        if (res.headersSent) {
          res.end();
          return;
        }
        sendJsonError(res, err, '1.1');
      });
  };
  const server: Server = createServer(guard(serve, refuse));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
