/**
 * A host is refused at construction when an effect its kinds declare has no executor:
 * before this, the host logged "no executor is registered" when the effect came due, and
 * the message (a memory conflict, an approval request) reached nobody.
 */
import { describe, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import { MemoryBackend } from '../../../events/adapters/memory.js';
import { createEventStore } from '../../../events/event-store.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { MissingEffectExecutorError, missingEffectExecutors } from '../../../runtime/actor-host/effects.js';
import { actorWiring } from '../../../runtime/actor-wiring.js';
import { counterCatalogue, counterKind } from '../../support/counter-kind.js';

const store = () => createEventStore(new MemoryBackend(), counterCatalogue);

describe('an actor host checks at start that every declared effect has an executor', () => {
  it('refuses a host whose executor map lacks a declared effect, naming <kind>.<effect>', () => {
    expect(() => new ActorHost({ store: store(), kinds: [counterKind], effects: {} })).toThrow(MissingEffectExecutorError);
    expect(() => new ActorHost({ store: store(), kinds: [counterKind] })).toThrow(/no executor is registered for the effect counter\.notifyLimit/);
  });

  it("refuses the runtime's kinds with only the actor wiring, naming every effect left without an executor", () => {
    let refusal: unknown;
    try {
      new ActorHost({ store: store(), kinds: actorKinds, effects: actorWiring });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(MissingEffectExecutorError);
    expect((refusal as MissingEffectExecutorError).missing).toEqual([
      'group.acknowledgeMessage',
      'group.postReply',
      'task.notifyAdmins',
      'memory.notifyConflict',
      'memory.consolidate',
      'approval.notifyApprovers',
      'approval.awaitExpiry',
      'approval.reportDecision',
      'approval.executeAction',
      'run.startContainer',
      'run.reconcileContainer',
    ]);
  });

  it('starts a host that has an executor for every declared effect', async () => {
    const host = new ActorHost({ store: store(), kinds: [counterKind], effects: { 'counter.notifyLimit': async () => {} } });
    await host.stop();
  });

  it('counts a key whose value is not a function as missing', () => {
    expect(missingEffectExecutors([counterKind], { 'counter.notifyLimit': undefined })).toEqual(['counter.notifyLimit']);
  });

  it('lets a read-only host (which never runs effects) and a host that opts out start without them', async () => {
    const reader = new ActorHost({ store: store(), kinds: [counterKind], readOnly: true });
    const partial = new ActorHost({ store: store(), kinds: [counterKind], requireAllEffects: false });
    await Promise.all([reader.stop(), partial.stop()]);
  });
});
