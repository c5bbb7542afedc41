/**
 * What in a group's HEARTBEAT.md still asks for the agent: the `heartbeat` gate wakes a
 * task only when this finds something. The file is a checklist people (and the agent) keep;
 * a fresh one is a template full of headings, hints and empty boxes, which must not cost a
 * run every time the heartbeat comes round.
 *
 * Not actionable: blank lines; headings (`# …`, and a line underlined with `===` or `---`);
 * HTML comments, over any number of lines (an unclosed one runs to the end); front matter
 * (`---` … `---`/`...`, or `+++` … `+++`, from the first line); horizontal rules (`---`,
 * `***`, `___`, spaced or not); fence lines (```` ``` ````, `~~~`) themselves; a bare list
 * marker; checked items (`- [x]`, `* [X]`, `1. [x]`) and the plain lines continuing them
 * (indented below them); unchecked items with nothing or only placeholder text after the box
 * (`- [ ]`, `- [ ] ...`, `- [ ] <task>`, `- [ ] {{item}}`, `- [ ] [task]`, `- [ ] TODO`).
 *
 * Actionable: every other non-empty line or list item, lines inside a fenced block included
 * (a fenced block is content, not markup). Items come back in file order, list markers and
 * boxes taken off.
 */

const FRONT_MATTER_FENCES: Readonly<Record<string, readonly string[]>> = { '---': ['---', '...'], '+++': ['+++'] };

const ATX_HEADING = /^ {0,3}#{1,6}(\s|$)/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)\s*$/;
const HORIZONTAL_RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
/** indent, marker (`-`, `*`, `+`, `1.`, `1)`), then the rest after at least one space. */
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])(?:\s+(.*))?$/;
const CHECKBOX = /^\[([ xX])\](?:\s+(.*))?$/;

/** Text after an unchecked box that only holds its place: a template, not a task. */
const PLACEHOLDER_PATTERNS: readonly RegExp[] = [
  /^[\p{P}\p{S}\s]*$/u, // `...`, `…`, `-`, `___`, `→`
  /^<[^<>]*>$/, // `<task>`
  /^\{\{?[^{}]*\}?\}$/, // `{item}`, `{{item}}`
  /^\[[^[\]]*\]$/, // `[task]`
  /^(todo|tbd|tba|task|item|placeholder|description|add (an? )?(item|task)|(your )?task( goes)? here)\W*$/i,
];

function isPlaceholder(text: string): boolean {
  // `_task_`, `*...*`, `` `TODO` ``: emphasis or code around a placeholder is still one.
  const bare = text.trim().replace(/^[*_`]+|[*_`]+$/g, '').trim();
  return PLACEHOLDER_PATTERNS.some((pattern) => pattern.test(bare));
}

function withoutFrontMatter(lines: readonly string[]): readonly string[] {
  const closers = FRONT_MATTER_FENCES[lines[0]?.trimEnd() ?? ''];
  if (closers === undefined) return lines;
  const end = lines.findIndex((line, index) => index > 0 && closers.includes(line.trimEnd()));
  // Never closed: not front matter after all (a lone `---` on top is a rule).
  return end === -1 ? lines : lines.slice(end + 1);
}

/** Comments removed whole; one left open hides the rest of the file, as in Markdown. */
function withoutHtmlComments(text: string): string {
  // Without the m flag `$` is the end of the text only.
  return text.replace(/<!--[\s\S]*?(?:-->|$)/g, '');
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

interface OpenItem {
  readonly indent: number;
  /** Checked: the plain lines continuing it are done too. */
  readonly done: boolean;
}

export function actionableHeartbeatItems(markdown: string): string[] {
  const normalised = markdown.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const text = withoutHtmlComments(withoutFrontMatter(normalised.split('\n')).join('\n'));
  const lines = text.split('\n');
  const items: string[] = [];
  /** The list items the current line may continue, innermost last. */
  const open: OpenItem[] = [];
  let fence: string | null = null;

  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    const trimmed = line.trim();
    if (fence !== null) {
      if (trimmed.startsWith(fence) && trimmed.slice(fence.length).trim() === '') fence = null;
      else if (trimmed !== '') items.push(trimmed);
      continue;
    }
    if (trimmed === '') continue; // blank lines do not end a list item in Markdown
    const indent = indentOf(line);
    while (open.length > 0 && open[open.length - 1]!.indent >= indent) open.pop();

    const fenceOpened = FENCE.exec(line);
    if (fenceOpened) {
      fence = fenceOpened[1]!;
      continue;
    }
    if (ATX_HEADING.test(line) || HORIZONTAL_RULE.test(line) || SETEXT_UNDERLINE.test(line)) continue;

    const listItem = LIST_ITEM.exec(line);
    if (listItem) {
      const rest = (listItem[3] ?? '').trim();
      const box = CHECKBOX.exec(rest);
      if (box) {
        const checked = box[1] !== ' ';
        const boxText = (box[2] ?? '').trim();
        open.push({ indent, done: checked });
        if (!checked && !isPlaceholder(boxText)) items.push(boxText);
      } else {
        open.push({ indent, done: false });
        if (rest !== '') items.push(rest);
      }
      continue;
    }
    if (open.length > 0 && open[open.length - 1]!.done) continue; // continues a checked item

    const next = lines[index + 1];
    if (next !== undefined && SETEXT_UNDERLINE.test(next) && open.length === 0) continue; // a setext heading's text
    items.push(trimmed);
  }
  return items;
}
