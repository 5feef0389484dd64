/**
 * Stock variant, SQS, without the tracer: Powertools batch processing behind middy with the Powertools
 * logger only, so no X-Ray SDK is loaded.
 */
import { stockSqsHandler } from './stock-stack.js';

export const handler = stockSqsHandler([]);
