/**
 * `@circle-core/core`: the shared Lambda layer every connector builds on.
 * One module per concern; connectors import from here only.
 */
export * from './auth/index.ts';
export * from './aws/index.ts';
export * from './broker.ts';
export * from './budget.ts';
export * from './config.ts';
export * from './connection.ts';
export * from './connector/index.ts';
export * from './context.ts';
export * from './coordination/index.ts';
export * from './errors.ts';
export * from './events/index.ts';
export * from './http/index.ts';
export * from './idempotency.ts';
export * from './json.ts';
export * from './json-schema.ts';
export * from './observability.ts';
export * from './rest/index.ts';
export * from './secrets.ts';
export * from './webhooks.ts';
