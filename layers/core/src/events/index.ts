export { createDocumentClient, type DeliveryLedgerOptions, DynamoDbDeliveryLedger } from './ledger.ts';
export { type EventHandOff, type HandOnOutcome, handOn } from './receive.ts';
export {
  eventSinkFromSettings,
  executionNameFor,
  FanOutSink,
  LogEventSink,
  SqsEventSink,
  StepFunctionsEventSink,
} from './sinks.ts';
export type * from './types.ts';
