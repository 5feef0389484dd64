/**
 * The key-value interface's operations, declared once for every key-value connector (Redis, DynamoDB, ...):
 * a connector whose client implements {@link KeyValueStore} gets `get-value`, `put-value`,
 * `delete-value`, `get-values`, `put-values`, `list-keys` and `increment-value` with the interface's models.
 */
import type { OperationBuilder } from '@circle-core/core';
import {
  DeleteValueInput,
  DeleteValueOutput,
  GetValueInput,
  GetValueOutput,
  GetValuesInput,
  GetValuesOutput,
  IncrementValueInput,
  IncrementValueOutput,
  ListKeysInput,
  ListKeysOutput,
  PutValueInput,
  PutValueOutput,
  PutValuesInput,
  PutValuesOutput,
} from '../models/key-value.ts';
import type { KeyValueStore } from './key-value.ts';

/**
 * The operation table of a key-value connector.
 *
 * @example
 * ```ts
 * defineConnector({ ..., operations: (op) => keyValueOperations(op) });
 * ```
 */
export function keyValueOperations<Config, Client extends KeyValueStore>(
  op: OperationBuilder<Config, Client>,
) {
  return {
    'get-value': op({
      description: 'Reads the JSON value under a key, with its version and expiry',
      input: GetValueInput,
      output: GetValueOutput,
      run: (input, { client }) => client.getValue(input),
    }),
    'put-value': op({
      effect: 'write',
      description:
        'Writes a JSON value under a key, optionally with a time to live, only if absent, or only if its version is unchanged',
      input: PutValueInput,
      output: PutValueOutput,
      run: (input, { client }) => client.putValue(input),
    }),
    'delete-value': op({
      effect: 'write',
      description: 'Removes the value under a key, optionally only if its version is unchanged',
      input: DeleteValueInput,
      output: DeleteValueOutput,
      run: (input, { client }) => client.deleteValue(input),
    }),
    'get-values': op({
      description: 'Reads up to 100 values at once, listing the keys that hold none',
      input: GetValuesInput,
      output: GetValuesOutput,
      run: (input, { client }) => client.getValues(input),
    }),
    'put-values': op({
      effect: 'write',
      description: 'Writes up to 25 values at once, unconditionally',
      input: PutValuesInput,
      output: PutValuesOutput,
      run: (input, { client }) => client.putValues(input),
    }),
    'list-keys': op({
      description: 'Lists one page of the keys under a prefix, with a cursor for the next',
      input: ListKeysInput,
      output: ListKeysOutput,
      run: (input, { client }) => client.listKeys(input),
    }),
    'increment-value': op({
      effect: 'write',
      description: 'Adds to an integer value atomically, counting from 0 when the key is missing',
      input: IncrementValueInput,
      output: IncrementValueOutput,
      run: (input, { client }) => client.incrementValue(input),
    }),
  };
}
