import { ConfigurationError, loadConfig } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { OidcConfig } from './config.ts';

const BASE = { OIDC_API_URL: 'https://issuer.example' };

describe('Function: loadConfig (OidcConfig)', () => {
  it('pins RS256 and ES256 when OIDC_ALGORITHMS is unset or empty, and checks no audience', () => {
    for (const env of [BASE, { ...BASE, OIDC_ALGORITHMS: '', OIDC_AUDIENCE: '' }]) {
      // Act
      const config = loadConfig(OidcConfig, env);

      // Assess
      expect(config.OIDC_ALGORITHMS).toEqual(['RS256', 'ES256']);
      expect(config.OIDC_AUDIENCE).toEqual([]);
    }
  });

  it('fails at start, naming OIDC_ALGORITHMS, when it lists no algorithm (only commas or spaces)', () => {
    for (const value of [',', ' , ', '   ']) {
      // Act
      const attempt = () => loadConfig(OidcConfig, { ...BASE, OIDC_ALGORITHMS: value });

      // Assess: an empty list would refuse every token as algorithm-not-allowed, with no error to fix
      expect(attempt, JSON.stringify(value)).toThrow(ConfigurationError);
      expect(attempt, JSON.stringify(value)).toThrow(
        /OIDC_ALGORITHMS is invalid \(expected at least one item/,
      );
    }
  });

  it('still accepts an audience list of only commas as "not checked"', () => {
    // Act
    const config = loadConfig(OidcConfig, { ...BASE, OIDC_AUDIENCE: ' , ' });

    // Assess
    expect(config.OIDC_AUDIENCE).toEqual([]);
  });
});
