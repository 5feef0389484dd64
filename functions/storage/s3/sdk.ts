/**
 * Everything of the AWS SDK the S3 connector uses, in one module that `client.ts` imports on first use: a
 * cold start whose first call needs no SDK (the health check's HeadBucket, sent by hand where it can be,
 * see `head-bucket.ts`) neither loads nor builds the S3 client.
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
