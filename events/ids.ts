/**
 * Event ids derived from natural keys. The same key always yields the same id, so a
 * retried delivery (Slack resends an event, a timer fires twice) is stored once.
 */
import { v5 as uuidv5 } from 'uuid';

/** Fixed namespace for ledgerclaw's v5 ids; changing it would change every derived id. */
const LEDGERCLAW_NAMESPACE = '6f1c8f0e-4a6b-5d3e-9c1a-2b7e4d9f0a11';

/** `eventIdFor('slack', teamId, eventId)`: a uuid that is a pure function of its parts. */
export function eventIdFor(...parts: readonly string[]): string {
  if (parts.length === 0) throw new Error('eventIdFor needs at least one part of the natural key');
  return uuidv5(JSON.stringify(parts), LEDGERCLAW_NAMESPACE);
}
