/**
 * The fake's log on its own (no gRPC): the expected-revision and idempotency decisions of
 * EventStoreDB's IndexWriter.CheckCommit, soft delete / undelete, truncation by metadata,
 * and the backdoor's edits. Cases the client can hardly provoke are pinned here.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EventLog, type ProposedEvent } from '../../fakes/eventstoredb/event-log.js';
import { DELETED_STREAM, truncationOf, withTruncateBefore } from '../../fakes/eventstoredb/stream-metadata.js';

function proposed(type: string, id: string = randomUUID()): ProposedEvent {
  return { id, type, contentType: 'application/json', data: Buffer.from(`{"type":"${type}"}`), metadata: new Uint8Array() };
}

function types(log: EventLog, stream: string): string[] {
  const outcome = log.visibleEvents(stream);
  return outcome.kind === 'events' ? outcome.records.map((record) => record.type) : [outcome.kind];
}

describe('expected revisions and idempotency (IndexWriter.CheckCommit)', () => {
  it('writes at the exact revision and refuses a higher or lower one with the current revision', () => {
    const log = new EventLog({ seedSystemRecords: false });
    expect(log.append('s', { kind: 'no_stream' }, [proposed('a')])).toMatchObject({ kind: 'written', currentRevision: 0n });
    expect(log.append('s', { kind: 'revision', revision: 5n }, [proposed('b')])).toEqual({ kind: 'wrong-expected-version', currentRevision: 0n });
    expect(log.append('s', { kind: 'revision', revision: 0n }, [proposed('b')])).toMatchObject({ kind: 'written', currentRevision: 1n });
    expect(log.append('s', { kind: 'revision', revision: 0n }, [proposed('c')])).toEqual({ kind: 'wrong-expected-version', currentRevision: 1n });
    expect(types(log, 's')).toEqual(['a', 'b']);
  });

  it('answers a repeated append under "any" with the revision of the events already written, writing nothing', () => {
    const log = new EventLog({ seedSystemRecords: false });
    const a = proposed('a');
    const b = proposed('b');
    log.append('s', { kind: 'any' }, [proposed('x')]);
    const first = log.append('s', { kind: 'any' }, [a, b]);
    const again = log.append('s', { kind: 'any' }, [a, b]);
    expect(again).toEqual({ kind: 'idempotent', currentRevision: 2n, position: first.kind === 'written' ? first.position : undefined });
    expect(types(log, 's')).toEqual(['x', 'a', 'b']);
  });

  it('refuses "any" when the first event was written but a later one was not (corrupted idempotency)', () => {
    const log = new EventLog({ seedSystemRecords: false });
    const a = proposed('a');
    log.append('s', { kind: 'any' }, [a]);
    expect(log.append('s', { kind: 'any' }, [a, proposed('b')])).toEqual({ kind: 'wrong-expected-version', currentRevision: 0n });
  });

  it('writes under "any" when only a later event of the batch was written before (the first decides)', () => {
    const log = new EventLog({ seedSystemRecords: false });
    const b = proposed('b');
    log.append('s', { kind: 'any' }, [b]);
    expect(log.append('s', { kind: 'any' }, [proposed('a'), b])).toMatchObject({ kind: 'written', currentRevision: 2n });
  });

  it('treats the same ids at an older expected revision as idempotent only when they sit right after it', () => {
    const log = new EventLog({ seedSystemRecords: false });
    const [a, b, c] = [proposed('a'), proposed('b'), proposed('c')];
    log.append('s', { kind: 'no_stream' }, [a, b, c]);
    expect(log.append('s', { kind: 'revision', revision: 0n }, [b, c])).toMatchObject({ kind: 'idempotent', currentRevision: 2n });
    expect(log.append('s', { kind: 'revision', revision: 0n }, [c])).toEqual({ kind: 'wrong-expected-version', currentRevision: 2n });
    expect(log.append('s', { kind: 'no_stream' }, [])).toEqual({ kind: 'wrong-expected-version', currentRevision: 2n });
  });

  it('accepts an empty append at the current revision and reports it unchanged', () => {
    const log = new EventLog({ seedSystemRecords: false });
    expect(log.append('s', { kind: 'no_stream' }, [])).toEqual({ kind: 'written', currentRevision: -1n, position: undefined });
    log.append('s', { kind: 'any' }, [proposed('a')]);
    expect(log.append('s', { kind: 'revision', revision: 0n }, [])).toEqual({ kind: 'written', currentRevision: 0n, position: undefined });
  });

  it('lets "stream_exists" write to a stream that has only metadata, and refuses it on a soft-deleted stream', () => {
    const log = new EventLog({ seedSystemRecords: false });
    log.append('$$s', { kind: 'any' }, [{ ...proposed('$metadata'), data: Buffer.from('{"$maxCount":10}') }]);
    expect(log.append('s', { kind: 'stream_exists' }, [proposed('a')])).toMatchObject({ kind: 'written', currentRevision: 0n });
    log.softDelete('s', { kind: 'any' });
    expect(log.append('s', { kind: 'stream_exists' }, [proposed('b')])).toEqual({ kind: 'stream-deleted' });
  });
});

describe('deletion', () => {
  it('soft-deletes by metadata, and a new write undeletes from the next revision keeping the other metadata keys', () => {
    const log = new EventLog({ seedSystemRecords: false });
    log.append('s', { kind: 'any' }, [proposed('a'), proposed('b')]);
    log.softDelete('s', { kind: 'revision', revision: 1n });
    expect(types(log, 's')).toEqual(['stream-not-found']);
    expect(log.isSoftDeleted('s')).toBe(true);
    expect(log.append('s', { kind: 'no_stream' }, [proposed('c')])).toMatchObject({ kind: 'written', currentRevision: 2n });
    expect(types(log, 's')).toEqual(['c']);
    expect(truncationOf(log.metadataOf('s'))).toEqual({ truncateBefore: 2n });
  });

  it('refuses to soft-delete a stream that never existed', () => {
    const log = new EventLog({ seedSystemRecords: false });
    expect(log.softDelete('never', { kind: 'any' })).toEqual({ kind: 'wrong-expected-version', currentRevision: -1n });
  });

  it('tombstones with a $streamDeleted record at long.MaxValue, after which everything is stream-deleted', () => {
    const log = new EventLog({ seedSystemRecords: false });
    log.append('s', { kind: 'any' }, [proposed('a')]);
    expect(log.tombstone('s', { kind: 'any' })).toMatchObject({ kind: 'written', currentRevision: DELETED_STREAM });
    expect(log.all().at(-1)).toMatchObject({ stream: 's', type: '$streamDeleted', revision: DELETED_STREAM });
    expect(types(log, 's')).toEqual(['stream-deleted']);
    expect(log.append('s', { kind: 'any' }, [proposed('b')])).toEqual({ kind: 'stream-deleted' });
    expect(log.tombstone('s', { kind: 'any' })).toEqual({ kind: 'stream-deleted' });
  });
});

describe('metadata', () => {
  it('reads $tb of long.MaxValue exactly and rewrites $tb keeping the other keys', () => {
    expect(truncationOf(Buffer.from('{"$tb":9223372036854775807}'))).toEqual({ truncateBefore: DELETED_STREAM });
    expect(Buffer.from(withTruncateBefore(Buffer.from('{"$maxCount":3,"$tb":1,"custom":"x"}'), 7n)).toString()).toBe('{"$maxCount":3,"custom":"x","$tb":7}');
    expect(truncationOf(Buffer.from('not json'))).toEqual({});
    expect(truncationOf(Buffer.from('{"$maxCount":"three"}'))).toEqual({});
  });

  it('shows only the newest metadata event of a metastream', () => {
    const log = new EventLog({ seedSystemRecords: false });
    log.append('$$s', { kind: 'any' }, [{ ...proposed('$metadata'), data: Buffer.from('{"$maxCount":1}') }]);
    log.append('$$s', { kind: 'any' }, [{ ...proposed('$metadata'), data: Buffer.from('{"$maxCount":2}') }]);
    const outcome = log.visibleEvents('$$s');
    expect(outcome.kind === 'events' ? outcome.records.map((record) => Buffer.from(record.data).toString()) : outcome.kind).toEqual(['{"$maxCount":2}']);
  });
});

describe('positions and the backdoor', () => {
  it('gives records growing, non-contiguous positions and notifies listeners of each write', () => {
    const log = new EventLog();
    const seen: bigint[] = [];
    log.onRecord((record) => seen.push(record.position));
    log.append('s', { kind: 'any' }, [proposed('a'), proposed('b')]);
    const positions = log.all().map((record) => record.position);
    expect(positions[0]).toBe(0n);
    expect(positions[1]! - positions[0]!).toBeGreaterThan(1n);
    expect(seen).toEqual(positions.slice(1));
    expect(log.endPosition()).toBeGreaterThan(positions.at(-1)!);
  });

  it('swaps two records through a parked slot past the end, and refuses a taken position', () => {
    const log = new EventLog({ seedSystemRecords: false });
    log.append('a', { kind: 'any' }, [proposed('a0')]);
    log.append('b', { kind: 'any' }, [proposed('b0')]);
    const [first, second] = log.all();
    const parked = log.endPosition() + 100n;
    log.moveRecord(first!.position, parked);
    log.moveRecord(second!.position, first!.position);
    log.moveRecord(parked, second!.position);
    expect(log.all().map((record) => record.type)).toEqual(['b0', 'a0']);
    expect(() => log.moveRecord(first!.position, second!.position)).toThrow(/taken/);
    expect(log.all().map((record) => record.type)).toEqual(['b0', 'a0']);
  });

  it('names the position when the backdoor is asked for a record that is not there', () => {
    const log = new EventLog({ seedSystemRecords: false });
    expect(() => log.deleteRecord(42n)).toThrow('no record at position 42');
  });
});
