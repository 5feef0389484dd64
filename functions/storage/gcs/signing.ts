/**
 * V4 signed URLs (GOOG4-RSA-SHA256), as Google's "V4 signing process" describes them: a canonical
 * request (verb, path, sorted query, canonical headers, signed header names, `UNSIGNED-PAYLOAD`), its
 * SHA-256 in a string to sign with the credential scope, signed RSA-SHA256 with the service account key.
 */
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { ConfigurationError } from '@circle-core/core';

/** Percent-encodes all but RFC 3986's unreserved characters (and `/` where `keepSlash`). */
export function encodeRfc3986(value: string, keepSlash = false): string {
  const encoded = encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replaceAll('%2F', '/') : encoded;
}

export interface SignUrlOptions {
  method: 'GET' | 'PUT';
  /** The XML API endpoint: `https://storage.googleapis.com`, or the apiEndpoint override. */
  endpoint: string;
  bucket: string;
  key: string;
  expiresIn: number;
  /** Signed into the URL for PUT: the uploader must send exactly this content-type. */
  contentType?: string | undefined;
  clientEmail: string;
  privateKey: string;
  /** Epoch ms. */
  now: number;
}

/** `20240601T120000Z`. */
function stamp(now: number): string {
  return new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * A path-style V4 signed URL (`<endpoint>/<bucket>/<object>?X-Goog-...`).
 *
 * @example
 * ```ts
 * const url = signV4Url({ method: 'GET', endpoint: 'https://storage.googleapis.com', bucket: 'b', key: 'a.txt', expiresIn: 900, clientEmail, privateKey, now: Date.now() });
 * ```
 */
export function signV4Url(options: SignUrlOptions): string {
  const base = new URL(options.endpoint);
  const datetime = stamp(options.now);
  const scope = `${datetime.slice(0, 8)}/auto/storage/goog4_request`;
  const path = `${base.pathname.replace(/\/$/, '')}/${options.bucket}/${encodeRfc3986(options.key, true)}`;
  const headers: Record<string, string> = { host: base.host };
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const query: [string, string][] = [
    ['X-Goog-Algorithm', 'GOOG4-RSA-SHA256'],
    ['X-Goog-Credential', `${options.clientEmail}/${scope}`],
    ['X-Goog-Date', datetime],
    ['X-Goog-Expires', String(options.expiresIn)],
    ['X-Goog-SignedHeaders', signedHeaders],
  ];
  const canonicalQuery = query
    .map(([name, value]) => `${encodeRfc3986(name)}=${encodeRfc3986(value)}`)
    .sort()
    .join('&');
  const canonicalHeaders = names.map((name) => `${name}:${headers[name]}\n`).join('');
  const canonicalRequest = [
    options.method,
    path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const digest = createHash('sha256').update(canonicalRequest).digest('hex');
  const stringToSign = ['GOOG4-RSA-SHA256', datetime, scope, digest].join('\n');
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(options.privateKey);
  } catch {
    throw new ConfigurationError('The service account private_key is not a valid PEM private key');
  }
  const signature = sign('sha256', Buffer.from(stringToSign), key).toString('hex');
  return `${base.origin}${path}?${canonicalQuery}&X-Goog-Signature=${signature}`;
}
