import { describe, expect, it } from 'vitest';
import { SUPERVISOR_ID } from '../../../actors/supervisor.js';
import { grantSlot } from '../../../runtime/workflows/grant-slot.js';
import { releaseSlot } from '../../../runtime/workflows/release-slot.js';
import { requestSlot } from '../../../runtime/workflows/request-slot.js';
import { workflowSpec } from '../../support/workflow-spec.js';
import { GROUP, RUN, run, supervisor } from './fixtures.js';

const slot = { runId: RUN, groupId: GROUP };
const askSlot = { kind: 'supervisor', id: SUPERVISOR_ID, command: { type: 'requestRun', runId: RUN, groupId: GROUP } } as const;
const release = { kind: 'supervisor', id: SUPERVISOR_ID, command: { type: 'releaseRun', runId: RUN } } as const;
const grant = { kind: 'run', id: RUN, command: { type: 'grantSlot' } } as const;

describe('workflow run.requestSlot: a queued run asks the supervisor for a slot', () => {
  it('asks the supervisor for a slot for the run in its group', () => {
    workflowSpec(requestSlot).when(slot).thenSends([askSlot]);
  });

  it('counts a refusal as done when the supervisor already queues or runs the run', () => {
    workflowSpec(requestSlot).refused(askSlot, supervisor.queuing(RUN)).when(slot).isAlreadyDone();
    workflowSpec(requestSlot).refused(askSlot, supervisor.active(RUN)).when(slot).isAlreadyDone();
  });

  it('counts a refusal as refused when the supervisor does not hold the run', () => {
    workflowSpec(requestSlot).refused(askSlot, supervisor.without()).when(slot).isRefused();
    workflowSpec(requestSlot).refused(askSlot, supervisor.released(RUN)).when(slot).isRefused();
  });
});

describe('workflow supervisor.grantSlot: a dispatched run gets its slot', () => {
  it('grants the slot to a queued run', () => {
    workflowSpec(grantSlot).given({ run: run.queued() }).when(slot).thenSends([grant]);
  });

  it('frees the slot of a run that ended without its release reaching the supervisor (a crash)', () => {
    workflowSpec(grantSlot).given({ run: run.failed() }).when(slot).thenSends([release]);
  });

  it('reads the run it grants, and nothing else', () => {
    const { reads } = workflowSpec(grantSlot).given({ run: run.queued() }).when(slot);
    expect(reads).toEqual({ run: { kind: 'run', id: RUN } });
  });

  it('counts a refused grant as done when the run is starting or running (granted before)', () => {
    workflowSpec(grantSlot).refused(grant, run.starting()).when(slot).isAlreadyDone();
    workflowSpec(grantSlot).refused(grant, run.running()).when(slot).isAlreadyDone();
  });

  it('counts a refused grant to a run that is new or has ended as refused (decided again on fresh state)', () => {
    workflowSpec(grantSlot).refused(grant, run.new()).when(slot).isRefused();
    workflowSpec(grantSlot).refused(grant, run.failed()).when(slot).isRefused();
  });

  it('counts a refused release as done when the supervisor no longer holds the run', () => {
    workflowSpec(grantSlot).refused(release, supervisor.released(RUN)).when(slot).isAlreadyDone();
    workflowSpec(grantSlot).refused(release, supervisor.active(RUN)).when(slot).isRefused();
  });
});

describe('workflow run.releaseSlot: an ended run frees its slot', () => {
  it('tells the supervisor to release the run', () => {
    workflowSpec(releaseSlot).when(slot).thenSends([release]);
  });

  it('counts a refusal as done when the supervisor no longer holds the run, and as refused while it does', () => {
    workflowSpec(releaseSlot).refused(release, supervisor.released(RUN)).when(slot).isAlreadyDone();
    workflowSpec(releaseSlot).refused(release, supervisor.without()).when(slot).isAlreadyDone();
    workflowSpec(releaseSlot).refused(release, supervisor.active(RUN)).when(slot).isRefused();
    workflowSpec(releaseSlot).refused(release, supervisor.queuing(RUN)).when(slot).isRefused();
  });
});
