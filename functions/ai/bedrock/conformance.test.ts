/**
 * The LLM conformance suite on the Bedrock connector's client against its contract fake.
 */
import { describeLanguageModelConformance } from '#shared/interfaces/llm.conformance.ts';
import { startBedrockFake } from '../../../scripts/local/sandboxes/bedrock.ts';
import { FAULT_INVALID_ALWAYS, FAULT_INVALID_ONCE } from '../../../scripts/local/sandboxes/llm-behaviour.ts';
import { BedrockClient } from './client.ts';

describeLanguageModelConformance('Amazon Bedrock', async () => {
  const fake = await startBedrockFake();
  process.env['AWS_REGION'] ??= 'us-east-1';
  process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
  process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
  const model = await BedrockClient.create({
    endpoint: fake.url,
    chatModel: 'anthropic.claude-3-haiku-20240307-v1:0',
    embeddingModel: 'amazon.titan-embed-text-v2:0',
    maxTokens: 256,
    timeoutMs: 5_000,
    maxAttempts: 2,
  });
  return {
    model,
    missingModel: 'anthropic.claude-missing-v1:0',
    // Titan Text Embeddings v2 answers 256, 512 or 1024 dimensions.
    dimensions: 256,
    faults: { invalidOnce: FAULT_INVALID_ONCE, invalidAlways: FAULT_INVALID_ALWAYS },
    close: async () => {
      model.close();
      await fake.close();
    },
  };
});
