/**
 * Server-side filters of `$all` reads and subscriptions (`EventFilter` on the server): on the
 * stream name or on the event type, by prefixes (any one matches) or by a regular expression
 * (matched anywhere, as .NET's `Regex.IsMatch`; a regex wins over prefixes when both are
 * given), with the search window and checkpoint interval that pace checkpoints.
 */
import type { FilterOptions } from './protocol.js';
import type { LogRecord } from './event-log.js';

/** The server's read page size, which is also the default search window. */
export const DEFAULT_MAX_SEARCH_WINDOW = 32;

export interface EventFilter {
  readonly matches: (record: LogRecord) => boolean;
  /** Checkpoint after this many considered records (multiplier × search window). */
  readonly checkpointInterval: number;
  readonly maxSearchWindow: number;
  readonly description: string;
}

export function eventFilterOf(options: FilterOptions): EventFilter | Error {
  const onStream = options.hasStreamIdentifier();
  const expression = onStream ? options.getStreamIdentifier() : options.getEventType();
  if (expression === undefined) return new Error('filter has neither a stream identifier nor an event type expression');
  const regexText = expression.getRegex();
  const prefixes = expression.getPrefixList();
  const field = (record: LogRecord): string => (onStream ? record.stream : record.type);
  let matches: (record: LogRecord) => boolean;
  if (regexText !== '') {
    let regex: RegExp;
    try {
      regex = new RegExp(regexText);
    } catch (error) {
      return new Error(`filter regex ${JSON.stringify(regexText)} is not valid: ${(error as Error).message}`);
    }
    matches = (record) => regex.test(field(record));
  } else {
    matches = (record) => prefixes.some((prefix) => field(record).startsWith(prefix));
  }
  const maxSearchWindow = options.hasMax() ? options.getMax() : DEFAULT_MAX_SEARCH_WINDOW;
  const multiplier = options.getCheckpointintervalmultiplier();
  if (multiplier <= 0) return new Error('checkpoint interval multiplier must be greater than 0');
  if (maxSearchWindow <= 0) return new Error('max search window must be greater than 0');
  return {
    matches,
    checkpointInterval: multiplier * maxSearchWindow,
    maxSearchWindow,
    description: `${onStream ? 'stream' : 'event type'} ${regexText !== '' ? `regex ${regexText}` : `prefixes ${prefixes.join(',')}`}`,
  };
}
