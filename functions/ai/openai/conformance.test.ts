/**
 * The LLM conformance suite on the OpenAI connector's client against its contract fake.
 */
import { describeLanguageModelConformance } from '#shared/interfaces/llm.conformance.ts';
import { FAULT_INVALID_ALWAYS, FAULT_INVALID_ONCE } from '../../../scripts/local/sandboxes/llm-behaviour.ts';
import { OPENAI_SANDBOX_TOKEN, startOpenaiFake } from '../../../scripts/local/sandboxes/openai.ts';
import { OpenaiClient, openaiApi } from './client.ts';

describeLanguageModelConformance('OpenAI', async () => {
  const fake = await startOpenaiFake();
  const rest = openaiApi.client({ baseUrl: `${fake.url}/v1`, credential: OPENAI_SANDBOX_TOKEN });
  return {
    model: new OpenaiClient(rest, {
      chatModel: 'gpt-4o-mini',
      embeddingModel: 'text-embedding-3-small',
      maxTokens: 256,
    }),
    missingModel: 'gpt-missing',
    faults: { invalidOnce: FAULT_INVALID_ONCE, invalidAlways: FAULT_INVALID_ALWAYS },
    close: async () => {
      rest.close();
      await fake.close();
    },
  };
});
