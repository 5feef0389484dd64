/** Outbound auth kinds: each turns a credential source into headers or query parameters on a request. */
export { type ApiKeyAuthOptions, apiKeyAuth } from './api-key.ts';
export { type BasicAuthOptions, BasicCredentials, basicAuth } from './basic.ts';
export { type BearerAuthOptions, bearerAuth } from './bearer.ts';
export {
  ClientCredentials,
  type OAuth2ClientCredentialsOptions,
  oauth2ClientCredentials,
  type TokenPost,
  type TokenRequest,
  type TokenResponse,
} from './oauth2-client-credentials.ts';
export {
  type AuthTarget,
  type CredentialSource,
  describeSource,
  type RequestAuth,
  readCredential,
  refreshCredential,
} from './types.ts';
