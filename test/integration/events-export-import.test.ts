/**
 * `ledgerclaw events export` and `events import` (the built CLI on real SQLite stores): the
 * round trip is byte for byte, an import is checked whole before anything is written, and
 * a second import, or one after a partial one, writes only what the store lacks.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEventStore } from '../../runtime/open-store.js';
import { loadConfig } from '../../runtime/config.js';
import { ledgerclaw, seedStore, storeContents, tempDir } from '../support/transfer-stores.js';

interface Line {
  kind: string;
  position?: string;
  dataJson?: string;
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
}

/** Rewrites line `number` (1-based) of the file. */
function editLine(path: string, number: number, edit: (line: string) => string): void {
  const all = lines(path);
  all[number - 1] = edit(all[number - 1]!);
  writeFileSync(path, `${all.join('\n')}\n`);
}

async function exportTo(dataDir: string, out: string, ...extra: string[]) {
  const result = await ledgerclaw(dataDir, 'events', 'export', '--out', out, '--data', dataDir, ...extra);
  expect(result.stderr).toContain('exported');
  expect(result.code).toBe(0);
  return result;
}

describe('events export', () => {
  it('writes a header, one line an event in $all order, and an end line', async () => {
    const source = tempDir();
    await seedStore(source, 12);
    const out = join(tempDir(), 'backup.jsonl');
    const result = await exportTo(source, out);
    expect(result.stderr).toBe(`exported 12 events up to position 12 to ${out}\n`);
    const parsed = lines(out).map((line) => JSON.parse(line) as Line);
    expect(parsed[0]).toMatchObject({ kind: 'ledgerclaw.events', format: 1, sourceHead: '12', since: null });
    expect(parsed.slice(1, -1).map((line) => line.position)).toEqual(Array.from({ length: 12 }, (_, index) => String(index + 1)));
    expect(parsed.at(-1)).toEqual({ kind: 'end', events: 12, lastPosition: '12' });
    // The stored JSON text, not a re-serialized value: the hash covers those bytes.
    const { events } = await storeContents(source);
    expect(parsed[1]!.dataJson).toBe(events[0]!.dataJson);
  });

  it('writes to stdout with -, and draws no progress bar when stderr is not a terminal', async () => {
    const source = tempDir();
    await seedStore(source, 3);
    const result = await ledgerclaw(source, 'events', 'export', '--data', source);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(5);
    expect(result.stderr).toBe('exported 3 events up to position 3\n');
  });

  it('works while another process holds the store as its writer (a running runtime)', async () => {
    const source = tempDir();
    await seedStore(source, 4);
    const { config } = loadConfig({ flags: { data: source }, env: {}, cwd: source });
    const runtime = await openEventStore(config, { mode: 'writer', actor: 'runtime' });
    try {
      await exportTo(source, join(tempDir(), 'live.jsonl'));
    } finally {
      await runtime.close();
    }
  });

  it('never overwrites a file', async () => {
    const source = tempDir();
    await seedStore(source, 2);
    const out = join(tempDir(), 'backup.jsonl');
    writeFileSync(out, 'keep me\n');
    const result = await ledgerclaw(source, 'events', 'export', '--out', out, '--data', source);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${out} exists already`);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
  });
});

describe('events import', () => {
  it('round trip: the imported store holds the same events byte for byte, and verifies', async () => {
    const source = tempDir();
    await seedStore(source, 150);
    const out = join(tempDir(), 'backup.jsonl');
    await exportTo(source, out);
    const target = tempDir();
    const result = await ledgerclaw(target, 'events', 'import', out, '--data', target);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('imported 150 events, skipped 0 events the store held already\nhash chains intact on the target: 150 events in 3 streams\n');
    expect(result.code).toBe(0);
    expect(await storeContents(target)).toEqual(await storeContents(source));
    expect((await ledgerclaw(target, 'events', 'verify', '--data', target)).code).toBe(0);
  });

  it('run again, or after a partial import, writes only what the store lacks', async () => {
    const source = tempDir();
    await seedStore(source, 30);
    const early = join(tempDir(), 'early.jsonl');
    await exportTo(source, early);
    await seedStore(source, 20, { first: 30 });
    const full = join(tempDir(), 'full.jsonl');
    await exportTo(source, full);

    const target = tempDir();
    expect((await ledgerclaw(target, 'events', 'import', early, '--data', target)).code).toBe(0);
    const rest = await ledgerclaw(target, 'events', 'import', full, '--data', target);
    expect(rest.stdout).toContain('imported 20 events, skipped 30 events the store held already');
    const again = await ledgerclaw(target, 'events', 'import', full, '--data', target);
    expect(again.stdout).toContain('imported 0 events, skipped 50 events');
    expect(await storeContents(target)).toEqual(await storeContents(source));
  });

  it('an export --since continues the store it was taken from, and is refused by one that lacks the events before it', async () => {
    const source = tempDir();
    await seedStore(source, 30);
    const base = join(tempDir(), 'base.jsonl');
    await exportTo(source, base);
    await seedStore(source, 10, { first: 30 });
    const increment = join(tempDir(), 'increment.jsonl');
    const exported = await exportTo(source, increment, '--since', '30');
    expect(exported.stderr).toContain('exported 10 events up to position 40 after position 30');

    const empty = tempDir();
    const refused = await ledgerclaw(empty, 'events', 'import', increment, '--data', empty);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('continues from position 30, but the target');
    expect(refused.stderr).toContain('ends at 0');

    const target = tempDir();
    expect((await ledgerclaw(target, 'events', 'import', base, '--data', target)).code).toBe(0);
    const continued = await ledgerclaw(target, 'events', 'import', increment, '--data', target);
    expect(continued.stdout).toContain('imported 10 events, skipped 0');
    expect(await storeContents(target)).toEqual(await storeContents(source));
  });

  it('names a bad line by its number and writes nothing', async () => {
    const source = tempDir();
    await seedStore(source, 40);
    const out = join(tempDir(), 'backup.jsonl');
    await exportTo(source, out);
    editLine(out, 37, (line) => line.replace('"hashVersion":2', '"hashVersion":7'));
    const target = tempDir();
    const result = await ledgerclaw(target, 'events', 'import', out, '--data', target);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${out}, line 37: hashVersion: expected hash version 1 or 2`);
    expect(result.stderr).toContain('nothing was imported');
    expect((await storeContents(target)).events).toEqual([]);

    editLine(out, 37, () => '{"kind":"event", oops');
    const notJson = await ledgerclaw(target, 'events', 'import', out, '--data', target);
    expect(notJson.stderr).toContain(`${out}, line 37: not JSON`);
  });

  it('refuses an event changed in the file (its hash no longer matches), naming its line, and writes nothing', async () => {
    const source = tempDir();
    await seedStore(source, 25);
    const out = join(tempDir(), 'backup.jsonl');
    await exportTo(source, out);
    editLine(out, 20, (line) => line.replace('event 18', 'event 81'));
    const target = tempDir();
    const result = await ledgerclaw(target, 'events', 'import', out, '--data', target);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${out}, line 20: hash chain broken in stream`);
    expect(result.stderr).toContain('(position 19): its hash does not match');
    expect((await storeContents(target)).events).toEqual([]);
  });

  it('refuses a file cut short (no end line) or with a line removed', async () => {
    const source = tempDir();
    await seedStore(source, 10);
    const out = join(tempDir(), 'backup.jsonl');
    await exportTo(source, out);
    const all = lines(out);
    writeFileSync(out, `${all.slice(0, -1).join('\n')}\n`);
    const target = tempDir();
    const cut = await ledgerclaw(target, 'events', 'import', out, '--data', target);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain('line 11: the file ends here without its end line: the export was cut short');

    // The last event gone: every link before it still holds, the end line does not.
    writeFileSync(out, `${[...all.slice(0, 10), all[11]].join('\n')}\n`);
    const lastRemoved = await ledgerclaw(target, 'events', 'import', out, '--data', target);
    expect(lastRemoved.code).toBe(1);
    expect(lastRemoved.stderr).toContain('line 11: the end line counts 10 events up to position 10, but the file holds 9 up to 9');

    // One in the middle gone: the next event no longer links.
    writeFileSync(out, `${[...all.slice(0, 5), ...all.slice(6)].join('\n')}\n`);
    const removed = await ledgerclaw(target, 'events', 'import', out, '--data', target);
    expect(removed.code).toBe(1);
    expect(removed.stderr).toContain('line 6: hash chain broken');
    expect((await storeContents(target)).events).toEqual([]);
  });

  it('refuses a store that holds a different event at a position, and writes nothing', async () => {
    const source = tempDir();
    await seedStore(source, 10);
    const out = join(tempDir(), 'backup.jsonl');
    await exportTo(source, out);
    const other = tempDir();
    await seedStore(other, 2, { streams: ['runtime'] });
    const before = await storeContents(other);
    const result = await ledgerclaw(other, 'events', 'import', out, '--data', other);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 2: the target holds a different event at position 1');
    expect(await storeContents(other)).toEqual(before);
  });

  it('is refused while another process holds the store as its writer', async () => {
    const source = tempDir();
    await seedStore(source, 2);
    const out = join(tempDir(), 'backup.jsonl');
    await exportTo(source, out);
    const target = tempDir();
    const { config } = loadConfig({ flags: { data: target }, env: {}, cwd: target });
    const runtime = await openEventStore(config, { mode: 'writer', actor: 'runtime' });
    try {
      const result = await ledgerclaw(target, 'events', 'import', out, '--data', target);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`data directory ${target} in use by pid ${process.pid}`);
    } finally {
      await runtime.close();
    }
    expect(existsSync(join(target, 'events.db'))).toBe(true);
  });
});
