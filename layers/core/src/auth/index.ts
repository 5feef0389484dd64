/** Outbound auth kinds: each turns a credential source into headers or query parameters on a request. */
export { type ApiKeyAuthOptions, apiKeyAuth } from './api-key.ts';
export { type BasicAuthOptions, BasicCredentials, basicAuth } from './basic.ts';
export { type BearerAuthOptions, bearerAuth } from './bearer.ts';
export {
  type CachedTokenAuth,
  type CachedTokenAuthOptions,
  cachedTokenAuth,
  type IssuedToken,
} from './cached-token.ts';
export { type JwtAlgorithm, type SignJwtOptions, signJwt } from './jwt.ts';
export {
  type ClientAssertionKey,
  JWT_CLIENT_ASSERTION_TYPE,
  type OAuth2ClientAssertionOptions,
  oauth2ClientAssertion,
} from './oauth2-client-assertion.ts';
export {
  ClientCredentials,
  type OAuth2ClientCredentialsOptions,
  oauth2ClientCredentials,
  type TokenPost,
  type TokenRequest,
  type TokenResponse,
} from './oauth2-client-credentials.ts';
export {
  JWT_BEARER_GRANT,
  type JwtBearerKey,
  type OAuth2JwtBearerOptions,
  oauth2JwtBearer,
} from './oauth2-jwt-bearer.ts';
export {
  type OAuth2RefreshTokenOptions,
  oauth2RefreshToken,
  putSecretValue,
  RefreshTokenCredentials,
  type SecretWriter,
} from './oauth2-refresh-token.ts';
export { sharedRefreshTokenAuth } from './shared-refresh-token.ts';
export {
  type AuthTarget,
  type CredentialSource,
  describeSource,
  type RequestAuth,
  readCredential,
  refreshCredential,
} from './types.ts';
