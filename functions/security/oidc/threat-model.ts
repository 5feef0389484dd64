import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    'The issuer at OIDC_API_URL: its discovery document, its JWK set and its introspection and userinfo endpoints. An endpoint the discovery document puts on another host must be https and passes the SSRF guard (no private or link-local address).',
    'Secrets Manager for its own client secret, and its own dead-letter queue, with its own role.',
  ],
  stores: [
    "Nothing at rest. The issuer's public keys and discovery document are cached in the container's memory (OIDC_JWKS_MAX_AGE_SECONDS); the client secret in memory for its max age. Tokens to verify are never stored or logged.",
  ],
  threats: {
    spoofing: [
      {
        threat:
          'A forged token is accepted: alg "none", HS256 keyed with the public key, a key the issuer never published, another issuer or audience.',
        control:
          'Algorithms are pinned (OIDC_ALGORITHMS), keys come only from the issuer JWK set, iss must equal the issuer discovery names for OIDC_API_URL, exactly, and aud one of OIDC_AUDIENCE, exp is required; the tests forge each case.',
      },
      {
        threat: 'A hostile discovery document names another issuer or points jwks_uri elsewhere.',
        control:
          'The document must name OIDC_API_URL as its issuer (OIDC Discovery 4.3); another host must be https and passes the SSRF guard.',
      },
    ],
    tampering: [
      {
        threat: 'A token payload is edited (sub changed to an admin).',
        control: 'The signature covers header and payload: a tampered token answers bad-signature.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a verification outcome.',
        control: 'Each invocation logs operation, outcome and correlation id (never the token).',
      },
    ],
    'information-disclosure': [
      {
        threat: 'A token or the client secret leaks into a log line, an error or a response.',
        control:
          'Neither is logged; reasons name the check that failed, never the token; the tests check log lines and answers.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A flood of tokens with made-up key ids makes the connector hammer the issuer for its keys.',
        control: 'An unknown kid fetches the keys again at most once per 30 s; tokens are capped at 16 KiB.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts beyond the connector.',
        control:
          'The role reads only its own secret and writes only its own DLQ; the client secret only allows introspection at the issuer.',
      },
    ],
  },
});
