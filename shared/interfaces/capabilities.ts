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

/**
 * The whole body of a method whose optional ability an implementation does not offer: throws the same
 * `NotSupportedError` as {@link requireCapability}. Typed `never`, so nothing follows it. Called by an
 * implementation that does declare the capability, it is a bug there, and says so.
 *
 * @example
 * ```ts
 * async updateMessage(_input: UpdateMessageInput): Promise<UpdateMessageOutput> {
 *   return refuseCapability(this, 'update', 'Amazon SES');
 * }
 * ```
 */
export function refuseCapability<C extends string>(
  implementation: HasCapabilities<C>,
  capability: C,
  implementationName: string,
): never {
  requireCapability(implementation, capability, implementationName);
  throw new Error(`${implementationName} declares the "${capability}" capability but does not implement it`);
}
