/**
 * The price table read at cold start: a malformed one is a configuration error naming where it is wrong.
 */
import { ConfigurationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { loadPriceTable } from './llm-cost.ts';

describe('Function: loadPriceTable', () => {
  it('throws ConfigurationError naming the fields that are wrong, or the root when it is no table', () => {
    // Prepare
    const missingDate = { provider: 'OpenAI', source: 'https://openai.com/api/pricing', models: {} };

    // Act
    const notATable = (): unknown => loadPriceTable(['gpt-4o']);
    const noDate = (): unknown => loadPriceTable(missingDate);

    // Assess
    expect(notATable).toThrow(ConfigurationError);
    expect(notATable).toThrow('The price table is malformed at (root)');
    expect(noDate).toThrow('The price table is malformed at asOf');
  });
});
