/**
 * The workspace tools the agent runner offers the model: their definitions, input validation,
 * and each file tool's behaviour on a real temporary workspace. Confinement and bash have their
 * own files beside this one.
 */
import { readdir, stat, chmod } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWorkspaceTool, runWorkspaceTool, workspaceToolDefinitions } from '../../../container/runner/workspace-tools/index.js';
import { makeTestbed } from './workspace-support.js';

const baseContext = { root: '/nonexistent-workspace', bashEnabled: true, bashTimeoutMs: 5_000, maxOutputChars: 10_000 };

describe('workspaceToolDefinitions', () => {
  it('offers every tool, each with an object input schema listing its required fields', () => {
    const definitions = workspaceToolDefinitions(baseContext);
    expect(definitions.map((definition) => definition.name)).toEqual(['read_file', 'write_file', 'edit_file', 'list_files', 'grep', 'bash']);
    const editFile = definitions.find((definition) => definition.name === 'edit_file');
    expect(editFile?.input_schema).toMatchObject({ type: 'object', required: ['path', 'old_text', 'new_text'], additionalProperties: false });
    expect(Object.keys(editFile?.input_schema.properties ?? {})).toEqual(['path', 'old_text', 'new_text', 'replace_all']);
    expect(editFile?.input_schema).not.toHaveProperty('$schema');
  });

  it('leaves fields with defaults out of required', () => {
    const listFiles = workspaceToolDefinitions(baseContext).find((definition) => definition.name === 'list_files');
    expect(listFiles?.input_schema.required).toBeUndefined();
  });

  it('omits bash when bash is disabled, and says the timeout in its description when enabled', () => {
    expect(workspaceToolDefinitions({ ...baseContext, bashEnabled: false }).map((definition) => definition.name)).not.toContain('bash');
    const bash = workspaceToolDefinitions(baseContext).find((definition) => definition.name === 'bash');
    expect(bash?.description).toContain('5000 ms');
  });
});

describe('workspace tools under the permission policy (issue 19)', () => {
  const readOnly = { ...baseContext, allowedTools: ['read_file', 'list_files', 'grep'] };

  it('offers a read-only conversation only the tools that read: no write_file, edit_file or bash', () => {
    expect(workspaceToolDefinitions(readOnly).map((definition) => definition.name)).toEqual(['read_file', 'list_files', 'grep']);
  });

  it('refuses write_file, edit_file and bash in a read-only conversation, saying what it may use, and nothing is written or run', async () => {
    const bed = await makeTestbed({ allowedTools: readOnly.allowedTools });
    const written = await bed.run('write_file', { path: 'notes.md', content: 'hello' });
    expect(written).toEqual({ content: expect.stringContaining('write_file: not allowed in this conversation'), isError: true });
    expect(written.content).toContain('read_file, list_files, grep');
    expect(bed.exists('notes.md')).toBe(false);
    expect((await bed.run('bash', { command: 'touch ran' })).content).toMatch(/^bash: not allowed in this conversation/);
    expect(bed.exists('ran')).toBe(false);
    expect((await bed.run('edit_file', { path: 'a.txt', old_text: 'a', new_text: 'b' })).content).toMatch(/^edit_file: not allowed/);
  });
});

describe('isWorkspaceTool', () => {
  it('knows its own tools, bash included, and nothing else', () => {
    expect(isWorkspaceTool('read_file')).toBe(true);
    expect(isWorkspaceTool('bash')).toBe(true);
    expect(isWorkspaceTool('send_message')).toBe(false);
  });
});

describe('runWorkspaceTool', () => {
  it('answers an unknown tool with an error rather than throwing', async () => {
    expect(await runWorkspaceTool('send_message', {}, baseContext)).toEqual({ content: 'send_message: not a workspace tool', isError: true });
  });

  it('refuses bash when it is disabled, without running the command', async () => {
    const bed = await makeTestbed({ bashEnabled: false });
    const outcome = await bed.run('bash', { command: 'touch ran' });
    expect(outcome).toEqual({ content: expect.stringContaining('bash: disabled in this sandbox'), isError: true });
    expect(bed.exists('ran')).toBe(false);
  });

  it('names the field and what it expected when the input is invalid', async () => {
    const bed = await makeTestbed();
    expect(await bed.run('read_file', { path: 42 })).toEqual({ content: 'read_file: path: expected a string', isError: true });
    expect(await bed.run('edit_file', { path: 'a.txt', new_text: 'x' })).toEqual({ content: 'edit_file: old_text: expected a string', isError: true });
    expect(await bed.run('read_file', { path: 'a.txt', offset: 0 })).toEqual({ content: 'read_file: offset: must be at least 1', isError: true });
    expect(await bed.run('read_file', { path: '' })).toEqual({ content: 'read_file: path: must not be empty', isError: true });
    expect(await bed.run('list_files', { recursive: 'yes' })).toEqual({ content: 'list_files: recursive: expected a boolean', isError: true });
  });

  it('names a field it does not know, and an input that is not an object', async () => {
    const bed = await makeTestbed();
    expect(await bed.run('read_file', { path: 'a.txt', lines: 3 })).toEqual({ content: 'read_file: input: unknown field "lines"', isError: true });
    expect(await bed.run('read_file', 'a.txt')).toEqual({ content: 'read_file: input: expected an object', isError: true });
  });

  it('turns a file-system failure into a message naming the path as asked', async () => {
    const bed = await makeTestbed();
    expect(await bed.run('read_file', { path: 'missing/file.txt' })).toEqual({ content: 'read_file: "missing/file.txt" does not exist', isError: true });
  });

  it('caps any output at maxOutputChars with a marker saying how much was cut', async () => {
    const bed = await makeTestbed({ maxOutputChars: 300 });
    for (let index = 0; index < 50; index += 1) await bed.write(`file-${String(index).padStart(2, '0')}.txt`, '');
    const outcome = await bed.run('list_files', {});
    expect(outcome.content.length).toBeLessThanOrEqual(300);
    expect(outcome.content).toMatch(/^file-00\.txt\nfile-01\.txt\n/);
    expect(outcome.content).toMatch(/\[output truncated: \d+ of \d+ characters cut\]$/);
  });
});

describe('read_file', () => {
  it('answers the file numbered like cat -n', async () => {
    const bed = await makeTestbed();
    await bed.write('notes.md', 'first\n\tindented\n\nlast without newline');
    expect(await bed.run('read_file', { path: 'notes.md' })).toEqual({
      content: '     1\tfirst\n     2\t\tindented\n     3\t\n     4\tlast without newline',
      isError: false,
    });
  });

  it('pages with offset and limit, saying where to read on', async () => {
    const bed = await makeTestbed();
    await bed.write('ten.txt', Array.from({ length: 10 }, (_, index) => `line ${index + 1}`).join('\n') + '\n');
    expect(await bed.run('read_file', { path: 'ten.txt', offset: 4, limit: 2 })).toEqual({
      content: '     4\tline 4\n     5\tline 5\n[showing lines 4-5 of 10; to read on, call read_file with offset=6]',
      isError: false,
    });
    expect((await bed.run('read_file', { path: 'ten.txt', offset: 9 })).content).toBe('     9\tline 9\n    10\tline 10');
  });

  it('pages a file too large for the output cap at a whole line', async () => {
    const bed = await makeTestbed({ maxOutputChars: 1_000 });
    await bed.write('big.txt', Array.from({ length: 500 }, (_, index) => `row ${index + 1}`).join('\n'));
    const outcome = await bed.run('read_file', { path: 'big.txt' });
    expect(outcome.content.length).toBeLessThanOrEqual(1_000);
    const shown = outcome.content.split('\n').filter((line) => /^\s+\d+\t/.test(line));
    const last = shown.length;
    expect(shown[last - 1]).toBe(`${String(last).padStart(6)}\trow ${last}`);
    expect(outcome.content).toContain(`[showing lines 1-${last} of 500; to read on, call read_file with offset=${last + 1}]`);
  });

  it('cuts a very long line and says so', async () => {
    const bed = await makeTestbed();
    await bed.write('minified.js', 'x'.repeat(2_500));
    const outcome = await bed.run('read_file', { path: 'minified.js' });
    expect(outcome.content).toBe(`     1\t${'x'.repeat(2_000)}… [500 more characters]\n[lines longer than 2000 characters were cut where marked]`);
  });

  it('reads multi-byte text split across read chunks intact', async () => {
    const bed = await makeTestbed();
    const line = 'é'.repeat(40_000); // 80 000 bytes: crosses the 64 KiB chunk boundary mid-character
    await bed.write('wide.txt', `${line}\nend\n`);
    const outcome = await bed.run('read_file', { path: 'wide.txt', offset: 2 });
    expect(outcome).toEqual({ content: '     2\tend', isError: false });
  });

  it('says a file is empty, and refuses an offset past the end', async () => {
    const bed = await makeTestbed();
    await bed.write('empty.txt', '');
    await bed.write('two.txt', 'a\nb\n');
    expect(await bed.run('read_file', { path: 'empty.txt' })).toEqual({ content: '["empty.txt" is empty]', isError: false });
    expect(await bed.run('read_file', { path: 'two.txt', offset: 5 })).toEqual({
      content: 'read_file: offset 5 is past the end of "two.txt", which has 2 lines',
      isError: true,
    });
  });

  it('refuses a directory, pointing at list_files', async () => {
    const bed = await makeTestbed();
    await bed.write('src/a.ts', '');
    expect(await bed.run('read_file', { path: 'src' })).toEqual({ content: 'read_file: "src" is a directory; use list_files to see what it holds', isError: true });
  });

  it('refuses a binary file', async () => {
    const bed = await makeTestbed();
    await bed.write('image.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0x0d, 0x0a]));
    expect(await bed.run('read_file', { path: 'image.png' })).toEqual({ content: expect.stringContaining('"image.png" looks like a binary file'), isError: true });
  });
});

describe('write_file', () => {
  it('creates the file and its missing parent directories', async () => {
    const bed = await makeTestbed();
    expect(await bed.run('write_file', { path: 'src/deep/new.ts', content: 'export const x = 1;\n' })).toEqual({
      content: 'Created "src/deep/new.ts" (20 bytes)',
      isError: false,
    });
    expect(await bed.read('src/deep/new.ts')).toBe('export const x = 1;\n');
  });

  it('replaces an existing file, keeping its permissions and leaving no temporary file behind', async () => {
    const bed = await makeTestbed();
    await bed.write('run.sh', 'echo old\n');
    await chmod(path.join(bed.root, 'run.sh'), 0o755);
    expect(await bed.run('write_file', { path: 'run.sh', content: 'echo new\n' })).toEqual({ content: 'Replaced "run.sh" (9 bytes)', isError: false });
    expect(await bed.read('run.sh')).toBe('echo new\n');
    expect((await stat(path.join(bed.root, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect(await readdir(bed.root)).toEqual(['run.sh']);
  });

  it('refuses to write over a directory', async () => {
    const bed = await makeTestbed();
    await bed.write('src/a.ts', '');
    expect(await bed.run('write_file', { path: 'src', content: 'x' })).toEqual({ content: 'write_file: "src" is a directory; cannot write a file over it', isError: true });
  });
});

describe('edit_file', () => {
  it('replaces text that occurs exactly once, taking new_text literally', async () => {
    const bed = await makeTestbed();
    await bed.write('price.ts', 'const price = 1;\nconst tax = 2;\n');
    expect(await bed.run('edit_file', { path: 'price.ts', old_text: 'price = 1', new_text: "price = '$&$1'" })).toEqual({
      content: 'Edited "price.ts": replaced 1 occurrence',
      isError: false,
    });
    expect(await bed.read('price.ts')).toBe("const price = '$&$1';\nconst tax = 2;\n");
  });

  it('refuses when old_text is not found, saying there are 0 matches', async () => {
    const bed = await makeTestbed();
    await bed.write('a.ts', 'const a = 1;\n');
    const outcome = await bed.run('edit_file', { path: 'a.ts', old_text: 'const b', new_text: 'const c' });
    expect(outcome).toEqual({ content: expect.stringContaining('old_text was not found in "a.ts" (0 matches)'), isError: true });
    expect(await bed.read('a.ts')).toBe('const a = 1;\n');
  });

  it('refuses when old_text occurs twice, saying how many times, and leaves the file alone', async () => {
    const bed = await makeTestbed();
    await bed.write('a.ts', 'x = 1;\nx = 1;\n');
    const outcome = await bed.run('edit_file', { path: 'a.ts', old_text: 'x = 1', new_text: 'x = 2' });
    expect(outcome).toEqual({ content: expect.stringContaining('old_text occurs 2 times in "a.ts"; it must occur exactly once'), isError: true });
    expect(await bed.read('a.ts')).toBe('x = 1;\nx = 1;\n');
  });

  it('replaces every occurrence with replace_all', async () => {
    const bed = await makeTestbed();
    await bed.write('a.ts', 'x = 1;\nx = 1;\n');
    expect(await bed.run('edit_file', { path: 'a.ts', old_text: 'x = 1', new_text: 'x = 2', replace_all: true })).toEqual({
      content: 'Edited "a.ts": replaced 2 occurrences',
      isError: false,
    });
    expect(await bed.read('a.ts')).toBe('x = 2;\nx = 2;\n');
  });

  it('refuses a missing file and a binary file', async () => {
    const bed = await makeTestbed();
    await bed.write('blob.bin', new Uint8Array([1, 0, 2]));
    expect(await bed.run('edit_file', { path: 'nope.ts', old_text: 'a', new_text: 'b' })).toEqual({ content: 'edit_file: "nope.ts" does not exist', isError: true });
    expect((await bed.run('edit_file', { path: 'blob.bin', old_text: 'a', new_text: 'b' })).content).toContain('looks like a binary file');
  });
});

describe('list_files', () => {
  it('lists the root by default, sorted, with a trailing / on directories', async () => {
    const bed = await makeTestbed();
    await bed.write('b.txt', '');
    await bed.write('a/inner.txt', '');
    await bed.write('A.md', '');
    expect(await bed.run('list_files', {})).toEqual({ content: 'A.md\na/\nb.txt', isError: false });
  });

  it('lists recursively depth first with workspace-relative paths, showing .git without entering it', async () => {
    const bed = await makeTestbed();
    await bed.write('src/b.ts', '');
    await bed.write('src/lib/a.ts', '');
    await bed.write('src.txt', '');
    await bed.write('.git/HEAD', '');
    expect(await bed.run('list_files', { path: 'src', recursive: true })).toEqual({ content: 'src/b.ts\nsrc/lib/\nsrc/lib/a.ts', isError: false });
    expect(await bed.run('list_files', { recursive: true })).toEqual({
      content: '.git/\nsrc.txt\nsrc/\nsrc/b.ts\nsrc/lib/\nsrc/lib/a.ts',
      isError: false,
    });
  });

  it('stops at max_entries with a note', async () => {
    const bed = await makeTestbed();
    for (const name of ['a', 'b', 'c', 'd']) await bed.write(name, '');
    expect(await bed.run('list_files', { max_entries: 2 })).toEqual({
      content: 'a\nb\n[listing stopped after 2 entries; list a subdirectory, or raise max_entries]',
      isError: false,
    });
  });

  it('says an empty directory is empty, and refuses a file', async () => {
    const bed = await makeTestbed();
    await bed.write('file.txt', '');
    expect(await bed.run('list_files', {})).toEqual({ content: 'file.txt', isError: false });
    expect(await bed.run('list_files', { path: 'file.txt' })).toEqual({
      content: 'list_files: "file.txt" is a file, not a directory; use read_file to read it',
      isError: true,
    });
    const empty = await makeTestbed();
    expect(await empty.run('list_files', {})).toEqual({ content: '["." is empty]', isError: false });
  });
});

describe('grep', () => {
  it('answers file:line: text for each matching line, in path order', async () => {
    const bed = await makeTestbed();
    await bed.write('src/b.ts', 'const todo = 1;\n// TODO: later\n');
    await bed.write('src/a.ts', 'nothing here\n// TODO: first\n');
    expect(await bed.run('grep', { pattern: 'TODO:' })).toEqual({ content: 'src/a.ts:2: // TODO: first\nsrc/b.ts:2: // TODO: later', isError: false });
  });

  it('matches case-insensitively when asked, and filters by a file-name glob', async () => {
    const bed = await makeTestbed();
    await bed.write('a.ts', 'TODO one\n');
    await bed.write('b.md', 'todo two\n');
    await bed.write('c.tsx', 'todo three\n');
    expect(await bed.run('grep', { pattern: 'todo', ignore_case: true, glob: '*.ts' })).toEqual({ content: 'a.ts:1: TODO one', isError: false });
    expect(await bed.run('grep', { pattern: 'todo', ignore_case: true, glob: '**/*.{ts,tsx}' })).toEqual({ content: 'a.ts:1: TODO one\nc.tsx:1: todo three', isError: false });
  });

  it('searches one named file', async () => {
    const bed = await makeTestbed();
    await bed.write('docs/readme.md', 'alpha\nbeta\n');
    expect(await bed.run('grep', { pattern: '^b', path: 'docs/readme.md' })).toEqual({ content: 'docs/readme.md:2: beta', isError: false });
  });

  it('skips binary files and .git', async () => {
    const bed = await makeTestbed();
    await bed.write('.git/config', 'needle\n');
    await bed.write('blob.bin', new Uint8Array([...Buffer.from('needle'), 0]));
    await bed.write('text.txt', 'needle\n');
    expect(await bed.run('grep', { pattern: 'needle' })).toEqual({ content: 'text.txt:1: needle', isError: false });
  });

  it('says when nothing matches', async () => {
    const bed = await makeTestbed();
    await bed.write('a.txt', 'hay\n');
    expect(await bed.run('grep', { pattern: 'needle' })).toEqual({ content: 'No matches for /needle/ in "."', isError: false });
  });

  it('stops at max_results with a note', async () => {
    const bed = await makeTestbed();
    await bed.write('a.txt', 'x\nx\nx\n');
    expect(await bed.run('grep', { pattern: 'x', max_results: 2 })).toEqual({
      content: 'a.txt:1: x\na.txt:2: x\n[stopped after 2 matching lines; narrow the pattern, path or glob, or raise max_results]',
      isError: false,
    });
  });

  it('refuses a bad regular expression, naming the pattern', async () => {
    const bed = await makeTestbed();
    expect(await bed.run('grep', { pattern: 'foo(' })).toEqual({
      content: expect.stringMatching(/^grep: pattern "foo\(" is not a valid JavaScript regular expression: /),
      isError: true,
    });
  });
});
