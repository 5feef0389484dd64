/**
 * A connector's threat model (`<folder>/threat-model.ts`, see `shared/models/threat-model.ts`) as the
 * README section between `<!-- generated:threat-model -->` markers.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { STRIDE, STRIDE_TITLES, ThreatModel } from '../../shared/models/threat-model.ts';
import { table } from './markdown.ts';

/** The file a connector declares its threat model in, relative to its folder. */
export const THREAT_MODEL_FILE = 'threat-model.ts';

/**
 * The connector's declared threat model, checked, or undefined when its folder has none.
 *
 * @example
 * ```ts
 * const model = await loadThreatModel(root, 'functions/storage/s3');
 * ```
 */
export async function loadThreatModel(root: string, folder: string): Promise<ThreatModel | undefined> {
  const file = join(root, folder, THREAT_MODEL_FILE);
  try {
    await access(file);
  } catch {
    return undefined;
  }
  const module = (await import(pathToFileURL(file).href)) as { threatModel?: unknown };
  const parsed = ThreatModel.safeParse(module.threatModel);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new Error(`${folder}/${THREAT_MODEL_FILE} must export a valid threatModel (${where})`);
  }
  return parsed.data;
}

/**
 * The README section: what it reaches and stores, then one row per STRIDE threat and its control.
 *
 * @example
 * ```ts
 * readme = replaceSection(readme, 'threat-model', threatModelMarkdown(model), path);
 * ```
 */
export function threatModelMarkdown(model: ThreatModel): string {
  const list = (items: readonly string[]) => items.map((item) => `  - ${item}`).join('\n');
  const rows = STRIDE.flatMap((category) => {
    const entry = model.threats[category];
    const title = STRIDE_TITLES[category];
    if ('notApplicable' in entry) return [[title, `(none) ${entry.notApplicable}`, '']];
    return entry.map(({ threat, control }) => [title, threat, control]);
  });
  return [
    `- **What it can reach:**\n${list(model.reaches)}`,
    `- **What it stores:**\n${list(model.stores)}`,
    '',
    table(['STRIDE', 'threat', 'control'], rows),
  ].join('\n');
}
