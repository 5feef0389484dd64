/**
 * How a conformance test that depends on an optional capability runs: it skips, saying why, instead of
 * passing without checking anything. Each capability gets two tests, one that runs only where it is
 * offered and one that proves its refusal (`NotSupportedError`) where it is not.
 */
import type { TestContext } from 'vitest';
import { type HasCapabilities, supports } from './capabilities.ts';

/**
 * Skips the running test unless `implementation` offers `capability`.
 *
 * @example
 * ```ts
 * it('presigns a URL', async (context) => {
 *   skipUnlessOffered(context, storage, 'presign');
 *   await storage.presignUrl({ key });
 * });
 * ```
 */
export function skipUnlessOffered<C extends string>(
  context: TestContext,
  implementation: HasCapabilities<C>,
  capability: C,
): void {
  context.skip(!supports(implementation, capability), `"${capability}" is not offered`);
}

/**
 * Skips the running test when `implementation` offers `capability`: a refusal can only be seen without it.
 *
 * @example
 * ```ts
 * it('refuses presignUrl with NotSupportedError', async (context) => {
 *   skipIfOffered(context, storage, 'presign');
 *   await expect(storage.presignUrl({ key })).rejects.toBeInstanceOf(NotSupportedError);
 * });
 * ```
 */
export function skipIfOffered<C extends string>(
  context: TestContext,
  implementation: HasCapabilities<C>,
  capability: C,
): void {
  context.skip(supports(implementation, capability), `"${capability}" is offered`);
}
