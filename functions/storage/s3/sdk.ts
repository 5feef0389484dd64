/**
 * Everything of the AWS SDK the S3 connector uses, in one module that `client.ts` imports on the first
 * operation (the health check's HeadBucket included), not at init: the function's init loads only the
 * connector's own code.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { type AwsClientSettings, awsClientConfig, createAwsClient } from '@circle-core/core';

export {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
export { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** An untraced S3 client with the kit's settings. */
export function untracedClient(settings: AwsClientSettings): S3Client {
  return new S3Client(awsClientConfig(settings));
}

/** An S3 client traced when tracing is on (the AWS kit's `createAwsClient`). */
export function tracedClient(settings: AwsClientSettings, connector: string): Promise<S3Client> {
  return createAwsClient(S3Client, connector, settings);
}
