/**
 * The estimated cost of a model call, from a provider's price table kept as data (a JSON file beside the
 * connector, read from the provider's pricing page). The longest model-id prefix in the table prices a
 * call, so `gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`, not as `gpt-4o`.
 */
import { ConfigurationError } from '@circle-core/core';
import { type CallCost, PriceTable, type TokenUsage } from '../models/llm.ts';

/**
 * Checks a price table once, at cold start (a malformed file is a configuration error naming it).
 *
 * @example
 * ```ts
 * import prices from './prices.json' with { type: 'json' };
 * const PRICES = loadPriceTable(prices);
 * ```
 */
export function loadPriceTable(data: unknown): PriceTable {
  const parsed = PriceTable.safeParse(data);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new ConfigurationError(`The price table is malformed at ${fields}`);
  }
  return parsed.data;
}

/**
 * Usage with its total.
 *
 * @example
 * ```ts
 * tokenUsage(12, 3); // { inputTokens: 12, outputTokens: 3, totalTokens: 15 }
 * ```
 */
export function tokenUsage(inputTokens: number, outputTokens: number): TokenUsage {
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

/**
 * Estimates one call's cost; `estimated: null` when no table entry matches the model.
 *
 * @example
 * ```ts
 * estimateCost(PRICES, 'gpt-4o-mini-2024-07-18', tokenUsage(1000, 200)).estimated; // 0.00027
 * ```
 */
export function estimateCost(table: PriceTable, model: string, usage: TokenUsage): CallCost {
  let best: string | undefined;
  for (const prefix of Object.keys(table.models)) {
    if (model.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  const price = best === undefined ? undefined : table.models[best];
  if (best === undefined || price === undefined) return { currency: 'USD', estimated: null, pricedAs: null };
  const amount =
    (usage.inputTokens * price.inputPerMillion + usage.outputTokens * price.outputPerMillion) / 1_000_000;
  // Rounded to 1e-10 USD: float noise would otherwise show in every answer.
  return { currency: 'USD', estimated: Math.round(amount * 1e10) / 1e10, pricedAs: best };
}

/**
 * Two costs together (the attempts of one structured answer).
 *
 * @example
 * ```ts
 * addCosts(first.cost, second.cost);
 * ```
 */
export function addCosts(a: CallCost, b: CallCost): CallCost {
  if (a.estimated === null || b.estimated === null)
    return { currency: 'USD', estimated: null, pricedAs: null };
  return {
    currency: 'USD',
    estimated: Math.round((a.estimated + b.estimated) * 1e10) / 1e10,
    pricedAs: a.pricedAs,
  };
}
