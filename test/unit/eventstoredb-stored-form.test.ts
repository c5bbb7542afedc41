/**
 * The EventStoreDB stored form: what a ledgerclaw event becomes as an EventStoreDB event
 * and back. The records here are built the way @eventstore/db-client hands them out
 * (binary data as bytes, custom metadata parsed as JSON), without a server.
 */
import { v4 as uuidv4 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { StoredFormError } from '../../events/adapters/eventstoredb/errors.js';
import {
  decodeEvent,
  decodeStreamMetadata,
  encodeEvent,
  encodeStreamMetadata,
  RUNTIME_LEASE_STREAM,
  StreamNames,
  type EsdbEventToWrite,
  type EsdbRecord,
} from '../../events/adapters/eventstoredb/stored-form.js';
import { canonicalJson } from '../../events/canonical-json.js';
import type { RawStoredEvent } from '../../events/envelope.js';

function storedEvent(overrides: Partial<RawStoredEvent> = {}): RawStoredEvent {
  return {
    id: uuidv4(),
    streamId: 'order-1',
    revision: 3n,
    position: 42n,
    type: 'test.happened',
    version: 2,
    dataJson: canonicalJson({ count: 7, label: 'seven', tags: ['a'] }),
    metadataJson: canonicalJson({ actor: 'user:U1', causationId: 'cause-1', correlationId: 'corr-1', occurredAt: '2024-05-06T07:08:09.123Z' }),
    recordedAt: '2024-05-06T07:08:10.000Z',
    prevHash: 'a'.repeat(64),
    hashVersion: 2,
    hash: 'b'.repeat(64),
    ...overrides,
  };
}

/** What the client gives back for an event written in this form. */
function asRecorded(written: EsdbEventToWrite, overrides: Partial<EsdbRecord> = {}): EsdbRecord {
  return {
    streamId: 'order-1',
    id: written.id,
    revision: 3n,
    type: written.type,
    isJson: false,
    data: written.data,
    metadata: JSON.parse(Buffer.from(written.metadata).toString('utf8')) as unknown,
    ...overrides,
  };
}

describe('the EventStoreDB stored form', () => {
  it('round-trips every field of a stored event exactly', () => {
    const event = storedEvent();
    expect(decodeEvent(asRecorded(encodeEvent(event)))).toEqual({ event, fence: undefined });
  });

  it('stores the data as the exact canonical bytes, binary, whatever they hold', () => {
    const text = 'lone \ud800 high, emoji 👩‍👩‍👧, rtl \u202e, nul \u0000';
    const event = storedEvent({ dataJson: canonicalJson({ text }) });
    const written = encodeEvent(event);
    expect(Buffer.from(written.data).toString('utf8')).toBe(event.dataJson);
    const decoded = decodeEvent(asRecorded(written)).event;
    expect(decoded.dataJson).toBe(event.dataJson);
    expect((JSON.parse(decoded.dataJson) as { text: string }).text).toBe(text);
  });

  it('keeps bytes that hold the same value in another form as they are, so the hash sees the change', () => {
    const written = encodeEvent(storedEvent());
    const reformatted = JSON.stringify({ tags: ['a'], label: 'seven', count: 7 }, null, 1);
    const decoded = decodeEvent(asRecorded(written, { data: new TextEncoder().encode(reformatted) })).event;
    expect(decoded.dataJson).toBe(reformatted);
  });

  it('writes the metadata as a plain Uint8Array, so the client sends the bytes rather than a JSON form of a Buffer', () => {
    expect(encodeEvent(storedEvent()).metadata.constructor).toBe(Uint8Array);
  });

  it("follows EventStoreDB's convention for correlation and causation, and leaves out a null causation", () => {
    const withCause = JSON.parse(Buffer.from(encodeEvent(storedEvent()).metadata).toString('utf8')) as Record<string, unknown>;
    expect(withCause['$correlationId']).toBe('corr-1');
    expect(withCause['$causationId']).toBe('cause-1');
    const rootEvent = storedEvent({
      metadataJson: canonicalJson({ actor: 'system', causationId: null, correlationId: 'corr-2', occurredAt: '2024-05-06T07:08:09.123Z' }),
    });
    const root = JSON.parse(Buffer.from(encodeEvent(rootEvent).metadata).toString('utf8')) as Record<string, unknown>;
    expect(root['$correlationId']).toBe('corr-2');
    expect('$causationId' in root).toBe(false);
    expect(decodeEvent(asRecorded(encodeEvent(rootEvent))).event.metadataJson).toBe(rootEvent.metadataJson);
  });

  it('records the fencing token the writer held, and reads it back', () => {
    const written = encodeEvent(storedEvent(), 17n);
    const metadata = JSON.parse(Buffer.from(written.metadata).toString('utf8')) as { ledgerclaw: { fence: string; position: string } };
    expect(metadata.ledgerclaw.fence).toBe('17');
    expect(metadata.ledgerclaw.position).toBe('42');
    expect(decodeEvent(asRecorded(written)).fence).toBe(17n);
  });

  it('passes an unknown hash version through for the verifier to refuse by name', () => {
    const event = storedEvent({ hashVersion: 9 as never });
    expect(decodeEvent(asRecorded(encodeEvent(event))).event.hashVersion).toBe(9);
  });

  it('refuses an event stored as JSON, naming its stream and revision', () => {
    const written = encodeEvent(storedEvent());
    const error = (() => {
      try {
        decodeEvent(asRecorded(written, { isJson: true, data: { count: 7 } }));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StoredFormError);
    expect((error as Error).message).toContain('order-1@3');
    expect((error as Error).message).toContain('not binary');
  });

  it.each<[string, unknown, string]>([
    ['no metadata', undefined, 'no metadata'],
    ['metadata that is not JSON', new Uint8Array([1, 2, 3]), 'not JSON'],
    ['metadata without the ledgerclaw envelope', { $correlationId: 'x' }, 'metadata.ledgerclaw'],
    ['a position that is not a decimal', { ledgerclaw: { ...envelopeOf(), position: '4x' } }, 'metadata.ledgerclaw.position'],
    ['position 0', { ledgerclaw: { ...envelopeOf(), position: '0' } }, 'metadata.ledgerclaw.position'],
    ['a short hash', { ledgerclaw: { ...envelopeOf(), hash: 'abc' } }, 'metadata.ledgerclaw.hash'],
    ['an unknown envelope field', { ledgerclaw: { ...envelopeOf(), tenant: 'x' } }, 'metadata.ledgerclaw'],
    ['another stored-form version', { ledgerclaw: { ...envelopeOf(), format: 2 } }, 'metadata.ledgerclaw.format'],
  ])('refuses %s, naming what is wrong', (_label, metadata, detail) => {
    const written = encodeEvent(storedEvent());
    expect(() => decodeEvent(asRecorded(written, { metadata }))).toThrow(StoredFormError);
    expect(() => decodeEvent(asRecorded(written, { metadata }))).toThrow(detail);
  });

  it("counts system streams, system event types and the lease stream out of ledgerclaw's $all", () => {
    const names = new StreamNames();
    expect(names.ours('order-1', 'test.happened')).toBe('order-1');
    expect(names.ours('$$order-1', '$metadata')).toBeUndefined();
    expect(names.ours('$settings', 'anything')).toBeUndefined();
    expect(names.ours('order-1', '$>')).toBeUndefined();
    expect(names.ours(RUNTIME_LEASE_STREAM, 'lease.acquired')).toBeUndefined();
    expect(names.esdb('order-1')).toBe('order-1');
    expect(names.lease).toBe(RUNTIME_LEASE_STREAM);
  });

  it('keeps a namespaced store to its own streams, and strips the namespace from their ids', () => {
    const names = new StreamNames('staging.');
    expect(names.esdb('order-1')).toBe('staging.order-1');
    expect(names.lease).toBe('staging.runtime-lease');
    expect(names.ours('staging.order-1', 'test.happened')).toBe('order-1');
    expect(names.ours('order-1', 'test.happened')).toBeUndefined();
    expect(names.ours('prod.order-1', 'test.happened')).toBeUndefined();
    expect(names.ours('staging.runtime-lease', 'lease.renewed')).toBeUndefined();
    expect(names.ours('$$staging.order-1', '$metadata')).toBeUndefined();
  });

  it('finds the ledgerclaw stream a $metadata record sets the limits of, in its namespace only', () => {
    expect(new StreamNames().metadataOf('$$order-1', '$metadata')).toBe('order-1');
    expect(new StreamNames().metadataOf('$$order-1', 'test.happened')).toBeUndefined();
    expect(new StreamNames().metadataOf(`$$${RUNTIME_LEASE_STREAM}`, '$metadata')).toBeUndefined();
    expect(new StreamNames().metadataOf('$$$settings', '$metadata')).toBeUndefined();
    expect(new StreamNames('staging.').metadataOf('$$staging.order-1', '$metadata')).toBe('order-1');
    expect(new StreamNames('staging.').metadataOf('$$order-1', '$metadata')).toBeUndefined();
  });

  it("round-trips stream limits under ledgerclaw's own key, and reads none where there are none", () => {
    const metadata = { truncateBefore: 3n, maxCount: 10 };
    expect(decodeStreamMetadata('order-1', 0n, { ledgerclaw: encodeStreamMetadata(metadata), $acl: { $r: 'x' } })).toEqual(metadata);
    expect(decodeStreamMetadata('order-1', 0n, { $maxCount: 5 })).toEqual({});
    expect(decodeStreamMetadata('order-1', 0n, undefined)).toEqual({});
    expect(encodeStreamMetadata({})).toEqual({});
  });

  it('refuses malformed stream limits, naming the stream', () => {
    expect(() => decodeStreamMetadata('order-1', 2n, { ledgerclaw: { maxCount: 0 } })).toThrow(StoredFormError);
    expect(() => decodeStreamMetadata('order-1', 2n, { ledgerclaw: { truncateBefore: 3 } })).toThrow('stream metadata of order-1: truncateBefore');
  });

  it.each(['Upper.', 'no-dot', '.', 'a b.'])('refuses the namespace %j', (namespace) => {
    expect(() => new StreamNames(namespace)).toThrow(RangeError);
  });
});

function envelopeOf(): Record<string, unknown> {
  const written = encodeEvent(storedEvent());
  return (JSON.parse(Buffer.from(written.metadata).toString('utf8')) as { ledgerclaw: Record<string, unknown> }).ledgerclaw;
}
