export { type Connector, type ConnectorHandler, defineConnector } from './define.ts';
export { correlationIdFrom, parseEnvelope } from './envelope.ts';
export { DEFAULT_MAX_BODY_BYTES, problemResponse } from './http-adapter.ts';
export { type ExecutionMeta, type HealthReport, parseInput } from './runtime.ts';
export type * from './types.ts';
