/**
 * A command's output kept within bounds while it streams: the first and the last `maxChars / 2`
 * characters, and how many there were in all, so a chatty build costs bounded memory and the
 * model still sees both how it started and how it ended (where errors usually are).
 */
import { StringDecoder } from 'node:string_decoder';

export class CapturedOutput {
  private readonly decoder = new StringDecoder('utf8');
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private head = '';
  private tail = '';
  private total = 0;

  constructor(maxChars: number) {
    this.headLimit = Math.ceil(maxChars / 2);
    this.tailLimit = Math.floor(maxChars / 2);
  }

  write(chunk: Buffer): void {
    this.append(this.decoder.write(chunk));
  }

  end(): void {
    this.append(this.decoder.end());
  }

  get totalChars(): number {
    return this.total;
  }

  /** The output in at most `budget` characters (plus a marker saying how much was cut). */
  render(budget: number): string {
    const dropped = this.total - this.head.length - this.tail.length;
    if (dropped === 0 && this.total <= budget) return this.head + this.tail;
    const headChars = Math.ceil(budget / 2);
    const tailChars = budget - headChars;
    // When nothing was dropped the two parts are one string; the tail part may then be shorter than tailChars.
    const whole = dropped === 0 ? this.head + this.tail : undefined;
    const start = (whole ?? this.head).slice(0, headChars);
    const end = tailChars === 0 ? '' : (whole ?? this.tail).slice(-tailChars);
    return `${start}\n[... ${this.total - start.length - end.length} of ${this.total} characters cut ...]\n${end}`;
  }

  private append(text: string): void {
    if (text === '') return;
    this.total += text.length;
    const roomInHead = this.headLimit - this.head.length;
    if (roomInHead > 0) {
      this.head += text.slice(0, roomInHead);
      text = text.slice(roomInHead);
    }
    if (text === '') return;
    this.tail += text;
    // Trimmed in batches rather than on every chunk, to keep appends cheap.
    if (this.tail.length > 2 * this.tailLimit + 4096) this.tail = this.tailLimit === 0 ? '' : this.tail.slice(-this.tailLimit);
  }
}
