/**
 * The hardening suites cover every connector: each one under functions/ is either loaded by the shared suite
 * (CONNECTOR_NAMES in support/suite.ts, which every shared suite iterates) or listed, with its reason, in
 * NOT_IN_SHARED_SUITE. A new connector fails here until it is one or the other.
 */
import { describe, expect, it } from 'vitest';
import { CONNECTOR_FOLDERS, NOT_IN_SHARED_SUITE } from './support/connectors.ts';
import { CONNECTOR_NAMES } from './support/suite.ts';

describe('Hardening: every connector is covered', () => {
  it('finds the connectors in the functions folder', () => {
    // Assess: the folder walk sees the reference connectors and the messaging ones.
    expect(CONNECTOR_FOLDERS.map((folder) => folder.name)).toEqual(
      expect.arrayContaining([
        's3',
        'postgres',
        'slack',
        'github',
        'nats',
        'mqtt',
        'sqs',
        'sns',
        'eventbridge',
      ]),
    );
  });

  it('loads every connector in the shared suite or says why not', () => {
    // Act
    const uncovered = CONNECTOR_FOLDERS.map((folder) => folder.name).filter(
      (name) => !(CONNECTOR_NAMES as readonly string[]).includes(name) && !(name in NOT_IN_SHARED_SUITE),
    );
    // Assess
    expect(uncovered).toEqual([]);
  });

  it('lists no connector both in the suite and as not in it, and none that does not exist', () => {
    // Act
    const names = new Set(CONNECTOR_FOLDERS.map((folder) => folder.name));
    const both = CONNECTOR_NAMES.filter((name) => name in NOT_IN_SHARED_SUITE);
    const stale = [...CONNECTOR_NAMES, ...Object.keys(NOT_IN_SHARED_SUITE)].filter(
      (name) => !names.has(name),
    );
    // Assess
    expect(both).toEqual([]);
    expect(stale).toEqual([]);
    for (const reason of Object.values(NOT_IN_SHARED_SUITE)) expect(reason.length).toBeGreaterThan(20);
  });
});
