/**
 * A company's memory, made through the memory actors: two groups and a user, with a
 * conflict, an automatic supersession, a confirmation, a retirement, and daily logs.
 */
import { memoryDailyLogWritten } from '../../../events/catalogue/daily-log.js';
import type { World } from './fixture.js';

export const GROUP_A = 'T1.C1';
export const GROUP_B = 'T1.C2';
export const SCOPE_A = `group.${GROUP_A}`;
export const SCOPE_B = `group.${GROUP_B}`;
export const USER = 'U1';
export const USER_SCOPE = `user.${USER}`;
export const OTHER_USER_SCOPE = 'user.U2';

type Confidence = 'user-stated' | 'user-confirmed' | 'agent-observed' | 'agent-inferred';

export async function recordFact(
  world: World,
  scope: string,
  fact: { id: string; key: string; statement: string; confidence: Confidence; category?: 'user' | 'feedback' | 'project' | 'reference' },
  actor = fact.confidence.startsWith('user') ? `user:${USER}` : 'agent:run-1',
): Promise<void> {
  await world.send('memory', scope, { type: 'recordFact', fact: { ...fact, source: { kind: 'message', ref: `${scope}/1712345678.000100` } } }, actor);
}

/** A long daily log: several paragraphs, more than one 400-token chunk. */
export const LONG_DAILY_LOG = [
  'Morning: the payments team reviewed the Acme invoice backlog. Twelve invoices are overdue; Alice will chase them by Friday.',
  Array.from({ length: 14 }, (_, index) => `Point ${index + 1}: the quarterly vendor review covered delivery times, contract renewals and the escalation path for late shipments from Globex.`).join(' '),
  'Afternoon: the team agreed to move the weekly sync to Tuesdays at ten. The Rotterdam warehouse reported a strike risk for next month.',
  Array.from({ length: 10 }, (_, index) => `Note ${index + 1}: the onboarding checklist for new hires now includes a security briefing and access reviews.`).join(' '),
].join('\n\n');

export async function buildMemoryScenario(world: World): Promise<void> {
  // Group A: a conflict between a user's word and an agent's inference.
  await recordFact(world, SCOPE_A, { id: 'f1', key: 'vendor.acme.payment_terms', statement: 'Acme pays invoices net 30 days.', confidence: 'user-stated' });
  await recordFact(world, SCOPE_A, { id: 'f2', key: 'vendor.acme.payment_terms', statement: 'Acme pays invoices net 45 days.', confidence: 'agent-inferred' });
  await recordFact(world, SCOPE_A, { id: 'f3', key: 'vendor.globex.shipping', statement: 'Globex ships orders from Rotterdam.', confidence: 'agent-observed' });
  // A user's word replaces an agent's automatically.
  await recordFact(world, SCOPE_A, { id: 'f4', key: 'vendor.initech.contact', statement: 'Initech prefers email.', confidence: 'agent-inferred' });
  await recordFact(world, SCOPE_A, { id: 'f5', key: 'vendor.initech.contact', statement: 'Initech prefers phone calls.', confidence: 'user-stated', category: 'reference' });
  // An agent's fact a user confirmed.
  await recordFact(world, SCOPE_A, { id: 'f6', key: 'team.payments.lead', statement: 'Alice leads the payments team.', confidence: 'agent-observed', category: 'user' });
  await world.send('memory', SCOPE_A, { type: 'confirmFact', factId: 'f6' }, `user:${USER}`);
  // A retired fact.
  await recordFact(world, SCOPE_A, { id: 'f7', key: 'office.wifi', statement: 'The guest wifi password rotates monthly.', confidence: 'agent-inferred' });
  await world.send('memory', SCOPE_A, { type: 'retireFact', factId: 'f7', reason: 'no longer true' }, `user:${USER}`);
  await recordFact(world, SCOPE_A, { id: 'f8', key: 'meetings.weekly_sync', statement: 'The weekly sync is on Tuesdays at ten.', confidence: 'agent-observed' });

  // Group B: private to group B.
  await recordFact(world, SCOPE_B, { id: 'f1', key: 'vendor.acme.payment_terms', statement: 'Acme pays invoices net 60 days.', confidence: 'user-stated' });
  await recordFact(world, SCOPE_B, { id: 'b2', key: 'project.falcon.budget', statement: 'The Falcon acquisition budget is two million.', confidence: 'user-stated' });

  // A user's private scope.
  await recordFact(world, USER_SCOPE, { id: 'u1', key: 'preference.meetings', statement: 'U1 prefers morning meetings, never Fridays.', confidence: 'user-stated' });
  await recordFact(world, OTHER_USER_SCOPE, { id: 'u2', key: 'preference.meetings', statement: 'U2 prefers afternoon meetings on Fridays.', confidence: 'user-stated' }, 'user:U2');

  // Daily logs.
  await world.append('memory-group.T1.C1', [memoryDailyLogWritten.create({ scope: SCOPE_A, day: '2026-01-05', summary: LONG_DAILY_LOG, writtenBy: 'agent:consolidation' })]);
  await world.append('memory-group.T1.C2', [
    memoryDailyLogWritten.create({ scope: SCOPE_B, day: '2026-01-05', summary: 'The Falcon deal team met the bank about financing.', writtenBy: 'agent:consolidation' }),
  ]);
}
