/**
 * The operation every benchmark variant performs: validate a small JSON input with zod and answer the
 * item it describes. Shared, so the variants differ only in the stack around it.
 */
import * as z from 'zod';

export const CreateItemInput = z.object({
  name: z.string().min(1).max(100),
  quantity: z.number().int().min(1).max(1000),
  tags: z.array(z.string().max(32)).max(10).default([]),
});

export const CreateItemOutput = z.object({
  id: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  tags: z.array(z.string()),
});

export type CreateItem = z.output<typeof CreateItemInput>;
export type Item = z.output<typeof CreateItemOutput>;

/** The input every variant receives (HTTP body, or each SQS record's `input`). */
export const SAMPLE_INPUT = { name: 'widget', quantity: 3, tags: ['blue', 'small'] } as const;

/** The operation id, as the core routes it (`POST /bench/create-item`, an envelope's `operation`). */
export const OPERATION = 'create-item';

/**
 * The operation's work once the input is valid: deterministic, so no variant pays for randomness.
 *
 * @example
 * ```ts
 * createItem({ name: 'widget', quantity: 3, tags: [] }); // { id: 'item-widget-3', ... }
 * ```
 */
export function createItem(input: CreateItem): Item {
  return { id: `item-${input.name}-${input.quantity}`, ...input };
}
