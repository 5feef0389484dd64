/**
 * Pinecone's failures as rows of the core's REST error table. The control plane answers
 * `{ "error": { "code": "NOT_FOUND", "message" }, "status": 404 }`, the data plane `{ "code": 5, "message",
 * "details" }` (gRPC codes): the HTTP status is the one code both share.
 */
import type { ErrorRow } from '@circle-core/core';

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
  '412': { kind: 'conflict', meaning: 'the index has deletion protection on' },
  '422': { kind: 'validation', meaning: 'Pinecone refused the request body' },
  '429': { kind: 'rate-limited', meaning: 'too many requests; wait as Retry-After says' },
  '500': { kind: 'unavailable', meaning: 'Pinecone failed; try again' },
  '503': { kind: 'unavailable', meaning: 'Pinecone is unavailable; try again' },
};
