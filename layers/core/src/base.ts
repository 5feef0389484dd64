/**
 * The layer's second entry, `@circle-core/core/base.js`: the core without the kits only HTTP-API providers
 * and event receivers use (REST providers and pagination, auth schemes, event receiving, webhook
 * verification, coordination). It keeps what every connector runs on (the handler wiring, config, errors,
 * context, secrets, observability, idempotency, outbound HTTP, JSON Schema conversion, itself loaded on
 * first use) and the kits of the connectors without an HTTP provider: AWS, reused connections, brokers.
 *
 * No source imports it: the function bundler points a built function at it when every core export the
 * function uses is here (`scripts/lib/bundle.ts`, `coreEntryFor`), so a database, AWS or broker
 * connector parses about a third less of the core at every cold start. A function loads one entry or the
 * other, never both: each is a whole copy of the core's state (the invocation scope, the secret cache).
 */
export * from './aws/index.ts';
export * from './broker.ts';
export * from './budget.ts';
export * from './config.ts';
export * from './connection.ts';
export * from './connector/index.ts';
export * from './context.ts';
export * from './errors.ts';
export * from './http/index.ts';
export * from './idempotency.ts';
export * from './json.ts';
export * from './json-schema.ts';
export * from './observability.ts';
export * from './secrets.ts';
