/**
 * The stock stack a user assembles by hand from the official pieces, shared by the stock variants: middy
 * with the JSON body parser, header normaliser and error handler, the Powertools logger (one line per
 * invocation, like the core), and Powertools batch for SQS. Each entry file adds the tracer middleware or
 * not, so the benchmark can compare the core with both (importing the tracer loads the X-Ray SDK, whose
 * async hooks tax every promise even with tracing off). JavaScript because the Powertools packages are not
 * root dependencies of the repository, so TypeScript cannot resolve them from here (esbuild can).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { createError } from '@middy/util';
import { CreateItemInput, createItem, OPERATION } from './operation.ts';

const logger = new Logger({ serviceName: 'bench' });

const createItemHandler = async (event) => {
  const started = performance.now();
  const parsed = CreateItemInput.safeParse(event.body);
  if (!parsed.success) throw createError(400, 'Invalid input');
  const response = {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(createItem(parsed.data)),
  };
  logger.info('invocation', { operation: OPERATION, status: 200, durationMs: performance.now() - started });
  return response;
};

/**
 * The HTTP handler: `first` middlewares (the tracer's, when the variant imports it) run outermost.
 *
 * @example
 * ```js
 * export const handler = stockHttpHandler([captureLambdaHandler(tracer)]);
 * ```
 */
export function stockHttpHandler(first) {
  const handler = middy(createItemHandler);
  for (const middleware of first) handler.use(middleware);
  return handler
    .use(injectLambdaContext(logger))
    .use(httpHeaderNormalizer())
    .use(httpJsonBodyParser())
    .use(httpErrorHandler({ logger: (error) => logger.error('request failed', { error }) }));
}

const recordHandler = async (record) => {
  const body = JSON.parse(record.body);
  if (body.operation !== OPERATION) throw new Error('Unknown operation');
  const parsed = CreateItemInput.safeParse(body.input);
  if (!parsed.success) throw new Error('Invalid input');
  createItem(parsed.data);
};

/**
 * The SQS handler (partial batch failures), `first` middlewares outermost.
 *
 * @example
 * ```js
 * export const handler = stockSqsHandler([]);
 * ```
 */
export function stockSqsHandler(first) {
  // One processor per container, built here so the HTTP variants do not load Powertools batch.
  const processor = new BatchProcessor(EventType.SQS);
  const batchHandler = async (event, context) => {
    const started = performance.now();
    const response = await processPartialResponse(event, recordHandler, processor, { context });
    logger.info('invocation', {
      records: event.Records.length,
      failed: response.batchItemFailures.length,
      durationMs: performance.now() - started,
    });
    return response;
  };
  const handler = middy(batchHandler);
  for (const middleware of first) handler.use(middleware);
  return handler.use(injectLambdaContext(logger));
}
