/**
 * The errors a real server sends, in the exact shape the client maps to its error classes
 * (`utils/CommandError.js` and `streams/appendToStream/unpackError.js` of the client):
 *
 * - call errors are gRPC statuses whose trailers carry `exception` (and the fields that
 *   exception needs), as EventStoreDB's `RpcExceptions` builds them;
 * - BatchAppend answers a failed append with a `google.rpc.Status` inside the response whose
 *   details pack an `event_store.client.*` message (`Status.cs` on the server).
 */
import { Metadata, status, type ServerErrorResponse } from '@grpc/grpc-js';
import { anyPb, emptyPb, sharedPb, statusPb, streamIdentifier, type GrpcStatus } from './protocol.js';

export function callError(code: status, details: string, trailers: Record<string, string> = {}): ServerErrorResponse {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return Object.assign(new Error(details), { code, details, metadata });
}

/** A follower asked for something that needs the leader (`requires-leader: true`). */
export function notLeader(leader: { readonly host: string; readonly port: number }): ServerErrorResponse {
  return callError(status.NOT_FOUND, 'Leader info available', {
    exception: 'not-leader',
    'leader-endpoint-host': leader.host,
    'leader-endpoint-port': String(leader.port),
  });
}

/** A follower that knows no leader (an election in progress). */
export function noLeaderInfo(): ServerErrorResponse {
  return callError(status.UNKNOWN, 'No leader info available in response');
}

export function streamDeleted(stream: string): ServerErrorResponse {
  return callError(status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, { exception: 'stream-deleted', 'stream-name': stream });
}

export function streamNotFound(stream: string): ServerErrorResponse {
  return callError(status.NOT_FOUND, `Event stream '${stream}' is not found.`, { exception: 'stream-not-found', 'stream-name': stream });
}

/** Delete and Tombstone report a wrong expected version as a call error (Append puts it in the response). */
export function wrongExpectedVersion(operation: string, stream: string, expectedVersion: bigint, actualVersion: bigint): ServerErrorResponse {
  return callError(
    status.FAILED_PRECONDITION,
    `${operation} failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${expectedVersion}, Actual version: ${actualVersion}`,
    {
      exception: 'wrong-expected-version',
      'stream-name': stream,
      'expected-version': expectedVersion.toString(),
      'actual-version': actualVersion.toString(),
    },
  );
}

/** The server's write timeout (a commit that did not complete in time). */
export function operationTimedOut(message: string): ServerErrorResponse {
  return callError(status.ABORTED, `Operation timed out: ${message}`);
}

export function invalidArgument(message: string): ServerErrorResponse {
  return callError(status.INVALID_ARGUMENT, message);
}

/** The server is going away (what an open call sees when the node restarts). */
export function unavailable(message: string): ServerErrorResponse {
  return callError(status.UNAVAILABLE, message);
}

// ---------------------------------------------------------------------------------------
// google.rpc.Status for BatchAppend (code numbers are google.rpc.Code, the same as gRPC's).

function packed(code: status, message: string, typeName: string, detail: { serializeBinary(): Uint8Array }): GrpcStatus {
  const result = new statusPb.Status();
  // google.rpc.Code and gRPC status codes are the same numbers.
  result.setCode(code as number as Parameters<GrpcStatus["setCode"]>[0]);
  result.setMessage(message);
  const any = new anyPb.Any();
  any.pack(detail.serializeBinary(), typeName);
  result.setDetails(any);
  return result;
}

export function batchWrongExpectedVersion(current: bigint, expected: { kind: 'any' | 'no_stream' | 'stream_exists' } | { kind: 'revision'; revision: bigint }): GrpcStatus {
  const detail = new sharedPb.WrongExpectedVersion();
  if (current < 0n) detail.setCurrentNoStream(new emptyPb.Empty());
  else detail.setCurrentStreamRevision(current.toString());
  switch (expected.kind) {
    case 'any':
      detail.setExpectedAny(new emptyPb.Empty());
      break;
    case 'no_stream':
      detail.setExpectedNoStream(new emptyPb.Empty());
      break;
    case 'stream_exists':
      detail.setExpectedStreamExists(new emptyPb.Empty());
      break;
    case 'revision':
      detail.setExpectedStreamPosition(expected.revision.toString());
      break;
  }
  return packed(status.ALREADY_EXISTS, 'WrongExpectedVersion', 'event_store.client.WrongExpectedVersion', detail);
}

export function batchStreamDeleted(stream: string): GrpcStatus {
  const detail = new sharedPb.StreamDeleted();
  detail.setStreamIdentifier(streamIdentifier(stream));
  return packed(status.NOT_FOUND, 'StreamDeleted', 'event_store.client.StreamDeleted', detail);
}

export function batchTimeout(): GrpcStatus {
  return packed(status.DEADLINE_EXCEEDED, 'Timeout', 'event_store.client.Timeout', new sharedPb.Timeout());
}

export function batchBadRequest(message: string): GrpcStatus {
  const detail = new sharedPb.BadRequest();
  detail.setMessage(message);
  return packed(status.INVALID_ARGUMENT, 'BadRequest', 'event_store.client.BadRequest', detail);
}
