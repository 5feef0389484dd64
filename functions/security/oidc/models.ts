/**
 * The OIDC connector's models: each operation's input and output (every field described; inputs refuse
 * unknown fields) and the issuer's documents as read (open: issuers add fields).
 */
import * as z from 'zod';

/** A JWT, three base64url parts; capped so a hostile body cannot make verification work hard. */
const Jwt = z
  .string()
  .min(1)
  .max(16_384)
  .describe('The token as received (a JWT: header.payload.signature), without "Bearer "');

/** OpenID Connect Discovery 1.0 metadata (the fields this connector reads). */
export const DiscoveryAnswer = z.looseObject({
  issuer: z.string(),
  jwks_uri: z.string(),
  introspection_endpoint: z.string().optional(),
  userinfo_endpoint: z.string().optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
});
export type DiscoveryAnswer = z.output<typeof DiscoveryAnswer>;

/** RFC 7517 JWK set: keys stay open (jose reads them). */
export const JwksAnswer = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })),
});
export type JwksAnswer = z.output<typeof JwksAnswer>;

/** RFC 7662 section 2.2. */
export const IntrospectionAnswer = z.looseObject({
  active: z.boolean(),
  scope: z.string().optional(),
  client_id: z.string().optional(),
  sub: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  iss: z.string().optional(),
  exp: z.number().optional(),
  iat: z.number().optional(),
  token_type: z.string().optional(),
});

export const UserinfoAnswer = z.looseObject({ sub: z.string() });

export const VerifyTokenInput = z.strictObject({
  token: Jwt,
  requiredScopes: z
    .array(z.string().min(1).max(200))
    .max(50)
    .optional()
    .describe('Scopes the token must carry (its `scope` claim, space-separated, or `scp` array)'),
});
export type VerifyTokenInput = z.output<typeof VerifyTokenInput>;

export const InvalidReason = z.enum([
  'malformed',
  'algorithm-not-allowed',
  'unknown-key',
  'bad-signature',
  'expired',
  'not-yet-valid',
  'wrong-issuer',
  'wrong-audience',
  'missing-claim',
  'missing-scope',
]);
export type InvalidReason = z.output<typeof InvalidReason>;

export const VerifyTokenOutput = z.object({
  valid: z.boolean().describe('Whether every check passed'),
  reason: InvalidReason.optional().describe('Why not, when not valid'),
  detail: z.string().optional().describe('What failed, in words (never the token)'),
  subject: z.string().optional().describe('The `sub` claim'),
  issuer: z.string().optional().describe('The `iss` claim (the configured issuer)'),
  audience: z.array(z.string()).optional().describe('The `aud` claim, as a list'),
  expiresAt: z.string().optional().describe('The `exp` claim as ISO 8601'),
  scopes: z.array(z.string()).optional().describe('The scopes the token carries'),
  keyId: z.string().optional().describe('The `kid` of the key that verified it'),
  claims: z.record(z.string(), z.unknown()).optional().describe('Every claim of a valid token'),
});
export type VerifyTokenOutput = z.output<typeof VerifyTokenOutput>;

export const IntrospectTokenInput = z.strictObject({
  token: z.string().min(1).max(16_384).describe('An access or refresh token, opaque or JWT'),
  tokenTypeHint: z.enum(['access_token', 'refresh_token']).optional().describe('RFC 7662 token_type_hint'),
});
export type IntrospectTokenInput = z.output<typeof IntrospectTokenInput>;

export const IntrospectTokenOutput = z.object({
  active: z.boolean().describe('Whether the issuer says the token is live'),
  scopes: z.array(z.string()).optional().describe('Its scopes'),
  clientId: z.string().optional().describe('The client it was issued to'),
  subject: z.string().optional().describe('Its subject'),
  expiresAt: z.string().optional().describe('When it expires, ISO 8601'),
  tokenType: z.string().optional().describe('Its type (Bearer)'),
});
export type IntrospectTokenOutput = z.output<typeof IntrospectTokenOutput>;

export const DescribeIssuerInput = z.strictObject({});

export const DescribeIssuerOutput = z.object({
  issuer: z.string().describe('The issuer identifier, as its discovery document states it'),
  jwksUri: z.string().describe('Where its signing keys are published'),
  keys: z
    .array(
      z.object({
        kid: z.string().optional().describe('Key id'),
        kty: z.string().describe('Key type (RSA, EC, OKP)'),
        alg: z.string().optional().describe('Algorithm the key is for'),
        use: z.string().optional().describe('sig or enc'),
      }),
    )
    .describe('The public keys currently published (no key material)'),
  allowedAlgorithms: z.array(z.string()).describe('The algorithms this connector accepts (OIDC_ALGORITHMS)'),
  introspection: z.boolean().describe('Whether the issuer offers token introspection'),
  userinfo: z.boolean().describe('Whether the issuer offers a userinfo endpoint'),
});
export type DescribeIssuerOutput = z.output<typeof DescribeIssuerOutput>;

export const GetUserinfoInput = z.strictObject({
  accessToken: z.string().min(1).max(16_384).describe('The user\'s access token, without "Bearer "'),
});

export const GetUserinfoOutput = z.object({
  subject: z.string().describe('The `sub` claim'),
  claims: z.record(z.string(), z.unknown()).describe('Every claim the issuer returned'),
});
export type GetUserinfoOutput = z.output<typeof GetUserinfoOutput>;
