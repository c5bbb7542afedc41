/**
 * An operator settles memory from the CLI (`ledgerclaw memory resolve | confirm | retire`):
 * find the scope that holds the key, plan on the memory actor's stored state
 * (settle-conflict.ts), and send the plan through the data directory's writer (the running
 * runtime's control socket, or this process when nothing runs; runtime/control/actor-commands.ts).
 *
 * The commands are signed `cli`, or `user:<id>` when the operator says whom they act for
 * (`--as U123`): confirming a fact makes it a user's word, so `confirm` needs that person.
 */
import type { AnyActorKind } from '../../actors/actor-kind.js';
import { homeGroupId } from '../../actors/group.js';
import type { MemoryContext } from '../../actors/memory.js';
import type { EventCatalogue } from '../../events/catalogue.js';
import { StoreNotFoundError } from '../../events/errors.js';
import type { Projection } from '../../projections/projection.js';
import { openActorRuntime } from '../actor-runtime.js';
import type { Config } from '../config.js';
import { CLI_ACTOR, openActorCommands } from '../control/actor-commands.js';
import { openEventStore } from '../open-store.js';
import {
  applySettlement,
  describeSettlement,
  keepByAge,
  planConfirm,
  planResolve,
  planRetire,
  SettlementRefusedError,
  type SettleOutcome,
  type SettleProblem,
} from './settle-conflict.js';

const MEMORY_KIND = 'memory';
const STREAM_PREFIX = `${MEMORY_KIND}-`;
const PAGE_SIZE = 500;

export type OperatorSettlement =
  | { readonly type: 'resolve'; readonly key: string; readonly keep: 'old' | 'new' | 'none' }
  | { readonly type: 'confirm'; readonly key: string }
  | { readonly type: 'retire'; readonly key: string; readonly reason: string };

export interface OperatorSettleOptions {
  readonly config: Config;
  readonly kinds: readonly AnyActorKind[];
  readonly catalogue: EventCatalogue;
  /** The read models brought up to date when this process writes (memory show reads them). */
  readonly readModels: readonly Projection[];
  readonly request: OperatorSettlement;
  /** `group.<id>` or `user.<id>`; found from the key when null. */
  readonly scope: string | null;
  /** The Slack user the operator acts for; required to confirm. */
  readonly onBehalfOf: string | null;
  /** `ledgerclaw memory resolve`, written into the writer lock when this process takes it. */
  readonly commandName: string;
}

/** Why nothing was settled; `problem` says which kind of wrong it was. */
export class SettleError extends Error {
  override readonly name = 'SettleError';
  constructor(
    readonly problem: SettleProblem | 'not-a-user' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

/** The scope a `--group` names: a thread's memory is its channel's. */
export function groupScope(groupId: string): string {
  return `group.${homeGroupId(groupId)}`;
}

/** Settles as asked, and says what changed (one line). Throws SettleError when nothing could be. */
export async function settleAsOperator(options: OperatorSettleOptions): Promise<string> {
  const { request } = options;
  if (request.type === 'confirm' && options.onBehalfOf === null) {
    throw new SettleError('not-a-user', 'only a user can confirm a fact (it becomes their word): say whom you confirm it for with --as <Slack user id>');
  }
  const by = options.onBehalfOf === null ? CLI_ACTOR : `user:${options.onBehalfOf}`;
  const { scope, outcome } = await readMemory(options, async (memories) => {
    const scope = options.scope ?? (await locateScope(memories, request));
    const memory = await memories.load(scope);
    return { scope, outcome: planOn(memory, request, by) };
  });
  if (!outcome.ok) throw new SettleError(outcome.problem, outcome.reason);

  const commands = await openActorCommands({
    config: options.config,
    kinds: options.kinds,
    catalogue: options.catalogue,
    commandName: options.commandName,
    readModels: options.readModels,
  });
  try {
    await applySettlement(outcome, (planned) =>
      commands.send(MEMORY_KIND, scope, planned.command, {
        key: planned.commandId,
        ...(options.onBehalfOf === null ? {} : { onBehalfOf: options.onBehalfOf }),
      }),
    );
  } catch (error) {
    if (error instanceof SettlementRefusedError) throw new SettleError('refused', `the memory of ${scope} refused it: ${error.reason}`);
    throw error;
  } finally {
    await commands.close();
  }
  return `${scope}: ${describeSettlement(outcome, by)}`;
}

function planOn(memory: MemoryContext, request: OperatorSettlement, by: string): SettleOutcome {
  switch (request.type) {
    case 'resolve': {
      const keep = keepByAge(memory, request.key, request.keep);
      if (keep !== null && typeof keep === 'object') return keep;
      return planResolve(memory, { key: request.key, keep, by });
    }
    case 'confirm':
      return planConfirm(memory, { key: request.key, by });
    case 'retire':
      return planRetire(memory, { key: request.key, reason: request.reason, by });
  }
}

interface MemoryScopes {
  list(): Promise<string[]>;
  load(scope: string): Promise<MemoryContext>;
}

/** Reads the memory actors' stored state without taking the writer lock. */
async function readMemory<T>(options: OperatorSettleOptions, use: (memories: MemoryScopes) => Promise<T>): Promise<T> {
  let opened;
  try {
    opened = await openEventStore(options.config, { mode: 'reader', actor: CLI_ACTOR, catalogue: options.catalogue });
  } catch (error) {
    if (error instanceof StoreNotFoundError) throw new SettleError('no-such-key', `nothing is recorded in ${options.config.dataDir} yet; there is no memory to settle`);
    throw error;
  }
  try {
    const actorRuntime = await openActorRuntime({ store: opened.store, config: options.config, readOnly: true, kinds: options.kinds });
    try {
      return await use({
        list: async () => {
          const scopes: string[] = [];
          for (let after: string | undefined; ; ) {
            const page = await opened.store.listStreams({ prefix: STREAM_PREFIX, ...(after === undefined ? {} : { after }), limit: PAGE_SIZE });
            scopes.push(...page.map((stream) => stream.streamId.slice(STREAM_PREFIX.length)));
            if (page.length < PAGE_SIZE) return scopes;
            after = page[page.length - 1]!.streamId;
          }
        },
        load: async (scope) => (await actorRuntime.host.load(MEMORY_KIND, scope)).context,
      });
    } finally {
      await actorRuntime.close();
    }
  } finally {
    await opened.close();
  }
}

/**
 * The one scope the key is about: the one with an open conflict on it (resolve), or an
 * active fact on it (confirm, retire). None or several is an error naming what to add.
 */
async function locateScope(memories: MemoryScopes, request: OperatorSettlement): Promise<string> {
  const holding: string[] = [];
  const mentioning: string[] = [];
  for (const scope of await memories.list()) {
    const memory = await memories.load(scope);
    if (!memory.facts.some((fact) => fact.key === request.key)) continue;
    mentioning.push(scope);
    const holds =
      request.type === 'resolve'
        ? memory.conflicts.some((conflict) => conflict.key === request.key)
        : memory.facts.some((fact) => fact.key === request.key && fact.status === 'active');
    if (holds) holding.push(scope);
  }
  if (holding.length === 1) return holding[0]!;
  if (holding.length > 1) {
    throw new SettleError('ambiguous', `${request.key} is ${request.type === 'resolve' ? 'in conflict' : 'held'} in ${holding.length} scopes (${holding.join(', ')}); say which with --group or --scope`);
  }
  if (mentioning.length === 0) throw new SettleError('no-such-key', `no memory holds a fact on ${request.key}`);
  if (request.type === 'resolve') throw new SettleError('no-open-conflict', `${request.key} has no open conflict (it is in ${mentioning.join(', ')})`);
  throw new SettleError('no-such-key', `${request.key} has no active fact (every fact on it is superseded or retired, in ${mentioning.join(', ')})`);
}
