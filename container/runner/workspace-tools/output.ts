/**
 * The last-resort cap on any tool's output. The cut says how much was cut, so the model knows
 * it is not seeing everything and can narrow its request. (Command output is capped keeping both
 * ends instead: see captured-output.ts.)
 */

/** Keeps the start of `text`, marker included within `maxChars` (unless `maxChars` is smaller than the marker). */
export function truncateEnd(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const marker = (cut: number) => `\n[output truncated: ${cut} of ${text.length} characters cut]`;
  // Sized for the longest marker, so the real (shorter or equal) one fits too.
  const kept = Math.max(0, maxChars - marker(text.length).length);
  return `${text.slice(0, kept)}${marker(text.length - kept)}`;
}
