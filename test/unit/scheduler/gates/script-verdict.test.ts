/**
 * What a gate script's ending means: its own verdict only after a clean exit, and a wake
 * (fail open) saying exactly what went wrong otherwise.
 */
import { describe, expect, it } from 'vitest';
import { GATE_DETAIL_MAX_CHARS } from '../../../../runtime/scheduler/gates/gate.js';
import { parseScriptVerdict, scriptGateVerdict, type ScriptEnding } from '../../../../runtime/scheduler/gates/script-verdict.js';

const exited = (stdout: string, overrides: Partial<Extract<ScriptEnding, { kind: 'exited' }>> = {}): ScriptEnding => ({
  kind: 'exited',
  exitCode: 0,
  signal: null,
  oomKilled: false,
  stdout,
  stderrTail: '',
  ...overrides,
});

describe('parseScriptVerdict', () => {
  it('reads the verdict on the last non-empty line, whatever comes before it', () => {
    expect(parseScriptVerdict('checking...\n{"wake": true, "reason": "3 new invoices"}\n\n  \n')).toEqual({ ok: true, verdict: { wake: true, reason: '3 new invoices' } });
    expect(parseScriptVerdict('{"wake": false}\r\n')).toEqual({ ok: true, verdict: { wake: false } });
  });

  it('a verdict earlier in the output does not count when the last line is something else', () => {
    const parsed = parseScriptVerdict('{"wake": false}\ndone');
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringContaining('not JSON: "done"') });
  });

  it('says so when stdout is empty', () => {
    expect(parseScriptVerdict('')).toEqual({ ok: false, problem: 'printed nothing on stdout' });
    expect(parseScriptVerdict('\n \n')).toEqual({ ok: false, problem: 'printed nothing on stdout' });
  });

  it('refuses JSON that is not a verdict, naming the problem', () => {
    expect(parseScriptVerdict('{"wake": "yes"}')).toMatchObject({ ok: false, problem: expect.stringMatching(/wake: .*boolean/) });
    expect(parseScriptVerdict('{"wakes": true}')).toMatchObject({ ok: false, problem: expect.stringMatching(/wakes/) });
    expect(parseScriptVerdict('true')).toMatchObject({ ok: false, problem: expect.stringContaining('not {"wake": boolean') });
    expect(parseScriptVerdict('{"wake": false, "reason": 7}')).toMatchObject({ ok: false, problem: expect.stringMatching(/reason/) });
  });
});

describe('scriptGateVerdict', () => {
  it('follows the script after a clean exit, with its reason as the detail', () => {
    expect(scriptGateVerdict(exited('{"wake": false, "reason": "no new orders"}'))).toEqual({ verdict: { wake: false, detail: 'no new orders' }, problem: null });
    expect(scriptGateVerdict(exited('{"wake": true, "reason": "2 new orders"}'))).toEqual({ verdict: { wake: true, detail: '2 new orders' }, problem: null });
  });

  it('says what the script decided when it gave no reason', () => {
    expect(scriptGateVerdict(exited('{"wake": false}')).verdict).toEqual({ wake: false, detail: 'the gate script said nothing changed' });
    expect(scriptGateVerdict(exited('{"wake": true, "reason": "  "}')).verdict).toEqual({ wake: true, detail: 'the gate script said to wake' });
  });

  it('wakes on a timeout, saying the limit', () => {
    const { verdict, problem } = scriptGateVerdict({ kind: 'timed_out', timeoutMs: 1500, stderrTail: '' });
    expect(verdict.wake).toBe(true);
    expect(verdict.detail).toBe('the gate script did not finish within its 1500 ms timeout and was killed, so the agent is woken (fail open)');
    expect(problem).toMatch(/1500 ms timeout/);
  });

  it('wakes on a non-zero exit even when a sleep verdict was printed, quoting stderr', () => {
    const { verdict } = scriptGateVerdict(exited('{"wake": false}', { exitCode: 2, stderrTail: 'curl: (6) Could not resolve host\n' }));
    expect(verdict).toEqual({ wake: true, detail: 'the gate script exited with code 2; stderr: "curl: (6) Could not resolve host", so the agent is woken (fail open)' });
  });

  it('wakes when the script ran out of memory, or was ended by a signal', () => {
    expect(scriptGateVerdict(exited('', { exitCode: 137, oomKilled: true })).verdict.detail).toMatch(/^the gate script ran out of memory/);
    expect(scriptGateVerdict(exited('', { exitCode: null, signal: 'SIGKILL' })).verdict.detail).toMatch(/^the gate script was ended by SIGKILL/);
  });

  it('wakes on output that is not a verdict, quoting the line', () => {
    const { verdict, problem } = scriptGateVerdict(exited('all good!'));
    expect(verdict).toEqual({ wake: true, detail: 'the gate script printed a last line that is not JSON: "all good!", so the agent is woken (fail open)' });
    expect(problem).not.toBeNull();
  });

  it('keeps every detail one line within the bound', () => {
    const reason = `line one\nline two ${'x'.repeat(5_000)}`;
    const { verdict } = scriptGateVerdict(exited(JSON.stringify({ wake: true, reason })));
    expect(verdict.detail).not.toMatch(/\n/);
    expect(verdict.detail.length).toBe(GATE_DETAIL_MAX_CHARS);
    expect(verdict.detail.startsWith('line one line two')).toBe(true);
    const noisy = scriptGateVerdict(exited('x'.repeat(10_000), { stderrTail: 'e\n'.repeat(3_000) })).verdict.detail;
    expect(noisy.length).toBeLessThanOrEqual(GATE_DETAIL_MAX_CHARS);
    expect(noisy).not.toMatch(/\n/);
  });
});
