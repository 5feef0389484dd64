/**
 * Stock variant, HTTP: the stack a user assembles by hand from the official pieces: middy with the JSON
 * body parser, header normaliser and error handler, plus the Powertools logger (one line per invocation,
 * like the core) and tracer middlewares. JavaScript because the Powertools logger and tracer are not
 * root dependencies of the repository, so TypeScript cannot resolve them from here (esbuild can).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { createError } from '@middy/util';
import { CreateItemInput, createItem, OPERATION } from './operation.ts';

const logger = new Logger({ serviceName: 'bench' });
const tracer = new Tracer({ serviceName: 'bench' });

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

export const handler = middy(createItemHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(httpHeaderNormalizer())
  .use(httpJsonBodyParser())
  .use(httpErrorHandler({ logger: (error) => logger.error('request failed', { error }) }));
