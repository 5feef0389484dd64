import { NotSupportedError } from '@circle-core/core';

/** Something that declares which optional abilities of its interface it offers. */
export interface HasCapabilities<C extends string> {
  readonly capabilities: ReadonlySet<C>;
}

/**
 * Whether an implementation offers an optional ability (presigned URLs, transactions, threads, ...).
 *
 * @example
 * ```ts
 * if (supports(store, 'presign')) url = await store.presignUrl(input);
 * ```
 */
export function supports<C extends string>(implementation: HasCapabilities<C>, capability: C): boolean {
  return implementation.capabilities.has(capability);
}

/**
 * Throws a clear `NotSupportedError` (HTTP 501, Step Functions `NotSupportedError`) when an implementation
 * lacks an optional ability, instead of failing somewhere deeper.
 *
 * @example
 * ```ts
 * requireCapability(store, 'presign', 'S3-compatible store');
 * ```
 */
export function requireCapability<C extends string>(
  implementation: HasCapabilities<C>,
  capability: C,
  implementationName: string,
): void {
  if (!implementation.capabilities.has(capability)) {
    throw new NotSupportedError(`${implementationName} does not support the "${capability}" capability`);
  }
}
