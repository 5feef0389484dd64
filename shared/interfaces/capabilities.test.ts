/**
 * The capability checks every interface shares: a missing optional ability is a clear 501, never a deeper
 * failure.
 */
import { NotSupportedError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { type HasCapabilities, refuseCapability, requireCapability, supports } from './capabilities.ts';

const smsOnly: HasCapabilities<'threads' | 'update'> = { capabilities: new Set(['threads']) };

describe('Functions: supports, requireCapability, refuseCapability', () => {
  it('tells an offered capability from a missing one', () => {
    // Act
    const offered = supports(smsOnly, 'threads');
    const missing = supports(smsOnly, 'update');

    // Assess
    expect([offered, missing]).toEqual([true, false]);
    expect(() => requireCapability(smsOnly, 'threads', 'Twilio SMS')).not.toThrow();
  });

  it('refuses a capability the implementation does not declare with the NotSupportedError requireCapability throws', () => {
    // Act
    const refused = (): never => refuseCapability(smsOnly, 'update', 'Twilio SMS');

    // Assess
    expect(refused).toThrow(NotSupportedError);
    expect(refused).toThrow('Twilio SMS does not support the "update" capability');
  });

  it('calls it a bug when an implementation declares the capability it refuses', () => {
    // Act
    const contradiction = (): never => refuseCapability(smsOnly, 'threads', 'Twilio SMS');

    // Assess
    expect(contradiction).toThrow('Twilio SMS declares the "threads" capability but does not implement it');
    expect(contradiction).not.toThrow(NotSupportedError);
  });
});
