/**
 * Pinecone's failures as rows of the core's REST error table. The control plane answers
 * `{ "error": { "code": "NOT_FOUND", "message" }, "status": 404 }`, the data plane `{ "code": 5, "message",
 * "details" }` (gRPC codes): the HTTP status is the one code both share.
 */
import {
  ConflictError,
  type ConnectorError,
  type ErrorRow,
  fieldAt,
  type HttpResponse,
} from '@circle-core/core';

export const PINECONE_ERRORS: Readonly<Record<string, ErrorRow>> = {
  '400': {
    kind: 'validation',
    meaning: 'Pinecone refused the input (a vector of another dimension, a bad filter)',
  },
  '401': { kind: 'auth', meaning: 'the API key is missing, wrong or revoked' },
  '403': {
    kind: 'forbidden',
    meaning: 'the API key may not make this call, or the project is over its quota',
  },
  '404': { kind: 'not-found', meaning: 'the index does not exist' },
  '409': { kind: 'conflict', meaning: 'the index already exists' },
  // delete_index: 412 FAILED_PRECONDITION while collections made from the index are pending.
  '412': { kind: 'conflict', meaning: 'collections made from the index are still pending' },
  '422': { kind: 'validation', meaning: 'Pinecone refused the request body' },
  '429': { kind: 'rate-limited', meaning: 'too many requests; wait as Retry-After says' },
  '500': { kind: 'unavailable', meaning: 'Pinecone failed; try again' },
  '503': { kind: 'unavailable', meaning: 'Pinecone is unavailable; try again' },
};

/**
 * The declaration's inspect hook: Pinecone refuses to delete an index with deletion protection on with
 * 403 FORBIDDEN ("Deletion protection is enabled for this index..."), which is the index's state, not the
 * key's rights: a ConflictError saying so. Anything else goes to {@link PINECONE_ERRORS}.
 *
 * @example
 * ```ts
 * pineconeFailure({ status: 403, body: { error: { code: 'FORBIDDEN', message: 'Deletion protection is enabled for this index. ...' } }, ... }); // ConflictError
 * ```
 */
export function pineconeFailure(response: HttpResponse): ConnectorError | undefined {
  if (response.status !== 403) return undefined;
  const said = fieldAt(response.body, 'error.message');
  if (typeof said !== 'string' || !/deletion protection is enabled/i.test(said)) return undefined;
  return new ConflictError(
    'Pinecone refused to delete the index: it has deletion protection on (disable it in Pinecone first)',
    { details: { provider: 'Pinecone', status: 403 } },
  );
}
