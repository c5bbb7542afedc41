import { describe, expect, it } from 'vitest';
import { createLogger } from '../../runtime/logger.js';

function capturingLogger(level: 'info' | 'warn' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

describe('logger', () => {
  it('writes JSON lines at the configured level', () => {
    const { logger, lines } = capturingLogger('warn');
    logger.info('hidden');
    logger.warn({ dataDir: '/d' }, 'shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, name: 'ledgerclaw', dataDir: '/d', msg: 'shown' });
  });

  it('never writes a secret, at the top level or nested', () => {
    const { logger, lines } = capturingLogger();
    logger.info(
      {
        token: 'xoxb-top',
        slack: { botToken: 'xoxb-nested', signingSecret: 's3cret', channel: 'C1' },
        anthropic: { apiKey: 'sk-ant-1' },
        request: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k' } },
        db: { password: 'pw' },
      },
      'configured',
    );
    logger.child({ clientSecret: 'child-secret' }).info('child');
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    for (const secret of ['xoxb-top', 'xoxb-nested', 's3cret', 'sk-ant-1', 'Bearer abc', '"k"', '"pw"', 'child-secret']) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({ token: '[redacted]', slack: { channel: 'C1', botToken: '[redacted]' } });
  });
});
