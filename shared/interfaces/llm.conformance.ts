/**
 * The conformance suite of the LLM interface. Every model connector runs it from its own test file against
 * its peer (a contract fake of the provider's API), so every provider behaves the same for the same
 * input: answers with usage and a priced cost, stop sequences and token limits honoured, typed tool calls,
 * structured output validated and retried once, embeddings in order, errors classified. The assertions
 * hold for a real model too (prompts ask plainly for what is checked); the retry tests need a peer that
 * can be told to answer badly, so they skip without `faults`.
 */
import { NotFoundError, NotSupportedError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompleteChatOutput } from '../models/llm.ts';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { LanguageModel } from './llm.ts';
import { StructuredOutputError } from './llm-structured.ts';

/** What the suite needs from an implementation's test file. */
export interface LanguageModelConformanceFixture {
  model: LanguageModel;
  /** A model id the provider does not know. */
  missingModel: string;
  /** A vector length the embedding model can shorten to (capability `dimensions`); default 64. */
  dimensions?: number;
  /**
   * Prompts after which a contract fake answers JSON that misses the schema: once (then it answers well
   * to the validation message), or always. Absent for a real provider.
   */
  faults?: { invalidOnce: string; invalidAlways: string };
  close?: () => Promise<void>;
}

const LABEL_SCHEMA = {
  type: 'object',
  properties: {
    label: { type: 'string', enum: ['bug', 'feature', 'question'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
  },
  required: ['label', 'confidence'],
  additionalProperties: false,
};

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The current weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', description: 'City name, e.g. Paris' } },
    required: ['city'],
  },
};

function expectAccounted(answer: Pick<CompleteChatOutput, 'usage' | 'cost'>): void {
  expect(answer.usage.inputTokens).toBeGreaterThan(0);
  expect(answer.usage.totalTokens).toBe(answer.usage.inputTokens + answer.usage.outputTokens);
  expect(answer.cost.currency).toBe('USD');
  expect(answer.cost.estimated).toBeGreaterThan(0);
  expect(answer.cost.pricedAs).not.toBeNull();
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let index = 0; index < a.length; index += 1) {
    const x = a[index] ?? 0;
    const y = b[index] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

/**
 * Registers the LLM conformance tests for one implementation.
 *
 * @example
 * ```ts
 * describeLanguageModelConformance('OpenAI', async () => {
 *   const fake = await startOpenAiFake();
 *   return { model: new OpenAiClient({ apiKey: 'sk-test', baseUrl: fake.url }), missingModel: 'gpt-missing',
 *     faults: OPENAI_FAULTS, close: () => fake.close() };
 * });
 * ```
 */
export function describeLanguageModelConformance(
  name: string,
  factory: () => Promise<LanguageModelConformanceFixture>,
): void {
  describe(`Conformance: LLM (${name})`, () => {
    let fixture: LanguageModelConformanceFixture;
    beforeAll(async () => {
      fixture = await factory();
    });
    afterAll(async () => {
      await fixture?.close?.();
    });

    describe('Method: completeChat', () => {
      it('answers with text, usage and a priced cost', async () => {
        // Act
        const answer = await fixture.model.completeChat({
          system: 'You answer in one word.',
          messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
          temperature: 0,
        });
        // Assess
        expect(answer.content.toLowerCase()).toContain('pong');
        expect(answer.finishReason).toBe('stop');
        expect(answer.toolCalls).toEqual([]);
        expect(answer.model).not.toBe('');
        expect(answer.usage.outputTokens).toBeGreaterThan(0);
        expectAccounted(answer);
      });

      it('continues a conversation with earlier turns', async () => {
        // Act
        const answer = await fixture.model.completeChat({
          messages: [
            { role: 'user', content: 'Remember the word: kiwi' },
            { role: 'assistant', content: 'Remembered.' },
            { role: 'user', content: 'Reply with the single word: kiwi' },
          ],
          temperature: 0,
        });
        // Assess
        expect(answer.content.toLowerCase()).toContain('kiwi');
      });

      it('stops at maxTokens with finishReason "length"', async () => {
        // Act
        const answer = await fixture.model.completeChat({
          messages: [{ role: 'user', content: 'Count from one to fifty in words, separated by spaces.' }],
          maxTokens: 2,
        });
        // Assess
        expect(answer.finishReason).toBe('length');
        expect(answer.usage.outputTokens).toBeLessThanOrEqual(2);
      });

      it('stops before a stop sequence, leaving it out of the answer', async () => {
        // Act
        const answer = await fixture.model.completeChat({
          messages: [{ role: 'user', content: 'Repeat exactly: alpha beta STOP gamma' }],
          stop: ['STOP'],
          temperature: 0,
        });
        // Assess
        expect(answer.content).toContain('alpha');
        expect(answer.content).not.toContain('STOP');
        expect(answer.content).not.toContain('gamma');
        expect(answer.finishReason).toBe('stop');
      });

      it('throws ValidationError naming the field for bad input', async () => {
        // Act
        const empty = fixture.model.completeChat({ messages: [] });
        const hot = fixture.model.completeChat({
          messages: [{ role: 'user', content: 'hi' }],
          temperature: 3,
        });
        // Assess
        await expect(empty).rejects.toBeInstanceOf(ValidationError);
        await expect(hot).rejects.toThrow(/temperature/);
      });

      it('throws NotFoundError for a model the provider does not know', async () => {
        // Act
        const attempt = fixture.model.completeChat({
          model: fixture.missingModel,
          messages: [{ role: 'user', content: 'hi' }],
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('returns typed tool calls and reads tool results back (capability "tools")', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.model, 'tools');
        const question = { role: 'user' as const, content: 'What is the weather in Paris? Use get_weather.' };
        // Act
        const call = await fixture.model.completeChat({
          messages: [question],
          tools: [WEATHER_TOOL],
          toolChoice: { name: 'get_weather' },
        });
        const [first] = call.toolCalls;
        const answer = await fixture.model.completeChat({
          messages: [
            question,
            { role: 'assistant', toolCalls: call.toolCalls },
            {
              role: 'tool',
              toolCallId: first?.id ?? '',
              content: '{"city":"Paris","sky":"sunny","celsius":21}',
            },
          ],
          tools: [WEATHER_TOOL],
        });
        // Assess
        expect(call.finishReason).toBe('tool-calls');
        expect(first?.name).toBe('get_weather');
        expect(first?.id).not.toBe('');
        expect(typeof first?.arguments['city']).toBe('string');
        expectAccounted(call);
        expect(answer.toolCalls).toEqual([]);
        expect(answer.content).not.toBe('');
        expect(answer.finishReason).toBe('stop');
      });

      it('refuses a tool choice naming no declared tool', async () => {
        // Act
        const attempt = fixture.model.completeChat({
          messages: [{ role: 'user', content: 'hi' }],
          tools: [WEATHER_TOOL],
          toolChoice: { name: 'get_time' },
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('refuses tools with NotSupportedError without capability "tools"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.model, 'tools');
        // Act
        const attempt = fixture.model.completeChat({
          messages: [{ role: 'user', content: 'hi' }],
          tools: [WEATHER_TOOL],
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });

    describe('Method: generateObject', () => {
      it('answers JSON matching the schema (capability "structured-output")', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.model, 'structured-output');
        // Act
        const answer = await fixture.model.generateObject({
          system: 'You label GitHub issues.',
          messages: [{ role: 'user', content: 'Label this issue: the app crashes on start' }],
          schemaName: 'issue_label',
          schema: LABEL_SCHEMA,
        });
        // Assess
        const object = answer.object as { label: string; confidence: number };
        expect(['bug', 'feature', 'question']).toContain(object.label);
        expect(object.confidence).toBeGreaterThanOrEqual(0);
        expect(object.confidence).toBeLessThanOrEqual(1);
        expect(answer.attempts).toBeGreaterThanOrEqual(1);
        expectAccounted(answer);
      });

      it('retries once with the validation message when the first answer misses', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.model, 'structured-output');
        context.skip(fixture.faults === undefined, 'the peer cannot be told to answer badly');
        // Act
        const answer = await fixture.model.generateObject({
          messages: [{ role: 'user', content: `${fixture.faults?.invalidOnce} Label: crash on start` }],
          schema: LABEL_SCHEMA,
        });
        // Assess
        expect(answer.attempts).toBe(2);
        expect(['bug', 'feature', 'question']).toContain((answer.object as { label: string }).label);
        expectAccounted(answer);
      });

      it('throws StructuredOutputError naming the fields when the retry misses too', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.model, 'structured-output');
        context.skip(fixture.faults === undefined, 'the peer cannot be told to answer badly');
        // Act
        const attempt = fixture.model.generateObject({
          messages: [{ role: 'user', content: `${fixture.faults?.invalidAlways} Label: crash on start` }],
          schemaName: 'issue_label',
          schema: LABEL_SCHEMA,
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(StructuredOutputError);
        await expect(attempt).rejects.toThrow(/issue_label/);
      });

      it('throws ValidationError on /schema for a schema it cannot read', async () => {
        // Act
        const attempt = fixture.model.generateObject({
          messages: [{ role: 'user', content: 'hi' }],
          schema: { type: 'nonsense' },
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        await expect(attempt).rejects.toThrow(/schema/);
      });

      it('refuses with NotSupportedError without capability "structured-output"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.model, 'structured-output');
        // Act
        const attempt = fixture.model.generateObject({
          messages: [{ role: 'user', content: 'hi' }],
          schema: LABEL_SCHEMA,
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });

    describe('Method: embedTexts', () => {
      it('returns one vector per input, in order (capability "embeddings")', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.model, 'embeddings');
        const inputs = ['the cat sat on the mat', 'quarterly revenue grew', 'the cat sat on the mat'];
        // Act
        const answer = await fixture.model.embedTexts({ inputs });
        // Assess
        expect(answer.embeddings).toHaveLength(3);
        for (const vector of answer.embeddings) expect(vector).toHaveLength(answer.dimensions);
        const [cat, revenue, catAgain] = answer.embeddings as [number[], number[], number[]];
        expect(cosine(cat, catAgain)).toBeGreaterThan(0.99);
        expect(cosine(cat, revenue)).toBeLessThan(0.99);
        expect(answer.usage.outputTokens).toBe(0);
        expectAccounted(answer);
      });

      it('shortens vectors to the dimensions asked (capability "dimensions")', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.model, 'dimensions');
        const dimensions = fixture.dimensions ?? 64;
        // Act
        const answer = await fixture.model.embedTexts({ inputs: ['short vector'], dimensions });
        // Assess
        expect(answer.dimensions).toBe(dimensions);
        expect(answer.embeddings[0]).toHaveLength(dimensions);
      });

      it('throws ValidationError for an empty batch', async () => {
        // Act
        const attempt = fixture.model.embedTexts({ inputs: [] });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('refuses with NotSupportedError without capability "embeddings"', async (context) => {
        // Prepare
        skipIfOffered(context, fixture.model, 'embeddings');
        // Act
        const attempt = fixture.model.embedTexts({ inputs: ['hi'] });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });

      it('refuses dimensions with NotSupportedError without capability "dimensions"', async (context) => {
        // Prepare
        skipUnlessOffered(context, fixture.model, 'embeddings');
        skipIfOffered(context, fixture.model, 'dimensions');
        // Act
        const attempt = fixture.model.embedTexts({ inputs: ['hi'], dimensions: 64 });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });
  });
}
