/** The fake EventStoreDB's public surface (see README.md in this folder). */
export {
  FAKE_SERVER_VERSION,
  startFakeEventStoreDb,
  type BackdoorRecord,
  type FakeEventStoreDb,
  type FakeEventStoreDbBackdoor,
  type FakeEventStoreDbOptions,
  type FakeMethod,
  type RawEvent,
} from './fake-eventstoredb.js';
export { DEFAULT_MAX_SEARCH_WINDOW } from './event-filter.js';
export { DELETED_STREAM } from './stream-metadata.js';
