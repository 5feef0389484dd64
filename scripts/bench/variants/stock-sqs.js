/**
 * Stock variant, SQS: middy with the Powertools logger and tracer middlewares and Powertools batch
 * processing (partial failures), one log line per invocation like the core. JavaScript for the reason
 * given in stock-http.js.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { CreateItemInput, createItem, OPERATION } from './operation.ts';

const logger = new Logger({ serviceName: 'bench' });
const tracer = new Tracer({ serviceName: 'bench' });
const processor = new BatchProcessor(EventType.SQS);

const recordHandler = async (record) => {
  const body = JSON.parse(record.body);
  if (body.operation !== OPERATION) throw new Error('Unknown operation');
  const parsed = CreateItemInput.safeParse(body.input);
  if (!parsed.success) throw new Error('Invalid input');
  createItem(parsed.data);
};

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

export const handler = middy(batchHandler).use(captureLambdaHandler(tracer)).use(injectLambdaContext(logger));
