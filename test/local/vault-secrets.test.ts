/**
 * `CIRCLE_LOCAL_SECRETS=vault npm start -- --only openai`: the function reads its secret through the Vault
 * sandbox (aws IAM login, KV v2 over the local secret store) instead of Secrets Manager, and still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;

beforeAll(async () => {
  if (process.env['OPENAI_API_URL'] !== undefined) throw new Error('unset OPENAI_API_URL to run this suite');
  stack = await startStackProcess({ CIRCLE_LOCAL_SECRETS: 'vault' }, ['--only', 'openai']);
}, 240_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: Vault as the secrets backend', () => {
  it('says Vault serves secrets, and lists its listener', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      stores: Record<string, string>;
      listeners: { name: string; url: string }[];
    };

    // Assess
    expect(health.stores['secrets']).toMatch(/\(Vault sandbox, KV v2 mount secret\) over /);
    expect(health.listeners.map((listener) => listener.name)).toContain('Vault (sandbox)');
  });

  it('runs OpenAI with its key read from Vault after an aws IAM login, never from Secrets Manager', async () => {
    // Act
    const response = await fetch(`${stack.apiUrl}/openai/complete-chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Reply with the single word: pong' }] }),
    });

    // Assess
    expect(response.status).toBe(200);
    expect(((await response.json()) as { content: string }).content).toBe('pong');
    const vault = stack.lines.filter((line) => String(line['message']).startsWith('vault '));
    expect(vault).toContainEqual(expect.objectContaining({ message: 'vault login', method: 'aws' }));
    expect(vault).toContainEqual(
      expect.objectContaining({
        message: 'vault read',
        path: expect.stringMatching(/^secret\/.*openai\/api-key$/),
        status: 200,
      }),
    );
    // No value or token on any line.
    expect(JSON.stringify(stack.lines)).not.toMatch(/hvs\.[0-9a-f]{8}/);
  });
});
