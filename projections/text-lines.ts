/** Small helpers for the generated markdown files: one line per item, bounded in length. */

/** `text` on one line (every run of whitespace one space), cut to `max` characters with `…`. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = Array.from(flat).slice(0, Math.max(1, max - 1)).join('');
  return `${cut.trimEnd()}…`;
}

/** `1 fact`, `2 facts`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** The lines as a file: each ends with a newline. */
export function asFile(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join('');
}
