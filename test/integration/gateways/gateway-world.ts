/**
 * What the tool gateway tests share: a data directory with the real SQLite event store,
 * the real actor host running every kind, the real projection host building the memory
 * index (and knowledge caches, when asked) in that directory, a channel that keeps what
 * it is sent, and the gateway on top, as a runtime assembles them.
 */
import { BUILT_IN_ROLES } from '../../../runtime/agent-roles.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { knowledgeCacheProjection } from '../../../projections/knowledge-cache.js';
import { memoryIndexProjection } from '../../../projections/memory-index.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import type { Projection } from '../../../projections/projection.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { permissionsConfigSchema, type PermissionsConfig } from '../../../runtime/permissions/policy-config.js';
import type { ToolTier } from '../../../runtime/permissions/tiers.js';
import type { ChannelPost, HostToolSettings } from '../../../runtime/gateways/host-tools/host-tool.js';
import { ToolGateway, type HostToolOutcome, type OutboundChannel, type ToolCallContext, type ToolGatewayDeps } from '../../../runtime/gateways/tool-gateway.js';

export interface PostedMessage {
  readonly groupId: string;
  readonly runId: string;
  readonly callId: string;
  readonly text: string;
}

export interface GatewayWorld {
  readonly dataDir: string;
  readonly store: EventStore;
  readonly actors: ActorHost;
  readonly projections: ProjectionHost;
  readonly gateway: ToolGateway;
  /** What send_message delivered, in order. */
  readonly posted: PostedMessage[];
  /** What post_message delivered to other channels, in order. */
  readonly channelPosts: ChannelPost[];
  /** Resolves once every projection has applied everything stored so far. */
  caughtUp(): Promise<void>;
  /** A call as the run executor makes it: a tool_use id, then the run's context. */
  call(name: string, input: unknown, context: ToolCallContext, callId?: string): Promise<HostToolOutcome>;
  stop(): Promise<void>;
}

export interface GatewayWorldOptions {
  /** Knowledge sources whose caches the projection host builds (sync them before). */
  readonly knowledgeSources?: readonly string[];
  /** Runs before the projection host starts: events stored here are projected at once. */
  readonly before?: (store: EventStore, dataDir: string) => Promise<void>;
  readonly channel?: OutboundChannel;
  /** The acting tools' settings (HTTP actions, the web_fetch allowlist); none when absent. */
  readonly settings?: HostToolSettings;
  /** Where HTTP actions' header values are read; empty when absent (never the test's own environment). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The permission policy, its clock, and host tools of the test's own. */
  readonly gateway?: Pick<ToolGatewayDeps, 'permissions' | 'now' | 'tools'>;
}

let callCounter = 0;

/** A fresh tool_use id, as the model would give. */
export function nextCallId(): string {
  callCounter += 1;
  return `toolu_${String(callCounter).padStart(6, '0')}`;
}

export function runContext(overrides: Partial<ToolCallContext> & Pick<ToolCallContext, 'groupId'>): ToolCallContext {
  return { runId: `run-of-${overrides.groupId}`, conversationId: overrides.groupId, taskId: null, userId: null, isAdminGroup: false, rolesAddressingUsers: [], roles: BUILT_IN_ROLES, ...overrides };
}

export async function openGatewayWorld(options: GatewayWorldOptions = {}): Promise<GatewayWorld> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-tool-gateway-'));
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  await options.before?.(store, dataDir);
  const actors = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, defaultActor: 'runtime' });
  const projected: Projection[] = [memoryIndexProjection, ...(options.knowledgeSources ?? []).map((source) => knowledgeCacheProjection(source))];
  const projections = new ProjectionHost({ store, dataDir, projections: projected, batchSize: 100 });
  await projections.start();
  const posted: PostedMessage[] = [];
  const channelPosts: ChannelPost[] = [];
  const channel: OutboundChannel = options.channel ?? {
    post: async (message) => {
      posted.push(message);
      return { ref: `test:${message.runId}:${message.callId}` };
    },
    postToChannel: async (post) => {
      channelPosts.push(post);
      return { posted: true, ref: `test:${post.channel}:${post.key}` };
    },
  };
  const gateway = new ToolGateway({ actors, store, dataDir, channel, env: options.env ?? {}, ...(options.settings ? { settings: options.settings } : {}), ...options.gateway });
  return {
    dataDir,
    store,
    actors,
    projections,
    gateway,
    posted,
    channelPosts,
    async caughtUp() {
      const head = await store.headPosition();
      if (head === 0n) return;
      for (const projection of projected) await projections.waitFor(projection.name, head);
    },
    call: (name, input, context, callId = nextCallId()) => gateway.call(name, input, { ...context, callId }),
    async stop() {
      await gateway.close();
      await projections.stop();
      await actors.stop();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A policy under which every group may use tools up to `maxTier` without asking: for tests of what a tool does, not whether it may. */
export function permissionsAllowing(maxTier: ToolTier): PermissionsConfig {
  return permissionsConfigSchema.parse({ defaultMaxTier: maxTier });
}
