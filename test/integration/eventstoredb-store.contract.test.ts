/**
 * The EventStore contract against the EventStoreDB adapter: the real @eventstore/db-client
 * pointed at the fake EventStoreDB (test/fakes/eventstoredb), a fresh fake for each test.
 * The tampering the chain tests need goes around the adapter through the fake's backdoor,
 * as someone with access to the server's files could.
 *
 * With LEDGERCLAW_EVENTSTOREDB_URL set (`docker compose up eventstoredb`), the same suite
 * runs against that real server too, each test in a namespace of its own. The tests that
 * tamper with stored events are skipped there: a real server offers no way to change or
 * move a stored event, which is what they simulate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v4 as uuidv4 } from 'uuid';
import { TestRunner } from 'vitest';
import { openEventStoreDbBackend, type EventStoreDbBackend } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import { encodeEvent } from '../../events/adapters/eventstoredb/stored-form.js';
import { createEventStore } from '../../events/event-store.js';
import { EVENTSTOREDB_URL_ENV } from '../../runtime/eventstoredb-url.js';
import { describeEventStoreContract, type ContractHarness } from '../contract/event-store.contract.js';
import { startFakeEventStoreDb, type BackdoorRecord, type FakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { testCatalogue } from '../support/test-catalogue.js';

const REQUEST_TIMEOUT_MS = 20_000;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface Envelope {
  ledgerclaw: { position: string; recordedAt: string };
}

function envelopeOf(record: BackdoorRecord): Envelope | undefined {
  if (record.stream.startsWith('$') || record.type.startsWith('$') || record.metadata.length === 0) return undefined;
  const parsed = JSON.parse(decoder.decode(record.metadata)) as Partial<Envelope>;
  return parsed.ledgerclaw ? (parsed as Envelope) : undefined;
}

async function openBackend(url: string, dir: string, namespace?: string): Promise<EventStoreDbBackend> {
  return openEventStoreDbBackend({
    connectionString: url,
    mode: 'writer',
    indexPath: join(dir, 'eventstoredb-index.db'),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    ...(namespace === undefined ? {} : { namespace }),
  });
}

describeEventStoreContract('eventstoredb (fake)', async (): Promise<ContractHarness> => {
  const fake: FakeEventStoreDb = await startFakeEventStoreDb();
  const dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-esdb-contract-'));
  const backend = await openBackend(fake.url, dir);

  /** The fake's record holding the event at this logical position. */
  function recordAt(position: bigint): BackdoorRecord {
    const record = fake.backdoor.records().find((candidate) => envelopeOf(candidate)?.ledgerclaw.position === position.toString());
    if (!record) throw new Error(`the fake holds no ledgerclaw event at position ${position}`);
    return record;
  }

  return {
    store: createEventStore(backend, testCatalogue),
    backend,
    async tamperData(position, dataJson) {
      fake.backdoor.replaceData(recordAt(position).position, encoder.encode(dataJson));
    },
    async deleteEvent(position) {
      fake.backdoor.deleteRecord(recordAt(position).position);
    },
    async rewritePlace(position, change) {
      const record = recordAt(position);
      // Where the index says the new position's event sits (a slot it may have vacated), else after the newest.
      const slot = change.position === undefined || change.position === position ? undefined : await backend.esdbPositionOf(change.position);
      const envelope = envelopeOf(record)!;
      const changed = {
        ...envelope,
        ledgerclaw: {
          ...envelope.ledgerclaw,
          ...(change.position === undefined ? {} : { position: change.position.toString() }),
          ...(change.recordedAt === undefined ? {} : { recordedAt: change.recordedAt }),
        },
      };
      fake.backdoor.replaceMetadata(record.position, encoder.encode(JSON.stringify(changed)));
      if (change.position === undefined || change.position === position) return;
      const target = slot && fake.backdoor.recordAt(slot.commit) === undefined ? slot.commit : fake.backdoor.endPosition();
      fake.backdoor.moveRecord(record.position, target);
    },
    async storeRaw(events) {
      for (const event of events) {
        const written = encodeEvent(event);
        fake.backdoor.appendRaw(
          event.streamId,
          [{ id: written.id, type: written.type, contentType: 'application/octet-stream', data: written.data, metadata: written.metadata }],
          { firstRevision: event.revision },
        );
      }
    },
    async close() {
      await backend.close().catch(() => undefined);
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const realServerUrl = process.env[EVENTSTOREDB_URL_ENV];
if (realServerUrl) {
  const cannotTamper = (): never => {
    TestRunner.getCurrentTest()?.context.skip('a real EventStoreDB has no way to change, move or forge a stored event, which this test simulates');
    throw new Error('tampering is not possible on a real EventStoreDB');
  };
  describeEventStoreContract('eventstoredb (real server)', async (): Promise<ContractHarness> => {
    const dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-esdb-contract-'));
    // A namespace of its own makes an empty store of a shared server for this test.
    const backend = await openBackend(realServerUrl, dir, `contract-${uuidv4().slice(0, 8)}.`);
    return {
      store: createEventStore(backend, testCatalogue),
      backend,
      tamperData: async () => cannotTamper(),
      deleteEvent: async () => cannotTamper(),
      rewritePlace: async () => cannotTamper(),
      storeRaw: async () => cannotTamper(),
      async close() {
        await backend.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}
