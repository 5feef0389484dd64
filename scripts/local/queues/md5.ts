/** The digests SQS returns and the AWS SDK verifies: MD5 of the body and of the message attributes. */
import { createHash } from 'node:crypto';

/** A message attribute as the JSON protocol carries it (binary values base64). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/**
 * MD5 hex of a message body (UTF-8).
 *
 * @example
 * ```ts
 * md5OfBody('hello'); // '5d41402abc4b2a76b9719d911017c592'
 * ```
 */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * MD5 hex of message attributes, by SQS's encoding: for each attribute sorted by name, the length-prefixed
 * name and data type, a transport byte (1 string, 2 binary) and the length-prefixed value.
 *
 * @example
 * ```ts
 * md5OfAttributes({ correlationId: { DataType: 'String', StringValue: 'abc' } });
 * ```
 */
export function md5OfAttributes(attributes: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  for (const name of names) {
    const attribute = attributes[name] as MessageAttributeValue;
    hash.update(lengthPrefixed(Buffer.from(name, 'utf8')));
    hash.update(lengthPrefixed(Buffer.from(attribute.DataType, 'utf8')));
    if (attribute.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      hash.update(lengthPrefixed(Buffer.from(attribute.BinaryValue, 'base64')));
    } else {
      hash.update(Buffer.from([1]));
      hash.update(lengthPrefixed(Buffer.from(attribute.StringValue ?? '', 'utf8')));
    }
  }
  return hash.digest('hex');
}
