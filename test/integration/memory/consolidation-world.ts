/**
 * A runtime's consolidation on a real SQLite store, for the consolidation tests and the
 * bench: the actor host with the consolidation executor as its only effect, the trigger,
 * the run-usage read model the budget reads, and the model gateway pointed at the scripted
 * fake Anthropic API. `restart()` opens a new host and executor on the same store, as a
 * new process would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { openReadModel } from '../../../projections/read-model-files.js';
import { runUsageProjection } from '../../../projections/run-usage.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import type { EffectExecutor, EffectParams } from '../../../runtime/actor-host/effects.js';
import { ConsolidationTrigger } from '../../../runtime/consolidation-trigger.js';
import { ModelGateway } from '../../../runtime/gateways/model-gateway.js';
import { DEFAULT_PRICES } from '../../../runtime/gateways/pricing.js';
import { ConsolidationExecutor, type ConsolidationSettings } from '../../../runtime/memory/consolidation-executor.js';
import { UsageLedger } from '../../../runtime/runs/usage-ledger.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';

export const MODEL = 'claude-sonnet-5-5';
const KEY = 'sk-consolidation-test';

export type ConsolidateExecutor = EffectExecutor<EffectParams<'memory.consolidate'>>;

export interface ConsolidationWorldOptions {
  /** Where its temporary directory is made (removed on close); the system's by default. */
  readonly dir?: string;
  /** Use exactly this data directory, and keep it on close (a process that another one continues). */
  readonly dataDir?: string;
  readonly settings?: Partial<ConsolidationSettings>;
  /** Wraps the executor a host runs (to stop it mid-way, as a crash would). */
  readonly wrap?: (executor: ConsolidateExecutor) => ConsolidateExecutor;
  readonly spentToday?: (groupId: string) => Promise<number>;
  /** Wraps the gateway the executor calls (the bench times the model's share). */
  readonly model?: (gateway: ModelGateway) => Pick<ModelGateway, 'call' | 'unavailableReason'>;
}

export class ConsolidationWorld {
  host!: ActorHost;
  executor!: ConsolidationExecutor;
  trigger!: ConsolidationTrigger;
  private messageSeconds = 1_767_600_000;

  private constructor(
    readonly dir: string,
    readonly store: EventStore,
    readonly fake: FakeAnthropic,
    readonly gateway: ModelGateway,
    readonly projections: ProjectionHost,
    readonly usage: UsageLedger,
    private readonly options: ConsolidationWorldOptions,
  ) {}

  static async open(options: ConsolidationWorldOptions = {}): Promise<ConsolidationWorld> {
    const dir = options.dataDir ?? (await mkdtemp(join(options.dir ?? tmpdir(), 'ledgerclaw-consolidation-')));
    const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
    const store = createEventStore(backend, catalogue);
    const fake = await startFakeAnthropic({ apiKey: KEY });
    const gateway = new ModelGateway({ apiKey: KEY, baseURL: fake.url, maxRetries: 0, timeoutMs: 10_000, prices: DEFAULT_PRICES });
    const projections = new ProjectionHost({ store, projections: [runUsageProjection], dataDir: dir });
    await projections.start();
    const usage = new UsageLedger({
      store,
      dataDir: dir,
      budgets: { groupDailyTokens: 2_000_000, taskDailyTokens: 2_000_000 },
      caughtUp: (name, position) => projections.waitFor(name, position),
    });
    const world = new ConsolidationWorld(dir, store, fake, gateway, projections, usage, options);
    world.openHost(options.wrap);
    return world;
  }

  /** A new actor host and executor on the same store; the old host is left as a killed process leaves it. */
  async restart(wrap?: (executor: ConsolidateExecutor) => ConsolidateExecutor): Promise<number> {
    this.openHost(wrap);
    return this.host.resumePendingEffects();
  }

  private openHost(wrap: ((executor: ConsolidateExecutor) => ConsolidateExecutor) | undefined): void {
    this.executor = new ConsolidationExecutor({
      store: this.store,
      model: this.options.model ? this.options.model(this.gateway) : this.gateway,
      spentToday: this.options.spentToday ?? ((groupId) => this.usage.spentToday('group', groupId)),
      settings: { model: MODEL, maxTokens: 1_024, maxAttempts: 3, retryDelayMs: 5, groupDailyTokens: 2_000_000, ...this.options.settings },
    });
    const consolidate = this.executor.effects['memory.consolidate'];
    this.host = new ActorHost({ store: this.store, kinds: actorKinds, requireAllEffects: false, effects: { 'memory.consolidate': wrap ? wrap(consolidate) : consolidate } });
    this.trigger = new ConsolidationTrigger({ store: this.store, actors: this.host, budgetTokens: 100 });
  }

  /** A group that answers mentions only, so its messages start no runs. */
  async configureGroup(groupId: string): Promise<void> {
    await this.host.send('group', groupId, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
  }

  /** A message in the group; its id. */
  async say(groupId: string, text: string, sender = 'U1'): Promise<string> {
    this.messageSeconds += 60;
    const messageId = `${this.messageSeconds}.000100`;
    const result = await this.host.send('group', groupId, { type: 'receiveMessage', messageId, sender, text, mentionsBot: false });
    if (result.status !== 'accepted') throw new Error(result.reason);
    return messageId;
  }

  async memoryEvents(groupId: string, type?: string): Promise<StoredEvent[]> {
    const events = await this.store.readStream(`memory-group.${groupId}`);
    return type ? events.filter((event) => event.type === type) : events;
  }

  /** The group's usage today under one kind of call, from the run-usage read model. */
  async usageByKind(groupId: string): Promise<{ call_kind: string; budgeted_tokens: number; cost_usd: number; model_calls: number }[]> {
    await this.projections.waitFor(runUsageProjection.name, await this.store.headPosition());
    const db = await openReadModel(this.dir, runUsageProjection.name);
    if (!db) return [];
    try {
      return await db.all<{ call_kind: string; budgeted_tokens: number; cost_usd: number; model_calls: number }>('SELECT call_kind, budgeted_tokens, cost_usd, model_calls FROM usage_by_kind WHERE owner_kind = ? AND owner_id = ? ORDER BY call_kind', ['group', groupId]);
    } finally {
      await db.close();
    }
  }

  async close(): Promise<void> {
    this.executor.stop();
    await this.host.stop();
    await this.projections.stop();
    await this.store.close();
    await this.fake.close();
    if (this.options.dataDir === undefined) await rm(this.dir, { recursive: true, force: true });
  }
}

// ---- a sample conversation and a good answer to it ----------------------------------------

export const SAMPLE_GROUP = 'T1.C1';
const CHATTER = 'We went through the pipeline, the hiring plan and the office move in some detail today. '.repeat(4);

/** A conversation over the trigger's budget (100 tokens) with facts worth keeping; their message ids. */
export async function sampleConversation(world: ConsolidationWorld, groupId = SAMPLE_GROUP): Promise<{ acme: string; wiki: string }> {
  await world.configureGroup(groupId);
  const acme = await world.say(groupId, 'Heads up: Acme confirmed they will pay our invoices net 30 from February.');
  await world.say(groupId, CHATTER, 'U2');
  const wiki = await world.say(groupId, 'The onboarding checklist lives in the wiki under People/Onboarding.');
  return { acme, wiki };
}

/** Three categorized facts from the sample conversation, and a daily log. */
export function sampleAnswer(ids: { acme: string; wiki: string }): string {
  return JSON.stringify({
    facts: [
      { key: 'vendor.acme.payment_terms', statement: 'Acme pays invoices net 30 from February.', confidence: 'agent-observed', category: 'project', source: ids.acme },
      { key: 'people.onboarding.checklist', statement: 'The onboarding checklist is in the wiki under People/Onboarding.', confidence: 'agent-observed', category: 'reference', source: ids.wiki },
      { key: 'team.planning.topics', statement: 'The team reviews the pipeline, hiring and the office move together.', confidence: 'agent-inferred', category: 'project', source: ids.wiki },
    ],
    dailyLog: 'Acme moves to net 30 in February. The onboarding checklist is in the wiki.',
  });
}

/** The model's reply: the text, with fixed usage. */
export const textReply = (answer: string) => ({ content: [{ type: 'text' as const, text: answer }], usage: { input_tokens: 900, output_tokens: 150 } });
