/**
 * `ledgerclaw events migrate` (the built CLI on real SQLite stores): copies byte for byte,
 * verifies the target, copies only what is new on a second run, and refuses a target that
 * is not a copy of the source.
 */
import { describe, expect, it } from 'vitest';
import { ledgerclaw, seedStore, storeContents, tempDir } from '../support/transfer-stores.js';

describe('events migrate --to sqlite', () => {
  it('copies every event byte for byte into another data directory and verifies it there', async () => {
    const source = tempDir();
    await seedStore(source, 120);
    const target = tempDir();
    const result = await ledgerclaw(source, 'events', 'migrate', '--to', 'sqlite', '--into', target, '--data', source);
    expect(result.stdout).toBe(`copied 120 events (up to position 120) to ${target}/events.db\nhash chains intact on the target: 120 events in 3 streams\n`);
    // Only the one line naming both stores: no progress bar when stderr is not a terminal.
    expect(result.stderr).toBe(`migrating from ${source}/events.db to ${target}/events.db\n`);
    expect(result.code).toBe(0);
    expect(await storeContents(target)).toEqual(await storeContents(source));
  });

  it('a second run copies nothing; after new events it copies only those', async () => {
    const source = tempDir();
    await seedStore(source, 20);
    const target = tempDir();
    const migrate = () => ledgerclaw(source, 'events', 'migrate', '--to', 'sqlite', '--into', target, '--data', source);
    expect((await migrate()).code).toBe(0);
    const again = await migrate();
    expect(again.stdout).toContain('nothing to copy: the target holds every event up to position 20 already');
    expect(again.code).toBe(0);
    await seedStore(source, 7, { first: 20 });
    const more = await migrate();
    expect(more.stdout).toContain('copied 7 events (up to position 27)');
    expect(await storeContents(target)).toEqual(await storeContents(source));
  });

  it('refuses a target that holds other events, and leaves it as it was', async () => {
    const source = tempDir();
    await seedStore(source, 5);
    const target = tempDir();
    await seedStore(target, 3, { streams: ['runtime'] });
    const before = await storeContents(target);
    const result = await ledgerclaw(source, 'events', 'migrate', '--to', 'sqlite', '--into', target, '--data', source);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the target holds a different event at position 3');
    expect(await storeContents(target)).toEqual(before);
  });

  it('refuses to copy a store onto itself, and --into with another backend', async () => {
    const source = tempDir();
    await seedStore(source, 1);
    const self = await ledgerclaw(source, 'events', 'migrate', '--to', 'sqlite', '--data', source);
    expect(self.code).toBe(2);
    expect(self.stderr).toContain(`the configured store is already the SQLite store in ${source}: name another data directory with --into`);
    const into = await ledgerclaw(source, 'events', 'migrate', '--to', 'eventstoredb', '--into', tempDir(), '--data', source);
    expect(into.code).toBe(2);
    expect(into.stderr).toContain('--into names a SQLite data directory');
  });

  it('says there is nothing to migrate when the source store does not exist', async () => {
    const empty = tempDir();
    const result = await ledgerclaw(empty, 'events', 'migrate', '--to', 'sqlite', '--into', tempDir(), '--data', empty);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('nothing to migrate (is --data right?)');
  });
});
