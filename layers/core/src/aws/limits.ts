/**
 * The payload limits of the AWS services the connectors and the local stack send to, in one place. Since
 * 29 January 2026 SQS messages, EventBridge events and asynchronous Lambda invocations take up to 1 MiB
 * (AWS Compute Blog, "More room to build: serverless services now support payloads up to 1 MB"); SNS
 * messages and Step Functions state stay at 256 KiB.
 */

/**
 * SQS's largest message, body and every attribute's name, data type and value in UTF-8 bytes; also the
 * most one SendMessageBatch carries in total. A queue's `MaximumMessageSize` may set less, never more.
 */
export const SQS_MESSAGE_LIMIT_BYTES = 1_048_576;

/** SQS's largest SendMessageBatch: the sum of its messages' sizes, as counted for one message. */
export const SQS_BATCH_LIMIT_BYTES = 1_048_576;

/**
 * EventBridge's largest PutEvents entry as it counts it: Source, DetailType, Detail and each resource in
 * UTF-8 bytes, plus 14 for a Time.
 */
export const EVENTBRIDGE_ENTRY_LIMIT_BYTES = 1_048_576;

/** EventBridge's largest PutEvents request: the sum of its entries' sizes, as counted for one entry. */
export const EVENTBRIDGE_REQUEST_LIMIT_BYTES = 1_048_576;

/** SNS's largest message (Publish) and PublishBatch total, unchanged by the 2026 raise. */
export const SNS_MESSAGE_LIMIT_BYTES = 262_144;
