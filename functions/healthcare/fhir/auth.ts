/**
 * How the connector authenticates to a FHIR server: a bearer token read from Secrets Manager, or SMART
 * Backend Services (a client_credentials grant whose client authenticates with a JWT assertion signed
 * RS384 or ES384 by the kit, scopes such as `system/*.read`).
 */
import {
  type ClientAssertionKey,
  ConfigurationError,
  oauth2ClientAssertion,
  type RequestAuth,
  type Secret,
} from '@circle-core/core';
import * as z from 'zod';
import { fhirApi } from './client.ts';
import type { FhirSettings } from './config.ts';

/** The JSON a SMART Backend Services secret holds. */
export const SmartCredentials = z.object({
  clientId: z.string().min(1).describe('The client id the FHIR server registered'),
  privateKey: z.string().min(1).describe('The PEM private key whose public key (JWKS) the server holds'),
  keyId: z.string().min(1).optional().describe('The kid of that key in the registered JWKS'),
  algorithm: z.enum(['RS384', 'ES384']).default('RS384').describe('RS384 (RSA) or ES384 (EC P-384)'),
});

/**
 * The auth the settings ask for.
 *
 * @example
 * ```ts
 * const auth = fhirAuth(loadConfig(FhirConfig), defineSecret('circle-core/fhir/credentials'));
 * ```
 */
export function fhirAuth(config: FhirSettings, credentials: Secret): RequestAuth {
  if (config.FHIR_AUTH === 'bearer') return fhirApi.auth(credentials);
  if (config.FHIR_TOKEN_URL === undefined) {
    throw new ConfigurationError(
      'FHIR_AUTH smart-backend needs FHIR_TOKEN_URL (token_endpoint of <base>/.well-known/smart-configuration)',
    );
  }
  return oauth2ClientAssertion({
    tokenUrl: config.FHIR_TOKEN_URL,
    scope: config.FHIR_SCOPES,
    timeoutMs: config.FHIR_TIMEOUT_MS,
    key: async (): Promise<ClientAssertionKey> => ({
      ...(await credentials.json(SmartCredentials)),
      source: `secret ${credentials.name}`,
    }),
    onRefresh: () => credentials.refresh(),
  });
}
