/**
 * The OIDC connector: verifies JWTs against an issuer's published keys (pinned algorithms, issuer,
 * audience, expiry with a small skew, scopes), introspects opaque tokens, reads userinfo and describes the
 * issuer, on every trigger (HTTP, SQS, Step Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { OidcIssuer, oidcApi } from './client.ts';
import { OidcConfig } from './config.ts';
import {
  DescribeIssuerInput,
  DescribeIssuerOutput,
  GetUserinfoInput,
  GetUserinfoOutput,
  IntrospectTokenInput,
  IntrospectTokenOutput,
  VerifyTokenInput,
  VerifyTokenOutput,
} from './models.ts';

/**
 * @example
 * ```ts
 * const { valid, reason, subject } = await connector.run('verify-token', { token, requiredScopes: ['issues:read'] });
 * ```
 */
export const connector = defineConnector({
  name: 'oidc',
  version: '0.1.5',
  config: OidcConfig,
  setup: {
    secrets: (config) => ({ client: config.OIDC_CLIENT_SECRET }),
    secretMaxAgeSeconds: (config) => config.OIDC_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new OidcIssuer(
        oidcApi.clientFromSettings(config, {}),
        {
          issuer: config.OIDC_API_URL,
          audiences: config.OIDC_AUDIENCE,
          algorithms: config.OIDC_ALGORITHMS,
          clockSkewSeconds: config.OIDC_CLOCK_SKEW_SECONDS,
          jwksMaxAgeMs: config.OIDC_JWKS_MAX_AGE_SECONDS * 1000,
        },
        secrets.client,
      ),
  },
  operations: (op) => ({
    'verify-token': op({
      description:
        'Verifies a JWT against the issuer keys: signature, pinned algorithm, issuer, audience, exp/nbf with skew, scopes; answers valid or the reason',
      input: VerifyTokenInput,
      output: VerifyTokenOutput,
      run: (input, { client }) => client.verify(input),
    }),
    'introspect-token': op({
      description:
        'Asks the issuer whether a token (opaque or JWT) is active (RFC 7662), with its scopes and subject',
      input: IntrospectTokenInput,
      output: IntrospectTokenOutput,
      run: (input, { client }) => client.introspect(input),
    }),
    'get-userinfo': op({
      description: "Reads the user's claims from the issuer's userinfo endpoint with their access token",
      input: GetUserinfoInput,
      output: GetUserinfoOutput,
      run: (input, { client }) => client.userinfo(input.accessToken),
    }),
    'describe-issuer': op({
      description: 'The issuer metadata and the key ids it publishes (no key material), for troubleshooting',
      input: DescribeIssuerInput,
      output: DescribeIssuerOutput,
      run: (_input, { client }) => client.describe(),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
