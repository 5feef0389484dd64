/**
 * The `issue-label` workflow (the issue-triage variant that asks a model for labels) end to end on the local
 * stack, as `npm start` runs it: the model sandboxes (OpenAI, Anthropic, Bedrock; deterministic, each
 * answering the smallest instance of the schema, so the first allowed label) and the GitHub contract fake.
 * Each provider labels an issue through Step Functions' API; an answer that misses the schema once is asked
 * again and still applied; one that always misses fails with StructuredOutputError and labels nothing; a
 * bad provider fails with ValidationError before any model call.
 */
import { randomBytes } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_INVALID_ALWAYS, FAULT_INVALID_ONCE } from '../../scripts/local/sandboxes/llm-behaviour.ts';
import { finished, runWorkflow, startWorkflowWorld, stateMachineArn, type WorkflowWorld } from './harness.ts';

let world: WorkflowWorld;
const run = randomBytes(4).toString('hex');
const OWNER = 'octo';
const REPO = `label-${run}`;

/** Starts an execution through Step Functions' API on the stack and waits for its end. */
async function label(input: unknown): Promise<{ status: string; output: Record<string, unknown> }> {
  const { executionArn = '' } = await world.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stateMachineArn('issue-label'),
      input: JSON.stringify(input),
    }),
  );
  const execution = await finished(world, executionArn, 180_000);
  return {
    status: execution.status ?? '',
    output:
      execution.output === undefined
        ? { error: execution.error, cause: execution.cause }
        : (JSON.parse(execution.output) as Record<string, unknown>),
  };
}

/** A new open issue in the test repository, labelled `triage`. */
function openIssue(title: string, body: string | null): number {
  return world.github.addIssue(`${OWNER}/${REPO}`, { title, body, labels: ['triage'] }).number;
}

/** The add-labels calls GitHub received for one issue. */
function labelCalls(number: number): unknown[] {
  return world.github.requests
    .filter((request) => request.route === 'add-labels' && request.path.endsWith(`/issues/${number}/labels`))
    .map((request) => request.body);
}

function labelsOf(number: number): string[] | undefined {
  return world.github.issues(`${OWNER}/${REPO}`).find((issue) => issue.number === number)?.labels;
}

beforeAll(async () => {
  world = await startWorkflowWorld();
  world.github.addRepo(`${OWNER}/${REPO}`);
}, 240_000);

afterAll(async () => {
  await world?.close();
});

describe.each(['openai', 'anthropic', 'bedrock'])('Workflow issue-label with %s', (provider) => {
  it('asks the model for labels from the allowed ones and adds them to the issue', async () => {
    // Prepare
    const number = openIssue(`Crash on start (${provider})`, 'Stack trace attached');

    // Act
    const { status, output } = await label({
      owner: OWNER,
      repo: REPO,
      number,
      title: `Crash on start (${provider})`,
      body: 'Stack trace attached',
      provider,
      correlationId: `label-${provider}-${run}`,
    });

    // Assess: the fake model answers the first allowed label; the issue keeps its own and gains it.
    expect(status, JSON.stringify(output)).toBe('SUCCEEDED');
    expect(output).toMatchObject({
      correlationId: `label-${provider}-${run}`,
      repository: `${OWNER}/${REPO}`,
      number,
      provider,
      labels: ['bug'],
      reason: expect.any(String),
      attempts: 1,
      issueLabels: ['triage', 'bug'],
      model: expect.any(String),
      usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) },
      cost: { currency: 'USD' },
    });
    expect(labelCalls(number)).toEqual([{ labels: ['bug'] }]);
    expect(labelsOf(number)).toEqual(['triage', 'bug']);
  });
});

describe('Workflow issue-label: answers that miss the schema, bad input', () => {
  it('asks again once when the first answer misses the schema, then applies the valid labels', async () => {
    // Prepare: the marker in the body makes the fake's first structured answer miss the schema.
    const number = openIssue('Docs are wrong', `The README is outdated ${FAULT_INVALID_ONCE}`);

    // Act (npm run workflow, as a user runs it; the body is null-safe too)
    const result = await runWorkflow(world, 'issue-label', {
      owner: OWNER,
      repo: REPO,
      number,
      title: 'Docs are wrong',
      body: `The README is outdated ${FAULT_INVALID_ONCE}`,
      provider: 'openai',
    });

    // Assess
    expect(result.status, result.stderr).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ labels: ['bug'], attempts: 2, issueLabels: ['triage', 'bug'] });
    expect(labelCalls(number)).toHaveLength(1);
  });

  it('fails with StructuredOutputError and labels nothing when every answer misses the schema', async () => {
    // Prepare
    const number = openIssue('Odd behaviour', `Nothing fits ${FAULT_INVALID_ALWAYS}`);

    // Act
    const { status, output } = await label({
      owner: OWNER,
      repo: REPO,
      number,
      title: 'Odd behaviour',
      body: `Nothing fits ${FAULT_INVALID_ALWAYS}`,
      provider: 'anthropic',
    });

    // Assess
    expect(status).toBe('FAILED');
    expect(output['error']).toBe('StructuredOutputError');
    expect(labelCalls(number)).toEqual([]);
    expect(labelsOf(number)).toEqual(['triage']);
  });

  it('labels an issue without a body (null), and refuses an unknown provider before any call', async () => {
    // Prepare
    const number = openIssue('Question about limits', null);
    const before = world.github.requests.length;

    // Act
    const refused = await label({ owner: OWNER, repo: REPO, number, title: 'x', provider: 'gemini' });
    const refusedCalls = world.github.requests.length - before;
    const labelled = await label({
      owner: OWNER,
      repo: REPO,
      number,
      title: 'Question about limits',
      body: null,
      provider: 'bedrock',
    });

    // Assess
    expect(refused).toMatchObject({
      status: 'FAILED',
      output: { error: 'ValidationError', cause: expect.stringMatching(/^input\.provider must /) },
    });
    expect(refusedCalls).toBe(0);
    expect(labelled.status, JSON.stringify(labelled.output)).toBe('SUCCEEDED');
    expect(labelsOf(number)).toEqual(['triage', 'bug']);
  });
});
