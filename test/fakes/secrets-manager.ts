/**
 * A contract fake of AWS Secrets Manager's JSON protocol (AWS JSON 1.1, `x-amz-target:
 * secretsmanager.<Operation>`) on 127.0.0.1, for tests that drive the real AWS SDK client against it.
 * Implements GetSecretValue (the only call connectors make) with the real error shapes, counts calls,
 * and lets a test rotate a value or make the next call fail.
 *
 * Point a client at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER=<endpoint>` before the client is built.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsManagerFake {
  endpoint: string;
  /** Names asked for by GetSecretValue, in order. */
  calls: string[];
  set(name: string, value: string): void;
  /** The next GetSecretValue answers this AWS error (`ThrottlingException`, `AccessDeniedException`, ...). */
  failNext(errorType: string, status?: number): void;
  close(): Promise<void>;
}

/**
 * Starts the fake with an initial set of secrets (name -> SecretString).
 *
 * @example
 * ```ts
 * const sm = await startSecretsManagerFake({ 'circle-core/slack/bot-token': 'xoxb-test' });
 * process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;
 * ```
 */
export async function startSecretsManagerFake(
  initial: Record<string, string> = {},
): Promise<SecretsManagerFake> {
  const secrets = new Map(Object.entries(initial));
  const versions = new Map<string, number>();
  const calls: string[] = [];
  let pendingFailure: { type: string; status: number } | undefined;

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: string };
      if (target !== 'secretsmanager.GetSecretValue') {
        reply(res, 400, { __type: 'InvalidRequestException', message: `Unsupported operation ${target}` });
        return;
      }
      const name = body.SecretId ?? '';
      calls.push(name);
      if (pendingFailure !== undefined) {
        const failure = pendingFailure;
        pendingFailure = undefined;
        reply(res, failure.status, { __type: failure.type, message: `Injected ${failure.type}` });
        return;
      }
      const value = secrets.get(name);
      if (value === undefined) {
        reply(res, 400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      reply(res, 200, {
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`,
        Name: name,
        SecretString: value,
        VersionId: `v${versions.get(name) ?? 1}`,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: Date.now() / 1000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    set: (name, value) => {
      secrets.set(name, value);
      versions.set(name, (versions.get(name) ?? 1) + 1);
    },
    failNext: (type, status = 400) => {
      pendingFailure = { type, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
