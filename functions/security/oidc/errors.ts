/**
 * The OAuth 2.0 error codes an issuer answers (RFC 6749 section 5.2, RFC 7662, RFC 6750), as rows of the
 * core's REST error table: `{ "error": "invalid_client", "error_description": "..." }`.
 */
import type { ErrorRow } from '@circle-core/core';

export const OIDC_ERRORS: Readonly<Record<string, ErrorRow>> = {
  invalid_client: {
    kind: 'auth',
    meaning: 'the issuer refused the client id and secret (OIDC_CLIENT_SECRET)',
  },
  invalid_token: { kind: 'auth', meaning: 'the access token is not valid at the issuer' },
  unauthorized_client: { kind: 'forbidden', meaning: 'this client may not use this endpoint' },
  access_denied: { kind: 'forbidden', meaning: 'the issuer denied access' },
  insufficient_scope: { kind: 'forbidden', meaning: 'the access token lacks the scope the endpoint needs' },
  invalid_request: { kind: 'validation', meaning: 'the issuer refused the request as malformed' },
  slow_down: { kind: 'rate-limited', meaning: 'the issuer asks to slow down' },
  server_error: { kind: 'unavailable', meaning: 'the issuer failed; try again' },
  temporarily_unavailable: { kind: 'unavailable', meaning: 'the issuer is temporarily unavailable' },
};
