/**
 * The FHIR R4 connector: a generic FHIR RESTful client (read, vread, search with paging, create with
 * If-None-Exist, update with If-Match, transaction and batch bundles, $everything where the server offers
 * it) on every trigger, with bearer or SMART Backend Services auth. No operation logs resource content.
 */
import { defineConnector } from '@circle-core/core';
import { fhirAuth } from './auth.ts';
import { FhirApi, fhirApi } from './client.ts';
import { FhirConfig } from './config.ts';
import {
  CapabilitiesOutput,
  CreateResourceInput,
  GetCapabilitiesInput,
  GetEverythingInput,
  ReadResourceInput,
  ReadResourceVersionInput,
  ResourceOutput,
  ResourcePage,
  RunTransactionInput,
  RunTransactionOutput,
  SearchResourcesInput,
  UpdateResourceInput,
  WriteOutput,
} from './models.ts';
import { refusedBundleEntries } from './unfinished.ts';

/**
 * @example
 * ```ts
 * const { resources, nextCursor } = await connector.run('search-resources', { resourceType: 'Patient', params: { family: 'Okafor' } });
 * ```
 */
export const connector = defineConnector({
  name: 'fhir',
  version: '1.0.4',
  config: FhirConfig,
  setup: {
    secrets: (config) => ({ credentials: config.FHIR_CREDENTIALS_SECRET }),
    secretMaxAgeSeconds: (config) => config.FHIR_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new FhirApi(
        fhirApi.clientFromSettings(config, { auth: fhirAuth(config, secrets.credentials) }),
        config.FHIR_API_URL,
      ),
  },
  operations: (op) => ({
    'read-resource': op({
      description: 'Reads the current version of a resource (GET [type]/[id])',
      input: ReadResourceInput,
      output: ResourceOutput,
      run: (input, { client }) => client.readResource(input),
    }),
    'read-resource-version': op({
      description: 'Reads one version of a resource (vread: GET [type]/[id]/_history/[vid])',
      input: ReadResourceVersionInput,
      output: ResourceOutput,
      run: (input, { client }) => client.readResourceVersion(input),
    }),
    'search-resources': op({
      description:
        'Searches one resource type; one Bundle page per call, nextCursor (the next link) reads on',
      input: SearchResourcesInput,
      output: ResourcePage,
      run: (input, { client }) => client.searchResources(input),
    }),
    'create-resource': op({
      effect: 'write',
      description:
        'Creates a resource; with ifNoneExist (If-None-Exist) a match is answered instead of a copy',
      input: CreateResourceInput,
      output: WriteOutput,
      run: (input, { client }) => client.createResource(input),
    }),
    'update-resource': op({
      effect: 'write',
      description: 'Writes a new version of a resource (PUT); with ifMatch only over that version, else 409',
      input: UpdateResourceInput,
      output: WriteOutput,
      run: (input, { client }) => client.updateResource(input),
    }),
    'run-transaction': op({
      effect: 'write',
      description: "Posts a transaction (all or nothing) or batch Bundle and answers each entry's result",
      input: RunTransactionInput,
      output: RunTransactionOutput,
      unfinished: refusedBundleEntries,
      run: (input, { client }) => client.runTransaction(input),
    }),
    'get-everything': op({
      description: "A patient's (or encounter's) whole record via $everything, paged; 501 where not offered",
      input: GetEverythingInput,
      output: ResourcePage,
      run: (input, { client }) => client.getEverything(input),
    }),
    'get-capabilities': op({
      description: "The server's CapabilityStatement: FHIR version, types, interactions, search parameters",
      input: GetCapabilitiesInput,
      output: CapabilitiesOutput,
      run: (_input, { client }) => client.getCapabilities(),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
