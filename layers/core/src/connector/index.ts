export { type Connector, type ConnectorHandler, defineConnector } from './define.ts';
export { correlationIdFrom, parseEnvelope } from './envelope.ts';
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
