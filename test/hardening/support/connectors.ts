/**
 * Every connector of the repository, read from the functions folder (`functions/<category>/<name>/function.yml`),
 * so a new connector is known to the hardening suites without editing a list: connectors.test.ts fails until
 * the shared suite (support/suite.ts, CONNECTOR_NAMES) loads it or {@link NOT_IN_SHARED_SUITE} says why not.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FUNCTIONS = fileURLToPath(new URL('../../../functions/', import.meta.url));

/** One connector: its name (the folder's, which is also its `defineConnector` name) and its module. */
export interface ConnectorFolder {
  name: string;
  category: string;
  /** Absolute path of its `index.ts`, for a fresh `import()`. */
  module: string;
  /** Absolute path of its `function.yml` (its routes, authorizers and role). */
  functionFile: string;
}

/** Every connector under functions/, sorted by name. */
export const CONNECTOR_FOLDERS: readonly ConnectorFolder[] = readdirSync(FUNCTIONS, { withFileTypes: true })
  .filter((category) => category.isDirectory())
  .flatMap((category) =>
    readdirSync(`${FUNCTIONS}${category.name}`, { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() && existsSync(`${FUNCTIONS}${category.name}/${entry.name}/function.yml`),
      )
      .map((entry) => ({
        name: entry.name,
        category: category.name,
        module: `${FUNCTIONS}${category.name}/${entry.name}/index.ts`,
        functionFile: `${FUNCTIONS}${category.name}/${entry.name}/function.yml`,
      })),
  )
  .sort((a, b) => a.name.localeCompare(b.name));

/** A connector's folder by name. */
export function connectorFolder(name: string): ConnectorFolder {
  const folder = CONNECTOR_FOLDERS.find((candidate) => candidate.name === name);
  if (folder === undefined) throw new Error(`No connector "${name}" under functions/`);
  return folder;
}

/**
 * Connectors the shared suite does not load yet, and why: each needs a peer the suite does not start, and each
 * has the shared checks (secrets in output, strict inputs, write declarations, authorizer, idempotency) in a
 * file of its own until it moves into the suite. Adding a connector here needs the file that covers it.
 */
export const NOT_IN_SHARED_SUITE: Readonly<Record<string, string>> = {
  duckdb: 'embedded engine with its own hostile-SQL checks: newer-connectors-duckdb.test.ts',
  fhir: 'needs the FHIR contract fake and its PHI log check: newer-connectors.test.ts',
  pgvector: 'needs PGlite with the vector extension (about 30 s to start): newer-connectors-pgvector.test.ts',
  rabbitmq: "needs the machine's RabbitMQ with wrong-password secrets: newer-connectors-brokers.test.ts",
  ses: 'needs the local SES v2 endpoint behind a fault proxy: newer-connectors-ses.test.ts',
  shopify: 'needs the Shopify contract fake and its webhook: newer-connectors.test.ts',
  snowflake: 'needs the Snowflake contract fake (key-pair JWT): newer-connectors.test.ts',
  teams: 'needs the Microsoft Graph contract fake: newer-connectors.test.ts',
  twilio: 'needs the Twilio contract fake and its webhook: newer-connectors.test.ts',
};
