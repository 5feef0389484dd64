/**
 * Structured output, the same for every model provider: the provider asks its model for JSON in its own
 * way (OpenAI's `response_format: json_schema`, Anthropic's forced tool use, Bedrock's tool config); this
 * parses the answer, validates it against the caller's JSON Schema, and when it does not match asks once
 * more with the validation message. A second miss is a {@link StructuredOutputError}.
 */
import { schemaFromJsonSchema, UnexpectedResponseError, ValidationError } from '@circle-core/core';
import type * as z from 'zod';
import type {
  CallCost,
  ChatMessage,
  GenerateObjectInput,
  GenerateObjectOutput,
  TokenUsage,
} from '../models/llm.ts';
import { addCosts, tokenUsage } from './llm-cost.ts';

/** A parsed structured-output request. */
export type GenerateObjectRequest = z.output<typeof GenerateObjectInput>;

/** One answer of the provider: the model's JSON as text, and what the call used. */
export interface StructuredAttempt {
  model: string;
  text: string;
  usage: TokenUsage;
  cost: CallCost;
}

/**
 * The model answered JSON that does not match the schema, twice (502, Step Functions
 * `StructuredOutputError`). The message names the failing fields, never the answer's values.
 */
export class StructuredOutputError extends UnexpectedResponseError {
  constructor(message: string, fields: string[]) {
    super(message, { details: { fields } });
    this.name = 'StructuredOutputError';
  }
}

/** The pointer of a zod issue path: `/items/0/label`, or `/` for the root. */
function pointer(path: readonly PropertyKey[]): string {
  return `/${path.map(String).join('/')}`;
}

/** Reads an answer: JSON text, tolerating a Markdown code fence around it. */
function check(
  schema: z.ZodType,
  text: string,
): { ok: true; value: unknown } | { ok: false; problems: string[]; fields: string[] } {
  const unfenced = text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1');
  let value: unknown;
  try {
    value = JSON.parse(unfenced);
  } catch {
    return { ok: false, problems: ['/: the answer is not JSON'], fields: ['/'] };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.slice(0, 20);
  return {
    ok: false,
    problems: issues.map((issue) => `${pointer(issue.path)}: ${issue.message}`),
    fields: [...new Set(issues.map((issue) => pointer(issue.path)))],
  };
}

/**
 * The request's JSON Schema as zod; one zod cannot read is a ValidationError on `/schema`, worded as the
 * input validation words its problems (`Invalid input: /schema: ...`).
 */
async function requestSchema(request: GenerateObjectRequest): Promise<z.ZodType> {
  try {
    return await schemaFromJsonSchema(request.schema);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 200) : 'unreadable';
    const message = `not a usable JSON Schema: ${reason}`;
    throw new ValidationError(`Invalid input: /schema: ${message}`.slice(0, 1000), [
      { pointer: '/schema', message },
    ]);
  }
}

/**
 * Asks, validates, and asks once more with the validation message when the answer does not match. A
 * schema zod cannot read is refused before the model is asked.
 *
 * @example
 * ```ts
 * return generateValidated(request, (messages) => this.askForJson({ ...request, messages }));
 * ```
 */
export async function generateValidated(
  request: GenerateObjectRequest,
  ask: (messages: ChatMessage[]) => Promise<StructuredAttempt>,
): Promise<GenerateObjectOutput> {
  const schema = await requestSchema(request);
  const first = await ask(request.messages);
  const firstCheck = check(schema, first.text);
  if (firstCheck.ok) {
    return {
      model: first.model,
      object: firstCheck.value,
      attempts: 1,
      usage: first.usage,
      cost: first.cost,
    };
  }
  const retry: ChatMessage[] = [
    ...request.messages,
    { role: 'assistant', content: first.text.slice(0, 100_000) || '(empty)' },
    {
      role: 'user',
      content: `Your answer did not match the JSON Schema "${request.schemaName}":\n${firstCheck.problems.join('\n')}\nAnswer again with only JSON that matches it.`,
    },
  ];
  const second = await ask(retry);
  const usage = tokenUsage(
    first.usage.inputTokens + second.usage.inputTokens,
    first.usage.outputTokens + second.usage.outputTokens,
  );
  const cost = addCosts(first.cost, second.cost);
  const secondCheck = check(schema, second.text);
  if (secondCheck.ok) {
    return { model: second.model, object: secondCheck.value, attempts: 2, usage, cost };
  }
  throw new StructuredOutputError(
    `The model's answer did not match the schema "${request.schemaName}" after a retry (at ${secondCheck.fields.slice(0, 10).join(', ')})`,
    secondCheck.fields,
  );
}
