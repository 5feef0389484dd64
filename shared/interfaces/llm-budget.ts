/**
 * A model connector's daily token budget: `<PREFIX>_DAILY_TOKEN_BUDGET` tokens per UTC day for the whole
 * function, counted in the coordination table (the core's `DailyQuota`), so a runaway loop or a flood of
 * queued prompts stops at a known bill. A call is refused with a 429 naming the setting and when it resets;
 * the call that crosses the budget completes (its size is known only after it ran).
 */
import { coordinationFromEnv, DailyQuota, envInteger } from '@circle-core/core';
import type { TokenUsage } from '../models/llm.ts';

/**
 * The setting's schema, for the connector's config (`OPENAI_DAILY_TOKEN_BUDGET: tokenBudgetSetting()`).
 *
 * @example
 * ```ts
 * export const OpenaiConfig = z.object({ OPENAI_DAILY_TOKEN_BUDGET: tokenBudgetSetting() });
 * ```
 */
export function tokenBudgetSetting() {
  return envInteger(0, { min: 0 }).describe(
    'Tokens (input + output) the function may use per UTC day across all its containers; 0 = no budget',
  );
}

/** What `setup.services` of a model connector builds: its budget, when it has one. */
export interface LlmServices {
  tokenBudget?: DailyQuota;
}

/**
 * The services of a model connector from its budget setting: no budget when the setting is 0. Shared
 * across containers through `CIRCLE_COORDINATION_TABLE`; without it, each container counts alone.
 *
 * @example
 * ```ts
 * services: ({ config }) => llmServices('openai', 'OPENAI_DAILY_TOKEN_BUDGET', config.OPENAI_DAILY_TOKEN_BUDGET),
 * ```
 */
export function llmServices(connector: string, setting: string, limit: number): LlmServices {
  if (limit === 0) return {};
  const table = coordinationFromEnv(connector);
  return { tokenBudget: new DailyQuota({ table, connector, unit: 'tokens', limit, setting }) };
}

/**
 * Runs one model call within the budget: refused before it starts when today's tokens are spent, its
 * tokens added after it.
 *
 * @example
 * ```ts
 * run: (input, { client, services }) => withinTokenBudget(services, () => client.completeChat(input)),
 * ```
 */
export async function withinTokenBudget<T extends { usage: TokenUsage }>(
  services: LlmServices,
  call: () => Promise<T>,
): Promise<T> {
  const budget = services.tokenBudget;
  if (budget === undefined) return call();
  await budget.ensureRoom();
  const answer = await call();
  await budget.spend(answer.usage.totalTokens);
  return answer;
}

/**
 * The metrics of a model call (EMF, and fields of the invocation line): tokens in and out, and the
 * estimated cost in USD when the price table knows the model.
 *
 * @example
 * ```ts
 * op({ ..., measures: tokenMeasures });
 * ```
 */
export function tokenMeasures(answer: {
  usage: TokenUsage;
  cost: { estimated: number | null };
}): Record<string, number> {
  return {
    inputTokens: answer.usage.inputTokens,
    outputTokens: answer.usage.outputTokens,
    ...(answer.cost.estimated === null ? {} : { estimatedCostUsd: answer.cost.estimated }),
  };
}
