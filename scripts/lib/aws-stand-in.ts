/**
 * A tiny local stand-in for the two AWS APIs `serverless package` calls, so packaging runs with no network:
 * STS GetCallerIdentity (`${aws:accountId}`) and CloudFormation's stack reads, which osls makes because
 * the service has a `layers:` block (it looks for the previous stack to reuse unchanged layer versions).
 * Every stack read answers the ValidationError CloudFormation gives for a stack that does not exist yet;
 * anything else is refused with an error naming the call, so a new dependency on AWS shows up loudly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The account id the stand-in reports; it appears in ARNs of the offline template. */
export const OFFLINE_ACCOUNT_ID = '123456789012';

/** One call the stand-in answered, e.g. `{ service: 'cloudformation', action: 'DescribeStacks' }`. */
export interface AwsCall {
  readonly service: string;
  readonly action: string;
}

export interface AwsStandIn {
  /** `http://127.0.0.1:<port>`: use as `AWS_ENDPOINT_URL_CLOUDFORMATION` and `AWS_ENDPOINT_URL_STS`. */
  readonly endpoint: string;
  /** Calls received, in order. */
  readonly calls: readonly AwsCall[];
  close(): Promise<void>;
}

/** CloudFormation reads that, for a stack that was never created, fail with "does not exist". */
const STACK_READS = new Set([
  'DescribeStacks',
  'DescribeStackResource',
  'DescribeStackResources',
  'ListStackResources',
  'DescribeStackEvents',
  'GetTemplate',
  'GetTemplateSummary',
]);

interface Reply {
  status: number;
  /** AWS query protocol (XML) body. */
  xml: string;
  /** AWS JSON protocol body, for SDK versions that speak JSON to these services. */
  json: Record<string, unknown>;
}

function serviceOf(request: IncomingMessage): string {
  // SigV4 credential scope: Credential=<key>/<date>/<region>/<service>/aws4_request
  const match = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(request.headers.authorization ?? ''));
  return match?.[1] ?? 'unknown';
}

function errorReply(status: number, code: string, message: string): Reply {
  return {
    status,
    xml:
      '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>' +
      `<Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>offline</RequestId></ErrorResponse>`,
    json: { __type: code, message },
  };
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function answer(service: string, action: string, params: Record<string, unknown>): Reply {
  if (service === 'sts' && action === 'GetCallerIdentity') {
    const arn = `arn:aws:iam::${OFFLINE_ACCOUNT_ID}:user/offline-packaging`;
    return {
      status: 200,
      xml:
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
        `<Arn>${arn}</Arn><UserId>AIDAOFFLINEPACKAGING</UserId><Account>${OFFLINE_ACCOUNT_ID}</Account>` +
        '</GetCallerIdentityResult><ResponseMetadata><RequestId>offline</RequestId></ResponseMetadata>' +
        '</GetCallerIdentityResponse>',
      json: { Account: OFFLINE_ACCOUNT_ID, Arn: arn, UserId: 'AIDAOFFLINEPACKAGING' },
    };
  }
  if (service === 'cloudformation' && STACK_READS.has(action)) {
    const stack = String(params['StackName'] ?? 'unknown');
    return errorReply(400, 'ValidationError', `Stack with id ${stack} does not exist`);
  }
  return errorReply(400, 'InvalidAction', `The offline AWS stand-in does not implement ${service}:${action}`);
}

function parseRequest(
  request: IncomingMessage,
  body: string,
): { action: string; params: Record<string, unknown> } {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string') {
    // AWS JSON protocol: `X-Amz-Target: <Prefix>.<Action>` and a JSON body.
    const params = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
    return { action: target.slice(target.lastIndexOf('.') + 1), params };
  }
  const form = new URLSearchParams(body);
  return { action: form.get('Action') ?? 'unknown', params: Object.fromEntries(form) };
}

/**
 * Starts the stand-in on 127.0.0.1 (ephemeral port).
 *
 * @example
 * ```ts
 * const aws = await startAwsStandIn();
 * spawn('serverless', ['package'], { env: { ...process.env, AWS_ENDPOINT_URL_CLOUDFORMATION: aws.endpoint } });
 * // ... when done:
 * await aws.close();
 * ```
 */
export async function startAwsStandIn(): Promise<AwsStandIn> {
  const calls: AwsCall[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const service = serviceOf(request);
      const json = typeof request.headers['x-amz-target'] === 'string';
      let reply: Reply;
      try {
        const { action, params } = parseRequest(request, Buffer.concat(chunks).toString('utf8'));
        calls.push({ service, action });
        reply = answer(service, action, params);
      } catch {
        reply = errorReply(
          400,
          'MalformedQueryString',
          'The offline AWS stand-in could not parse the request',
        );
      }
      if (json) {
        const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0' };
        // Query-compatible JSON services carry the query error code here; SDKs map it back.
        if (reply.status >= 400) headers['x-amzn-query-error'] = `${String(reply.json['__type'])};Sender`;
        response.writeHead(reply.status, headers);
        response.end(JSON.stringify(reply.json));
      } else {
        response.writeHead(reply.status, { 'content-type': 'text/xml' });
        response.end(reply.xml);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
