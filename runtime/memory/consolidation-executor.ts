/**
 * The `memory.consolidate` effect: answers a group's open consolidation request with one
 * model call through the model gateway (the host's key; the group's daily budget), and
 * records what the model distilled: each fact as a `recordFact` command to the group's
 * memory actor, then the daily log and `memory.consolidated` in one command.
 *
 * Every step is a command to the memory actor whose id derives from the request id, so a
 * step repeated after a restart is stored once, and each step starts from what the actor
 * has recorded (see actors/memory-consolidation.ts):
 * - an answer recorded and not yet turned into facts is read back, never asked for again;
 * - an attempt started and neither answered nor failed was cut off by a crash: it counts as
 *   failed, so a request whose answering crashes the runtime every time still ends;
 * - a failed attempt (the API's error, a malformed answer) is recorded with its reason and
 *   retried after a backoff, until `maxAttempts` have failed: then the request ends as
 *   `memory.consolidation_failed`, and the trigger's next window may ask again.
 * A group over its daily budget, or a runtime with no model key, fails the request at once.
 * An error that records nothing (the store refusing a write) is tried again as often as
 * an attempt; past that the effect fails and the next start resumes the request.
 */
import type { ConsolidationCommand } from '../../actors/memory-consolidation.js';
import { defer, firstValueFrom, retry, Subject, takeUntil, throwError, timer } from 'rxjs';
import { CONSOLIDATION_ANSWER_LIMIT } from '../../events/catalogue/daily-log.js';
import type { EventStore } from '../../events/port.js';
import { consolidationPrompt, readConsolidationAnswer, type ConsolidationInput } from '../../projections/consolidation.js';
import type { EffectContext, EffectExecutorsFor, EffectParams } from '../actor-host/effects.js';
import type { ModelGateway } from '../gateways/model-gateway.js';
import type { Logger } from '../logger.js';
import { readConsolidationWindow } from './consolidation-window.js';

export interface ConsolidationSettings {
  /** The model every consolidation call uses (`agent.model`), and its output cap (`agent.maxTokens`). */
  readonly model: string;
  readonly maxTokens: number;
  /** Failed attempts before a request ends as failed (`memory.consolidationMaxAttempts`, default 3). */
  readonly maxAttempts: number;
  /** The wait before the second attempt; doubled for each one after (`memory.consolidationRetryDelayMs`). */
  readonly retryDelayMs: number;
  /** The group's daily token budget (`budgets.groupDailyTokens`). */
  readonly groupDailyTokens: number;
}

export interface ConsolidationExecutorDeps {
  readonly store: EventStore;
  readonly model: Pick<ModelGateway, 'call' | 'unavailableReason'>;
  /** Today's budgeted tokens of a group, runs and consolidations together (runtime/runs/usage-ledger.ts). */
  readonly spentToday: (groupId: string) => Promise<number>;
  readonly settings: ConsolidationSettings;
  readonly logger?: Logger;
}

/** An attempt that failed and was recorded as failed: worth another after the backoff. */
class AttemptFailed extends Error {
  override readonly name = 'AttemptFailed';
}

type Context = EffectContext;
type Params = EffectParams<'memory.consolidate'>;
type StepOptions = { readonly commandId: string; readonly actor: string };
/** A consolidation step's command to the memory actor. */
type MemoryStep = ConsolidationCommand;

const ACTOR = 'agent:consolidation';
const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 4_000);

export class ConsolidationExecutor {
  private readonly stopped = new Subject<void>();
  /**
   * The requests being answered in this process. A request recorded while the runtime
   * starts asks for the effect twice (its event, and the owed effects resumed from state):
   * the second must not pay for a second model call.
   */
  private readonly answering = new Set<string>();

  constructor(private readonly deps: ConsolidationExecutorDeps) {}

  readonly effects: EffectExecutorsFor<'memory.consolidate'> = {
    'memory.consolidate': (params, context) => this.answer(params, context),
  };

  /** Ends the backoff waits: a request still open is resumed by the next start. */
  stop(): void {
    this.stopped.next();
  }

  /** Takes the request from where its recorded steps left off to consolidated or failed. */
  async answer(params: Params, context: Context): Promise<void> {
    if (this.answering.has(params.requestId)) return;
    this.answering.add(params.requestId);
    try {
      await this.answerOnce(params, context);
    } finally {
      this.answering.delete(params.requestId);
    }
  }

  private async answerOnce(params: Params, context: Context): Promise<void> {
    const { retryDelayMs, maxAttempts } = this.deps.settings;
    // A failed attempt is recorded, and bounded by the actor's count. Anything else (the
    // store refusing a write, say) records nothing: it is tried again as often, then the
    // effect fails, and the request waits for the next start to resume it.
    let unrecordedFailures = 0;
    const attempts = defer(() => this.step(params, context)).pipe(
      retry({
        delay: (error: unknown, retryCount) => {
          if (!(error instanceof AttemptFailed)) {
            unrecordedFailures += 1;
            if (unrecordedFailures >= maxAttempts) return throwError(() => error);
            this.deps.logger?.warn({ scope: params.scope, requestId: params.requestId, err: error }, 'a consolidation step failed; trying again');
          }
          return timer(retryDelayMs * 2 ** Math.min(retryCount - 1, 10)).pipe(takeUntil(this.stopped));
        },
      }),
      takeUntil(this.stopped),
    );
    await firstValueFrom(attempts, { defaultValue: undefined });
  }

  /** One step from the recorded state: resolves once the request is closed, throws AttemptFailed to be retried. */
  private async step({ scope, requestId }: Params, context: Context): Promise<void> {
    const memory = (await context.load('memory', scope)).context;
    const open = memory.consolidation;
    if (!open || open.requestId !== requestId) return; // closed already
    const send = (command: MemoryStep, commandId: string) =>
      this.sendStep(context, scope, command, { commandId: `consolidation:${requestId}:${commandId}`, actor: ACTOR });
    const fail = async (attempt: number, reason: string): Promise<never> => {
      await send({ type: 'failConsolidationAttempt', requestId, attempt, reason }, `attempt:${attempt}:failed`);
      this.deps.logger?.warn({ scope, requestId, attempt, reason }, 'a consolidation attempt failed');
      throw new AttemptFailed(reason);
    };
    const groupId = scope.slice('group.'.length);
    const input = async (attempt: number): Promise<ConsolidationInput> => ({
      scope,
      requestId,
      attempt,
      // The window is on its conversation's stream (a thread's own); what it teaches is the scope's.
      messages: await readConsolidationWindow(this.deps.store, { conversationId: open.conversationId, messagesSince: open.messagesSince, throughMessageId: open.throughMessageId }),
      knownFacts: memory.facts.filter((fact) => fact.status === 'active'),
    });

    const recorded = open.answer;
    if (recorded) {
      return this.record(context, scope, requestId, recorded.text, await input(recorded.attempt)).catch((error: unknown) => fail(recorded.attempt, reasonOf(error)));
    }
    if (open.attemptsStarted > open.attemptsFailed) {
      await fail(open.attemptsStarted, `attempt ${open.attemptsStarted} did not finish: the runtime stopped during it`);
    }
    const refusal = await this.refusal(groupId, open.attemptsFailed, open.lastFailure);
    if (refusal !== null) {
      await send({ type: 'failConsolidation', requestId, reason: refusal }, 'failed');
      this.deps.logger?.warn({ scope, requestId, reason: refusal }, 'a consolidation request failed');
      return;
    }

    const attempt = open.attemptsStarted + 1;
    await send({ type: 'startConsolidationAttempt', requestId, attempt }, `attempt:${attempt}:start`);
    let window: ConsolidationInput;
    let prompt: string;
    try {
      window = await input(attempt);
      prompt = consolidationPrompt(window);
    } catch (error) {
      return fail(attempt, reasonOf(error));
    }
    const { model, maxTokens } = this.deps.settings;
    const result = await this.deps.model.call(
      `consolidation-${requestId}-${attempt}`,
      { model, max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }], stream: true },
      { model, maxTokens },
      () => {},
    );
    if (result.status === 'refused') return fail(attempt, `the model gateway refused the call: ${result.reason}`);
    if (result.status === 'api_error') return fail(attempt, `the model API answered ${result.httpStatus} ${result.error.type}: ${result.error.message}`);
    const { record } = result;
    const text = record.output.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
    const answer = text.slice(0, CONSOLIDATION_ANSWER_LIMIT);
    await send(
      {
        type: 'noteConsolidationAnswer',
        requestId,
        attempt,
        call: { model: record.model, tokens: record.tokens, costUsd: record.costUsd, latencyMs: record.latencyMs, httpAttempts: record.attempts, stopReason: record.stopReason },
        answer,
      },
      `attempt:${attempt}:answer`,
    );
    // Any error turning the answer into records fails the attempt, so no answer can hold the request open forever.
    return this.record(context, scope, requestId, answer, window).catch((error: unknown) => fail(attempt, reasonOf(error)));
  }

  /** Why no further attempt may be made (too many failed, over budget, no key), or null. */
  private async refusal(groupId: string, failed: number, lastFailure: string | null): Promise<string | null> {
    const { maxAttempts, groupDailyTokens } = this.deps.settings;
    if (failed >= maxAttempts) return `gave up after ${failed} failed attempt${failed === 1 ? '' : 's'} (memory.consolidationMaxAttempts); the last: ${lastFailure ?? 'unknown'}`;
    const unavailable = this.deps.model.unavailableReason;
    if (unavailable !== null) return unavailable;
    const spent = await this.deps.spentToday(groupId);
    if (spent >= groupDailyTokens) return `group ${groupId} has spent ${spent} of its ${groupDailyTokens} tokens today (budgets.groupDailyTokens); no consolidation until tomorrow`;
    return null;
  }

  /**
   * Turns a recorded answer into facts, the daily log and `memory.consolidated`. A malformed
   * answer throws ConsolidationError (recorded as the attempt's failure by the caller). A
   * fact the memory actor refuses (a duplicate of an active fact) is left out, not a failure.
   */
  private async record(context: Context, scope: string, requestId: string, answer: string, input: ConsolidationInput): Promise<void> {
    const result = readConsolidationAnswer(answer, input);
    const factIds: string[] = [];
    for (const [index, fact] of result.facts.entries()) {
      const sent = await context.send('memory', scope, { type: 'recordFact', fact }, { commandId: `consolidation:${requestId}:attempt:${input.attempt}:fact:${index}`, actor: ACTOR });
      if (sent.status === 'accepted') factIds.push(fact.id);
      else this.deps.logger?.info({ scope, requestId, factId: fact.id, reason: sent.reason }, 'the memory actor did not take a consolidated fact');
    }
    const { day, summary, writtenBy } = result.dailyLog;
    await this.sendStep(
      context,
      scope,
      { type: 'completeConsolidation', requestId, factIds, dailyLog: { day, summary, writtenBy } },
      { commandId: `consolidation:${requestId}:complete`, actor: ACTOR },
    );
    this.deps.logger?.info({ scope, requestId, facts: factIds.length, day }, 'consolidated');
  }

  /** Sends one step; a refusal means the recorded state moved under us (another process): an error. */
  private async sendStep(context: Context, scope: string, command: MemoryStep, options: StepOptions): Promise<void> {
    const sent = await context.send('memory', scope, command, options);
    if (sent.status !== 'accepted') throw new ConsolidationStepRefused(`the memory actor of ${scope} refused ${command.type}: ${sent.reason}`);
  }
}

export class ConsolidationStepRefused extends Error {
  override readonly name = 'ConsolidationStepRefused';
}
