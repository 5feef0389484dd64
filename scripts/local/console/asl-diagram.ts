/**
 * A state machine drawn from its ASL as plain SVG: states in rows by their distance from `StartAt`
 * (transitions by `Next`, `Default`, each choice rule and each `Catch`), one box per state, an arrow per
 * transition; an execution's path is drawn over it (states entered, the one that failed).
 */
import { html, type Markup } from './html.ts';

type State = Record<string, unknown>;

const BOX_WIDTH = 170;
const BOX_HEIGHT = 40;
const GAP_X = 24;
const GAP_Y = 46;
const MARGIN = 16;

/** The states a state moves on to, in order, without repeats. */
export function transitions(state: State): { to: string; kind: 'next' | 'choice' | 'catch' }[] {
  const found: { to: string; kind: 'next' | 'choice' | 'catch' }[] = [];
  const add = (to: unknown, kind: 'next' | 'choice' | 'catch'): void => {
    if (typeof to === 'string' && !found.some((edge) => edge.to === to)) found.push({ to, kind });
  };
  add(state['Next'], 'next');
  for (const rule of (state['Choices'] as State[] | undefined) ?? []) add(rule['Next'], 'choice');
  add(state['Default'], 'choice');
  for (const rule of (state['Catch'] as State[] | undefined) ?? []) add(rule['Next'], 'catch');
  return found;
}

/** Row of each state: breadth-first from StartAt; unreachable states go in a last row. */
export function layout(definition: Record<string, unknown>): { name: string; row: number; column: number }[] {
  const states = (definition['States'] ?? {}) as Record<string, State>;
  const rows = new Map<string, number>();
  const start = definition['StartAt'];
  const queue: string[] = typeof start === 'string' && states[start] !== undefined ? [start] : [];
  if (queue[0] !== undefined) rows.set(queue[0], 0);
  while (queue.length > 0) {
    const name = queue.shift() as string;
    const row = rows.get(name) ?? 0;
    for (const edge of transitions(states[name] ?? {})) {
      if (states[edge.to] !== undefined && !rows.has(edge.to)) {
        rows.set(edge.to, row + 1);
        queue.push(edge.to);
      }
    }
  }
  const last = Math.max(-1, ...rows.values()) + 1;
  for (const name of Object.keys(states)) if (!rows.has(name)) rows.set(name, last);
  const columns = new Map<number, number>();
  return Object.keys(states)
    .sort((a, b) => (rows.get(a) ?? 0) - (rows.get(b) ?? 0))
    .map((name) => {
      const row = rows.get(name) ?? 0;
      const column = columns.get(row) ?? 0;
      columns.set(row, column + 1);
      return { name, row, column };
    });
}

function label(name: string): string {
  return name.length > 22 ? `${name.slice(0, 21)}…` : name;
}

/**
 * The SVG of a definition; `visited` states (an execution's path) and the `failed` one are marked.
 *
 * @example
 * ```ts
 * aslDiagram(machine.definition, { visited: new Set(['ValidateInput']), failed: undefined });
 * ```
 */
export function aslDiagram(
  definition: Record<string, unknown>,
  path: { visited: ReadonlySet<string>; failed: string | undefined } = {
    visited: new Set(),
    failed: undefined,
  },
): Markup {
  const states = (definition['States'] ?? {}) as Record<string, State>;
  const placed = layout(definition);
  const at = new Map(
    placed.map((entry) => [
      entry.name,
      { x: MARGIN + entry.column * (BOX_WIDTH + GAP_X), y: MARGIN + entry.row * (BOX_HEIGHT + GAP_Y) },
    ]),
  );
  const width =
    Math.max(...placed.map((entry) => entry.column), 0) * (BOX_WIDTH + GAP_X) + BOX_WIDTH + 2 * MARGIN;
  const height =
    Math.max(...placed.map((entry) => entry.row), 0) * (BOX_HEIGHT + GAP_Y) + BOX_HEIGHT + 2 * MARGIN;
  const edges: Markup[] = [];
  for (const entry of placed) {
    const from = at.get(entry.name);
    for (const edge of transitions(states[entry.name] ?? {})) {
      const to = at.get(edge.to);
      if (from === undefined || to === undefined) continue;
      const taken = path.visited.has(entry.name) && path.visited.has(edge.to);
      edges.push(
        html`<line x1="${from.x + BOX_WIDTH / 2}" y1="${from.y + BOX_HEIGHT}" x2="${to.x + BOX_WIDTH / 2}" y2="${to.y}" class="edge ${edge.kind}${taken ? ' taken' : ''}" marker-end="url(#arrow)"/>`,
      );
    }
  }
  const boxes = placed.map((entry) => {
    const { x, y } = at.get(entry.name) ?? { x: 0, y: 0 };
    const type = String(states[entry.name]?.['Type'] ?? '?');
    const mark = path.failed === entry.name ? ' failed' : path.visited.has(entry.name) ? ' visited' : '';
    return html`<g class="state ${type.toLowerCase()}${mark}" data-state="${entry.name}"><title>${entry.name} (${type})</title>
<rect x="${x}" y="${y}" width="${BOX_WIDTH}" height="${BOX_HEIGHT}" rx="6"/>
<text x="${x + BOX_WIDTH / 2}" y="${y + 17}" text-anchor="middle">${label(entry.name)}</text>
<text x="${x + BOX_WIDTH / 2}" y="${y + 32}" text-anchor="middle" class="type">${type}</text></g>`;
  });
  return html`<div class="diagram"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="state machine diagram">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>
${edges}${boxes}</svg></div>`;
}
