/**
 * The start-up banner's first three commands, run as printed (bash, curl) against a running stack.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstSteps } from '../../scripts/local/first-steps.ts';
import { type StackProcess, startStackProcess } from './stack-process.ts';

const run = promisify(execFile);
let stack: StackProcess;

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 's3']);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

describe('Local stack: the first steps the banner prints', () => {
  it('checks the health, writes an object and lists it, each command succeeding as printed', async () => {
    // Prepare
    const steps = firstSteps(stack.apiUrl, stack.apiKey, ['s3', 'postgres']);

    // Act
    const outputs: string[] = [];
    for (const step of steps) outputs.push((await run('bash', ['-c', step], { env: stack.env })).stdout);

    // Assess
    expect(steps).toHaveLength(3);
    expect(JSON.parse(outputs[0] ?? '')).toMatchObject({ status: 'ok' });
    expect(JSON.parse(outputs[1] ?? '')).toMatchObject({ key: 'hello.txt' });
    expect(JSON.parse(outputs[2] ?? '')).toMatchObject({
      objects: [expect.objectContaining({ key: 'hello.txt' })],
    });
  });

  it('falls back to the health of the first functions when S3 does not run', () => {
    // Act
    const steps = firstSteps('http://127.0.0.1:3000', 'k', ['slack', 'github', 'jira']);

    // Assess
    expect(steps).toEqual([
      'curl -sf http://127.0.0.1:3000/health',
      'curl -sf http://127.0.0.1:3000/slack/health -H "authorization: Bearer k"',
      'curl -sf http://127.0.0.1:3000/github/health -H "authorization: Bearer k"',
    ]);
  });
});
