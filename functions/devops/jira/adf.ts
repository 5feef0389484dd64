/**
 * Plain text to and from Atlassian Document Format, which Jira Cloud REST v3 requires for descriptions
 * and comments: blank lines separate paragraphs, single newlines are hard breaks. Reading back, every
 * block (heading, list item, code block) becomes a paragraph of its text, so rich content written in
 * Jira's editor still reads as text.
 */
import type { AdfNode } from './models.ts';

/** The ADF document of a plain text. */
export interface AdfDocument {
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

/**
 * Plain text as an ADF document.
 *
 * @example
 * ```ts
 * toAdf('Deploy failed\n\nSee run 42'); // two paragraphs
 * ```
 */
export function toAdf(text: string): AdfDocument {
  const paragraphs = text
    .replaceAll('\r\n', '\n')
    .split(/\n{2,}/)
    .filter((paragraph) => paragraph !== '');
  return {
    type: 'doc',
    version: 1,
    content: paragraphs.map((paragraph) => ({
      type: 'paragraph',
      content: paragraph.split('\n').flatMap((line, index): AdfNode[] => {
        const text: AdfNode[] = line === '' ? [] : [{ type: 'text', text: line }];
        return index === 0 ? text : [{ type: 'hardBreak' }, ...text];
      }),
    })),
  };
}

const INLINE = new Set(['text', 'hardBreak', 'mention', 'emoji', 'inlineCard', 'date', 'status']);

function inline(node: AdfNode): string {
  if (node.type === 'text') return node.text ?? '';
  if (node.type === 'hardBreak') return '\n';
  return node.text ?? (node.content ?? []).map(inline).join('');
}

function blocks(node: AdfNode): string[] {
  const children = node.content ?? [];
  if (children.length > 0 && children.every((child) => INLINE.has(child.type))) {
    return [children.map(inline).join('')];
  }
  if (node.type === 'text') return [node.text ?? ''];
  return children.flatMap(blocks);
}

/**
 * The plain text of an ADF document; null for none or an empty one.
 *
 * @example
 * ```ts
 * fromAdf(toAdf('a\n\nb')); // 'a\n\nb'
 * ```
 */
export function fromAdf(document: AdfNode | null | undefined): string | null {
  if (document === null || document === undefined) return null;
  const text = blocks(document)
    .filter((block) => block !== '')
    .join('\n\n');
  return text === '' ? null : text;
}
