/**
 * The Amazon States Language shapes the workflow tooling reads (JSONPath flavour only), and a walk over
 * every state of a definition, nested Map and Parallel states included.
 */

/**
 * The partition as a definition names it in ARNs: the deployed definition is a CloudFormation `Fn::Sub`
 * template (serverless-step-functions makes it one), which turns this into `aws`, `aws-cn` or `aws-us-gov`.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not JavaScript.
export const AWS_PARTITION = '${AWS::Partition}';

/** One retrier of a `Retry` list. */
export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/** One catcher of a `Catch` list. */
export interface AslCatcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

/** A state, loosely: the fields the tooling reads are typed, everything else passes through. */
export interface AslState {
  Type: string;
  Comment?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  TimeoutSeconds?: number;
  Retry?: AslRetrier[];
  Catch?: AslCatcher[];
  MaxConcurrency?: number;
  ItemProcessor?: AslDefinition;
  Iterator?: AslDefinition;
  Branches?: AslDefinition[];
  [field: string]: unknown;
}

/** A state machine definition (or the body of a Map's ItemProcessor / a Parallel branch). */
export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
  [field: string]: unknown;
}

/** Where a state sits: its name, the chain of enclosing Map/Parallel states, and a readable path. */
export interface StateLocation {
  name: string;
  /** Enclosing Map or Parallel states, outermost first. */
  parents: { name: string; state: AslState }[];
  /** e.g. `States.Deliver.ItemProcessor.States.PostToChannel`. */
  path: string;
}

/**
 * Calls `visit` for every state of a definition, depth first, including the states inside Map item
 * processors (and the legacy `Iterator`) and Parallel branches.
 *
 * @example
 * ```ts
 * walkStates(definition, (state, { name }) => {
 *   if (state.Type === 'Task') console.log(name);
 * });
 * ```
 */
export function walkStates(
  definition: AslDefinition,
  visit: (state: AslState, location: StateLocation) => void,
  parents: StateLocation['parents'] = [],
  prefix = 'States',
): void {
  for (const [name, state] of Object.entries(definition.States)) {
    const path = `${prefix}.${name}`;
    visit(state, { name, parents, path });
    const nested = [...parents, { name, state }];
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor !== undefined) {
      const key = state.ItemProcessor === undefined ? 'Iterator' : 'ItemProcessor';
      walkStates(processor, visit, nested, `${path}.${key}.States`);
    }
    (state.Branches ?? []).forEach((branch, index) => {
      walkStates(branch, visit, nested, `${path}.Branches.${index}.States`);
    });
  }
}
