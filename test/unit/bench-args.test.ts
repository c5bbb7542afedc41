import { describe, expect, it } from 'vitest';
import { BenchUsageError, parseBenchArgs } from '../bench/bench-args.js';

describe('bench arguments', () => {
  it('takes a suite with its flags, the events suite on sqlite unless --backend says otherwise', () => {
    expect(parseBenchArgs(['events'])).toEqual({ suite: 'events', json: false, quick: false, backend: 'sqlite' });
    expect(parseBenchArgs(['events', '--backend', 'eventstoredb', '--json', '--quick', '--dir', '/tmp'])).toEqual({
      suite: 'events',
      json: true,
      quick: true,
      dir: '/tmp',
      backend: 'eventstoredb',
    });
    expect(parseBenchArgs(['--help'])).toBe('help');
  });

  it('refuses --backend for another suite, an unknown backend, and an unknown suite, naming each', () => {
    expect(() => parseBenchArgs(['actors', '--backend', 'eventstoredb'])).toThrow(new BenchUsageError('--backend applies to the events suite only'));
    expect(() => parseBenchArgs(['events', '--backend', 'postgres'])).toThrow(new BenchUsageError('--backend "postgres": expected one of sqlite, eventstoredb'));
    expect(() => parseBenchArgs(['event'])).toThrow(/^unknown suite "event" \(known: events, actors/);
    expect(() => parseBenchArgs(['events', '--backend'])).toThrow(/--backend/);
    expect(() => parseBenchArgs([])).toThrow(new BenchUsageError('missing <suite>'));
  });
});
