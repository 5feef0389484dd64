/**
 * A connector's threat model as data (`threat-model.ts` beside its `index.ts`, never bundled): what it can
 * reach, what it stores, and for each STRIDE category the threats that apply with the control that answers
 * each, or why none applies. `npm run docs` renders it into the connector's README between the
 * `<!-- generated:threat-model -->` markers; `test/docs/threat-models.test.ts` checks that every connector
 * has one that covers all six categories.
 */
import * as z from 'zod';

/** The six STRIDE categories, in the order the README lists them. */
export const STRIDE = [
  'spoofing',
  'tampering',
  'repudiation',
  'information-disclosure',
  'denial-of-service',
  'elevation-of-privilege',
] as const;
export type StrideCategory = (typeof STRIDE)[number];

/** How a README names each category. */
export const STRIDE_TITLES: Readonly<Record<StrideCategory, string>> = {
  spoofing: 'Spoofing',
  tampering: 'Tampering',
  repudiation: 'Repudiation',
  'information-disclosure': 'Information disclosure',
  'denial-of-service': 'Denial of service',
  'elevation-of-privilege': 'Elevation of privilege',
};

const Sentence = z.string().trim().min(10, 'say it in a sentence');

/** One threat and the control that answers it. */
export const Threat = z.strictObject({
  threat: Sentence.describe('What could go wrong, and who would do it'),
  control: Sentence.describe('What stops it, where (code, IAM, configuration), so a reviewer can check it'),
});

/** A category's threats, or why none applies to this connector. */
export const StrideEntry = z.union([
  z.array(Threat).min(1),
  z.strictObject({ notApplicable: Sentence.describe('Why this category has no threat here') }),
]);

export const ThreatModel = z.strictObject({
  /** Every system the function can reach over the network, with how (protocol, TLS). */
  reaches: z.array(Sentence).min(1),
  /** What it keeps: at rest (tables, queues, objects) and in memory across invocations (caches). */
  stores: z.array(Sentence).min(1),
  threats: z.strictObject(
    Object.fromEntries(STRIDE.map((category) => [category, StrideEntry])) as Record<
      StrideCategory,
      typeof StrideEntry
    >,
  ),
});
export type ThreatModel = z.input<typeof ThreatModel>;

/**
 * A threat model, checked: the model itself, so a connector writes
 * `export const threatModel = defineThreatModel({ ... })` and a mistake fails where it is made.
 *
 * @example
 * ```ts
 * export const threatModel = defineThreatModel({ reaches: ['...'], stores: ['...'], threats: { ... } });
 * ```
 */
export function defineThreatModel(model: ThreatModel): ThreatModel {
  return ThreatModel.parse(model);
}
