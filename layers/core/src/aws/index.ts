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
// For a connector's own SDK-free call (the S3 connector's HeadBucket health check): hand-signed requests
// with the environment's credentials, sent through the core's HttpClient.
export { AwsServiceError, awsServiceEndpoint, rawFailure } from './json-service.ts';
export { type AwsCredentials, environmentCredentials, sha256Hex, signV4 } from './sigv4.ts';
