/**
 * The small pure parts behind the projections: group directory names that cannot leave
 * the groups directory, atomic writes, how a words query becomes FTS5, schedules in words.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupDirectoryName, groupFilePath, writeFileAtomic } from '../../../projections/atomic-file.js';
import { MemoryQueryError, scopesVisibleTo, wordsToFts5 } from '../../../projections/memory-queries.js';
import { formatSchedule } from '../../../projections/work-context.js';

describe('groupDirectoryName', () => {
  it('keeps safe group ids as they are', () => {
    expect(groupDirectoryName('T1.C1')).toBe('T1.C1');
    expect(groupDirectoryName('T1.C1.1712345678.000100')).toBe('T1.C1.1712345678.000100');
  });

  it('encodes anything that could leave the groups directory, one-to-one', () => {
    expect(groupDirectoryName('..')).toBe('%2E.');
    expect(groupDirectoryName('../etc')).toBe('%2E.%2Fetc');
    expect(groupDirectoryName('a/b')).toBe('a%2Fb');
    expect(groupDirectoryName('a%2Fb')).toBe('a%252Fb');
    expect(groupDirectoryName('.hidden')).toBe('%2Ehidden');
    // One path component, whatever the id: no '/', and never '.' or '..' on its own.
    expect(groupFilePath('/data', '../../x', 'MEMORY.md')).toBe('/data/groups/%2E.%2F..%2Fx/MEMORY.md');
    const long = groupDirectoryName(`T1.${'/'.repeat(250)}`);
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long).not.toBe(groupDirectoryName(`T1.${'/'.repeat(251)}`));
    expect(() => groupDirectoryName('')).toThrow();
  });
});

describe('writeFileAtomic', () => {
  it('writes through a temporary file, creating the directory, and leaves identical bytes alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-atomic-'));
    try {
      const path = join(dir, 'groups', 'T1.C1', 'MEMORY.md');
      expect(await writeFileAtomic(path, '# one\n')).toBe(true);
      const first = await stat(path);
      expect(await writeFileAtomic(path, '# one\n')).toBe(false);
      expect((await stat(path)).mtimeMs).toBe(first.mtimeMs);
      expect(await writeFileAtomic(path, '# two\n')).toBe(true);
      expect(await readFile(path, 'utf8')).toBe('# two\n');
      expect(await readdir(join(dir, 'groups', 'T1.C1'))).toEqual(['MEMORY.md']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('wordsToFts5', () => {
  it('quotes every term, keeps a trailing * as a prefix, drops terms with no word in them', () => {
    expect(wordsToFts5('acme payment')).toBe('"acme" "payment"');
    expect(wordsToFts5('acme payment', 'any')).toBe('"acme" OR "payment"');
    expect(wordsToFts5('"acme AND OR')).toBe('"""acme" "AND" "OR"');
    expect(wordsToFts5('key:acme NEAR(x')).toBe('"key:acme" "NEAR(x"');
    expect(wordsToFts5('pay* * ** -')).toBe('"pay"*');
  });

  it('names a query with nothing to search', () => {
    expect(() => wordsToFts5('* AND')).not.toThrow();
    for (const query of ['*', '" "', '( ) -', '']) {
      expect(() => wordsToFts5(query), query).toThrow(MemoryQueryError);
    }
    expect(() => wordsToFts5(Array.from({ length: 65 }, (_, index) => `w${index}`).join(' '))).toThrow(/at most 64/);
  });
});

describe('scopesVisibleTo', () => {
  it("is the group's scope and the asking user's, nothing else", () => {
    expect(scopesVisibleTo({ groupId: 'T1.C1', userId: 'U1' })).toEqual(['group.T1.C1', 'user.U1']);
    expect(scopesVisibleTo({ groupId: 'T1.C1' })).toEqual(['group.T1.C1']);
    expect(() => scopesVisibleTo({ groupId: 'T1 C1' })).toThrow(MemoryQueryError);
  });
});

describe('formatSchedule', () => {
  it('says a schedule in words', () => {
    expect(formatSchedule({ kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' })).toBe('cron "0 9 * * 1-5" (Europe/Paris)');
    expect(formatSchedule({ kind: 'interval', everyMs: 86_400_000 })).toBe('every 1d');
    expect(formatSchedule({ kind: 'interval', everyMs: 90_000 })).toBe('every 90s');
    expect(formatSchedule({ kind: 'interval', everyMs: 1_500 })).toBe('every 1500ms');
    expect(formatSchedule({ kind: 'once', at: '2026-01-05T12:00:00.000Z' })).toBe('once at 2026-01-05T12:00:00.000Z');
  });
});
