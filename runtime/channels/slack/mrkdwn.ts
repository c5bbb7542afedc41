/**
 * The agent writes Markdown; Slack shows mrkdwn. `toMrkdwn` converts with
 * slackify-markdown (bold, italics, links, lists, headings, code), leaving Slack's own
 * tokens (`<@U123>`, `<!here>`, `<https://…|label>`) as they are. `splitForSlack` then cuts
 * a long text into messages of at most `maxChars`, at a paragraph, a line or a word, in
 * that order of preference, and never leaves a code block open across a cut: it closes
 * the fence at the end of one part and reopens it at the start of the next.
 */
import slackifyMarkdown from 'slackify-markdown';

export function toMrkdwn(markdown: string): string {
  // slackify-markdown wraps emphasis in zero-width spaces so Slack sees word boundaries;
  // they are invisible in Slack and harmless, so they stay.
  return slackifyMarkdown(markdown).replace(/\n+$/, '');
}

const FENCE = '```';

/** Whether the text leaves a ``` block open. */
function opensFence(text: string): boolean {
  return (text.split(FENCE).length - 1) % 2 === 1;
}

/** The best place to cut `text` at or before `limit`: after a paragraph, a line or a word. */
function cutAt(text: string, limit: number): number {
  const window = text.slice(0, limit + 1);
  for (const separator of ['\n\n', '\n', ' ']) {
    const at = window.lastIndexOf(separator);
    // A cut too near the start would make many tiny parts; fall through to a smaller separator.
    if (at > limit / 3) return at + separator.length;
  }
  return limit;
}

export function splitForSlack(text: string, maxChars: number): string[] {
  if (maxChars < 100) throw new RangeError(`maxChars must be at least 100, not ${maxChars}`);
  const parts: string[] = [];
  let rest = text;
  let reopen = false;
  // Room for a closing fence (and its newline) at the end of a part.
  const budget = maxChars - (FENCE.length + 1);
  while (rest.length > 0) {
    let head = reopen ? `${FENCE}\n` : '';
    if (head.length + rest.length <= maxChars) {
      parts.push(head + rest);
      break;
    }
    const cut = cutAt(rest, budget - head.length);
    head += rest.slice(0, cut);
    rest = rest.slice(cut);
    reopen = opensFence(head);
    parts.push((reopen ? `${head.replace(/\n?$/, '\n')}${FENCE}` : head).trimEnd());
    rest = reopen ? rest : rest.replace(/^\s+/, '');
  }
  return parts.filter((part) => part.trim() !== '');
}
