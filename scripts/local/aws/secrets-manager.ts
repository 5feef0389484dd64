/**
 * Secrets Manager (AWS JSON 1.1, `x-amz-target: secretsmanager.<Operation>`) over the local secret store:
 * GetSecretValue, CreateSecret, PutSecretValue, DescribeSecret, ListSecrets, DeleteSecret, RestoreSecret.
 */
import { type SecretStore, SecretStoreError, type StoredSecret, secretArn } from '../stores/secret-store.ts';
import { AwsError, epochSeconds, type JsonRequest, type JsonService, requireString } from './protocol.ts';

function notFound(): AwsError {
  return new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
}

function storeError(error: unknown): unknown {
  if (!(error instanceof SecretStoreError)) return error;
  switch (error.reason) {
    case 'exists':
      return new AwsError(
        'ResourceExistsException',
        `The operation failed because the secret ${error.secretName} already exists.`,
      );
    case 'not-found':
      return notFound();
    case 'deleted':
      return new AwsError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    case 'invalid-name':
      return new AwsError(
        'ValidationException',
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
  }
}

function content(body: Record<string, unknown>): { value?: string; binary?: string } {
  if (typeof body['SecretString'] === 'string') return { value: body['SecretString'] };
  if (typeof body['SecretBinary'] === 'string') return { binary: body['SecretBinary'] };
  return {};
}

/**
 * The Secrets Manager operations over `store`.
 *
 * @example
 * ```ts
 * const service = secretsManagerService(new SecretStore('.local/secrets.json'), 'us-east-1');
 * await service({ operation: 'GetSecretValue', body: { SecretId: 'circle-core/slack/bot-token' } });
 * ```
 */
export function secretsManagerService(store: SecretStore, region: string): JsonService {
  const arn = (secret: StoredSecret): string => secretArn(secret.name, region);
  const versions = (secret: StoredSecret): Record<string, string[]> => ({
    [secret.versionId]: ['AWSCURRENT'],
  });
  const find = async (body: Record<string, unknown>): Promise<StoredSecret> => {
    const secret = await store.get(requireString(body, 'SecretId', 'InvalidParameterException'));
    if (secret === undefined) throw notFound();
    return secret;
  };
  const describe = (secret: StoredSecret): Record<string, unknown> => {
    const description: Record<string, unknown> = {
      ARN: arn(secret),
      Name: secret.name,
      CreatedDate: epochSeconds(secret.createdAt),
      LastChangedDate: epochSeconds(secret.updatedAt),
      VersionIdsToStages: versions(secret),
    };
    if (secret.description !== undefined) description['Description'] = secret.description;
    if (secret.deletedAt !== undefined) description['DeletedDate'] = epochSeconds(secret.deletedAt);
    return description;
  };

  const operations: Record<string, (body: Record<string, unknown>) => Promise<unknown>> = {
    GetSecretValue: async (body) => {
      const secret = await find(body);
      if (secret.deletedAt !== undefined) throw storeError(new SecretStoreError('deleted', secret.name));
      const versionId = body['VersionId'];
      const stage = body['VersionStage'];
      if (
        (typeof versionId === 'string' && versionId !== secret.versionId) ||
        (typeof stage === 'string' && stage !== 'AWSCURRENT')
      ) {
        throw new AwsError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for the requested version or staging label.",
        );
      }
      const answer: Record<string, unknown> = {
        ARN: arn(secret),
        Name: secret.name,
        VersionId: secret.versionId,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: epochSeconds(secret.updatedAt),
      };
      if (secret.value !== undefined) answer['SecretString'] = secret.value;
      if (secret.binary !== undefined) answer['SecretBinary'] = secret.binary;
      return answer;
    },
    CreateSecret: async (body) => {
      const name = requireString(body, 'Name', 'InvalidParameterException');
      const request: { value?: string; binary?: string; description?: string } = content(body);
      if (typeof body['Description'] === 'string') request.description = body['Description'];
      const secret = await store.put(name, request, 'create');
      return { ARN: arn(secret), Name: secret.name, VersionId: secret.versionId };
    },
    PutSecretValue: async (body) => {
      const secretId = requireString(body, 'SecretId', 'InvalidParameterException');
      const value = content(body);
      if (value.value === undefined && value.binary === undefined) {
        throw new AwsError(
          'InvalidRequestException',
          'You must provide either SecretString or SecretBinary.',
        );
      }
      const secret = await store.put(secretId, value, 'update');
      return {
        ARN: arn(secret),
        Name: secret.name,
        VersionId: secret.versionId,
        VersionStages: ['AWSCURRENT'],
      };
    },
    DescribeSecret: async (body) => describe(await find(body)),
    ListSecrets: async (body) => {
      const includeDeleted = body['IncludePlannedDeletion'] === true;
      const filters = Array.isArray(body['Filters'])
        ? (body['Filters'] as { Key?: string; Values?: string[] }[])
        : [];
      const matches = (secret: StoredSecret): boolean =>
        filters.every((filter) => {
          const values = filter.Values ?? [];
          const field =
            filter.Key === 'name'
              ? secret.name
              : filter.Key === 'description'
                ? (secret.description ?? '')
                : undefined;
          if (filter.Key === 'all') {
            return values.some((v) => secret.name.startsWith(v) || (secret.description ?? '').startsWith(v));
          }
          return field === undefined || values.some((value) => field.startsWith(value));
        });
      const all = (await store.list()).filter(
        (secret) => (includeDeleted || secret.deletedAt === undefined) && matches(secret),
      );
      const max = Math.min(Number(body['MaxResults'] ?? 100), 100);
      const start = typeof body['NextToken'] === 'string' ? Number(body['NextToken']) : 0;
      const page = all.slice(start, start + max);
      const answer: Record<string, unknown> = {
        SecretList: page.map((secret) => {
          const { VersionIdsToStages, ...rest } = describe(secret);
          return { ...rest, SecretVersionsToStages: VersionIdsToStages };
        }),
      };
      if (start + max < all.length) answer['NextToken'] = String(start + max);
      return answer;
    },
    DeleteSecret: async (body) => {
      const secretId = requireString(body, 'SecretId', 'InvalidParameterException');
      if (body['ForceDeleteWithoutRecovery'] === true && body['RecoveryWindowInDays'] !== undefined) {
        throw new AwsError(
          'InvalidParameterException',
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      }
      const secret = await store.delete(secretId, { force: body['ForceDeleteWithoutRecovery'] === true });
      const windowDays = Number(body['RecoveryWindowInDays'] ?? 30);
      const deletion =
        body['ForceDeleteWithoutRecovery'] === true
          ? Date.now()
          : (secret.deletedAt ?? Date.now()) + windowDays * 86_400_000;
      return { ARN: arn(secret), Name: secret.name, DeletionDate: epochSeconds(deletion) };
    },
    RestoreSecret: async (body) => {
      const secret = await store.restore(requireString(body, 'SecretId', 'InvalidParameterException'));
      return { ARN: arn(secret), Name: secret.name };
    },
  };

  return async ({ operation, body }: JsonRequest) => {
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (handler === undefined) {
      throw new AwsError(
        'UnknownOperationException',
        `secretsmanager.${operation} is not supported by the local stack`,
      );
    }
    try {
      return await handler(body);
    } catch (error) {
      throw storeError(error);
    }
  };
}
