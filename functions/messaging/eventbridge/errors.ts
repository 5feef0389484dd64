/**
 * Amazon EventBridge's rows for the core's AWS error map (the EventBridge API Reference's errors, and the
 * per-entry `ErrorCode`s of PutEvents), and the call target naming the bus in every message. Throttling,
 * timeouts, 5xx, credentials and network failures are the shared rows.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

export const EVENTBRIDGE_ERRORS: AwsErrorTable = {
  ResourceNotFoundException: {
    kind: 'configuration',
    says: 'does not exist',
    hint: 'check EVENTBRIDGE_BUS_NAME',
  },
  // PutEvents entries: the detail is not a JSON object, or a field is missing or invalid.
  MalformedDetail: 'validation',
  InvalidArgument: 'validation',
  // An entry refused because "the account ID provided is not valid": the bus's account (its ARN).
  InvalidAccountIdException: { kind: 'configuration', hint: 'check the account in EVENTBRIDGE_BUS_NAME' },
  ValidationException: 'validation',
  NotAuthorizedForSourceException: {
    kind: 'forbidden',
    hint: 'the role may not put events with that source',
  },
  NotAuthorizedForDetailTypeException: {
    kind: 'forbidden',
    hint: 'the role may not put events with that detail type',
  },
  ConcurrentModificationException: 'conflict',
  OperationDisabledException: { kind: 'configuration', hint: 'the operation is disabled for this bus' },
  InternalException: 'unavailable',
};

/**
 * The target of one EventBridge call: EventBridge's rows and the bus as it reads in a message.
 *
 * @example
 * ```ts
 * await awsCall({ ...eventBridgeTarget('PutEvents', 'orders'), timeoutMs }, (abortSignal) => sdk.send(command, { abortSignal }));
 * ```
 */
export function eventBridgeTarget(action: string, bus: string): AwsCallTarget {
  return {
    service: 'EventBridge',
    action,
    table: EVENTBRIDGE_ERRORS,
    resource: `event bus "${bus}"`,
    callerInput: true,
    details: { bus },
  };
}

/** The rows of the rule calls (DescribeRule, ListTargetsByRule): a missing rule is the caller's 404. */
export const RULE_ERRORS: AwsErrorTable = { ...EVENTBRIDGE_ERRORS, ResourceNotFoundException: 'not-found' };
