/**
 * How the Azure Blob connector authenticates: the secret's text read as an Azure Storage connection string
 * or as JSON, giving either the account key (Shared Key: every request signed, SAS URLs can be made) or a
 * SAS token (sent as is: no key, so no SAS URL of its own). Messages name fields, never values.
 */
import { ConfigurationError, parseJson } from '@circle-core/core';
import * as z from 'zod';

/** A credential ready for the SDK, with the blob endpoint it belongs to (no trailing slash). */
export type AzureCredential =
  | { kind: 'shared-key'; endpoint: string; accountName: string; accountKey: string }
  | { kind: 'sas'; endpoint: string; sasToken: string };

const AccountName = z.string().regex(/^[a-z0-9]{3,24}$/, 'expected 3-24 lower-case letters and digits');
const AccountKey = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected the base64 account key');
const SasToken = z
  .string()
  .regex(/^\??[\w%=&.:+-]*sig=[\w%=&.:+-]+$/, 'expected a SAS token (query string with sig=)');
const Endpoint = z.url({ protocol: /^https?$/ });

const SecretJson = z.union([
  z.strictObject({ connectionString: z.string().min(1) }),
  z.strictObject({ accountName: AccountName, accountKey: AccountKey, endpoint: Endpoint.optional() }),
  z.strictObject({ accountName: AccountName.optional(), sasToken: SasToken, endpoint: Endpoint.optional() }),
]);

function refuse(secretName: string, problem: string): ConfigurationError {
  return new ConfigurationError(`Secret ${secretName} ${problem}`);
}

/** `Key=value;...` pairs of a connection string (values may hold `=`, as base64 keys and SAS tokens do). */
function connectionFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (part.trim() === '') continue;
    if (at <= 0) throw new Error('a connection string is Key=value pairs separated by ";"');
    fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return fields;
}

function fromConnectionString(text: string, secretName: string): AzureCredential {
  let fields: Map<string, string>;
  try {
    fields = connectionFields(text);
  } catch (error) {
    throw refuse(secretName, `is not a connection string: ${(error as Error).message}`);
  }
  const account = fields.get('accountname');
  const blobEndpoint = fields.get('blobendpoint');
  const protocol = fields.get('defaultendpointsprotocol') ?? 'https';
  const suffix = fields.get('endpointsuffix') ?? 'core.windows.net';
  const endpoint =
    blobEndpoint ?? (account === undefined ? undefined : `${protocol}://${account}.blob.${suffix}`);
  if (endpoint === undefined)
    throw refuse(secretName, 'has a connection string without AccountName or BlobEndpoint');
  const key = fields.get('accountkey');
  const sas = fields.get('sharedaccesssignature');
  if (key !== undefined && account !== undefined) {
    return checked({ accountName: account, accountKey: key, endpoint }, secretName);
  }
  if (sas !== undefined) return checked({ sasToken: sas, endpoint }, secretName);
  throw refuse(
    secretName,
    'has a connection string with neither AccountName+AccountKey nor SharedAccessSignature',
  );
}

function checked(value: unknown, secretName: string): AzureCredential {
  const parsed = SecretJson.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
    throw refuse(secretName, `does not hold a usable Azure credential (check: ${fields.join(', ')})`);
  }
  const secret = parsed.data;
  if ('connectionString' in secret) return fromConnectionString(secret.connectionString, secretName);
  if ('accountKey' in secret) {
    const endpoint = secret.endpoint ?? `https://${secret.accountName}.blob.core.windows.net`;
    return { kind: 'shared-key', endpoint, accountName: secret.accountName, accountKey: secret.accountKey };
  }
  const endpoint =
    secret.endpoint ??
    (secret.accountName === undefined ? undefined : `https://${secret.accountName}.blob.core.windows.net`);
  if (endpoint === undefined) throw refuse(secretName, 'holds a sasToken without accountName or endpoint');
  return { kind: 'sas', endpoint, sasToken: secret.sasToken.replace(/^\?/, '') };
}

/**
 * Reads a credential from a secret's text: a connection string (`AccountName=...;AccountKey=...` or
 * `BlobEndpoint=...;SharedAccessSignature=...`), or JSON `{ connectionString }`, `{ accountName, accountKey,
 * endpoint? }` or `{ accountName?, sasToken, endpoint? }`. `endpoint` (AZURE_BLOB_ENDPOINT) wins over the
 * secret's. Throws a {@link ConfigurationError} naming the secret and the fields at fault, never a value.
 *
 * @example
 * ```ts
 * parseCredential('{"accountName":"acme","accountKey":"a2V5"}', 'prod/azure'); // { kind: 'shared-key', endpoint: 'https://acme.blob.core.windows.net', ... }
 * ```
 */
export function parseCredential(text: string, secretName: string, endpoint?: string): AzureCredential {
  const trimmed = text.trim();
  let credential: AzureCredential;
  if (trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = parseJson(trimmed, 'secret');
    } catch {
      throw refuse(secretName, 'is not valid JSON');
    }
    credential = checked(value, secretName);
  } else {
    credential = fromConnectionString(trimmed, secretName);
  }
  const chosen = (endpoint ?? credential.endpoint).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(chosen))
    throw refuse(secretName, 'names a blob endpoint that is not an http(s) URL');
  return { ...credential, endpoint: chosen };
}
