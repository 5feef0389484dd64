/**
 * Amazon SES v2's rows for the core's AWS error map (the SES API Reference's errors by the SDK's exception
 * names) and the call targets naming the resource in every message (attachments read by claim check use the
 * data kit's S3 rows, shared/data/s3-objects.ts). Throttling (TooManyRequestsException), timeouts, 5xx, credentials and network failures are the
 * shared rows.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

export const SES_ERRORS: AwsErrorTable = {
  NotFoundException: { kind: 'not-found', says: 'does not exist' },
  AlreadyExistsException: { kind: 'conflict', says: 'already exists' },
  ConcurrentModificationException: 'conflict',
  BadRequestException: 'validation',
  // Content SES refuses (a virus, a header it does not allow); an unverified address is told apart in the client.
  MessageRejected: 'validation',
  MailFromDomainNotVerifiedException: {
    kind: 'configuration',
    hint: "the sender identity's custom MAIL FROM domain is not verified",
  },
  AccountSuspendedException: { kind: 'configuration', hint: 'SES suspended sending for the account' },
  SendingPausedException: {
    kind: 'configuration',
    hint: 'sending is paused for the account or for SES_CONFIGURATION_SET',
  },
  // "Too many instances of the specified resource type" (400): a count quota such as the templates', which
  // waiting does not lift. The sending rate and daily quota are throttling (TooManyRequestsException).
  LimitExceededException: {
    kind: 'conflict',
    hint: 'the account has as many of these as its SES quota allows: delete some or ask AWS to raise the quota',
  },
  AccessDeniedException: {
    kind: 'configuration',
    hint: 'the role needs ses:SendEmail on the sender identity and on SES_CONFIGURATION_SET',
  },
};

/**
 * The target of one SES call: SES's rows and what it acts on as it reads in a message.
 *
 * @example
 * ```ts
 * await awsCall({ ...sesTarget('SendEmail', 'template "incident"'), timeoutMs }, (abortSignal) => sdk.send(command, { abortSignal }));
 * ```
 */
export function sesTarget(action: string, resource?: string): AwsCallTarget {
  return { service: 'SES', action, table: SES_ERRORS, resource, callerInput: true };
}
