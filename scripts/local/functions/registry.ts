/** Finds local functions by the names AWS accepts: key, deployed name, full or partial ARN, with a qualifier. */
import type { FunctionProcess } from './function-process.ts';

/** Every local function of the stack. */
export class FunctionRegistry {
  readonly #functions: FunctionProcess[];

  constructor(functions: FunctionProcess[]) {
    this.#functions = functions;
  }

  /** Every function, sorted by key. */
  all(): FunctionProcess[] {
    return [...this.#functions].sort((a, b) => a.spec.key.localeCompare(b.spec.key));
  }

  /**
   * A function by `s3`, `circle-core-dev-s3`, `arn:aws:lambda:<region>:<account>:function:circle-core-dev-s3`,
   * `000000000000:function:s3` or any of those with a `:$LATEST` qualifier.
   *
   * @example
   * ```ts
   * registry.find('arn:aws:lambda:us-east-1:000000000000:function:circle-core-dev-s3')?.spec.key; // 's3'
   * ```
   */
  find(nameOrArn: string): FunctionProcess | undefined {
    let name = decodeURIComponent(nameOrArn);
    const marker = name.indexOf('function:');
    if (marker >= 0) name = name.slice(marker + 'function:'.length);
    name = name.split(':')[0] ?? name;
    return this.#functions.find((fn) => fn.spec.key === name || fn.spec.name === name);
  }
}
