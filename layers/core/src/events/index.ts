export {
  createDocumentClient,
  type DeliveryLedgerOptions,
  DynamoDbDeliveryLedger,
  MemoryDeliveryLedger,
} from './ledger.ts';
export { type EventHandOff, type HandOnOutcome, handOn } from './receive.ts';
export {
  type EventReceiving,
  type EventSettingsShape,
  eventReceivingFromConfig,
  eventSettings,
} from './settings.ts';
export {
  eventSinkFromSettings,
  executionNameFor,
  FanOutSink,
  LogEventSink,
  SqsEventSink,
  StepFunctionsEventSink,
} from './sinks.ts';
export type * from './types.ts';
