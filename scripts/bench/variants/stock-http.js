/**
 * Stock variant, HTTP, with the tracer: the stock stack (stock-stack.js) plus the Powertools tracer
 * middleware, as the Powertools documentation assembles it. Importing the tracer loads the X-Ray SDK even
 * when tracing is off.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { stockHttpHandler } from './stock-stack.js';

const tracer = new Tracer({ serviceName: 'bench' });

export const handler = stockHttpHandler([captureLambdaHandler(tracer)]);
