/**
 * Runs a connector's {@link ConnectorSetup} in the one order every connector shares: secrets defined and
 * their prefetch started, then the client, then the services, then the warm-up beside the prefetch.
 */
import { defineSecret, type Secret } from '../secrets.ts';
import type { ConnectorSetup, LegacySetup, SecretNames, SetupSecrets } from './types.ts';

/** What one container's setup built: `context.client` and `context.services`. */
export interface Built<Client, Services> {
  client: Client;
  services: Services;
}

/**
 * Builds the client and services of one connector from its validated config.
 *
 * @example
 * ```ts
 * const { client, services } = await runSetup(definition.setup, config);
 * ```
 */
export async function runSetup<Config, Client, Services, N extends SecretNames>(
  declared: ConnectorSetup<Config, Client, Services, N> | LegacySetup<Config, Client>,
  config: Config,
): Promise<Built<Client, Services>> {
  const setup: ConnectorSetup<Config, Client, Services, N> =
    typeof declared === 'function' ? { client: ({ config: settings }) => declared(settings) } : declared;
  const secrets = defineSecrets(setup, config);
  // Prefetch never rejects: a secret that cannot be read yet is fetched again, and reported, at first use.
  const prefetched = Promise.all(
    Object.values<Secret | undefined>(secrets).map((secret) => secret?.prefetch()),
  );
  const client = await setup.client({ config, secrets });
  const services = (await setup.services?.({ config, secrets, client })) ?? ({} as Services);
  await Promise.all([prefetched, setup.warmUp?.({ config, secrets, client, services })]);
  return { client, services };
}

function defineSecrets<Config, N extends SecretNames>(
  setup: Pick<ConnectorSetup<Config, unknown, unknown, N>, 'secrets' | 'secretMaxAgeSeconds'>,
  config: Config,
): SetupSecrets<N> {
  const names: SecretNames = setup.secrets?.(config) ?? {};
  const maxAgeSeconds = setup.secretMaxAgeSeconds?.(config);
  const options = maxAgeSeconds === undefined ? {} : { maxAgeSeconds };
  const secrets: Record<string, Secret> = {};
  for (const [role, name] of Object.entries(names)) {
    if (name !== undefined) secrets[role] = defineSecret(name, options);
  }
  return secrets as SetupSecrets<N>;
}
