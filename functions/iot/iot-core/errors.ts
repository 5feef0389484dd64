/**
 * AWS IoT Core data plane's rows for the core's AWS error map (the API reference's errors by the SDK's
 * exception names), and the call target naming the shadow or topic in every message. Timeouts, 5xx,
 * credentials and network failures are the shared rows.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

const CREDENTIALS = {
  kind: 'configuration',
  hint: 'AWS IoT refused the credentials: check the role and IOT_DATA_ENDPOINT (the account-specific -ats endpoint)',
} as const;

export const IOT_CORE_ERRORS: AwsErrorTable = {
  ResourceNotFoundException: { kind: 'not-found', says: 'was not found' },
  ConflictException: { kind: 'conflict', says: 'has a newer version than the one given' },
  RequestEntityTooLargeException: {
    kind: 'validation',
    says: 'is too large',
    hint: 'a shadow document is at most 8 KB, a message at most 128 KB',
  },
  InvalidRequestException: 'validation',
  UnsupportedDocumentEncodingException: { kind: 'validation', hint: 'shadow documents are UTF-8 JSON' },
  MethodNotAllowedException: 'configuration',
  UnauthorizedException: CREDENTIALS,
  ForbiddenException: {
    kind: 'configuration',
    hint: 'the role needs iot:Publish on the topic, or iot:GetThingShadow/UpdateThingShadow/DeleteThingShadow/ListNamedShadowsForThing on the thing',
  },
  ThrottlingException: 'rate-limited',
  ServiceUnavailableException: 'unavailable',
  InternalFailureException: 'unavailable',
  GatewayTimeoutException: 'unavailable',
};

/**
 * The target of one data-plane call: the rows above and what it acts on as it reads in a message.
 *
 * @example
 * ```ts
 * await awsCall({ ...iotCoreTarget('GetThingShadow', 'shadow of thing "sensor-42"'), timeoutMs }, send);
 * ```
 */
export function iotCoreTarget(
  action: string,
  resource: string,
  details: Record<string, unknown>,
): AwsCallTarget {
  return { service: 'AWS IoT', action, table: IOT_CORE_ERRORS, resource, callerInput: true, details };
}

/**
 * How a shadow reads in a message.
 *
 * @example
 * ```ts
 * shadowLabel('sensor-42', 'config'); // 'shadow "config" of thing "sensor-42"'
 * ```
 */
export function shadowLabel(thingName: string, shadowName: string | undefined): string {
  return shadowName === undefined
    ? `classic shadow of thing "${thingName}"`
    : `shadow "${shadowName}" of thing "${thingName}"`;
}
