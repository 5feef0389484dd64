export { type AwsRetry, awsCall, DEFAULT_AWS_CALL_TIMEOUT_MS } from './call.ts';
export { type AwsClientSettings, awsClientConfig, createAwsClient } from './client.ts';
export {
  AWS_SERVICE_ERRORS,
  type AwsCallTarget,
  type AwsErrorKind,
  type AwsErrorRow,
  type AwsErrorTable,
  awsEntryFailure,
  awsErrorName,
  awsFailure,
  COMMON_AWS_ERRORS,
} from './errors.ts';
