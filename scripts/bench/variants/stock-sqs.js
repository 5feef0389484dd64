/**
 * Stock variant, SQS, with the tracer: Powertools batch processing (partial failures) behind middy with
 * the Powertools logger and tracer middlewares, one log line per invocation like the core.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { stockSqsHandler } from './stock-stack.js';

const tracer = new Tracer({ serviceName: 'bench' });

export const handler = stockSqsHandler([captureLambdaHandler(tracer)]);
