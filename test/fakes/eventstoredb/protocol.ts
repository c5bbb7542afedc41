/**
 * The client's own protocol: the service definitions and message classes generated from
 * EventStoreDB's .proto files and shipped inside `@eventstore/db-client` 6.2.1. The fake is
 * built from these (and not from a copy of the .proto files) so that it speaks exactly the wire
 * format the client under test speaks. They are CommonJS, loaded with `createRequire` from the
 * client's own directory so that `google-protobuf` is the same instance the client uses (an
 * `Any` packed by another copy would still serialize, but keeping one copy avoids surprises).
 */
import { createRequire } from 'node:module';
import type * as StreamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type * as StatusPb from '@eventstore/db-client/generated/status_pb.js';
import type * as GossipGrpc from '@eventstore/db-client/generated/gossip_grpc_pb.js';
import type * as GossipPb from '@eventstore/db-client/generated/gossip_pb.js';
import type * as FeaturesGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import type * as FeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import type * as AnyPb from 'google-protobuf/google/protobuf/any_pb.js';
import type * as EmptyPb from 'google-protobuf/google/protobuf/empty_pb.js';

const requireFromClient = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'));

export const streamsGrpc = requireFromClient('../generated/streams_grpc_pb.js') as typeof StreamsGrpc;
export const streamsPb = requireFromClient('../generated/streams_pb.js') as typeof StreamsPb;
export const sharedPb = requireFromClient('../generated/shared_pb.js') as typeof SharedPb;
export const statusPb = requireFromClient('../generated/status_pb.js') as typeof StatusPb;
export const gossipGrpc = requireFromClient('../generated/gossip_grpc_pb.js') as typeof GossipGrpc;
export const gossipPb = requireFromClient('../generated/gossip_pb.js') as typeof GossipPb;
export const featuresGrpc = requireFromClient('../generated/serverfeatures_grpc_pb.js') as typeof FeaturesGrpc;
export const featuresPb = requireFromClient('../generated/serverfeatures_pb.js') as typeof FeaturesPb;
export const anyPb = requireFromClient('google-protobuf/google/protobuf/any_pb.js') as typeof AnyPb;
export const emptyPb = requireFromClient('google-protobuf/google/protobuf/empty_pb.js') as typeof EmptyPb;

export type {
  ReadReq,
  ReadResp,
  AppendReq,
  AppendResp,
  BatchAppendReq,
  BatchAppendResp,
  DeleteReq,
  DeleteResp,
  TombstoneReq,
  TombstoneResp,
} from '@eventstore/db-client/generated/streams_pb.js';
export type SharedUuid = SharedPb.UUID;
export type GrpcStatus = StatusPb.Status;
export type FilterOptions = StreamsPb.ReadReq.Options.FilterOptions;

/** The `VNodeState` values of gossip.proto (the client compares against these numbers). */
export const VNodeState = { follower: 6, leader: 8 } as const;

/** The gRPC services, as the client addresses them (`/service/method`, lower-cased in features). */
export const STREAMS_SERVICE = 'event_store.client.streams.Streams';
export const GOSSIP_SERVICE = 'event_store.client.gossip.Gossip';
export const FEATURES_SERVICE = 'event_store.client.server_features.ServerFeatures';

/** Text of a stream identifier (bytes on the wire). */
export function streamNameOf(identifier: SharedPb.StreamIdentifier | undefined): string {
  if (identifier === undefined) return '';
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

export function streamIdentifier(name: string): SharedPb.StreamIdentifier {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(name, 'utf8'));
  return identifier;
}

export function empty(): SharedPb.Empty {
  return new sharedPb.Empty();
}

/** A UUID in the form the client asked for: string (`UUIDOption.string`) or structured. */
export function uuidMessage(id: string, structured: boolean): SharedPb.UUID {
  const uuid = new sharedPb.UUID();
  if (!structured) {
    uuid.setString(id);
    return uuid;
  }
  const hex = id.replaceAll('-', '');
  const parts = new sharedPb.UUID.Structured();
  parts.setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString());
  parts.setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  uuid.setStructured(parts);
  return uuid;
}

/** The text of a UUID message, whichever of its two forms the client used. */
export function uuidText(uuid: SharedPb.UUID | undefined): string | undefined {
  if (uuid === undefined) return undefined;
  if (uuid.hasString()) return uuid.getString();
  const parts = uuid.getStructured();
  if (parts === undefined) return undefined;
  const hex = (value: string): string => BigInt.asUintN(64, BigInt(value)).toString(16).padStart(16, '0');
  const all = hex(parts.getMostSignificantBits()) + hex(parts.getLeastSignificantBits());
  return `${all.slice(0, 8)}-${all.slice(8, 12)}-${all.slice(12, 16)}-${all.slice(16, 20)}-${all.slice(20)}`;
}
