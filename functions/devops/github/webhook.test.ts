import { createHmac, randomUUID } from 'node:crypto';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type GitHubTestStack, startGitHubTestStack } from '../../../test/stacks/github.ts';
import type { connector as GitHubConnector } from './index.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const ISSUE_OPENED = {
  action: 'opened',
  issue: { number: 12, title: 'Crash on start' },
  repository: { full_name: 'octo/hello' },
  sender: { login: 'octocat' },
};

/** Computed here with node:crypto, independently of the connector's verifier. */
function sign(secret: string, body: string, algorithm: 'sha256' | 'sha1' = 'sha256'): string {
  return `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;
}

let stack: GitHubTestStack;
let connector: typeof GitHubConnector;
let logs: CapturedLogs;

async function deliver(
  body: string,
  headers: Record<string, string | undefined>,
  target: typeof GitHubConnector = connector,
): Promise<HttpResult> {
  const defined = Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const event = httpEvent({
    method: 'POST',
    path: '/github/webhook',
    body,
    headers: defined,
    authorizer: 'none',
  });
  return (await target.handler(event, lambdaContext())) as HttpResult;
}

function signedHeaders(
  body: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    'x-github-event': 'issues',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': sign(stack.webhookSecret, body),
    ...overrides,
  };
}

function handedOn(): { sqs: number; sfn: number } {
  return {
    sqs: stack.aws.calls.filter((call) => call.target === 'AmazonSQS.SendMessage').length,
    sfn: stack.aws.calls.filter((call) => call.target === 'AWSStepFunctions.StartExecution').length,
  };
}

beforeAll(async () => {
  stack = await startGitHubTestStack({ auth: 'token' });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Route: POST /github/webhook', () => {
  it('accepts a signed delivery and hands it on to SQS and Step Functions', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    const delivery = randomUUID();
    const before = handedOn();
    // Act
    const response = await deliver(body, signedHeaders(body, { 'x-github-delivery': delivery }));
    // Assess
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toEqual({
      accepted: true,
      event: 'issue-opened',
      deliveryId: delivery,
    });
    expect(handedOn()).toEqual({ sqs: before.sqs + 1, sfn: before.sfn + 1 });
    const message =
      stack.aws.calls.filter((call) => call.target === 'AmazonSQS.SendMessage').at(-1)?.body ?? {};
    expect(message['QueueUrl']).toBe(stack.queueUrl);
    expect(message['MessageAttributes']).toMatchObject({
      eventName: { DataType: 'String', StringValue: 'issue-opened' },
      deliveryId: { DataType: 'String', StringValue: delivery },
      correlationId: { DataType: 'String', StringValue: response.headers['x-correlation-id'] },
    });
    expect(JSON.parse(String(message['MessageBody']))).toMatchObject({
      provider: 'github',
      name: 'issue-opened',
      event: 'issues',
      action: 'opened',
      deliveryId: delivery,
      source: 'octo/hello',
      payload: ISSUE_OPENED,
    });
    const execution = stack.aws.calls
      .filter((call) => call.target === 'AWSStepFunctions.StartExecution')
      .at(-1);
    expect(execution?.body).toMatchObject({
      stateMachineArn: stack.stateMachineArn,
      name: `github-${delivery}`,
    });
  });

  it('refuses a delivery whose body was changed by one byte with 401 and hands nothing on', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    const headers = signedHeaders(body);
    const tampered = body.replace('Crash', 'Crask');
    const before = handedOn();
    // Act
    const response = await deliver(tampered, headers);
    // Assess
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ detail: 'Webhook signature does not match' });
    expect(handedOn()).toEqual(before);
  });

  it('refuses a delivery without X-Hub-Signature-256 with 401', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    // Act
    const response = await deliver(body, signedHeaders(body, { 'x-hub-signature-256': undefined }));
    // Assess
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ detail: 'Webhook signature is missing' });
  });

  it('refuses a valid HMAC with the sha1= prefix (only sha256 is trusted)', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    // Act
    const response = await deliver(
      body,
      signedHeaders(body, { 'x-hub-signature-256': sign(stack.webhookSecret, body, 'sha1') }),
    );
    // Assess
    expect(response.statusCode).toBe(401);
  });

  it('refuses a signature made with another secret', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    // Act
    const response = await deliver(
      body,
      signedHeaders(body, { 'x-hub-signature-256': sign('not-the-secret', body) }),
    );
    // Assess
    expect(response.statusCode).toBe(401);
  });

  it('answers a redelivered delivery id with 200 duplicate and does not hand it on again', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    const headers = signedHeaders(body);
    const first = await deliver(body, headers);
    const afterFirst = handedOn();
    // Act
    const replay = await deliver(body, headers);
    // Assess
    expect(first.statusCode).toBe(202);
    expect(replay.statusCode).toBe(200);
    expect(JSON.parse(replay.body)).toEqual({ duplicate: true, deliveryId: headers['x-github-delivery'] });
    expect(handedOn()).toEqual(afterFirst);
  });

  it('answers 5xx and does not record the delivery when handing on fails, so a redelivery succeeds', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    const headers = signedHeaders(body);
    stack.aws.failNext('AmazonSQS.SendMessage', { type: 'InvalidParameterValue' });
    const before = handedOn();
    // Act
    const failed = await deliver(body, headers);
    const redelivered = await deliver(body, headers);
    // Assess
    expect(failed.statusCode).toBe(502); // SQS refused the message: unexpected_response
    expect(redelivered.statusCode).toBe(202);
    expect(handedOn()).toEqual({ sqs: before.sqs + 1, sfn: before.sfn + 1 });
  });

  it('accepts a form-encoded delivery, verified over the raw body', async () => {
    // Prepare
    const body = new URLSearchParams({ payload: JSON.stringify(ISSUE_OPENED) }).toString();
    // Act
    const response = await deliver(
      body,
      signedHeaders(body, { 'content-type': 'application/x-www-form-urlencoded' }),
    );
    // Assess
    expect(response.statusCode).toBe(202);
  });

  it('names an event without action "<event>-received"', async () => {
    // Prepare
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'octo/hello' } });
    // Act
    const response = await deliver(body, signedHeaders(body, { 'x-github-event': 'push' }));
    // Assess
    expect(JSON.parse(response.body)).toMatchObject({ accepted: true, event: 'push-received' });
  });

  it('answers ping with pong and hands nothing on', async () => {
    // Prepare
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const before = handedOn();
    // Act
    const response = await deliver(body, signedHeaders(body, { 'x-github-event': 'ping' }));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ pong: true });
    expect(handedOn()).toEqual(before);
  });

  it('answers 400 for a signed delivery without X-GitHub-Delivery or with a body that is not an object', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    const list = JSON.stringify([1, 2]);
    // Act
    const missing = await deliver(body, signedHeaders(body, { 'x-github-delivery': undefined }));
    const notObject = await deliver(list, signedHeaders(list));
    // Assess
    expect(missing.statusCode).toBe(400);
    expect(notObject.statusCode).toBe(400);
  });

  it('answers 415 for a signed delivery of another content type', async () => {
    // Prepare
    const body = 'plain';
    // Act
    const response = await deliver(body, signedHeaders(body, { 'content-type': 'text/plain' }));
    // Assess
    expect(response.statusCode).toBe(415);
  });

  it('never writes the secret, the signature or the token to logs or responses', async () => {
    // Prepare
    const body = JSON.stringify(ISSUE_OPENED);
    const headers = signedHeaders(body);
    const tampered = signedHeaders(body.replace('12', '13'));
    // Act
    const responses = [
      await deliver(body, headers),
      await deliver(body, headers),
      await deliver(body, { ...tampered, 'x-hub-signature-256': headers['x-hub-signature-256'] }),
    ];
    logs.restore();
    // Assess
    const everything = `${logs.text()}\n${responses.map((response) => JSON.stringify(response)).join('\n')}`;
    expect(everything).not.toContain(stack.webhookSecret);
    expect(everything).not.toContain(String(headers['x-hub-signature-256']).slice('sha256='.length));
    expect(everything).not.toContain(stack.token);
    expect(logs.records().some((record) => record['message'] === 'invocation')).toBe(true);
  });
});

describe('Route: POST /github/webhook (other configurations)', () => {
  afterEach(() => {
    vi.resetModules();
  });

  async function connectorWith(env: Record<string, string | undefined>): Promise<typeof GitHubConnector> {
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    vi.resetModules();
    try {
      return (await import('./index.ts')).connector;
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  it('logs the event and answers 202 with a warning when no queue or state machine is configured', async () => {
    // Prepare
    const bare = await connectorWith({
      GITHUB_EVENTS_QUEUE_URL: undefined,
      GITHUB_EVENTS_STATE_MACHINE_ARN: undefined,
    });
    const body = JSON.stringify(ISSUE_OPENED);
    const headers = signedHeaders(body);
    const before = handedOn();
    // Act
    const response = await deliver(body, headers, bare);
    // Assess
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({
      accepted: true,
      warning: expect.stringContaining('logged'),
    });
    expect(handedOn()).toEqual(before);
    expect(logs.records().some((record) => record['deliveryId'] === headers['x-github-delivery'])).toBe(true);
  });

  it('fails closed with 500 when the webhook secret cannot be read', async () => {
    // Prepare
    const broken = await connectorWith({ GITHUB_WEBHOOK_SECRET_SECRET: 'circle-core/github/absent' });
    const body = JSON.stringify(ISSUE_OPENED);
    const before = handedOn();
    // Act
    const response = await deliver(body, signedHeaders(body), broken);
    // Assess
    expect(response.statusCode).toBe(500);
    expect(handedOn()).toEqual(before);
  });

  it('fails closed with 500 when no state table is configured', async () => {
    // Prepare
    const tableless = await connectorWith({ GITHUB_STATE_TABLE: undefined });
    const body = JSON.stringify(ISSUE_OPENED);
    // Act
    const response = await deliver(body, signedHeaders(body), tableless);
    // Assess
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body).detail).toContain('GITHUB_STATE_TABLE');
  });

  it('answers 500 when the state table does not exist, without handing on', async () => {
    // Prepare
    const missing = await connectorWith({ GITHUB_STATE_TABLE: 'no-such-table' });
    const body = JSON.stringify(ISSUE_OPENED);
    const before = handedOn();
    // Act
    const response = await deliver(body, signedHeaders(body), missing);
    // Assess
    expect(response.statusCode).toBe(500);
    expect(handedOn()).toEqual(before);
  });
});
