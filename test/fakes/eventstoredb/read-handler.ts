/**
 * `Streams.Read`: reads of a stream or of `$all` (forwards, backwards, from start / end /
 * revision / position, with a count) and catch-up subscriptions, as EventStoreDB's read
 * enumerators answer them:
 *
 * - a stream read of a missing or soft-deleted stream answers one `stream_not_found`
 *   message; a tombstoned stream is a `stream-deleted` call error;
 * - a forward `$all` read from position P includes the record at P, a backward one starts
 *   just before P;
 * - a subscription first confirms (`confirmation` with a subscription id), then catches up
 *   from *after* the given revision / position (inclusive only from the start), then sends
 *   `caught_up` and goes live. A filtered `$all` subscription also sends checkpoints: each
 *   time `checkpoint interval × search window` records have been considered (matching or
 *   not), once at the end of the catch-up, and each interval while live.
 */
import { randomUUID } from 'node:crypto';
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import { callError, invalidArgument, streamDeleted, unavailable } from './errors.js';
import { eventFilterOf, type EventFilter } from './event-filter.js';
import { NO_STREAM, firstIndexWhere, type EventLog, type LogRecord } from './event-log.js';
import { leaderRequirementError, sleep, ticksSinceEpoch, writeWithBackpressure, type NodeContext } from './node-context.js';
import { streamIdentifier, streamNameOf, streamsPb, uuidMessage, type ReadReq, type ReadResp } from './protocol.js';
import { TOMBSTONE_EVENT_TYPE } from './stream-metadata.js';

type ReadCall = ServerWritableStream<ReadReq, ReadResp>;

type StreamFrom = { readonly kind: 'start' } | { readonly kind: 'end' } | { readonly kind: 'revision'; readonly revision: bigint };
type AllFrom = { readonly kind: 'start' } | { readonly kind: 'end' } | { readonly kind: 'position'; readonly position: bigint };

interface ReadRequest {
  readonly target: { readonly kind: 'stream'; readonly stream: string; readonly from: StreamFrom } | { readonly kind: 'all'; readonly from: AllFrom };
  readonly backwards: boolean;
  readonly count: bigint | undefined;
  readonly subscription: boolean;
  readonly filter: EventFilter | undefined;
  readonly structuredIds: boolean;
}

export function handleRead(node: NodeContext, call: ReadCall): void {
  serveRead(node, call).catch((error: unknown) => {
    failCall(call, error instanceof Error ? error : new Error(String(error)));
  });
}

function failCall(call: ReadCall, error: Error): void {
  if (call.cancelled || call.destroyed) return;
  const withCode = 'code' in error ? error : callError(status.UNKNOWN, error.message);
  call.emit('error', withCode);
}

function parseRequest(request: ReadReq): ReadRequest | Error {
  const options = request.getOptions();
  if (options === undefined) return invalidArgument('ReadReq has no options');
  let target: ReadRequest['target'];
  if (options.hasStream()) {
    const streamOptions = options.getStream();
    const stream = streamNameOf(streamOptions?.getStreamIdentifier());
    if (stream === '') return invalidArgument('ReadReq names no stream');
    const from: StreamFrom = streamOptions?.hasRevision()
      ? { kind: 'revision', revision: BigInt(streamOptions.getRevision()) }
      : streamOptions?.hasEnd()
        ? { kind: 'end' }
        : { kind: 'start' };
    target = { kind: 'stream', stream, from };
  } else if (options.hasAll()) {
    const allOptions = options.getAll();
    const position = allOptions?.getPosition();
    const from: AllFrom = allOptions?.hasPosition() && position !== undefined
      ? { kind: 'position', position: BigInt(position.getCommitPosition()) }
      : allOptions?.hasEnd()
        ? { kind: 'end' }
        : { kind: 'start' };
    target = { kind: 'all', from };
  } else {
    return invalidArgument('ReadReq reads neither a stream nor $all');
  }
  let filter: EventFilter | undefined;
  const filterOptions = options.getFilter();
  if (options.hasFilter() && filterOptions !== undefined) {
    if (target.kind === 'stream') return invalidArgument('a filter is only allowed when reading $all');
    const parsed = eventFilterOf(filterOptions);
    if (parsed instanceof Error) return invalidArgument(parsed.message);
    filter = parsed;
  }
  return {
    target,
    backwards: options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS,
    count: options.hasCount() ? BigInt(options.getCount()) : undefined,
    subscription: options.hasSubscription(),
    filter,
    structuredIds: options.getUuidOption()?.hasStructured() ?? false,
  };
}

async function serveRead(node: NodeContext, call: ReadCall): Promise<void> {
  const leaderError = leaderRequirementError(node, call.metadata);
  if (leaderError !== undefined) throw leaderError;
  const request = parseRequest(call.request);
  if (request instanceof Error) throw request;
  await sleep(node.delay().ms);
  if (call.cancelled) return;
  if (request.subscription) {
    await serveSubscription(node, call, request);
    return;
  }
  const untrack = node.trackCall(() => undefined);
  try {
    if (request.target.kind === 'stream') await readStream(node.log, call, request, request.target.stream, request.target.from);
    else await readAll(node.log, call, request, request.target.from);
    if (!call.cancelled) call.end();
  } finally {
    untrack();
  }
}

// ---------------------------------------------------------------------------------------
// One-off reads.

async function readStream(log: EventLog, call: ReadCall, request: ReadRequest, stream: string, from: StreamFrom): Promise<void> {
  const outcome = log.visibleEvents(stream);
  if (outcome.kind === 'stream-deleted') throw streamDeleted(stream);
  if (outcome.kind === 'stream-not-found') {
    const response = new streamsPb.ReadResp();
    const notFound = new streamsPb.ReadResp.StreamNotFound();
    notFound.setStreamIdentifier(streamIdentifier(stream));
    response.setStreamNotFound(notFound);
    await writeWithBackpressure(call, response);
    return;
  }
  const records = outcome.records;
  const last = records.at(-1)?.revision ?? NO_STREAM;
  let selected: LogRecord[];
  if (request.backwards) {
    const upTo = from.kind === 'revision' ? from.revision : from.kind === 'start' ? 0n : last;
    selected = records.filter((record) => record.revision <= upTo).reverse();
  } else {
    const lowest = from.kind === 'revision' ? from.revision : from.kind === 'start' ? 0n : last + 1n;
    selected = records.slice(firstIndexWhere(records, (record) => record.revision >= lowest));
  }
  await sendRecords(call, request, selected, undefined);
}

async function readAll(log: EventLog, call: ReadCall, request: ReadRequest, from: AllFrom): Promise<void> {
  const records = log.all();
  let selected: LogRecord[];
  if (request.backwards) {
    const before = from.kind === 'position' ? from.position : from.kind === 'start' ? 0n : log.endPosition();
    selected = records.slice(0, firstIndexWhere(records, (record) => record.position >= before)).reverse();
  } else {
    const atOrAfter = from.kind === 'position' ? from.position : from.kind === 'start' ? 0n : log.endPosition();
    selected = records.slice(firstIndexWhere(records, (record) => record.position >= atOrAfter));
  }
  await sendRecords(call, request, selected, request.filter);
}

async function sendRecords(call: ReadCall, request: ReadRequest, records: readonly LogRecord[], filter: EventFilter | undefined): Promise<void> {
  let remaining = request.count ?? BigInt(Number.MAX_SAFE_INTEGER);
  for (const record of records) {
    if (remaining <= 0n || call.cancelled) return;
    if (filter !== undefined && !filter.matches(record)) continue;
    await writeWithBackpressure(call, readEventMessage(record, request.structuredIds));
    remaining -= 1n;
  }
}

export function readEventMessage(record: LogRecord, structuredIds: boolean): ReadResp {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(uuidMessage(record.id, structuredIds));
  recorded.setStreamIdentifier(streamIdentifier(record.stream));
  recorded.setStreamRevision(record.revision.toString());
  recorded.setPreparePosition(record.position.toString());
  recorded.setCommitPosition(record.position.toString());
  const metadata = recorded.getMetadataMap();
  metadata.set('type', record.type);
  metadata.set('created', ticksSinceEpoch(record.created));
  metadata.set('content-type', record.contentType);
  recorded.setCustomMetadata(record.metadata);
  recorded.setData(record.data);
  const readEvent = new streamsPb.ReadResp.ReadEvent();
  readEvent.setEvent(recorded);
  readEvent.setCommitPosition(record.position.toString());
  const response = new streamsPb.ReadResp();
  response.setEvent(readEvent);
  return response;
}

// ---------------------------------------------------------------------------------------
// Subscriptions.

function checkpointMessage(position: bigint): ReadResp {
  const checkpoint = new streamsPb.ReadResp.Checkpoint();
  checkpoint.setCommitPosition(position.toString());
  checkpoint.setPreparePosition(position.toString());
  const response = new streamsPb.ReadResp();
  response.setCheckpoint(checkpoint);
  return response;
}

function caughtUpMessage(): ReadResp {
  const response = new streamsPb.ReadResp();
  response.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
  return response;
}

function confirmationMessage(): ReadResp {
  const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
  confirmation.setSubscriptionId(randomUUID());
  const response = new streamsPb.ReadResp();
  response.setConfirmation(confirmation);
  return response;
}

/**
 * One subscription: the live listener is registered first (records written from then on are
 * queued), then the confirmation, the catch-up over what the log held at that moment, the
 * caught-up message, and the queued and later records, in order, with backpressure.
 */
async function serveSubscription(node: NodeContext, call: ReadCall, request: ReadRequest): Promise<void> {
  const live: LogRecord[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const stop = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    untrack();
    wake?.();
  };
  const unsubscribe = node.log.onRecord((record) => {
    live.push(record);
    wake?.();
  });
  const untrack = node.trackCall(() => {
    if (!ended && !call.cancelled) failCall(call, unavailable('Server is shutting down'));
    stop();
  });
  call.on('cancelled', stop);
  call.on('close', stop);
  try {
    await writeWithBackpressure(call, confirmationMessage());
    const target = request.target;
    if (target.kind === 'stream') await streamSubscription(node.log, call, request, target.stream, target.from, live, () => ended, (resolve) => (wake = resolve));
    else await allSubscription(node.log, call, request, target.from, live, () => ended, (resolve) => (wake = resolve));
  } finally {
    stop();
  }
}

type WaitRegistration = (resolve: () => void) => void;

async function nextLive(live: LogRecord[], isEnded: () => boolean, register: WaitRegistration): Promise<LogRecord | undefined> {
  while (live.length === 0) {
    if (isEnded()) return undefined;
    await new Promise<void>((resolve) => register(resolve));
  }
  return live.shift();
}

async function streamSubscription(
  log: EventLog,
  call: ReadCall,
  request: ReadRequest,
  stream: string,
  from: StreamFrom,
  live: LogRecord[],
  isEnded: () => boolean,
  register: WaitRegistration,
): Promise<void> {
  // The last revision sent (or skipped): only later ones go to the client.
  let checkpoint = from.kind === 'start' ? NO_STREAM : from.kind === 'revision' ? from.revision : log.lastRevision(stream);
  if (from.kind !== 'end') {
    const outcome = log.visibleEvents(stream);
    if (outcome.kind === 'stream-deleted') throw streamDeleted(stream);
    if (outcome.kind === 'events') {
      for (const record of outcome.records) {
        if (isEnded()) return;
        if (record.revision <= checkpoint) continue;
        await writeWithBackpressure(call, readEventMessage(record, request.structuredIds));
        checkpoint = record.revision;
      }
    }
  } else if (log.isTombstoned(stream)) {
    throw streamDeleted(stream);
  }
  await writeWithBackpressure(call, caughtUpMessage());
  for (;;) {
    const record = await nextLive(live, isEnded, register);
    if (record === undefined) return;
    if (record.stream !== stream) continue;
    if (record.type === TOMBSTONE_EVENT_TYPE) throw streamDeleted(stream);
    if (record.revision <= checkpoint) continue;
    await writeWithBackpressure(call, readEventMessage(record, request.structuredIds));
    checkpoint = record.revision;
  }
}

async function allSubscription(
  log: EventLog,
  call: ReadCall,
  request: ReadRequest,
  from: AllFrom,
  live: LogRecord[],
  isEnded: () => boolean,
  register: WaitRegistration,
): Promise<void> {
  const filter = request.filter;
  const history = log.all().slice();
  // The position of the last record sent or considered: only later ones go to the client.
  let checkpoint = from.kind === 'start' ? -1n : from.kind === 'position' ? from.position : (history.at(-1)?.position ?? -1n);
  if (from.kind !== 'end') {
    const pending = history.slice(firstIndexWhere(history, (record) => record.position > checkpoint));
    const window = filter?.maxSearchWindow ?? pending.length;
    let considered = 0;
    for (let start = 0; start < pending.length; start += Math.max(window, 1)) {
      const page = pending.slice(start, start + Math.max(window, 1));
      for (const record of page) {
        if (isEnded()) return;
        if (filter === undefined || filter.matches(record)) await writeWithBackpressure(call, readEventMessage(record, request.structuredIds));
        checkpoint = record.position;
      }
      considered += page.length;
      const lastPage = start + page.length >= pending.length;
      if (filter !== undefined && !lastPage && considered >= filter.checkpointInterval) {
        considered %= filter.checkpointInterval;
        await writeWithBackpressure(call, checkpointMessage(checkpoint));
      }
    }
  }
  // At the end of the catch-up a filtered subscription reports where it is, so that a client
  // resuming from that checkpoint skips everything it was shown (or not shown) so far.
  if (filter !== undefined && checkpoint >= 0n) await writeWithBackpressure(call, checkpointMessage(checkpoint));
  await writeWithBackpressure(call, caughtUpMessage());
  let consideredLive = 0;
  for (;;) {
    const record = await nextLive(live, isEnded, register);
    if (record === undefined) return;
    if (record.position <= checkpoint) continue;
    if (filter === undefined || filter.matches(record)) await writeWithBackpressure(call, readEventMessage(record, request.structuredIds));
    checkpoint = record.position;
    if (filter !== undefined) {
      consideredLive += 1;
      if (consideredLive >= filter.checkpointInterval) {
        consideredLive = 0;
        await writeWithBackpressure(call, checkpointMessage(record.position));
      }
    }
  }
}
