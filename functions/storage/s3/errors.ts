/**
 * S3's rows for the core's AWS error map (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html),
 * and the call target that names the bucket and key in every message.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

/** S3 names the missing bucket (on a copy, maybe the destination); the SDK copies it onto the error. */
function missingBucket(error: unknown, target: AwsCallTarget): string {
  const named = (error as { BucketName?: unknown }).BucketName;
  return `bucket "${typeof named === 'string' ? named.slice(0, 63) : target.details?.['bucket']}"`;
}

const DENIED = { kind: 'forbidden', hint: 'check the bucket policy and the IAM role' } as const;
/** S3 answers 403 for an object in an archive tier: the object exists, it must be restored to be read. */
const ARCHIVED = {
  kind: 'conflict',
  says: 'is archived (Glacier or Deep Archive)',
  hint: 'restore it first',
} as const;
/** A header the request sends (a condition, an encoding) asks for what the store does not implement. */
const NOT_IMPLEMENTED = {
  kind: 'not-supported',
  hint: 'the store does not implement a header this request sends',
} as const;

/**
 * The bucket lives in another Region than the client signs for (AWS_REGION): S3 answers 301
 * PermanentRedirect (a bare 301 to HEAD), or 400 AuthorizationHeaderMalformed /
 * IllegalLocationConstraintException. A setting to fix, not an answer S3 could not read.
 */
const OTHER_REGION = {
  kind: 'configuration',
  hint: "the bucket is in another AWS Region than the function's (AWS_REGION): deploy the function in the bucket's Region, or point S3_ENDPOINT at it",
} as const;

/** What an S3 error means; throttling, timeouts and 5xx are the core's shared rows. */
export const S3_ERRORS: AwsErrorTable = {
  NoSuchBucket: { kind: 'not-found', resource: missingBucket },
  NoSuchKey: 'not-found',
  NotFound: 'not-found',
  PreconditionFailed: 'conflict',
  // 409, but nothing was decided: another conditional write to the key was in flight, and S3's reference
  // says to retry (PutObject's IfNoneMatch/IfMatch); the retry gets 412 if the other write won.
  ConditionalRequestConflict: {
    kind: 'unavailable',
    says: 'was being written by a concurrent conditional request; try again',
  },
  // 409 as well, and nothing decided: S3's error list reads "A conflicting conditional operation is
  // currently in progress against this resource. Try again."
  OperationAborted: {
    kind: 'unavailable',
    says: 'had a conflicting operation in progress; try again',
  },
  KeyTooLongError: 'validation',
  InvalidBucketName: 'validation',
  EntityTooLarge: 'validation',
  MetadataTooLarge: 'validation',
  InvalidArgument: 'validation',
  InvalidObjectName: 'validation',
  // The caller's request as a whole, e.g. a copy onto itself that changes nothing.
  InvalidRequest: 'validation',
  InvalidObjectState: ARCHIVED,
  ObjectNotInActiveTierError: ARCHIVED,
  NotImplemented: NOT_IMPLEMENTED,
  // An answer to HEAD has no body, so no code: S3's only 501 is NotImplemented.
  '501': NOT_IMPLEMENTED,
  PermanentRedirect: OTHER_REGION,
  AuthorizationHeaderMalformed: OTHER_REGION,
  IllegalLocationConstraintException: OTHER_REGION,
  '301': OTHER_REGION,
  // 403, but not a refusal: S3's error list reads "The difference between the request time and the server's
  // time is too large" (it allows 15 minutes). The SDK already re-signs with S3's clock on retry when the
  // answer's Date shows the skew, so what remains is the function's clock itself.
  RequestTimeTooSkewed: {
    kind: 'configuration',
    hint: "the function's clock differs from S3's by more than 15 minutes: check the host's time synchronisation",
  },
  BandwidthLimitExceeded: 'rate-limited',
  InvalidAccessKeyId: 'auth',
  SignatureDoesNotMatch: 'auth',
  ExpiredToken: 'auth',
  InvalidToken: 'auth',
  TokenRefreshRequired: 'auth',
  CredentialsProviderError: 'auth',
  // Buckets are the caller's choice (within S3_ALLOWED_BUCKETS), so a refusal is theirs to see.
  AccessDenied: DENIED,
  AllAccessDisabled: DENIED,
  '403': DENIED,
};

/**
 * The target of one S3 call: S3's rows, the resource for messages (`object "k" in bucket "b"`), and the
 * caller's key and bucket in the request (text the SDK cannot encode is the caller's 400).
 *
 * @example
 * ```ts
 * await awsCall({ ...s3Target('GetObject', 'data', 'a.txt'), timeoutMs }, (abortSignal) => s3.send(command, { abortSignal }));
 * ```
 */
export function s3Target(action: string, bucket: string, key?: string): AwsCallTarget {
  return {
    service: 'S3',
    action,
    table: S3_ERRORS,
    resource: key === undefined ? `bucket "${bucket}"` : `object "${key}" in bucket "${bucket}"`,
    callerInput: true,
    details: { bucket },
  };
}
