/**
 * --enable-source-maps parses every source map at cold start: only dev stages run with it; every other
 * stage (prod, and any stage without its own entry) maps stack traces afterwards (`npm run stack-trace`).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stageNodeOptions } from '../../scripts/bench/lib/env.ts';

const root = resolve(import.meta.dirname, '../..');

describe('File: serverless.yml', () => {
  it('sets --enable-source-maps on the dev stage only', () => {
    // Act
    const byStage = Object.fromEntries(
      ['dev', 'prod', 'staging'].map((stage) => [stage, stageNodeOptions(root, stage)]),
    );
    // Assess
    expect(byStage).toEqual({ dev: '--enable-source-maps', prod: '', staging: '' });
  });
});
