import { describe, expect, it } from 'vitest';
import { OrderedShutdown, STOP_ORDER, type RunningPart } from '../../runtime/shutdown-order.js';

describe('the runtime stops its parts in a fixed order', () => {
  it('ends live runs before the actor host closes, and the actor host before the projections, whatever order they opened in', async () => {
    const shutdown = new OrderedShutdown();
    const stopped: RunningPart[] = [];
    // Opened as the runtime opens them: runs, then the actor host, then the rest.
    for (const part of ['runs', 'approvalTimers', 'actorHost', 'projections', 'liveActorsFile', 'control', 'knowledgeSync', 'consolidation', 'slack', 'scheduler'] as const) {
      shutdown.add(part, () => {
        stopped.push(part);
      });
    }
    await shutdown.stop();
    expect(stopped).toEqual([...STOP_ORDER]);
    expect(stopped.indexOf('runs')).toBeLessThan(stopped.indexOf('actorHost'));
    expect(stopped.indexOf('actorHost')).toBeLessThan(stopped.indexOf('projections'));
    // An approval's expiry timer sends through the actor host: it is cleared while the host is open.
    expect(stopped.indexOf('approvalTimers')).toBeLessThan(stopped.indexOf('actorHost'));
  });

  it('stops only what opened, each once, when a start failed half-way', async () => {
    const shutdown = new OrderedShutdown();
    const stopped: RunningPart[] = [];
    shutdown.add('runs', () => void stopped.push('runs'));
    shutdown.add('actorHost', () => void stopped.push('actorHost'));
    await shutdown.stop();
    await shutdown.stop();
    expect(stopped).toEqual(['runs', 'actorHost']);
  });

  it('still stops the parts after one that fails to stop, then throws its failure', async () => {
    const shutdown = new OrderedShutdown();
    const stopped: RunningPart[] = [];
    shutdown.add('slack', () => Promise.reject(new Error('slack would not close')));
    shutdown.add('runs', async () => void stopped.push('runs'));
    shutdown.add('actorHost', async () => void stopped.push('actorHost'));
    await expect(shutdown.stop()).rejects.toThrow('slack would not close');
    expect(stopped).toEqual(['runs', 'actorHost']);
  });

  it('refuses a part added twice, which would leave the first unstopped', () => {
    const shutdown = new OrderedShutdown();
    shutdown.add('control', () => undefined);
    expect(() => shutdown.add('control', () => undefined)).toThrow("the runtime part 'control' was opened twice");
  });
});
