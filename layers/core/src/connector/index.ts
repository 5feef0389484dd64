export { type Connector, type ConnectorHandler, defineConnector } from './define.ts';
export { correlationIdFrom, parseEnvelope } from './envelope.ts';
export {
  eventStreamHead,
  STREAM_DEADLINE_MARGIN_MS,
  type StreamContext,
  type StreamEvent,
  type StreamingRuntime,
  type StreamOperation,
  type StreamOutcome,
  sseFrame,
  streamingHandler,
  writeEventStream,
} from './event-stream.ts';
export { DEFAULT_MAX_BODY_BYTES, problemResponse } from './http-adapter.ts';
export {
  assertResponseFits,
  LAMBDA_RESPONSE_LIMIT_BYTES,
  responseLimit,
  STATE_LIMIT_BYTES,
  serialisedBytes,
} from './limits.ts';
export { type ExecutionMeta, type HealthReport, parseInput } from './runtime.ts';
export type * from './types.ts';
