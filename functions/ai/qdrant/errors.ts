/**
 * Qdrant's failures as rows of the core's REST error table. Qdrant's error body is
 * `{ "status": { "error": "<message>" }, "time": ... }` without a code, so the HTTP status is the code.
 */
import type { ErrorRow } from '@circle-core/core';

export const QDRANT_ERRORS: Readonly<Record<string, ErrorRow>> = {
  '400': {
    kind: 'validation',
    meaning: 'Qdrant refused the input (a vector of another size, a bad filter or id)',
  },
  '401': { kind: 'auth', meaning: 'the API key is missing, wrong or revoked' },
  '403': {
    kind: 'forbidden',
    meaning: 'the API key may not make this call (a read-only key, or another collection)',
  },
  '404': { kind: 'not-found', meaning: 'the collection does not exist' },
  '409': { kind: 'conflict', meaning: 'the collection already exists' },
  '422': { kind: 'validation', meaning: 'Qdrant refused a path parameter' },
  '429': { kind: 'rate-limited', meaning: 'too many requests; wait as Retry-After says' },
  '500': { kind: 'unavailable', meaning: 'Qdrant failed; try again' },
  '503': { kind: 'unavailable', meaning: 'Qdrant is unavailable; try again' },
};
