import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkLayering,
  type LayeringViolation,
  readSources,
  readSubpathImports,
  type SourceFile,
  type SubpathImports,
} from './layering.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMPORTS: SubpathImports = { '#shared/*': './shared/*' };

/**
 * Violations that predate the rule, each with the reason it stays for now. Every entry must still be a
 * violation (a fixed one must leave the list), and nothing else may be one.
 */
const KNOWN: Record<string, string> = {
  'test-import scripts/bench/run.ts test/fakes/secrets-manager.ts':
    'the benchmark serves secrets from the test fake until the local stack’s Secrets Manager replaces it',
  'test-import scripts/bench/lib/probes.ts test/fakes/secrets-manager.ts':
    'the benchmark serves secrets from the test fake until the local stack’s Secrets Manager replaces it',
  'test-import scripts/bench/harness/throughput.ts test/fakes/secrets-manager.ts':
    'the benchmark serves secrets from the test fake until the local stack’s Secrets Manager replaces it',
  'test-import scripts/bench/instructions.ts test/fakes/secrets-manager.ts':
    'the benchmark serves secrets from the test fake until the local stack’s Secrets Manager replaces it',
};

const describeViolation = (violation: LayeringViolation): string =>
  `${violation.rule} ${violation.file} ${violation.target}`;

function check(path: string, text: string): string[] {
  return checkLayering([{ path, text }], IMPORTS).map((violation) => `${violation.rule} ${violation.target}`);
}

describe('Function: checkLayering', () => {
  it('refuses a connector importing another connector, from its root or from a subfolder', () => {
    // Act & Assess
    expect(
      check('functions/storage/s3/client.ts', "import { x } from '../../notifications/slack/errors.ts';"),
    ).toEqual(['connector-to-connector functions/notifications/slack/errors.ts']);
    expect(
      check('functions/storage/s3/testing/fake.ts', "export * from '../../../devops/github/client.ts';"),
    ).toEqual(['connector-to-connector functions/devops/github/client.ts']);
    expect(
      check('functions/storage/s3/index.test.ts', "const m = await import('../../storage/r2/index.ts');"),
    ).toEqual(['connector-to-connector functions/storage/r2/index.ts']);
  });

  it('refuses test/ imports in anything but test code', () => {
    // Act & Assess
    expect(
      check('functions/storage/s3/testing/stack.ts', "import { f } from '../../../../test/fakes/s3.ts';"),
    ).toEqual(['test-import test/fakes/s3.ts']);
    expect(
      check('layers/core/src/secrets.ts', "import type { F } from '../../../test/fakes/secrets-manager.ts';"),
    ).toEqual(['test-import test/fakes/secrets-manager.ts']);
    expect(check('scripts/local/stack.ts', "import '../../test/peers/dynalite.ts';")).toEqual([
      'test-import test/peers/dynalite.ts',
    ]);
  });

  it('refuses relative imports of shared/ from connectors, and names the subpath import to use', () => {
    // Act
    const violations = checkLayering(
      [
        {
          path: 'functions/storage/s3/models.ts',
          text: "import { A } from '../../../shared/models/object-storage.ts';",
        },
      ],
      IMPORTS,
    );
    // Assess
    expect(violations).toEqual([
      expect.objectContaining({
        rule: 'relative-shared',
        target: 'shared/models/object-storage.ts',
        message: "reach shared/ through the subpath import: '#shared/models/object-storage.ts'",
      }),
    ]);
  });

  it('allows packages, subpath imports, a connector’s own files, and test/ from test code', () => {
    // Prepare
    const files: SourceFile[] = [
      {
        path: 'functions/storage/s3/client.ts',
        text: [
          "import { defineConnector } from '@circle-core/core';",
          "import * as z from 'zod';",
          "import { readFile } from 'node:fs/promises';",
          "import type { ObjectStorage } from '#shared/interfaces/object-storage.ts';",
          "import { S3Config } from './config.ts';",
          '// import { x } from "../../notifications/slack/client.ts";',
          'const text = "import \'../../../test/fakes/s3.ts\'";',
        ].join('\n'),
      },
      {
        path: 'functions/storage/s3/testing/fault-server.ts',
        text: "import { S3Config } from '../config.ts';",
      },
      {
        path: 'functions/storage/s3/index.test.ts',
        text: "import { startS3rver } from '../../../test/peers/s3rver.ts';",
      },
      { path: 'test/hardening/suite.ts', text: "await import('../../functions/storage/s3/index.ts');" },
      { path: 'shared/interfaces/notifier.ts', text: "import type { A } from '../models/notifier.ts';" },
    ];
    // Act & Assess
    expect(checkLayering(files, IMPORTS)).toEqual([]);
  });

  describe('on a repository on disk', () => {
    let scratch: string;
    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'circle-core-layering-'));
      const write = async (path: string, text: string) => {
        await mkdir(dirname(join(scratch, path)), { recursive: true });
        await writeFile(join(scratch, path), text);
      };
      await write('package.json', JSON.stringify({ imports: IMPORTS }));
      await write('functions/storage/s3/index.ts', "import '../../notifications/slack/client.ts';\n");
      await write('functions/notifications/slack/client.ts', "import '#shared/models/notifier.ts';\n");
      await write(
        'functions/notifications/slack/node_modules/x/index.ts',
        "import '../../../../../test/a.ts';\n",
      );
      await write('shared/models/notifier.ts', 'export const A = 1;\n');
      await write('scripts/bench/run.ts', "import '../../test/fakes/secrets-manager.ts';\n");
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    it('reads the sources (not node_modules) and finds the planted violations', async () => {
      // Act
      const sources = await readSources(scratch);
      const violations = checkLayering(sources, await readSubpathImports(scratch));
      // Assess
      expect(sources.map((source) => source.path)).toEqual([
        'functions/notifications/slack/client.ts',
        'functions/storage/s3/index.ts',
        'scripts/bench/run.ts',
        'shared/models/notifier.ts',
      ]);
      expect(violations.map(describeViolation)).toEqual([
        'connector-to-connector functions/storage/s3/index.ts functions/notifications/slack/client.ts',
        'test-import scripts/bench/run.ts test/fakes/secrets-manager.ts',
      ]);
    });
  });
});

describe('Layering of this repository', () => {
  let sources: SourceFile[];
  let imports: SubpathImports;
  beforeAll(async () => {
    [sources, imports] = await Promise.all([readSources(ROOT), readSubpathImports(ROOT)]);
  });

  it('maps #shared/* to shared/ in the root package.json', () => {
    // Assess
    expect(imports['#shared/*']).toBe('./shared/*');
  });

  it('scans every connector, the core, shared/, scripts and the tests', () => {
    // Act
    const paths = sources.map((source) => source.path);
    // Assess
    expect(paths).toEqual(
      expect.arrayContaining([
        'functions/storage/s3/index.ts',
        'functions/database/postgres/index.ts',
        'functions/notifications/slack/index.ts',
        'functions/devops/github/index.ts',
        'layers/core/src/index.ts',
        'shared/models/object-storage.ts',
        'scripts/build.ts',
        'test/hardening/support/suite.ts',
      ]),
    );
    expect(paths.some((path) => path.includes('node_modules/'))).toBe(false);
  });

  it('has connectors reaching shared/ through #shared/ (the scan sees those imports)', () => {
    // Act
    const s3Models = sources.find((source) => source.path === 'functions/storage/s3/models.ts');
    // Assess
    expect(s3Models?.text).toContain("from '#shared/models/object-storage.ts'");
  });

  it('has no import breaking the layering rules but the known ones, and every known one is still there', () => {
    // Act
    const found = checkLayering(sources, imports);
    // Assess
    const unexpected = found.filter((violation) => !(describeViolation(violation) in KNOWN));
    expect(
      unexpected.map((violation) => `${violation.file}: '${violation.specifier}' (${violation.message})`),
    ).toEqual([]);
    expect(found.map(describeViolation).sort(), 'a fixed known violation leaves KNOWN').toEqual(
      Object.keys(KNOWN).sort(),
    );
  });
});
