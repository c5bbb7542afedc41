import { describe, expect, it } from 'vitest';
import { SUPERVISOR_ID } from '../../../actors/supervisor.js';
import { actorWiring } from '../../../runtime/actor-wiring.js';
import type { SendResult } from '../../../runtime/actor-host/actor-host.js';
import type { CausingEvent, EffectContext, EffectParams, LoadedActor } from '../../../runtime/actor-host/effects.js';
import { grantSlot } from '../../../runtime/workflows/grant-slot.js';
import { releaseSlot } from '../../../runtime/workflows/release-slot.js';
import { runWorkflow, workflowCommandId } from '../../../runtime/workflows/run-workflow.js';
import { eventIdFor } from '../../../events/ids.js';
import { WorkflowRefusedError } from '../../../runtime/workflows/workflow.js';
import type { ActorSpec } from '../../support/actor-spec.js';
import { GROUP, RUN, run, supervisor } from './fixtures.js';

const CAUSE: CausingEvent = { id: '0b5e6a3c-6a4e-4c55-9d55-3f1b2a7c9e01', type: 'run.failed', revision: 4n, correlationId: 'corr-1' };
const slot: EffectParams<'run.releaseSlot'> = { runId: RUN, groupId: GROUP };

interface Sent {
  readonly to: string;
  readonly type: string;
  readonly commandId: string | undefined;
}

/**
 * An effect's view of a world of actors, without a host: `load` reads the current spec of an
 * actor, `send` answers as `answer` says (and may move the world, as a racing actor would).
 */
function world(actors: Record<string, ActorSpec>, answer: (to: string, type: string, actors: Record<string, ActorSpec>) => SendResult, resumed = false) {
  const cause = resumed ? undefined : CAUSE;
  const sent: Sent[] = [];
  const context: EffectContext = {
    key: cause ? `${cause.id}:0` : `run-${RUN}@4:pending:0`,
    actor: { kind: 'run', id: RUN, streamId: `run-${RUN}` },
    cause,
    load: (async (kind: string, id: string) => {
      const actor = actors[`${kind}/${id}`];
      if (!actor) throw new Error(`the test world has no ${kind}/${id}`);
      return { state: actor.state, context: actor.context } as LoadedActor<never>;
    }) as EffectContext['load'],
    send: async (kind, id, command, options) => {
      sent.push({ to: `${String(kind)}/${id}`, type: command.type, commandId: options?.commandId });
      return answer(`${String(kind)}/${id}`, command.type, actors);
    },
  };
  return { context, sent };
}

const accepted: SendResult = { status: 'accepted', events: [], revision: 0n, state: 'x', duplicate: false };
const rejected = (reason: string): SendResult => ({ status: 'rejected', reason, state: 'x' });

describe('the workflow runner', () => {
  it('keys every command by the causing event, so a repeated effect sends the same command ids (the host stores each once)', async () => {
    const first = world({}, () => accepted);
    const again = world({}, () => accepted);
    // Through the wiring the runtime is assembled with: its commands were keyed by fresh uuids before.
    await actorWiring['run.releaseSlot'](slot, first.context);
    await actorWiring['run.releaseSlot'](slot, again.context);
    expect(first.sent).toEqual([{ to: `supervisor/${SUPERVISOR_ID}`, type: 'releaseRun', commandId: `workflow:run.releaseSlot:${eventIdFor(CAUSE.id, 'supervisor', SUPERVISOR_ID, 'releaseRun')}` }]);
    expect(again.sent).toEqual(first.sent);
  });

  it('keys the commands of an effect resumed after a restart (no causing event) by its pending key', async () => {
    const resumed = world({}, () => accepted, true);
    await runWorkflow(releaseSlot)(slot, resumed.context);
    expect(resumed.sent[0]?.commandId).toBe(`workflow:run.releaseSlot:${eventIdFor(`run-${RUN}@4:pending:0`, 'supervisor', SUPERVISOR_ID, 'releaseRun')}`);
  });

  it('keeps a resumed command id (also its correlation id) within the 200 characters an envelope allows, for a run id of 200', () => {
    const longRun = 'r'.repeat(200);
    const id = workflowCommandId('run.reportOutcome', { cause: undefined, key: `run-${longRun}@12:pending:4` }, { kind: 'group', id: 'g'.repeat(200), command: { type: 'runFinished', runId: longRun, outcome: 'failed' } });
    expect(id.length).toBeLessThanOrEqual(200);
  });

  it('gives different commands of one effect, and one command of different causes, different ids', () => {
    const release = { kind: 'supervisor', id: SUPERVISOR_ID, command: { type: 'releaseRun', runId: RUN } } as const;
    const grant = { kind: 'run', id: RUN, command: { type: 'grantSlot' } } as const;
    const ofCause = { cause: CAUSE, key: `${CAUSE.id}:0` };
    expect(workflowCommandId('supervisor.grantSlot', ofCause, release)).not.toBe(workflowCommandId('supervisor.grantSlot', ofCause, grant));
    expect(workflowCommandId('supervisor.grantSlot', ofCause, grant)).not.toBe(workflowCommandId('supervisor.grantSlot', { cause: { ...CAUSE, id: 'another-event' }, key: 'another-event:0' }, grant));
  });

  it('counts a refused command whose target shows the step done as done, and sends nothing more', async () => {
    const { context, sent } = world({ [`supervisor/${SUPERVISOR_ID}`]: supervisor.released(RUN) }, () => rejected('not active'));
    await expect(runWorkflow(releaseSlot)(slot, context)).resolves.toBeUndefined();
    expect(sent).toHaveLength(1);
  });

  it('decides again on fresh state when the target moved under the decision: a run that ended before its grant gets its slot freed', async () => {
    const actors: Record<string, ActorSpec> = { [`run/${RUN}`]: run.queued(), [`supervisor/${SUPERVISOR_ID}`]: supervisor.active(RUN) };
    const { context, sent } = world(actors, (to, type, state) => {
      if (type !== 'grantSlot') return accepted;
      // The run fails between being read and being granted.
      state[`run/${RUN}`] = run.failed();
      return rejected('run r-7 has finished');
    });
    await runWorkflow(grantSlot)(slot, context);
    expect(sent.map(({ to, type }) => `${type} → ${to}`)).toEqual([`grantSlot → run/${RUN}`, `releaseRun → supervisor/${SUPERVISOR_ID}`]);
  });

  it('fails, naming the command and the reason, when a command is refused on fresh state too', async () => {
    const { context, sent } = world({ [`supervisor/${SUPERVISOR_ID}`]: supervisor.active(RUN) }, () => rejected('the supervisor is stopping'));
    const failure = runWorkflow(releaseSlot)(slot, context);
    await expect(failure).rejects.toThrow(WorkflowRefusedError);
    await expect(failure).rejects.toThrow(`run.releaseSlot: 'releaseRun' to supervisor ${SUPERVISOR_ID} was refused: the supervisor is stopping`);
    expect(sent).toHaveLength(2);
  });
});
