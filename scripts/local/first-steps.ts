/**
 * The first three commands the start-up banner suggests: the stack's health, then a write and a read on
 * one of the running connectors (S3 when it runs, whose sandbox needs nothing; else the first function's
 * health). `test/local/first-steps.test.ts` runs them as printed against a running stack.
 */

/**
 * Three shell commands to try right after `npm start`, for the stack at `apiUrl` with `apiKey`.
 *
 * @example
 * ```ts
 * firstSteps('http://127.0.0.1:3000', 'k', ['s3', 'slack']); // ['curl -sf .../health', ...]
 * ```
 */
export function firstSteps(apiUrl: string, apiKey: string, functions: readonly string[]): string[] {
  const auth = `-H "authorization: Bearer ${apiKey}"`;
  const json = `${auth} -H 'content-type: application/json'`;
  const steps = [`curl -sf ${apiUrl}/health`];
  if (functions.includes('s3')) {
    steps.push(
      `curl -sf ${apiUrl}/s3/put-object ${json} -H "idempotency-key: first-steps-$(date +%s%N)" -d '{"key":"hello.txt","body":"hello from Circle Core"}'`,
      `curl -sf ${apiUrl}/s3/list-objects ${json} -d '{"prefix":"hello"}'`,
    );
  } else {
    for (const name of functions.slice(0, 2)) steps.push(`curl -sf ${apiUrl}/${name}/health ${auth}`);
  }
  return steps;
}
