/**
 * The catalogue: versioned schemas, validation on the way in (errors that name the type,
 * the version and the field), canonical serialization, and upcasting on the way out.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent, EventCatalogue, type PrepareContext } from '../../events/catalogue.js';
import type { RawStoredEvent } from '../../events/envelope.js';
import { InvalidEventError, UnknownEventTypeError } from '../../events/errors.js';
import { GENESIS_HASH } from '../../events/hash-chain.js';
import { catalogue } from '../../events/catalogue/index.js';
import { memoryFactRecorded } from '../../events/catalogue/memory.js';
import { testBlob, testCatalogue, testHappened, testHappenedV1, testNoted } from '../support/test-catalogue.js';

const NOW = new Date('2025-01-02T03:04:05.678Z');
const context: PrepareContext = { defaultActor: 'runtime', now: () => NOW };
const ID = '7d444840-9dc0-11d1-b245-5ffdce74fad2';

/** A type with three versions: v1 {n}, v2 {n, unit}, v3 {amount: {n, unit}}. */
const v1 = defineEvent('meter.read', 1, z.object({ n: z.number() }).strict());
const v2 = v1.evolve(2, z.object({ n: z.number(), unit: z.string() }).strict(), (old) => ({ ...old, unit: 'kWh' }));
const v3 = v2.evolve(3, z.object({ amount: z.object({ n: z.number(), unit: z.string() }).strict() }).strict(), (old) => ({ amount: old }));
const meterCatalogue = new EventCatalogue([v3]);

function raw(overrides: Partial<RawStoredEvent>): RawStoredEvent {
  return {
    id: ID,
    type: 'meter.read',
    version: 1,
    dataJson: '{"n":5}',
    metadataJson: JSON.stringify({ actor: 'cli', causationId: null, correlationId: 'c-1', occurredAt: '2025-01-01T00:00:00.000Z' }),
    streamId: 'meter-1',
    revision: 2n,
    position: 17n,
    recordedAt: '2025-01-01T00:00:01.000Z',
    prevHash: GENESIS_HASH,
    hashVersion: 2,
    hash: 'f'.repeat(64),
    ...overrides,
  };
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

describe('defineEvent and evolve', () => {
  it('refuses a type name that is not <kind>.<past_tense> in lower case', () => {
    for (const type of ['Task.scheduled', 'task', 'task.', 'task.Scheduled', '1task.done', 'task-scheduled', '']) {
      expect(() => defineEvent(type, 1, z.object({}))).toThrow();
    }
    expect(defineEvent('task.model_called', 1, z.object({})).type).toBe('task.model_called');
  });

  it('reports the newest version and refuses a version that does not go up', () => {
    expect(v1.version).toBe(1);
    expect(v3.version).toBe(3);
    expect(v3.steps.map((step) => step.version)).toEqual([1, 2, 3]);
    expect(() => v2.evolve(2, z.object({}), () => ({}))).toThrow(/meter\.read: version 2 must be above 2/);
    expect(() => v2.evolve(1, z.object({}), () => ({}))).toThrow(/version 1 must be above 2/);
  });

  it('leaves the definition it evolved from unchanged', () => {
    expect(v1.steps).toHaveLength(1);
    expect(testHappenedV1.version).toBe(1);
    expect(testHappened.version).toBe(2);
  });

  it('creates new events of its type', () => {
    expect(testNoted.create({ text: 'x' }, { id: ID })).toEqual({ type: 'test.noted', data: { text: 'x' }, id: ID });
    expect(testNoted.create({ text: 'x' })).toEqual({ type: 'test.noted', data: { text: 'x' } });
  });
});

describe('EventCatalogue', () => {
  it('refuses a type defined twice', () => {
    expect(() => new EventCatalogue([testHappened, testNoted, testHappenedV1])).toThrow(/test\.happened is defined twice/);
  });

  it('lists its types sorted and finds their definitions', () => {
    expect(testCatalogue.types).toEqual(['test.blob', 'test.happened', 'test.noted']);
    expect(testCatalogue.definition('test.blob')).toBe(testBlob);
    expect(testCatalogue.definition('test.unknown')).toBeUndefined();
  });
});

describe('EventCatalogue.prepare', () => {
  it('stamps the newest version and serializes data and metadata as canonical JSON', () => {
    const prepared = testCatalogue.prepare(
      { id: ID, type: 'test.happened', data: { tags: ['b', 'a'], label: 'x', count: 3 } },
      context,
      'here',
    );
    expect(prepared).toEqual({
      id: ID,
      type: 'test.happened',
      version: 2,
      dataJson: '{"count":3,"label":"x","tags":["b","a"]}',
      metadataJson: `{"actor":"runtime","causationId":null,"correlationId":"${ID}","occurredAt":"2025-01-02T03:04:05.678Z"}`,
    });
  });

  it('gives an event without an id a fresh uuid that is also its correlation id', () => {
    const first = testCatalogue.prepare({ type: 'test.noted', data: { text: 'a' } }, context, 'here');
    const second = testCatalogue.prepare({ type: 'test.noted', data: { text: 'a' } }, context, 'here');
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.id).not.toBe(second.id);
    expect(JSON.parse(first.metadataJson).correlationId).toBe(first.id);
  });

  it('keeps metadata the producer gave and fills in the rest', () => {
    const prepared = testCatalogue.prepare(
      { id: ID, type: 'test.noted', data: { text: 'a' }, metadata: { actor: 'user:U1', causationId: 'cmd-1' } },
      context,
      'here',
    );
    expect(JSON.parse(prepared.metadataJson)).toEqual({
      actor: 'user:U1',
      causationId: 'cmd-1',
      correlationId: ID,
      occurredAt: NOW.toISOString(),
    });
  });

  it('stores what the schema parsed, so defaults are stored and the stored form is the checked form', () => {
    const withDefault = defineEvent('thing.made', 1, z.object({ size: z.number().default(1), name: z.string().trim() }));
    const prepared = new EventCatalogue([withDefault]).prepare({ id: ID, type: 'thing.made', data: { name: '  x ' } }, context, 'here');
    expect(prepared.dataJson).toBe('{"name":"x","size":1}');
  });

  it('refuses an unknown type, naming it and where', () => {
    const error = thrown(() => testCatalogue.prepare({ type: 'test.unheard_of', data: {} }, context, 'append to x-1, event 0'));
    expect(error).toBeInstanceOf(UnknownEventTypeError);
    expect((error as UnknownEventTypeError).eventType).toBe('test.unheard_of');
    expect((error as Error).message).toContain("'test.unheard_of'");
    expect((error as Error).message).toContain('append to x-1, event 0');
  });

  it('refuses invalid data, naming the type, the version, the field and where', () => {
    const error = thrown(() =>
      testCatalogue.prepare({ type: 'test.happened', data: { count: 'x', label: 'l', tags: [] } }, context, 'append to order-1, event 3'),
    ) as InvalidEventError;
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error.eventType).toBe('test.happened');
    expect(error.version).toBe(2);
    expect(error.where).toBe('append to order-1, event 3');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('data.count');
    expect(error.message).toMatch(/^invalid test\.happened v2 \(append to order-1, event 3\): data\.count: /);
  });

  it('names every invalid field, nested ones by their full path', () => {
    const error = thrown(() =>
      testCatalogue.prepare({ type: 'test.happened', data: { count: -1, tags: ['ok', 2] } }, context, 'here'),
    ) as InvalidEventError;
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['data.count', 'data.label', 'data.tags.1']);
    expect(error.message).toContain('data.tags.1');
    expect(error.message).toContain('; ');
  });

  it('names data that is not an object at all as `data`', () => {
    const error = thrown(() => testCatalogue.prepare({ type: 'test.noted', data: 'text' }, context, 'here')) as InvalidEventError;
    expect(error.issues.map((issue) => issue.path)).toEqual(['data']);
  });

  it('refuses invalid metadata and an invalid id alongside invalid data', () => {
    const error = thrown(() =>
      testCatalogue.prepare(
        { id: 'nope', type: 'test.noted', data: {}, metadata: { actor: 'two words', occurredAt: '2025-01-01' } },
        context,
        'here',
      ),
    ) as InvalidEventError;
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['data.text', 'id', 'metadata.actor', 'metadata.occurredAt']);
  });

  it('refuses a default actor that is not a valid actor', () => {
    const error = thrown(() =>
      testCatalogue.prepare({ type: 'test.noted', data: { text: 'a' } }, { ...context, defaultActor: '' }, 'here'),
    ) as InvalidEventError;
    expect(new Set(error.issues.map((issue) => issue.path))).toEqual(new Set(['metadata.actor']));
  });

  it('refuses metadata fields the envelope does not know', () => {
    const error = thrown(() =>
      testCatalogue.prepare({ type: 'test.noted', data: { text: 'a' }, metadata: { tenant: 't' } as never }, context, 'here'),
    ) as InvalidEventError;
    expect(error.message).toContain('metadata');
  });
});

describe('EventCatalogue.decode', () => {
  it('upcasts through every version to the newest, keeping the stored version and the envelope', () => {
    const event = meterCatalogue.decode(raw({}), true);
    expect(event).toEqual({
      id: ID,
      streamId: 'meter-1',
      revision: 2n,
      position: 17n,
      type: 'meter.read',
      version: 3,
      storedVersion: 1,
      data: { amount: { n: 5, unit: 'kWh' } },
      metadata: { actor: 'cli', causationId: null, correlationId: 'c-1', occurredAt: '2025-01-01T00:00:00.000Z' },
      recordedAt: '2025-01-01T00:00:01.000Z',
      prevHash: GENESIS_HASH,
      hashVersion: 2,
      hash: 'f'.repeat(64),
    });
    expect(v3.is(event)).toBe(true);
  });

  it('upcasts from a middle version only through the later steps', () => {
    const event = meterCatalogue.decode(raw({ version: 2, dataJson: '{"n":5,"unit":"MWh"}' }), true);
    expect(event.data).toEqual({ amount: { n: 5, unit: 'MWh' } });
    expect([event.version, event.storedVersion]).toEqual([3, 2]);
  });

  it('hands out the newest version as stored', () => {
    const event = meterCatalogue.decode(raw({ version: 3, dataJson: '{"amount":{"n":1,"unit":"W"}}' }), true);
    expect(event.data).toEqual({ amount: { n: 1, unit: 'W' } });
    expect([event.version, event.storedVersion]).toEqual([3, 3]);
  });

  it('returns the stored form without upcasting, even for types it does not know', () => {
    const event = meterCatalogue.decode(raw({}), false);
    expect(event.data).toEqual({ n: 5 });
    expect([event.version, event.storedVersion]).toEqual([1, 1]);
    expect(v3.is(event)).toBe(false);
    expect(testCatalogue.decode(raw({}), false).data).toEqual({ n: 5 });
  });

  it('refuses a stored type the catalogue does not know when upcasting, naming it and where it is stored', () => {
    const error = thrown(() => testCatalogue.decode(raw({}), true));
    expect(error).toBeInstanceOf(UnknownEventTypeError);
    expect((error as Error).message).toContain("'meter.read'");
    expect((error as Error).message).toContain('stored at meter-1@2');
  });

  it('refuses a stored version the catalogue does not have, naming type and version', () => {
    const error = thrown(() => meterCatalogue.decode(raw({ version: 7 }), true)) as InvalidEventError;
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error.version).toBe(7);
    expect(error.issues.map((issue) => issue.path)).toEqual(['version']);
    expect(error.message).toMatch(/^invalid meter\.read v7 \(stored at meter-1@2\): version: /);
  });

  it('refuses stored data that does not match the schema of its stored version, naming the field', () => {
    const error = thrown(() => meterCatalogue.decode(raw({ dataJson: '{"n":"five"}' }), true)) as InvalidEventError;
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error.version).toBe(1);
    expect(error.issues.map((issue) => issue.path)).toEqual(['data.n']);
    expect(error.message).toContain('invalid meter.read v1 (stored at meter-1@2): data.n');
  });

  it('refuses stored metadata that is not a valid envelope, naming the field', () => {
    const error = thrown(() =>
      meterCatalogue.decode(raw({ metadataJson: '{"actor":"a b","causationId":null,"correlationId":"c","occurredAt":"2025-01-01T00:00:00Z"}' }), false),
    ) as InvalidEventError;
    expect(error).toBeInstanceOf(InvalidEventError);
    expect(error.issues.map((issue) => issue.path)).toEqual(['metadata.actor']);
  });

  it('reads back what prepare stored', () => {
    const prepared = testCatalogue.prepare(
      { id: ID, type: 'test.noted', data: { text: 'héllo 😀 \ud800', extra: { 'ключ': 'v' } } },
      context,
      'here',
    );
    const event = testCatalogue.decode(raw({ ...prepared, streamId: 'note-1' }), true);
    expect(event.data).toEqual({ text: 'héllo 😀 \ud800', extra: { 'ключ': 'v' } });
    expect(event.metadata.occurredAt).toBe(NOW.toISOString());
    expect(testNoted.is(event)).toBe(true);
  });
});

describe('memory.fact_recorded v2', () => {
  const memoryCatalogue = new EventCatalogue([memoryFactRecorded]);
  const v1Fact = {
    factId: 'f1',
    key: 'vendor.acme.terms',
    statement: 'Acme pays net 30.',
    confidence: 'agent-observed',
    source: { kind: 'message', ref: 'group-T1.C1#1712345678.000100' },
    recordedAt: '2025-01-01T00:00:00.000Z',
  };

  it('reads a fact recorded before categories as a project fact', () => {
    const event = memoryCatalogue.decode(raw({ type: 'memory.fact_recorded', version: 1, dataJson: JSON.stringify(v1Fact), streamId: 'memory-group.T1.C1' }), true);
    expect(event.version).toBe(2);
    expect(event.data).toEqual({ ...v1Fact, category: 'project' });
  });

  it('refuses a v1 fact that claims a consolidation source, which v1 never had', () => {
    const forged = { ...v1Fact, source: { kind: 'consolidation', ref: 'x' } };
    expect(() => memoryCatalogue.decode(raw({ type: 'memory.fact_recorded', version: 1, dataJson: JSON.stringify(forged) }), true)).toThrow(InvalidEventError);
  });
});

describe('run.context_built v2 (issue 18)', () => {
  it('reads a v1 prompt record, from before instructions existed, as carrying none', () => {
    const v1Data = { model: 'm', system: [{ name: 'identity', text: 'You are the assistant.', cached: true }], messages: [{ role: 'user', text: 'hi' }], tokenEstimate: 5, windowBudgetTokens: 100, builtAt: '2025-01-01T00:00:00.000Z' };
    const event = catalogue.decode(raw({ type: 'run.context_built', streamId: 'run-r1', dataJson: JSON.stringify(v1Data) }), true);
    expect([event.version, event.storedVersion]).toEqual([2, 1]);
    expect(event.data).toEqual({ ...v1Data, instructions: { company: null, group: null } });
  });
});

describe('run.tool_called v2 (issue 19: tiers and outcomes)', () => {
  const v1Call = (tool: string, isError: boolean) => ({
    callId: 'toolu_1',
    tool,
    where: 'host',
    input: { query: 'payment' },
    output: isError ? 'refused' : 'net 30',
    isError,
    durationMs: 4,
    calledAt: '2025-01-01T00:00:00.000Z',
  });
  const decoded = (data: object) => catalogue.decode(raw({ type: 'run.tool_called', streamId: 'run-r1', dataJson: JSON.stringify(data) }), true);

  it('reads a v1 call of a host tool as executed at its tier, with no approval', () => {
    const event = decoded(v1Call('memory_search', false));
    expect([event.version, event.storedVersion]).toEqual([2, 1]);
    expect(event.data).toEqual({ ...v1Call('memory_search', false), tier: 'read', outcome: 'executed', approvalId: null });
  });

  it('reads a v1 error answer as failed, and a workspace tool at its workspace tier', () => {
    expect(decoded({ ...v1Call('write_file', true), where: 'workspace' }).data).toMatchObject({ tier: 'write', outcome: 'failed', approvalId: null });
    expect(decoded(v1Call('schedule_task', false)).data).toMatchObject({ tier: 'write', outcome: 'executed' });
  });

  it('reads a v1 call of a name that is no tool (the model made it up) with no tier', () => {
    expect(decoded(v1Call('launch_rockets', true)).data).toMatchObject({ tier: null, outcome: 'failed' });
    // Not a prototype key taken for a tool either.
    expect(decoded(v1Call('constructor', true)).data).toMatchObject({ tier: null });
  });

  it('the tiers a v1 call upcasts to are the tiers its tool declares now', async () => {
    const { hostTools } = await import('../../runtime/gateways/host-tools/index.js');
    const { WORKSPACE_TOOL_TIERS } = await import('../../runtime/permissions/tiers.js');
    const { toolTierAtV1 } = await import('../../events/catalogue/run.js');
    const v1Tools = ['send_message', 'memory_search', 'memory_write', 'search_knowledge', 'schedule_task', 'list_tasks', 'pause_task', 'resume_task', 'cancel_task', 'set_task_delivery'];
    for (const name of v1Tools) expect([name, toolTierAtV1(name)]).toEqual([name, hostTools.find((tool) => tool.name === name)?.tier]);
    for (const [name, tier] of Object.entries(WORKSPACE_TOOL_TIERS)) expect([name, toolTierAtV1(name)]).toEqual([name, tier]);
  });
});
