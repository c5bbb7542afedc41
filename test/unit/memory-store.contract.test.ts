/** The event store contract on the in-memory backend. */
import { MemoryBackend } from '../../events/adapters/memory.js';
import { createEventStore } from '../../events/event-store.js';
import { describeEventStoreContract } from '../contract/event-store.contract.js';
import { testCatalogue } from '../support/test-catalogue.js';

describeEventStoreContract('memory', async () => {
  const backend = new MemoryBackend();
  return {
    store: createEventStore(backend, testCatalogue),
    backend,
    async tamperData(position, dataJson) {
      backend.tamper(position, (event) => ({ ...event, dataJson }));
    },
    async deleteEvent(position) {
      backend.removeForTest(position);
    },
    async rewritePlace(position, change) {
      backend.tamper(position, (event) => ({ ...event, ...change }));
    },
    async storeRaw(events) {
      backend.importForTest(events);
    },
    async close() {
      await backend.close();
    },
  };
});
