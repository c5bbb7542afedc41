/**
 * `ledgerclaw instructions show | edit [--group G]` through the built CLI, on a real data
 * directory with the runtime stopped: an edit writes COMPANY.md or the group's
 * INSTRUCTIONS.md and records `instructions.changed` (text and sha256) through the
 * instructions actor, once per text; `show` prints the text, its hash and when it was
 * recorded. A symlink out of the folder is refused, never written through.
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { instructionsHash, INSTRUCTIONS_MAX_BYTES } from '../../../events/catalogue/instructions.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { createEventStore } from '../../../events/event-store.js';
import { openActorRuntime } from '../../../runtime/actor-runtime.js';
import { loadConfig } from '../../../runtime/config.js';
import { openRuntimeControl } from '../../../runtime/control/runtime-control.js';
import { createLogger } from '../../../runtime/logger.js';
import { openEventStore } from '../../../runtime/open-store.js';
import { builtFile } from '../../support/built-dist.js';
import { runProcess, startProcess } from '../../support/child-process.js';
import { cliEnv } from '../../support/cli-env.js';
import { temporaryDir } from '../projections/fixture.js';

let dir: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  dir = await temporaryDir('instructions-cli');
});

afterEach(async () => {
  await dir.remove();
});

const env = (extra: Record<string, string> = {}) => cliEnv({ LEDGERCLAW_LOG_LEVEL: 'silent', ...extra });

function cli(args: readonly string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  const argv = [builtFile('runtime/cli/main.js'), 'instructions', ...args, '--data', dir.path];
  if (options.stdin === undefined) return runProcess(process.execPath, argv, { cwd: dir.path, env: env(options.env) });
  const child = startProcess(process.execPath, argv, { cwd: dir.path, env: env(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end(options.stdin);
  return child.exited.then((exit) => ({ ...exit, stdout: child.stdout(), stderr: child.stderr() }));
}

async function stream(streamId: string): Promise<StoredEvent[]> {
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  try {
    return await store.readStream(streamId);
  } finally {
    await store.close();
  }
}

const COMPANY_TEXT = 'Answer in British English.\nNever promise delivery dates.\n';

describe('ledgerclaw instructions', () => {
  it('says there are none yet, and where to write them', async () => {
    const shown = await cli(['show']);
    expect(shown, shown.stderr).toMatchObject({ code: 0 });
    expect(shown.stdout).toContain("no instructions for the company yet: write");
    expect(shown.stdout).toContain(join(dir.path, 'shared', 'COMPANY.md'));
  });

  it('edit --file - writes COMPANY.md and records instructions.changed once; show prints text, hash and when', async () => {
    const edited = await cli(['edit', '--file', '-'], { stdin: COMPANY_TEXT });
    expect(edited, edited.stderr).toMatchObject({ code: 0 });
    const hash = instructionsHash(COMPANY_TEXT);
    expect(edited.stdout).toBe(`the company's instructions changed: ${join(dir.path, 'shared', 'COMPANY.md')}, hash ${hash} recorded\n`);
    expect(await readFile(join(dir.path, 'shared', 'COMPANY.md'), 'utf8')).toBe(COMPANY_TEXT);

    const again = await cli(['edit', '--file', '-'], { stdin: COMPANY_TEXT });
    expect(again.stdout).toMatch(/unchanged: hash [0-9a-f]{64} was recorded already/);

    const events = await stream('instructions-company');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'instructions.changed', data: { scope: 'company', hash, text: COMPANY_TEXT, truncated: false }, metadata: { actor: 'cli' } });

    const shown = await cli(['show']);
    expect(shown.stdout).toContain(`hash: ${hash} (recorded ${events[0]!.metadata.occurredAt} by cli)`);
    expect(shown.stdout).toContain('Never promise delivery dates.');
  });

  it("edit --group --file <path> writes the group's INSTRUCTIONS.md beside its MEMORY.md, on the group's own stream", async () => {
    await writeFile(join(dir.path, 'finance.md'), 'This channel is the finance team.\n');
    const edited = await cli(['edit', '--group', 'T1.C1', '--file', 'finance.md']);
    expect(edited, edited.stderr).toMatchObject({ code: 0 });
    expect(await readFile(join(dir.path, 'groups', 'T1.C1', 'INSTRUCTIONS.md'), 'utf8')).toBe('This channel is the finance team.\n');
    expect((await stream('instructions-group.T1.C1')).map((event) => event.type)).toEqual(['instructions.changed']);
    expect((await cli(['show', '--group', 'T1.C1'])).stdout).toContain('This channel is the finance team.');
    expect((await cli(['show'])).stdout).toContain("no instructions for the company yet");
  });

  it('edit opens $EDITOR on the current text and records what it saved', async () => {
    await cli(['edit', '--file', '-'], { stdin: COMPANY_TEXT });
    const edited = await cli(['edit'], { env: { EDITOR: "sed -i 's/British/Canadian/'" } });
    expect(edited, edited.stderr).toMatchObject({ code: 0 });
    expect(await readFile(join(dir.path, 'shared', 'COMPANY.md'), 'utf8')).toBe(COMPANY_TEXT.replace('British', 'Canadian'));
    const events = await stream('instructions-company');
    expect(events.map((event) => (event.data as { text: string }).text)).toEqual([COMPANY_TEXT, COMPANY_TEXT.replace('British', 'Canadian')]);
    expect((events[1]!.data as { previousHash: string }).previousHash).toBe(instructionsHash(COMPANY_TEXT));
  });

  it('refuses an edit without an editor or --file, one whose editor fails, and a --file that is not there, changing nothing', async () => {
    const noEditor = await cli(['edit'], { env: { EDITOR: '', VISUAL: '' } });
    expect(noEditor.code).toBe(2);
    expect(noEditor.stderr).toMatch(/no editor: set \$EDITOR/);
    const failing = await cli(['edit'], { env: { EDITOR: 'false' } });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/the editor \(false\) exited with code 1; nothing was changed/);
    const missing = await cli(['edit', '--file', 'missing.md']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('missing.md: no such file');
    expect(await stream('instructions-company').catch(() => [])).toEqual([]);
  });

  it('refuses a text over 32 KiB whole, with exit 2 and the size, and keeps the file as it was', async () => {
    await cli(['edit', '--file', '-'], { stdin: COMPANY_TEXT });
    const tooLong = await cli(['edit', '--file', '-'], { stdin: 'x'.repeat(INSTRUCTIONS_MAX_BYTES + 1) });
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain(`standard input is longer than ${INSTRUCTIONS_MAX_BYTES} bytes`);
    expect(await readFile(join(dir.path, 'shared', 'COMPANY.md'), 'utf8')).toBe(COMPANY_TEXT);
    expect(await stream('instructions-company')).toHaveLength(1);
  });

  it('refuses to show or write through an INSTRUCTIONS.md symlinked out of the group folder', async () => {
    const outside = join(dir.path, 'outside.txt');
    await writeFile(outside, 'a host file\n');
    await mkdir(join(dir.path, 'groups', 'T1.C1'), { recursive: true });
    await symlink(outside, join(dir.path, 'groups', 'T1.C1', 'INSTRUCTIONS.md'));

    const shown = await cli(['show', '--group', 'T1.C1']);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain('INSTRUCTIONS.md is a symlink that leaves the folder of group T1.C1');
    expect(shown.stdout).not.toContain('a host file');

    const edited = await cli(['edit', '--group', 'T1.C1', '--file', '-'], { stdin: 'overwrite the host file\n' });
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain('INSTRUCTIONS.md is a symlink that leaves the folder of group T1.C1');
    expect(await readFile(outside, 'utf8')).toBe('a host file\n');
  });

  it('records an edit through the running runtime\'s control socket while it holds the data directory', async () => {
    const { config } = loadConfig({ flags: { data: dir.path }, env: {}, cwd: dir.path });
    const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'ledgerclaw start' });
    const actorRuntime = await openActorRuntime({ store: opened.store, config, readOnly: false });
    const control = await openRuntimeControl({ dataDir: dir.path, actors: actorRuntime.host, logger: createLogger({ level: 'silent' }) });
    try {
      const edited = await cli(['edit', '--group', 'T1.C1', '--file', '-'], { stdin: 'Be brief.\n' });
      expect(edited, edited.stderr).toMatchObject({ code: 0 });
      const events = await opened.store.readStream('instructions-group.T1.C1');
      expect(events).toMatchObject([{ type: 'instructions.changed', data: { text: 'Be brief.\n' }, metadata: { actor: 'cli' } }]);
    } finally {
      await control.close();
      await actorRuntime.close();
      await opened.close();
    }
  });

  it('refuses a group id with spaces, naming the flag', async () => {
    const bad = await cli(['show', '--group', 'T1 C1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--group <id>.*expected a group id/);
  });
});
