/**
 * The FHIR connector's models: the R4 datatypes and the four resources it checks (Patient, Observation,
 * Encounter, Condition), the generic Resource every other type passes as, and each operation's input and
 * output. Resources are open objects (FHIR has far more elements than modelled here; extensions too):
 * the models check the elements they name, everything else passes through unchanged.
 */
import * as z from 'zod';

/** FHIR `id`: 1-64 of letters, digits, `-` and `.`. */
export const FhirId = z
  .string()
  .regex(/^[A-Za-z0-9\-.]{1,64}$/)
  .describe('A FHIR logical id (1-64 letters, digits, "-" or "."), e.g. "pat-1"');

/** A resource type name: `Patient`, `MedicationRequest`, ... */
export const ResourceType = z
  .string()
  .regex(/^[A-Z][A-Za-z]{1,63}$/)
  .describe('A FHIR resource type, e.g. "Patient"');

const FhirDate = z.string().regex(/^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/);
const FhirDateTime = z
  .string()
  .regex(
    /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/,
  );

export const Meta = z.looseObject({
  versionId: z.string().optional().describe('The version the server gave this copy'),
  lastUpdated: z.string().optional().describe('When this version was written (instant)'),
  profile: z.array(z.string()).optional().describe('Profiles the resource claims to conform to'),
});

export const Coding = z.looseObject({
  system: z.string().optional().describe('The code system, e.g. "http://loinc.org"'),
  code: z.string().optional().describe('The code in that system'),
  display: z.string().optional().describe('Its display text'),
});

export const CodeableConcept = z.looseObject({
  coding: z.array(Coding).optional().describe('Codes for the concept'),
  text: z.string().optional().describe('Plain text'),
});

export const Identifier = z.looseObject({
  system: z.string().optional().describe('The namespace of the value (a URI)'),
  value: z.string().optional().describe('The identifier, unique within the system'),
  use: z.string().optional().describe('usual, official, temp, secondary or old'),
});

export const Reference = z.looseObject({
  reference: z.string().optional().describe('Relative (Patient/123), absolute or urn:uuid reference'),
  display: z.string().optional().describe('Text for the target'),
});

export const HumanName = z.looseObject({
  use: z.string().optional().describe('usual, official, nickname, ...'),
  text: z.string().optional().describe('The full name as text'),
  family: z.string().optional().describe('Family name'),
  given: z.array(z.string()).optional().describe('Given names'),
});

export const Period = z.looseObject({
  start: FhirDateTime.optional().describe('Start (dateTime)'),
  end: FhirDateTime.optional().describe('End (dateTime)'),
});

const resourceBase = {
  id: FhirId.optional(),
  meta: Meta.optional().describe('Version id and last update, set by the server'),
};

/** Patient (hl7.org/fhir/R4/patient.html). */
export const Patient = z.looseObject({
  resourceType: z.literal('Patient'),
  ...resourceBase,
  identifier: z.array(Identifier).optional().describe('Medical record numbers and other identifiers'),
  active: z.boolean().optional().describe('Whether the record is in active use'),
  name: z.array(HumanName).optional().describe('Names'),
  gender: z.enum(['male', 'female', 'other', 'unknown']).optional().describe('Administrative gender'),
  birthDate: FhirDate.optional().describe('Date of birth (YYYY, YYYY-MM or YYYY-MM-DD)'),
});

/** Observation (hl7.org/fhir/R4/observation.html): status and code are required. */
export const Observation = z.looseObject({
  resourceType: z.literal('Observation'),
  ...resourceBase,
  status: z
    .enum([
      'registered',
      'preliminary',
      'final',
      'amended',
      'corrected',
      'cancelled',
      'entered-in-error',
      'unknown',
    ])
    .describe('The result status'),
  code: CodeableConcept.describe('What was observed (LOINC)'),
  subject: Reference.optional().describe('Who or what it is about'),
  effectiveDateTime: FhirDateTime.optional().describe('When it was observed'),
  valueQuantity: z
    .looseObject({ value: z.number().optional(), unit: z.string().optional() })
    .optional()
    .describe('The measured value'),
});

/** Encounter (hl7.org/fhir/R4/encounter.html): status and class are required. */
export const Encounter = z.looseObject({
  resourceType: z.literal('Encounter'),
  ...resourceBase,
  status: z
    .enum([
      'planned',
      'arrived',
      'triaged',
      'in-progress',
      'onleave',
      'finished',
      'cancelled',
      'entered-in-error',
      'unknown',
    ])
    .describe('The encounter status'),
  class: Coding.describe('Inpatient, ambulatory, emergency, ... (v3 ActCode)'),
  subject: Reference.optional().describe('The patient'),
  period: Period.optional().describe('Start and end'),
});

/** Condition (hl7.org/fhir/R4/condition.html): subject is required. */
export const Condition = z.looseObject({
  resourceType: z.literal('Condition'),
  ...resourceBase,
  clinicalStatus: CodeableConcept.optional().describe(
    'active, recurrence, relapse, inactive, remission, resolved',
  ),
  code: CodeableConcept.optional().describe('The condition (SNOMED CT, ICD-10)'),
  subject: Reference.describe('The patient'),
  onsetDateTime: FhirDateTime.optional().describe('Onset'),
  recordedDate: FhirDateTime.optional().describe('When it was first recorded'),
});

/** The types with a model here; any other passes as the generic {@link Resource}. */
const MODELS: Readonly<Record<string, z.ZodType>> = { Patient, Observation, Encounter, Condition };

const RESOURCE_DESCRIPTION =
  'A FHIR R4 resource as JSON: Patient, Observation, Encounter and Condition are checked against their models, any other type passes with its resourceType (and id)';

/**
 * Any resource: its `resourceType` picks the model (Patient, Observation, Encounter, Condition), whose
 * issues are reported at their paths; other types pass as a generic resource with `resourceType` and `id`.
 *
 * @example
 * ```ts
 * Resource.parse({ resourceType: 'Patient', birthDate: '1984-03-12' });
 * ```
 */
export const Resource = z
  .looseObject({
    resourceType: ResourceType,
    ...resourceBase,
  })
  .superRefine((value, context) => {
    const model = MODELS[value.resourceType];
    const checked = model?.safeParse(value);
    for (const issue of checked?.error?.issues ?? []) {
      context.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    }
  })
  .describe(RESOURCE_DESCRIPTION);
export type Resource = z.output<typeof Resource>;

const PATIENT_EXAMPLE = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-2001' }],
  name: [{ family: 'Example', given: ['Pat'] }],
  gender: 'unknown',
  birthDate: '1990-01-01',
};

/** The outcome of a FHIR call as the connector reports it: one issue of an OperationOutcome. */
export const OutcomeIssue = z.object({
  severity: z.string().describe('fatal, error, warning or information'),
  code: z.string().describe('The issue type (invalid, not-found, conflict, ...)'),
  diagnostics: z.string().optional().describe("The server's explanation"),
  expression: z.array(z.string()).optional().describe('FHIRPath of the elements concerned'),
});

// ---------------------------------------------------------------- operations

export const ReadResourceInput = z.strictObject({
  resourceType: ResourceType,
  id: FhirId,
});
export type ReadResourceInput = z.output<typeof ReadResourceInput>;

export const ReadResourceVersionInput = z.strictObject({
  resourceType: ResourceType,
  id: FhirId,
  versionId: z
    .string()
    .regex(/^[A-Za-z0-9\-.]{1,64}$/)
    .describe('The version to read (meta.versionId), e.g. "1"'),
});
export type ReadResourceVersionInput = z.output<typeof ReadResourceVersionInput>;

export const ResourceOutput = z.object({
  resource: Resource,
  versionId: z.string().optional().describe('The version read or written (ETag W/"n" or meta.versionId)'),
});
export type ResourceOutput = z.output<typeof ResourceOutput>;

const ParameterValue = z.string().min(1).max(1000);

export const SearchResourcesInput = z.strictObject({
  resourceType: ResourceType,
  params: z
    .record(
      z.string().regex(/^[A-Za-z_][\w.:-]{0,63}$/),
      z.union([ParameterValue, z.array(ParameterValue).min(1).max(20)]),
    )
    .optional()
    .describe(
      'Search parameters by name (a list repeats one: AND; commas inside a value: OR), with modifiers and prefixes, e.g. { "family": "Okafor", "birthdate": "ge1980-01-01" }',
    ),
  count: z.int().min(1).max(1000).optional().describe('Resources per page (_count); the server may cap it'),
  sort: z
    .enum(['_lastUpdated', '-_lastUpdated'])
    .optional()
    .describe('Sort by last update, oldest (_lastUpdated) or newest (-_lastUpdated) first'),
  cursor: z
    .string()
    .min(1)
    .max(4096)
    .optional()
    .describe(
      "The nextCursor of the previous page (the bundle's next link); must be on the configured base URL",
    ),
});
export type SearchResourcesInput = z.output<typeof SearchResourcesInput>;

export const ResourcePage = z.object({
  resources: z.array(Resource).describe('The matching resources of this page'),
  included: z.array(Resource).optional().describe('Resources the search included (_include), when any'),
  issues: z.array(OutcomeIssue).optional().describe('Warnings the server attached to the search, when any'),
  total: z.int().optional().describe('How many match in all, when the server says'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last page'),
});
export type ResourcePage = z.output<typeof ResourcePage>;

export const CreateResourceInput = z.strictObject({
  resource: Resource.meta({ description: RESOURCE_DESCRIPTION, examples: [PATIENT_EXAMPLE] }),
  ifNoneExist: z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .describe(
      'Conditional create: a search query; one match answers it instead of creating, e.g. "identifier=urn:oid:2.16.840.1.113883.19.5|MRN-2001"',
    ),
});
export type CreateResourceInput = z.output<typeof CreateResourceInput>;

export const WriteOutput = z.object({
  resource: Resource,
  versionId: z.string().optional().describe('The version written (or found)'),
  created: z
    .boolean()
    .describe('true when a resource was created; false for an update or a conditional match'),
  location: z.string().optional().describe('The Location the server answered (Type/id/_history/n)'),
});
export type WriteOutput = z.output<typeof WriteOutput>;

export const UpdateResourceInput = z.strictObject({
  resource: Resource.meta({
    description: `${RESOURCE_DESCRIPTION}; id is required`,
    examples: [{ ...PATIENT_EXAMPLE, id: 'pat-3' }],
  }),
  ifMatch: z
    .string()
    .regex(/^[A-Za-z0-9\-.]{1,64}$/)
    .optional()
    .describe(
      'Only if the current version is this one (sent as If-Match: W/"n"); another is a 409 conflict, e.g. "1"',
    ),
});
export type UpdateResourceInput = z.output<typeof UpdateResourceInput>;

const BundleEntry = z.looseObject({
  fullUrl: z
    .string()
    .optional()
    .describe('urn:uuid:... to let other entries refer to a resource created here'),
  resource: Resource.optional().describe('The resource to create or update'),
  request: z.looseObject({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH']).describe('The interaction'),
    url: z.string().min(1).max(2000).describe('Type, Type/id or Type?query, relative to the base'),
    ifNoneExist: z.string().optional().describe('Conditional create query'),
    ifMatch: z.string().optional().describe('Version check, W/"n"'),
  }),
});

export const RunTransactionInput = z.strictObject({
  type: z
    .enum(['transaction', 'batch'])
    .default('transaction')
    .describe('transaction: all entries or none; batch: each entry on its own'),
  entry: z
    .array(BundleEntry)
    .min(1)
    .max(500)
    .meta({
      description: 'The entries, each with its request',
      examples: [
        [
          {
            fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a',
            resource: PATIENT_EXAMPLE,
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      ],
    }),
});
export type RunTransactionInput = z.output<typeof RunTransactionInput>;

export const TransactionEntryResult = z.object({
  status: z.string().describe('The entry\'s HTTP status line, e.g. "201 Created"'),
  location: z.string().optional().describe('Where the written resource lives (Type/id/_history/n)'),
  etag: z.string().optional().describe('Its version as an ETag'),
  resource: z.unknown().optional().describe('The resource written or read, when the server returned it'),
  outcome: z.unknown().optional().describe("A batch entry's OperationOutcome when it failed"),
});

export const RunTransactionOutput = z.object({
  type: z.string().describe('transaction-response or batch-response'),
  entries: z.array(TransactionEntryResult).describe('One result per entry, in the order sent'),
});
export type RunTransactionOutput = z.output<typeof RunTransactionOutput>;

export const GetEverythingInput = z.strictObject({
  resourceType: z
    .enum(['Patient', 'Encounter'])
    .default('Patient')
    .describe('Whose record: Patient or Encounter'),
  id: FhirId,
  since: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/)
    .optional()
    .describe('Only resources updated since (_since), e.g. "2026-01-01"'),
  count: z.int().min(1).max(1000).optional().describe('Resources per page (_count)'),
  cursor: z.string().min(1).max(4096).optional().describe('The nextCursor of the previous page'),
});
export type GetEverythingInput = z.output<typeof GetEverythingInput>;

export const GetCapabilitiesInput = z.strictObject({});

export const CapabilitiesOutput = z.object({
  fhirVersion: z.string().describe('The FHIR version the server speaks, e.g. 4.0.1'),
  software: z.string().optional().describe('The server software and version'),
  resources: z
    .array(
      z.object({
        type: z.string().describe('The resource type'),
        interactions: z.array(z.string()).describe('read, vread, update, create, search-type, ...'),
        searchParams: z.array(z.string()).describe('The search parameters it supports'),
        operations: z.array(z.string()).describe('Operations offered on it, e.g. everything'),
      }),
    )
    .describe('What the server offers per resource type'),
  tokenUrl: z.string().optional().describe('The SMART token endpoint the statement names, when any'),
});
export type CapabilitiesOutput = z.output<typeof CapabilitiesOutput>;

// ---------------------------------------------------------------- answers the client reads

export const OperationOutcome = z.looseObject({
  resourceType: z.literal('OperationOutcome'),
  issue: z.array(
    z.looseObject({
      severity: z.string(),
      code: z.string(),
      diagnostics: z.string().optional(),
      expression: z.array(z.string()).optional(),
    }),
  ),
});
export type OperationOutcome = z.output<typeof OperationOutcome>;

export const BundleAnswer = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.string(),
  total: z.int().optional(),
  link: z.array(z.looseObject({ relation: z.string(), url: z.string() })).optional(),
  entry: z
    .array(
      z.looseObject({
        fullUrl: z.string().optional(),
        resource: z.looseObject({ resourceType: z.string() }).optional(),
        search: z.looseObject({ mode: z.string().optional() }).optional(),
        response: z
          .looseObject({
            status: z.string(),
            location: z.string().optional(),
            etag: z.string().optional(),
            outcome: z.unknown().optional(),
          })
          .optional(),
      }),
    )
    .optional(),
});
export type BundleAnswer = z.output<typeof BundleAnswer>;

export const CapabilityAnswer = z.looseObject({
  resourceType: z.literal('CapabilityStatement'),
  fhirVersion: z.string(),
  software: z.looseObject({ name: z.string(), version: z.string().optional() }).optional(),
  rest: z
    .array(
      z.looseObject({
        mode: z.string(),
        security: z
          .looseObject({
            extension: z
              .array(
                z.looseObject({
                  url: z.string(),
                  extension: z
                    .array(z.looseObject({ url: z.string(), valueUri: z.string().optional() }))
                    .optional(),
                }),
              )
              .optional(),
          })
          .optional(),
        resource: z
          .array(
            z.looseObject({
              type: z.string(),
              interaction: z.array(z.looseObject({ code: z.string() })).optional(),
              searchParam: z.array(z.looseObject({ name: z.string() })).optional(),
              operation: z.array(z.looseObject({ name: z.string() })).optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});
export type CapabilityAnswer = z.output<typeof CapabilityAnswer>;
