/**
 * The rows of the core's AWS error map for DynamoDB as the key-value store uses it, and the call target
 * that names the table in every message. Throttling (`ProvisionedThroughputExceededException`,
 * `RequestLimitExceeded`, `ThrottlingException`), timeouts, 5xx, credential and network failures are the
 * core's shared rows; these are only what DynamoDB's error names mean here.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

/** Every call's rows. */
export const DYNAMODB_ERRORS: AwsErrorTable = {
  ConditionalCheckFailedException: {
    kind: 'conflict',
    says: 'did not meet the condition (onlyIfAbsent or ifVersion)',
  },
  // Rejected because a transaction is changing the item at that moment: nothing was written, and the same
  // call succeeds once the transaction ends (the core's DynamoDB row, a 409, is for its own items).
  TransactionConflictException: {
    kind: 'unavailable',
    says: 'is being changed by a transaction; try again',
  },
  // A multi-Region strongly consistent global table refused a write racing one in another Region: nothing
  // was written, and botocore's model marks the error retryable.
  ReplicatedWriteConflictException: {
    kind: 'unavailable',
    says: 'is being changed by a write in another Region; try again',
  },
  ResourceNotFoundException: { kind: 'configuration', hint: 'the table in DYNAMODB_TABLE does not exist' },
  ItemCollectionSizeLimitExceededException: 'validation',
};

/** `increment-value`'s rows: DynamoDB refuses to add to a value that is not a number. */
export const INCREMENT_ERRORS: AwsErrorTable = {
  ...DYNAMODB_ERRORS,
  ValidationException: { kind: 'conflict', says: 'holds a value that is not a number' },
};

/**
 * The target of one call: the rows above, the resource as it reads in a message (the table, never a key
 * or a value).
 *
 * @example
 * ```ts
 * await awsCall({ ...dynamodbTarget('GetItem', 'items'), timeoutMs }, (abortSignal) => client.send(command, { abortSignal }));
 * ```
 */
export function dynamodbTarget(
  action: string,
  table: string,
  rows: AwsErrorTable = DYNAMODB_ERRORS,
): AwsCallTarget {
  return {
    service: 'DynamoDB',
    action,
    table: rows,
    resource: action === 'DescribeTable' ? `table ${table}` : `the item in table ${table}`,
    callerInput: true,
    details: { table },
  };
}
