import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubTestStack, INSTALLATION_ID, startGitHubTestStack } from '../../../test/stacks/github.ts';
import type { connector as GitHubConnector } from './index.ts';

const REPO = { owner: 'octo', repo: 'app' };
let stack: GitHubTestStack;
let connector: typeof GitHubConnector;
let logs: CapturedLogs;

beforeAll(async () => {
  stack = await startGitHubTestStack({ auth: 'app', sinks: [] });
  stack.github.addRepo('octo/app', { files: { VERSION: '1.0.0\n' } });
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

describe('Connector: github with GITHUB_AUTH=app', () => {
  it('exchanges one app JWT for an installation token and reuses it across invocations and triggers', async () => {
    // Act
    const created = await connector.handler(
      { operation: 'create-issue', input: { ...REPO, title: 'App issue' }, trigger: 'task' },
      lambdaContext(),
    );
    const file = (await connector.handler(
      httpEvent({ path: '/github/get-file', body: { ...REPO, path: 'VERSION' } }),
      lambdaContext(),
    )) as { statusCode: number; body: string };
    const health = (await connector.handler(
      httpEvent({ method: 'GET', path: '/github/health' }),
      lambdaContext(),
    )) as {
      statusCode: number;
    };
    // Assess
    expect(created).toMatchObject({ title: 'App issue' });
    expect(JSON.parse(file.body)).toMatchObject({ content: '1.0.0\n' });
    expect(health.statusCode).toBe(200);
    const exchanges = stack.github.requests.filter(
      (request) => request.route === 'create-installation-token',
    );
    expect(exchanges.map((request) => request.path)).toEqual([
      `/app/installations/${INSTALLATION_ID}/access_tokens`,
    ]);
    const token = stack.github.issuedTokens[0];
    const others = stack.github.requests.filter((request) => request.route !== 'create-installation-token');
    expect(others.every((request) => request.headers['authorization'] === `Bearer ${token}`)).toBe(true);
  });

  it('never logs the private key, the app JWT or the installation token', async () => {
    // Prepare
    stack.github.revokeToken(stack.github.issuedTokens.at(-1) ?? '');
    // Act
    const outcome = await connector
      .handler(
        { operation: 'get-file', input: { ...REPO, path: 'missing' }, trigger: 'task' },
        lambdaContext(),
      )
      .catch((error: unknown) => error);
    logs.restore();
    // Assess
    expect(outcome).toMatchObject({ name: 'NotFoundError' });
    const jwt = String(
      stack.github.requests.find((request) => request.route === 'create-installation-token')?.headers[
        'authorization'
      ],
    ).slice(7);
    const keyBody = String(stack.privateKey).split('\n')[1] ?? 'unreachable';
    const everything = `${logs.text()}\n${JSON.stringify(outcome)}`;
    expect(everything).not.toContain(keyBody);
    expect(everything).not.toContain(jwt);
    for (const token of stack.github.issuedTokens) expect(everything).not.toContain(token);
  });
});
