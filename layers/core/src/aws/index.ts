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
export {
  EVENTBRIDGE_ENTRY_LIMIT_BYTES,
  EVENTBRIDGE_REQUEST_LIMIT_BYTES,
  SNS_MESSAGE_LIMIT_BYTES,
  SQS_BATCH_LIMIT_BYTES,
  SQS_MESSAGE_LIMIT_BYTES,
} from './limits.ts';
