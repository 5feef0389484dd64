/**
 * HeadBucket without the AWS SDK, for the health check: one `HEAD /<bucket>` (path style) or `HEAD /` on
 * `<bucket>.<host>`, signed by hand with the environment's credentials (the core's SigV4) and sent through
 * the core's HttpClient (keep-alive, a deadline per attempt, jittered retries of throttling and server
 * errors). A cold start whose first call is the health check then loads no SDK code at all. It serves what
 * Lambda gives a function (credentials in the environment, a region, an endpoint from `S3_ENDPOINT`,
 * `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or S3's regional one); anywhere else, and for bucket names the
 * SDK would address differently, {@link directHeadBucket} returns `undefined` and the SDK serves.
 */
import {
  AwsServiceError,
  awsFailure,
  awsServiceEndpoint,
  environmentCredentials,
  HttpClient,
  type HttpResponse,
  rawFailure,
  sha256Hex,
  signV4,
} from '@circle-core/core';

/** What HeadBucket needs of the storage's options. */
export interface HeadBucketOptions {
  endpoint?: string | undefined;
  forcePathStyle?: boolean | undefined;
  region?: string | undefined;
  timeoutMs: number;
  maxAttempts: number;
}

/** HeadBucket of one bucket; rejects with the raw AWS or Node error, as the SDK would, or the client's own. */
export type HeadBucket = (abortSignal: AbortSignal) => Promise<void>;

/** A name the SDK puts in the host name as it is (no dots, which TLS would refuse, no S3 Express suffix). */
const VIRTUAL_HOSTABLE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** Directory buckets (S3 Express) and table buckets sign with session credentials only the SDK has. */
const SDK_ONLY_SUFFIX = /--(x-s3|table-s3)$/;

/** Where `bucket` is: its URL and signing region, or `undefined` when only the SDK can tell. */
export function headBucketUrl(
  bucket: string,
  options: Pick<HeadBucketOptions, 'endpoint' | 'forcePathStyle' | 'region'>,
  env: NodeJS.ProcessEnv = process.env,
): { url: URL; region: string } | undefined {
  if (SDK_ONLY_SUFFIX.test(bucket)) return undefined;
  const pathStyle = options.forcePathStyle === true;
  if (!pathStyle && !VIRTUAL_HOSTABLE.test(bucket)) return undefined;
  const scoped = options.region === undefined ? env : { ...env, AWS_REGION: options.region };
  const resolved =
    options.endpoint === undefined
      ? awsServiceEndpoint({ signingName: 's3', endpointVariable: 'AWS_ENDPOINT_URL_S3' }, scoped)
      : { url: options.endpoint, region: scoped['AWS_REGION'] || scoped['AWS_DEFAULT_REGION'] };
  if (resolved === undefined || !resolved.region) return undefined;
  let url: URL;
  try {
    url = new URL(resolved.url);
  } catch {
    return undefined;
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (pathStyle) url.pathname = `${path}/${bucket}`;
  else {
    url.hostname = `${bucket}.${url.hostname}`;
    url.pathname = path === '' ? '/' : path;
  }
  return { url, region: resolved.region };
}

/** The error S3 answers a HEAD with: no body, so named as the SDK names it (`NotFound`, else the status). */
function answerError(response: HttpResponse) {
  if (response.status < 300) return undefined;
  const name = response.status === 404 ? 'NotFound' : String(response.status);
  const error = new AwsServiceError(name, `HTTP ${response.status}`, response);
  // Classified so the client retries what is retryable; the caller maps the raw error again with S3's rows.
  return awsFailure({ service: 'S3', action: 'request' }, error);
}

/** Settles with `promise`, or rejects with the signal's reason once it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

/**
 * HeadBucket sent by hand, or `undefined` when the environment holds no credentials (or names a profile,
 * which the SDK prefers to them) or the bucket's address needs the SDK ({@link headBucketUrl}). Credentials are read from the environment on every
 * request. No circuit breaker, as the SDK has none; attempts and per-attempt timeouts as the SDK client's.
 *
 * @example
 * ```ts
 * const head = directHeadBucket('data', { timeoutMs: 10_000, maxAttempts: 3 });
 * await head?.(AbortSignal.timeout(10_000));
 * ```
 */
export function directHeadBucket(
  bucket: string,
  options: HeadBucketOptions,
  env: NodeJS.ProcessEnv = process.env,
): HeadBucket | undefined {
  // With AWS_PROFILE set the SDK's default chain skips the environment's keys for the profile's: so does this.
  const initial = env['AWS_PROFILE'] ? undefined : environmentCredentials(env);
  const where = headBucketUrl(bucket, options, env);
  if (initial === undefined || where === undefined) return undefined;
  const { url, region } = where;
  let client: HttpClient | undefined;
  return (abortSignal) => {
    client ??= new HttpClient({
      provider: 'S3',
      timeoutMs: options.timeoutMs,
      maxAttempts: options.maxAttempts,
      circuitBreaker: false,
      auth: {
        apply: async (target) => {
          signV4(
            { method: 'HEAD', url: target.url, headers: target.headers, payloadHash: sha256Hex('') },
            { credentials: environmentCredentials(env) ?? initial, region, service: 's3' },
          );
        },
      },
      inspect: answerError,
    });
    const sent = client.request({
      method: 'HEAD',
      url: url.href,
      headers: { 'x-amz-content-sha256': sha256Hex('') },
    });
    return untilAborted(sent, abortSignal).then(
      () => undefined,
      (error: unknown) => {
        throw rawFailure(error);
      },
    );
  };
}
