/**
 * A fake EventStoreDB node on 127.0.0.1 that the real `@eventstore/db-client` talks to over
 * gRPC (insecure, as a `?tls=false` connection string asks). See README.md in this folder for
 * what it implements faithfully and what it does not.
 *
 *   const fake = await startFakeEventStoreDb();
 *   const client = EventStoreDBClient.connectionString(fake.url);
 *   ...
 *   await fake.close();
 *
 * Nodes started with `joinClusterOf` share one log (as a replicated cluster would) and answer
 * gossip with every member; exactly one of them is the leader at a time (`setLeader`).
 */
import { randomUUID } from 'node:crypto';
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { EventLog, type ContentType, type LogRecord, type ProposedEvent } from './event-log.js';
import { handleRead } from './read-handler.js';
import { handleAppend, handleBatchAppend, handleDelete, handleTombstone } from './write-handlers.js';
import type { DelaySetting, Endpoint, NodeContext } from './node-context.js';
import { ticksSinceEpoch } from './node-context.js';
import { FEATURES_SERVICE, GOSSIP_SERVICE, STREAMS_SERVICE, VNodeState, featuresGrpc, featuresPb, gossipGrpc, gossipPb, streamsGrpc, uuidMessage } from './protocol.js';

/** The server version a fake reports in its features (the version docker-compose pins). */
export const FAKE_SERVER_VERSION = '23.10.0';

export interface FakeEventStoreDbOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port, see `port` on the handle. */
  readonly port?: number;
  /** Default 'leader' for a first node, 'follower' for one that joins a cluster. */
  readonly role?: 'leader' | 'follower';
  /** Share the log and the gossip membership of this node's cluster. */
  readonly joinClusterOf?: FakeEventStoreDb;
  /** Reported by ServerFeatures. Default {@link FAKE_SERVER_VERSION}. */
  readonly serverVersion?: string;
  /**
   * Advertise `Streams.BatchAppend` (a 23.10 server does, and then the client appends through
   * it). Set false to make the client use the plain `Streams.Append`. Default true.
   */
  readonly advertiseBatchAppend?: boolean;
  /** Write the `$epoch-information` record a fresh node starts with. Default true. */
  readonly seedSystemRecords?: boolean;
  /** The server clock (records' `created`, `$maxAge`). Default the system clock. */
  readonly now?: () => Date;
}

/** A record as the backdoor shows it: a log record, copied (changing it changes nothing). */
export type BackdoorRecord = LogRecord;

/** An event for `appendRaw` / `insertRecord`. */
export interface RawEvent {
  readonly id: string;
  readonly type: string;
  readonly contentType?: ContentType;
  readonly data: Uint8Array;
  readonly metadata?: Uint8Array;
}

/**
 * Direct access to the node's log, for tests that tamper with a store or need a record at an
 * exact place. A real server has nothing like it; nothing here goes through gRPC.
 */
export interface FakeEventStoreDbBackdoor {
  /** Every record in `$all` order (system records, metadata and tombstones included). */
  records(): BackdoorRecord[];
  /** The records of one stream in revision order, whatever its metadata hides. */
  streamRecords(stream: string): BackdoorRecord[];
  recordAt(position: bigint): BackdoorRecord | undefined;
  /** Where the next record will be written. */
  endPosition(): bigint;
  replaceData(position: bigint, data: Uint8Array): BackdoorRecord;
  replaceMetadata(position: bigint, metadata: Uint8Array): BackdoorRecord;
  /** Replaces any fields of a record but its position (use `moveRecord` for that). */
  replaceRecord(position: bigint, change: Partial<Omit<BackdoorRecord, 'position'>>): BackdoorRecord;
  /** Removes a record; its position stays vacant. */
  deleteRecord(position: bigint): BackdoorRecord;
  /** Moves a record to a free position (a vacated slot, or at/after the end). */
  moveRecord(from: bigint, to: bigint): BackdoorRecord;
  /** Puts a record at exactly `position`, which must be free. */
  insertRecord(position: bigint, stream: string, revision: bigint, event: RawEvent): BackdoorRecord;
  /**
   * Appends records at the end as a write would (live subscribers see them), with revisions
   * from `firstRevision` (default: after the stream's last), without any expected-revision check.
   */
  appendRaw(stream: string, events: readonly RawEvent[], options?: { readonly firstRevision?: bigint }): BackdoorRecord[];
}

export interface FakeEventStoreDb {
  /** `esdb://host:port?tls=false`, for `EventStoreDBClient.connectionString`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly backdoor: FakeEventStoreDbBackdoor;
  /** Ends every open call and stops listening. Idempotent. */
  close(): Promise<void>;
  /**
   * What a node restart does to its clients: every open call ends with UNAVAILABLE (open
   * subscriptions error), and the node closes its HTTP/2 connections, so clients reconnect.
   * The node keeps listening on the same port with the same log.
   */
  dropConnections(): Promise<void>;
  /**
   * A node that is down for a while and comes back with its data: `goOffline()` drops the
   * connections as `dropConnections()` does and stops listening, so clients get
   * UNAVAILABLE (connection refused) until `comeBack()` listens again on the same port with
   * the same log. Gossip reports the node as not alive meanwhile.
   */
  goOffline(): Promise<void>;
  comeBack(): Promise<void>;
  /** Makes every call wait `ms` before the node acts on it (0 to stop). See {@link DelaySetting}. */
  setDelay(ms: number, options?: { readonly applyBeforeDelay?: boolean }): void;
  /** Makes this node the leader (the others of its cluster become followers) or a follower. */
  setLeader(isLeader: boolean): void;
  isLeader(): boolean;
  /** How many calls (reads, subscriptions, appends) are open right now. */
  openCalls(): number;
  /**
   * How many calls this node has received, by method (`Streams.Read`, `Streams.Append`,
   * `Streams.BatchAppend`, `Streams.Delete`, `Streams.Tombstone`, `Gossip.Read`,
   * `ServerFeatures.GetSupportedMethods`): a test can see that a client resubscribed or which
   * append method it used. A BatchAppend stream carrying many appends counts once.
   */
  callsReceived(): Readonly<Record<FakeMethod, number>>;
}

export type FakeMethod =
  | 'Streams.Read'
  | 'Streams.Append'
  | 'Streams.BatchAppend'
  | 'Streams.Delete'
  | 'Streams.Tombstone'
  | 'Gossip.Read'
  | 'ServerFeatures.GetSupportedMethods';

interface ClusterMember {
  readonly instanceId: string;
  readonly endpoint: Endpoint;
  leader: boolean;
  alive: boolean;
}

interface Cluster {
  readonly log: EventLog;
  readonly members: Set<ClusterMember>;
}

/** Each handle's cluster, so that `joinClusterOf` can find it without exposing it. */
const clusters = new WeakMap<FakeEventStoreDb, Cluster>();

export async function startFakeEventStoreDb(options: FakeEventStoreDbOptions = {}): Promise<FakeEventStoreDb> {
  const host = options.host ?? '127.0.0.1';
  const joined = options.joinClusterOf === undefined ? undefined : clusters.get(options.joinClusterOf);
  if (options.joinClusterOf !== undefined && joined === undefined) throw new Error('joinClusterOf: that node is not a fake EventStoreDB started here');
  const cluster: Cluster = joined ?? {
    log: new EventLog({ ...(options.now === undefined ? {} : { now: options.now }), seedSystemRecords: options.seedSystemRecords ?? true }),
    members: new Set(),
  };
  const role = options.role ?? (joined === undefined ? 'leader' : 'follower');
  let delay: DelaySetting = { ms: 0, applyBeforeDelay: false };
  const openCalls = new Set<() => void>();

  const server = new Server();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? 0}`, ServerCredentials.createInsecure(), (error, boundPort) => (error === null ? resolve(boundPort) : reject(error)));
  });
  const member: ClusterMember = { instanceId: randomUUID(), endpoint: { host, port }, leader: false, alive: true };
  cluster.members.add(member);
  const makeLeader = (): void => {
    for (const other of cluster.members) other.leader = false;
    member.leader = true;
  };
  if (role === 'leader') makeLeader();

  const node: NodeContext = {
    log: cluster.log,
    serverVersion: options.serverVersion ?? FAKE_SERVER_VERSION,
    isLeader: () => member.leader,
    leaderEndpoint: () => [...cluster.members].find((candidate) => candidate.leader && candidate.alive)?.endpoint,
    delay: () => delay,
    trackCall: (end) => {
      openCalls.add(end);
      return () => openCalls.delete(end);
    },
  };

  const received: Record<FakeMethod, number> = {
    'Streams.Read': 0,
    'Streams.Append': 0,
    'Streams.BatchAppend': 0,
    'Streams.Delete': 0,
    'Streams.Tombstone': 0,
    'Gossip.Read': 0,
    'ServerFeatures.GetSupportedMethods': 0,
  };
  addServices(server, node, cluster, options.advertiseBatchAppend ?? true, (method) => {
    received[method] += 1;
  });

  const endOpenCalls = (): void => {
    for (const end of [...openCalls]) end();
    openCalls.clear();
  };
  let closed = false;
  let offline = false;
  const dropAll = async (): Promise<void> => {
    endOpenCalls();
    // Let the statuses reach the wire before the connections go.
    await new Promise((resolve) => setImmediate(resolve));
    server.drain(`${host}:${port}`, 0);
    await new Promise((resolve) => setTimeout(resolve, 10));
  };
  const handle: FakeEventStoreDb = {
    url: `esdb://${host}:${port}?tls=false`,
    host,
    port,
    backdoor: backdoorOf(cluster.log),
    close: async () => {
      if (closed) return;
      closed = true;
      member.alive = false;
      member.leader = false;
      endOpenCalls();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    dropConnections: () => dropAll(),
    goOffline: async () => {
      if (closed) throw new Error('goOffline: the fake EventStoreDB is closed');
      if (offline) return;
      offline = true;
      member.alive = false;
      await dropAll();
      server.unbind(`${host}:${port}`);
    },
    comeBack: async () => {
      if (closed) throw new Error('comeBack: the fake EventStoreDB is closed');
      if (!offline) return;
      await new Promise<void>((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, boundPort) => {
          if (error !== null) reject(new Error(`comeBack: could not listen on ${host}:${port} again: ${error.message}`));
          else if (boundPort !== port) reject(new Error(`comeBack: listened on ${boundPort} instead of ${port}`));
          else resolve();
        });
      });
      offline = false;
      member.alive = true;
    },
    setDelay: (ms, delayOptions) => {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`setDelay: ${ms} is not a non-negative number of milliseconds`);
      delay = { ms, applyBeforeDelay: delayOptions?.applyBeforeDelay ?? false };
    },
    setLeader: (isLeader) => {
      if (isLeader) makeLeader();
      else member.leader = false;
    },
    isLeader: () => member.leader,
    openCalls: () => openCalls.size,
    callsReceived: () => ({ ...received }),
  };
  clusters.set(handle, cluster);
  return handle;
}

function addServices(server: Server, node: NodeContext, cluster: Cluster, advertiseBatchAppend: boolean, count: (method: FakeMethod) => void): void {
  // The generated service definitions type their handlers loosely; each handler below is
  // typed by the request and response classes of its method.
  const streams: UntypedServiceImplementation = {
    read: (call: Parameters<typeof handleRead>[1]) => {
      count('Streams.Read');
      handleRead(node, call);
    },
    append: (call: Parameters<typeof handleAppend>[1], callback: Parameters<typeof handleAppend>[2]) => {
      count('Streams.Append');
      handleAppend(node, call, callback);
    },
    batchAppend: (call: Parameters<typeof handleBatchAppend>[1]) => {
      count('Streams.BatchAppend');
      handleBatchAppend(node, call);
    },
    delete: (call: Parameters<typeof handleDelete>[1], callback: Parameters<typeof handleDelete>[2]) => {
      count('Streams.Delete');
      handleDelete(node, call, callback);
    },
    tombstone: (call: Parameters<typeof handleTombstone>[1], callback: Parameters<typeof handleTombstone>[2]) => {
      count('Streams.Tombstone');
      handleTombstone(node, call, callback);
    },
  };
  server.addService(streamsGrpc.StreamsService, streams);

  server.addService(featuresGrpc.ServerFeaturesService, {
    getSupportedMethods: (_call: unknown, callback: (error: null, response: InstanceType<typeof featuresPb.SupportedMethods>) => void) => {
      count('ServerFeatures.GetSupportedMethods');
      const response = new featuresPb.SupportedMethods();
      response.setEventStoreServerVersion(node.serverVersion);
      const method = (service: string, name: string, features: string[] = []): InstanceType<typeof featuresPb.SupportedMethod> => {
        const supported = new featuresPb.SupportedMethod();
        supported.setServiceName(service.toLowerCase());
        supported.setMethodName(name.toLowerCase());
        supported.setFeaturesList(features);
        return supported;
      };
      const methods = [
        method(STREAMS_SERVICE, 'Read', ['position', 'events']),
        method(STREAMS_SERVICE, 'Append'),
        method(STREAMS_SERVICE, 'Delete'),
        method(STREAMS_SERVICE, 'Tombstone'),
        method(GOSSIP_SERVICE, 'Read'),
        method(FEATURES_SERVICE, 'GetSupportedMethods'),
      ];
      if (advertiseBatchAppend) methods.push(method(STREAMS_SERVICE, 'BatchAppend', ['deadline_duration']));
      response.setMethodsList(methods);
      callback(null, response);
    },
  });

  server.addService(gossipGrpc.GossipService, {
    read: (_call: unknown, callback: (error: null, response: InstanceType<typeof gossipPb.ClusterInfo>) => void) => {
      count('Gossip.Read');
      const info = new gossipPb.ClusterInfo();
      const now = ticksSinceEpoch(new Date());
      info.setMembersList(
        [...cluster.members].map((candidate) => {
          const memberInfo = new gossipPb.MemberInfo();
          memberInfo.setInstanceId(uuidMessage(candidate.instanceId, true));
          memberInfo.setTimeStamp(now);
          memberInfo.setState(candidate.leader ? VNodeState.leader : VNodeState.follower);
          memberInfo.setIsAlive(candidate.alive);
          const endpoint = new gossipPb.EndPoint();
          endpoint.setAddress(candidate.endpoint.host);
          endpoint.setPort(candidate.endpoint.port);
          memberInfo.setHttpEndPoint(endpoint);
          return memberInfo;
        }),
      );
      callback(null, info);
    },
  });
}

function copyOf(record: LogRecord): BackdoorRecord {
  return { ...record, data: Buffer.from(record.data), metadata: Buffer.from(record.metadata) };
}

function proposed(event: RawEvent): ProposedEvent {
  return {
    id: event.id,
    type: event.type,
    contentType: event.contentType ?? 'application/json',
    data: Buffer.from(event.data),
    metadata: Buffer.from(event.metadata ?? new Uint8Array()),
  };
}

function backdoorOf(log: EventLog): FakeEventStoreDbBackdoor {
  return {
    records: () => log.all().map(copyOf),
    streamRecords: (stream) =>
      log
        .all()
        .filter((record) => record.stream === stream)
        .sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0))
        .map(copyOf),
    recordAt: (position) => {
      const found = log.all().find((record) => record.position === position);
      return found === undefined ? undefined : copyOf(found);
    },
    endPosition: () => log.endPosition(),
    replaceData: (position, data) => copyOf(log.replaceRecord(position, { data: Buffer.from(data) })),
    replaceMetadata: (position, metadata) => copyOf(log.replaceRecord(position, { metadata: Buffer.from(metadata) })),
    replaceRecord: (position, change) =>
      copyOf(
        log.replaceRecord(position, {
          ...change,
          ...(change.data === undefined ? {} : { data: Buffer.from(change.data) }),
          ...(change.metadata === undefined ? {} : { metadata: Buffer.from(change.metadata) }),
        }),
      ),
    deleteRecord: (position) => copyOf(log.deleteRecord(position)),
    moveRecord: (from, to) => copyOf(log.moveRecord(from, to)),
    insertRecord: (position, stream, revision, event) => copyOf(log.insertRecord({ position, stream, revision, created: log.now(), ...proposed(event) })),
    appendRaw: (stream, events, appendOptions) => log.appendRaw(stream, events.map(proposed), appendOptions?.firstRevision).map(copyOf),
  };
}
