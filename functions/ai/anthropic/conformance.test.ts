/**
 * The LLM conformance suite on the Anthropic connector's client against its contract fake.
 */
import { describeLanguageModelConformance } from '#shared/interfaces/llm.conformance.ts';
import { ANTHROPIC_SANDBOX_TOKEN, startAnthropicFake } from '../../../scripts/local/sandboxes/anthropic.ts';
import { FAULT_INVALID_ALWAYS, FAULT_INVALID_ONCE } from '../../../scripts/local/sandboxes/llm-behaviour.ts';
import { AnthropicClient, anthropicApi } from './client.ts';

describeLanguageModelConformance('Anthropic', async () => {
  const fake = await startAnthropicFake();
  const rest = anthropicApi.client({ baseUrl: `${fake.url}/v1`, credential: ANTHROPIC_SANDBOX_TOKEN });
  return {
    model: new AnthropicClient(rest, { chatModel: 'claude-3-5-haiku-latest', maxTokens: 256 }),
    missingModel: 'claude-missing',
    faults: { invalidOnce: FAULT_INVALID_ONCE, invalidAlways: FAULT_INVALID_ALWAYS },
    close: async () => {
      rest.close();
      await fake.close();
    },
  };
});
