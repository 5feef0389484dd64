/**
 * The deterministic "model" behind the LLM contract fakes (OpenAI, Anthropic, ...): each fake speaks its
 * provider's wire format and asks this what to answer, so tests can assert answers exactly.
 * - text: after the last colon of the last user message when there is one ("Reply with the word: pong"
 *   answers "pong"), else "You said: <message>"; a tool result answers "Tool <name> returned: <result>";
 * - tokens are whitespace-separated words (a message costs 3 more), so `maxTokens` cuts at words;
 * - tool calls when tools are declared and the choice requires one or the prompt names a tool; string
 *   arguments take the first capitalised word after the prompt's first word ("... in Paris?" gives Paris);
 * - structured answers are the smallest instance of the schema; the markers {@link FAULT_INVALID_ONCE} and
 *   {@link FAULT_INVALID_ALWAYS} in a user message make it answer JSON (or tool arguments) that miss it;
 * - embeddings are hashed bags of words, normalised: equal texts give equal vectors, shared words similar ones;
 * - streamed answers are the same answer cut into pieces ({@link pieces}: a word with the space before it,
 *   tool arguments in 8-character slices), sent one frame at a time by {@link gatedFrames}, which a test can
 *   hold before each frame after the first (`streamGate`) to see the first arrive before the last exists.
 */
import { createHash } from 'node:crypto';
import type { FaultTarget } from './kit/faults.ts';

/** In a user message: the first structured answer misses the schema, the answer to the feedback fits. */
export const FAULT_INVALID_ONCE = '[fake:invalid-once]';
/** In a user message: every structured answer misses the schema. */
export const FAULT_INVALID_ALWAYS = '[fake:invalid-always]';

/**
 * In a request body (a user message): the sandbox answers its provider's rate-limit error (429 with
 * `retry-after: 1`) to every request carrying it, so a caller on the running stack can see the
 * connector's answer to a throttled provider (an `error` frame on a stream) without reaching the fake.
 */
export const FAULT_THROTTLED = '[fake:throttled]';

/**
 * Makes a started LLM fake answer {@link FAULT_THROTTLED}: the local stack's OpenAI, Anthropic and Bedrock
 * sandboxes do.
 *
 * @example
 * ```ts
 * throttleOnMarker(await startOpenaiFake());
 * ```
 */
export function throttleOnMarker(fake: {
  inject(fault: { kind: 'throttled'; retryAfterSeconds: number }, target: FaultTarget): void;
}): void {
  fake.inject(
    { kind: 'throttled', retryAfterSeconds: 1 },
    { when: (request) => request.rawBody.includes(FAULT_THROTTLED), times: Number.POSITIVE_INFINITY },
  );
}

/** A conversation turn, provider-neutral. */
export interface FakeTurn {
  role: 'user' | 'assistant' | 'tool';
  text: string;
  /** For a tool result: the name of the tool it answers, when known. */
  toolName?: string;
}

export interface FakeTool {
  name: string;
  parameters: Record<string, unknown>;
}

export interface FakeGeneration {
  turns: FakeTurn[];
  system?: string;
  maxTokens?: number;
  stop?: string[];
  tools?: FakeTool[];
  /** `auto`, `none`, `required` or a tool name. */
  toolChoice?: string;
  /** A JSON Schema the answer must follow. */
  schema?: Record<string, unknown>;
}

export type FakeOutcome =
  | {
      kind: 'text';
      text: string;
      finish: 'stop' | 'length';
      /** The stop sequence that cut the answer, if one did. */
      stopSequence?: string;
      inputTokens: number;
      outputTokens: number;
    }
  | {
      kind: 'tool';
      name: string;
      arguments: Record<string, unknown>;
      inputTokens: number;
      outputTokens: number;
    };

/** Words, the fake's tokens. */
export function countTokens(text: string): number {
  return text.split(/\s+/).filter((word) => word !== '').length;
}

function inputTokens(request: FakeGeneration): number {
  const system = request.system === undefined ? 0 : countTokens(request.system) + 3;
  return request.turns.reduce((sum, turn) => sum + countTokens(turn.text) + 3, system);
}

/** The smallest value that fits a JSON Schema (first enum value, minimum, required properties). */
export function instanceOf(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null) return null;
  const node = schema as Record<string, unknown>;
  if (Array.isArray(node['enum'])) return node['enum'][0];
  if ('const' in node) return node['const'];
  const type = Array.isArray(node['type']) ? node['type'][0] : node['type'];
  switch (type) {
    case 'string':
      return 'example';
    case 'number':
    case 'integer':
      return typeof node['minimum'] === 'number' ? node['minimum'] : 0;
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: Number(node['minItems'] ?? 0) }, () => instanceOf(node['items']));
    case 'null':
      return null;
    default: {
      const properties = (node['properties'] ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, instanceOf(value)]));
    }
  }
}

function argumentsFor(parameters: Record<string, unknown>, prompt: string): Record<string, unknown> {
  const words = prompt
    .split(/\s+/)
    .slice(1)
    .map((word) => word.replace(/[^\p{L}\p{N}_-]/gu, ''));
  const named = words.find((word) => /^\p{Lu}/u.test(word)) ?? 'Example';
  const properties = (parameters['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(
    Object.entries(properties).map(([key, value]) => [
      key,
      value['type'] === 'string' && !value['enum'] ? named : instanceOf(value),
    ]),
  );
}

function toolToCall(request: FakeGeneration, last: FakeTurn): FakeTool | undefined {
  const tools = request.tools ?? [];
  if (tools.length === 0 || request.toolChoice === 'none' || last.role !== 'user') return undefined;
  if (request.toolChoice !== undefined && !['auto', 'required'].includes(request.toolChoice)) {
    return tools.find((tool) => tool.name === request.toolChoice);
  }
  return (
    tools.find((tool) => last.text.includes(tool.name)) ??
    (request.toolChoice === 'required' ? tools[0] : undefined)
  );
}

/** Whether the fault markers ask for an answer that misses the schema now. */
function missesSchema(request: FakeGeneration): boolean {
  const users = request.turns.filter((turn) => turn.role === 'user');
  const feedback = users.at(-1)?.text.startsWith('Your answer did not match') === true;
  const always = users.some((turn) => turn.text.includes(FAULT_INVALID_ALWAYS));
  const once = users.some((turn) => turn.text.includes(FAULT_INVALID_ONCE));
  return always || (once && !feedback);
}

function structured(request: FakeGeneration, schema: Record<string, unknown>): string {
  return JSON.stringify(missesSchema(request) ? { unexpected: true } : instanceOf(schema));
}

/**
 * What the fake model answers to one request.
 *
 * @example
 * ```ts
 * generate({ turns: [{ role: 'user', text: 'Reply with the word: pong' }] }); // text "pong"
 * ```
 */
export function generate(request: FakeGeneration): FakeOutcome {
  const input = inputTokens(request);
  const last = request.turns.at(-1) ?? { role: 'user', text: '' };
  const tool = toolToCall(request, last);
  if (tool !== undefined) {
    // A forced tool is how some providers (Anthropic) answer structured output: the faults apply to it too.
    const args = missesSchema(request) ? { unexpected: true } : argumentsFor(tool.parameters, last.text);
    return {
      kind: 'tool',
      name: tool.name,
      arguments: args,
      inputTokens: input,
      outputTokens: countTokens(JSON.stringify(args)),
    };
  }
  let text: string;
  if (request.schema !== undefined) text = structured(request, request.schema);
  else if (last.role === 'tool') text = `Tool ${last.toolName ?? 'call'} returned: ${last.text}`;
  else {
    const colon = last.text.lastIndexOf(':');
    text =
      colon >= 0 && colon < last.text.length - 1
        ? last.text.slice(colon + 1).trim()
        : `You said: ${last.text}`;
  }
  let stopSequence: string | undefined;
  for (const stop of request.stop ?? []) {
    const at = text.indexOf(stop);
    if (at >= 0) {
      text = text.slice(0, at).trimEnd();
      stopSequence = stop;
    }
  }
  const words = text.split(/\s+/).filter((word) => word !== '');
  if (request.maxTokens !== undefined && words.length > request.maxTokens) {
    return {
      kind: 'text',
      text: words.slice(0, request.maxTokens).join(' '),
      finish: 'length',
      inputTokens: input,
      outputTokens: request.maxTokens,
    };
  }
  return {
    kind: 'text',
    text,
    finish: 'stop',
    ...(stopSequence === undefined ? {} : { stopSequence }),
    inputTokens: input,
    outputTokens: Math.max(1, words.length),
  };
}

/**
 * A deterministic embedding: words hashed into `dimensions` buckets with a sign, then normalised.
 *
 * @example
 * ```ts
 * embed('the cat', 8).length; // 8
 * ```
 */
export function embed(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text
    .toLowerCase()
    .split(/\W+/)
    .filter((w) => w !== '')) {
    const hash = createHash('sha256').update(word).digest();
    const bucket = hash.readUInt32BE(0) % dimensions;
    vector[bucket] = (vector[bucket] ?? 0) + ((hash[4] ?? 0) & 1 ? 1 : -1);
  }
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0)) || 1;
  return vector.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

/** Text cut the way the fakes stream it: each word with the whitespace before it, so joining restores it. */
export function pieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? (text === '' ? [] : [text]);
}

/** Tool-call arguments (JSON text) cut into slices the way providers stream them. */
export function slices(text: string, size = 8): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out;
}

/**
 * Before frame `index` (1 or more) a test may hold the stream: the fake sends frame 0, then awaits
 * `gate(1)` before frame 1, and so on. Without a gate the frames go out as fast as the client reads.
 */
export type StreamGate = (index: number) => Promise<void>;

/**
 * Yields the frames one by one, awaiting the gate (when a test set one) before each frame after the first.
 *
 * @example
 * ```ts
 * return { status: 200, contentType: 'text/event-stream', chunks: gatedFrames(frames, state.streamGate) };
 * ```
 */
export async function* gatedFrames<T extends string | Buffer>(
  frames: readonly T[],
  gate?: StreamGate,
): AsyncGenerator<T> {
  for (const [index, frame] of frames.entries()) {
    if (index > 0 && gate !== undefined) await gate(index);
    yield frame;
  }
}
