/**
 * How events and streams look on the terminal and in `--json` output.
 */
import type { StoredEvent } from '../../events/envelope.js';
import type { StreamInfo } from '../../events/port.js';
import { formatTable, toJson, toJsonLine } from './format.js';

/** The full envelope, the hash-chain links included, as one NDJSON line. */
export function eventAsJsonLine(event: StoredEvent): string {
  return toJsonLine(eventAsJson(event));
}

/** The full envelope as a plain object, for JSON output that embeds events. */
export function eventAsJson(event: StoredEvent): Record<string, unknown> {
  return {
    id: event.id,
    streamId: event.streamId,
    revision: event.revision,
    position: event.position,
    type: event.type,
    version: event.version,
    storedVersion: event.storedVersion,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt,
    prevHash: event.prevHash,
    hashVersion: event.hashVersion,
    hash: event.hash,
  };
}

export const typeAndVersion = (event: StoredEvent): string => `${event.type} v${event.version}`;

/** `events read`: one stream, so the stream name is in the command, not in every row. */
export function streamEventsTable(events: readonly StoredEvent[]): string {
  return formatTable(
    ['REV', 'POSITION', 'RECORDED AT', 'TYPE', 'ACTOR', 'DATA'],
    events.map((event) => [
      String(event.revision),
      String(event.position),
      event.recordedAt,
      typeAndVersion(event),
      event.metadata.actor,
      toJson(event.data),
    ]),
  );
}

/**
 * `events tail`: one self-contained line an event, since lines keep arriving while
 * following and cannot be aligned with lines not yet seen.
 */
export function eventLine(event: StoredEvent): string {
  return `${event.recordedAt}  @${event.position}  ${event.streamId}@${event.revision}  ${typeAndVersion(event)}  ${
    event.metadata.actor
  }  ${toJson(event.data)}\n`;
}

export function streamsTable(streams: readonly StreamInfo[]): string {
  if (streams.length === 0) return '(no streams)\n';
  return formatTable(
    ['STREAM', 'REVISION', 'LAST EVENT'],
    streams.map((stream) => [stream.streamId, String(stream.revision), stream.lastRecordedAt]),
  );
}

export function streamAsJsonLine(stream: StreamInfo): string {
  return toJsonLine({
    streamId: stream.streamId,
    revision: stream.revision,
    lastPosition: stream.lastPosition,
    lastRecordedAt: stream.lastRecordedAt,
  });
}

/**
 * `trace`: every event of one correlation, in $all order. The cause is shown as
 * `stream@revision` when it is an event of the same trace, else as its id (a command's).
 */
export function traceTable(events: readonly StoredEvent[]): string {
  const located = new Map(events.map((event) => [event.id, `${event.streamId}@${event.revision}`]));
  return formatTable(
    ['RECORDED AT', 'EVENT', 'TYPE', 'ACTOR', 'CAUSED BY'],
    events.map((event) => {
      const cause = event.metadata.causationId;
      return [
        event.recordedAt,
        `${event.streamId}@${event.revision}`,
        typeAndVersion(event),
        event.metadata.actor,
        cause === null ? '-' : (located.get(cause) ?? cause),
      ];
    }),
  );
}
