/**
 * Stock variant, HTTP, without the tracer: the stock stack (stock-stack.js) as a user who does not trace
 * writes it, so no X-Ray SDK is loaded. The stricter comparison for the core, which loads the tracer only
 * when tracing is on.
 */
import { stockHttpHandler } from './stock-stack.js';

export const handler = stockHttpHandler([]);
