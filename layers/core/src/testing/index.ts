export * from './events.ts';
export * from './logs.ts';
