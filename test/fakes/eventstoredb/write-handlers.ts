/**
 * The write side of `Streams`: Append (client stream: options, then one message per event),
 * BatchAppend (one duplex stream carrying many appends, each keyed by a correlation id and
 * answered in the stream), Delete (soft) and Tombstone (hard), with the answers a real server
 * gives (see `Streams.Append.cs`, `Streams.BatchAppend.cs`, `Streams.Delete.cs`):
 *
 * - Append answers a wrong expected version *in the response* (`wrong_expected_version`, with
 *   the current and expected revision), a deleted stream as a `stream-deleted` call error;
 * - BatchAppend answers both in the response's `google.rpc.Status`, and answers `Timeout`
 *   when the append's own deadline (sent in its options) passes before it is written;
 * - Delete and Tombstone answer a wrong expected version as a call error.
 */
import { status, type sendUnaryData, type ServerDuplexStream, type ServerReadableStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { z } from 'zod';
import {
  batchBadRequest,
  batchStreamDeleted,
  batchTimeout,
  batchWrongExpectedVersion,
  callError,
  invalidArgument,
  streamDeleted,
  wrongExpectedVersion,
} from './errors.js';
import { expectedVersionNumber, type ContentType, type ExpectedRevision, type ProposedEvent, type WriteOutcome } from './event-log.js';
import { leaderRequirementError, sleep, type NodeContext } from './node-context.js';
import {
  emptyPb,
  sharedPb,
  streamIdentifier,
  streamNameOf,
  streamsPb,
  uuidText,
  type AppendReq,
  type AppendResp,
  type BatchAppendReq,
  type BatchAppendResp,
  type DeleteReq,
  type DeleteResp,
  type TombstoneReq,
  type TombstoneResp,
} from './protocol.js';

const uuidSchema = z.string().uuid();
const contentTypeSchema = z.enum(['application/json', 'application/octet-stream']);

/** A proposed message of either append flavour, checked the way the server checks it. */
function proposedEvent(message: AppendReq.ProposedMessage | BatchAppendReq.ProposedMessage): ProposedEvent | Error {
  const id = uuidText(message.getId());
  if (id === undefined || !uuidSchema.safeParse(id).success) return new Error(`proposed event id ${JSON.stringify(id)} is not a UUID`);
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  if (typeof type !== 'string' || type === '') return new Error(`proposed event ${id} has no "type" metadata`);
  const contentType = contentTypeSchema.safeParse(metadata.get('content-type'));
  if (!contentType.success) return new Error(`proposed event ${id} has no valid "content-type" metadata (application/json or application/octet-stream)`);
  // A real server stores JSON data as given without parsing it (it only flags the event as JSON).
  const data = message.getData_asU8();
  return { id, type, contentType: contentType.data as ContentType, data: Buffer.from(data), metadata: Buffer.from(message.getCustomMetadata_asU8()) };
}

function expectedOfAppend(options: AppendReq.Options): ExpectedRevision {
  if (options.hasRevision()) return { kind: 'revision', revision: BigInt(options.getRevision()) };
  if (options.hasNoStream()) return { kind: 'no_stream' };
  if (options.hasStreamExists()) return { kind: 'stream_exists' };
  return { kind: 'any' };
}

function expectedOfBatch(options: BatchAppendReq.Options): ExpectedRevision {
  if (options.hasStreamPosition()) return { kind: 'revision', revision: BigInt(options.getStreamPosition()) };
  if (options.hasNoStream()) return { kind: 'no_stream' };
  if (options.hasStreamExists()) return { kind: 'stream_exists' };
  return { kind: 'any' };
}

function expectedOfDelete(options: DeleteReq.Options | TombstoneReq.Options): ExpectedRevision {
  if (options.hasRevision()) return { kind: 'revision', revision: BigInt(options.getRevision()) };
  if (options.hasNoStream()) return { kind: 'no_stream' };
  if (options.hasStreamExists()) return { kind: 'stream_exists' };
  return { kind: 'any' };
}

/**
 * Runs a write with the node's injected delay: applied after the wait (and not at all if the
 * call is gone by then), or applied at once with only the answer delayed.
 */
async function delayedWrite(node: NodeContext, isGone: () => boolean, write: () => WriteOutcome): Promise<WriteOutcome | undefined> {
  const { ms, applyBeforeDelay } = node.delay();
  if (applyBeforeDelay) {
    const outcome = write();
    await sleep(ms);
    return outcome;
  }
  await sleep(ms);
  if (isGone()) return undefined;
  return write();
}

// ---------------------------------------------------------------------------------------
// Append.

export function handleAppend(node: NodeContext, call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>): void {
  let options: AppendReq.Options | undefined;
  const events: ProposedEvent[] = [];
  let failure: Error | undefined;
  let answered = false;
  const answer = (error: Error | null, response?: AppendResp): void => {
    if (answered) return;
    answered = true;
    untrack();
    if (error !== null) callback(error);
    else callback(null, response);
  };
  const untrack = node.trackCall(() => answer(callError(status.UNAVAILABLE, 'Server is shutting down')));
  call.on('data', (request: AppendReq) => {
    if (failure !== undefined) return;
    if (request.hasOptions()) {
      if (options !== undefined) failure = invalidArgument('AppendReq options sent twice');
      options = request.getOptions();
      return;
    }
    const message = request.getProposedMessage();
    if (message === undefined) return;
    if (options === undefined) {
      failure = invalidArgument('AppendReq proposed message before the options');
      return;
    }
    const event = proposedEvent(message);
    if (event instanceof Error) failure = invalidArgument(event.message);
    else events.push(event);
  });
  call.on('error', () => answer(callError(status.CANCELLED, 'Append cancelled')));
  call.on('cancelled', () => {
    answered = true;
    untrack();
  });
  call.on('end', () => {
    void (async () => {
      const leaderError = leaderRequirementError(node, call.metadata);
      if (leaderError !== undefined) return answer(leaderError);
      if (failure !== undefined) return answer(failure);
      if (options === undefined) return answer(invalidArgument('AppendReq without options'));
      const stream = streamNameOf(options.getStreamIdentifier());
      if (stream === '') return answer(invalidArgument('AppendReq names no stream'));
      const expected = expectedOfAppend(options);
      const outcome = await delayedWrite(node, () => call.cancelled || answered, () => node.log.append(stream, expected, events));
      if (outcome === undefined) return;
      if (outcome.kind === 'stream-deleted') return answer(streamDeleted(stream));
      answer(null, appendResponse(outcome, expected));
    })().catch((error: unknown) => answer(callError(status.UNKNOWN, error instanceof Error ? error.message : String(error))));
  });
}

function appendResponse(outcome: Exclude<WriteOutcome, { kind: 'stream-deleted' }>, expected: ExpectedRevision): AppendResp {
  const response = new streamsPb.AppendResp();
  if (outcome.kind === 'wrong-expected-version') {
    const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
    if (outcome.currentRevision < 0n) {
      wrong.setCurrentNoStream(new sharedPb.Empty());
      wrong.setNoStream2060(new sharedPb.Empty());
    } else {
      wrong.setCurrentRevision(outcome.currentRevision.toString());
      wrong.setCurrentRevision2060(Number(outcome.currentRevision));
    }
    switch (expected.kind) {
      case 'any':
        wrong.setExpectedAny(new sharedPb.Empty());
        wrong.setAny2060(new sharedPb.Empty());
        break;
      case 'stream_exists':
        wrong.setExpectedStreamExists(new sharedPb.Empty());
        wrong.setStreamExists2060(new sharedPb.Empty());
        break;
      case 'no_stream':
        wrong.setExpectedNoStream(new sharedPb.Empty());
        break;
      case 'revision':
        wrong.setExpectedRevision(expected.revision.toString());
        wrong.setExpectedRevision2060(Number(expected.revision));
        break;
    }
    response.setWrongExpectedVersion(wrong);
    return response;
  }
  const success = new streamsPb.AppendResp.Success();
  if (outcome.currentRevision < 0n) success.setNoStream(new sharedPb.Empty());
  else success.setCurrentRevision(outcome.currentRevision.toString());
  if (outcome.position === undefined) success.setNoPosition(new sharedPb.Empty());
  else {
    const position = new streamsPb.AppendResp.Position();
    position.setCommitPosition(outcome.position.toString());
    position.setPreparePosition(outcome.position.toString());
    success.setPosition(position);
  }
  response.setSuccess(success);
  return response;
}

// ---------------------------------------------------------------------------------------
// BatchAppend.

interface PendingBatch {
  readonly options: BatchAppendReq.Options;
  readonly events: ProposedEvent[];
  failure?: string;
}

export function handleBatchAppend(node: NodeContext, call: ServerDuplexStream<BatchAppendReq, BatchAppendResp>): void {
  const pending = new Map<string, PendingBatch>();
  let ended = false;
  const untrack = node.trackCall(() => {
    if (ended) return;
    ended = true;
    if (!call.cancelled) call.emit('error', callError(status.UNAVAILABLE, 'Server is shutting down'));
  });
  const finish = (): void => {
    ended = true;
    untrack();
  };
  call.on('cancelled', finish);
  call.on('close', finish);
  call.on('end', () => {
    if (!ended) call.end();
    finish();
  });
  const leaderError = leaderRequirementError(node, call.metadata);
  if (leaderError !== undefined) {
    ended = true;
    untrack();
    call.emit('error', leaderError);
    return;
  }
  call.on('data', (request: BatchAppendReq) => {
    const correlationId = uuidText(request.getCorrelationId());
    if (correlationId === undefined) {
      call.emit('error', invalidArgument('BatchAppendReq without a correlation id'));
      return;
    }
    let batch = pending.get(correlationId);
    if (batch === undefined) {
      const options = request.getOptions();
      if (options === undefined) {
        call.emit('error', invalidArgument(`BatchAppendReq ${correlationId}: the first message of an append carries no options`));
        return;
      }
      batch = { options, events: [] };
      pending.set(correlationId, batch);
    }
    for (const message of request.getProposedMessagesList()) {
      const event = proposedEvent(message);
      if (event instanceof Error) batch.failure ??= event.message;
      else batch.events.push(event);
    }
    if (!request.getIsFinal()) return;
    pending.delete(correlationId);
    const complete = batch;
    void answerBatch(node, call, correlationId, complete, () => ended || call.cancelled).catch((error: unknown) => {
      if (!ended) call.emit('error', callError(status.UNKNOWN, error instanceof Error ? error.message : String(error)));
    });
  });
}

async function answerBatch(
  node: NodeContext,
  call: ServerDuplexStream<BatchAppendReq, BatchAppendResp>,
  correlationId: string,
  batch: PendingBatch,
  isGone: () => boolean,
): Promise<void> {
  const stream = streamNameOf(batch.options.getStreamIdentifier());
  const expected = expectedOfBatch(batch.options);
  const response = new streamsPb.BatchAppendResp();
  response.setCorrelationId(sharedUuid(correlationId));
  response.setStreamIdentifier(streamIdentifier(stream));
  switch (expected.kind) {
    case 'any':
      response.setAny(new emptyPb.Empty());
      break;
    case 'no_stream':
      response.setNoStream(new emptyPb.Empty());
      break;
    case 'stream_exists':
      response.setStreamExists(new emptyPb.Empty());
      break;
    case 'revision':
      response.setStreamPosition(expected.revision.toString());
      break;
  }
  const send = (): void => {
    if (!isGone()) call.write(response);
  };
  if (batch.failure !== undefined || stream === '') {
    response.setError(batchBadRequest(batch.failure ?? 'BatchAppendReq names no stream'));
    return send();
  }
  // The append's own deadline (the client sets the call's to infinity and puts it here).
  const deadline = batch.options.getDeadline();
  const timeoutMs = deadline === undefined ? Number.POSITIVE_INFINITY : deadline.toDate().getTime() - Date.now();
  if (timeoutMs <= 0) {
    response.setError(batchTimeout());
    return send();
  }
  const { ms, applyBeforeDelay } = node.delay();
  let outcome: WriteOutcome | undefined;
  if (applyBeforeDelay) outcome = node.log.append(stream, expected, batch.events);
  if (ms >= timeoutMs) {
    await sleep(timeoutMs);
    response.setError(batchTimeout());
    return send();
  }
  await sleep(ms);
  if (isGone()) return;
  outcome ??= node.log.append(stream, expected, batch.events);
  switch (outcome.kind) {
    case 'stream-deleted':
      response.setError(batchStreamDeleted(stream));
      break;
    case 'wrong-expected-version':
      response.setError(batchWrongExpectedVersion(outcome.currentRevision, expected));
      break;
    case 'written':
    case 'idempotent': {
      const success = new streamsPb.BatchAppendResp.Success();
      if (outcome.currentRevision < 0n) success.setNoStream(new emptyPb.Empty());
      else success.setCurrentRevision(outcome.currentRevision.toString());
      if (outcome.position === undefined) success.setNoPosition(new emptyPb.Empty());
      else {
        const position = new sharedPb.AllStreamPosition();
        position.setCommitPosition(outcome.position.toString());
        position.setPreparePosition(outcome.position.toString());
        success.setPosition(position);
      }
      response.setSuccess(success);
      break;
    }
  }
  send();
}

function sharedUuid(id: string): InstanceType<typeof sharedPb.UUID> {
  const uuid = new sharedPb.UUID();
  uuid.setString(id);
  return uuid;
}

// ---------------------------------------------------------------------------------------
// Delete and Tombstone.

export function handleDelete(node: NodeContext, call: ServerUnaryCall<DeleteReq, DeleteResp>, callback: sendUnaryData<DeleteResp>): void {
  void deleteOrTombstone(node, call, 'Delete', (stream, expected) => node.log.softDelete(stream, expected)).then(
    (result) => {
      if (result === undefined) return;
      if (result instanceof Error) return callback(result);
      const response = new streamsPb.DeleteResp();
      if (result.position === undefined) response.setNoPosition(new sharedPb.Empty());
      else {
        const position = new streamsPb.DeleteResp.Position();
        position.setCommitPosition(result.position.toString());
        position.setPreparePosition(result.position.toString());
        response.setPosition(position);
      }
      callback(null, response);
    },
  );
}

export function handleTombstone(node: NodeContext, call: ServerUnaryCall<TombstoneReq, TombstoneResp>, callback: sendUnaryData<TombstoneResp>): void {
  void deleteOrTombstone(node, call, 'Delete', (stream, expected) => node.log.tombstone(stream, expected)).then(
    (result) => {
      if (result === undefined) return;
      if (result instanceof Error) return callback(result);
      const response = new streamsPb.TombstoneResp();
      if (result.position === undefined) response.setNoPosition(new sharedPb.Empty());
      else {
        const position = new streamsPb.TombstoneResp.Position();
        position.setCommitPosition(result.position.toString());
        position.setPreparePosition(result.position.toString());
        response.setPosition(position);
      }
      callback(null, response);
    },
  );
}

async function deleteOrTombstone(
  node: NodeContext,
  call: ServerUnaryCall<DeleteReq | TombstoneReq, unknown>,
  operation: string,
  write: (stream: string, expected: ExpectedRevision) => WriteOutcome,
): Promise<{ position: bigint | undefined } | Error | undefined> {
  const leaderError = leaderRequirementError(node, call.metadata);
  if (leaderError !== undefined) return leaderError;
  const options = call.request.getOptions();
  if (options === undefined) return invalidArgument(`${operation} request has no options`);
  const stream = streamNameOf(options.getStreamIdentifier());
  if (stream === '') return invalidArgument(`${operation} request names no stream`);
  const expected = expectedOfDelete(options);
  const outcome = await delayedWrite(node, () => call.cancelled, () => write(stream, expected));
  if (outcome === undefined) return undefined;
  switch (outcome.kind) {
    case 'stream-deleted':
      return streamDeleted(stream);
    case 'wrong-expected-version':
      return wrongExpectedVersion(operation, stream, expectedVersionNumber(expected), outcome.currentRevision);
    case 'written':
    case 'idempotent':
      return { position: outcome.position };
  }
}
