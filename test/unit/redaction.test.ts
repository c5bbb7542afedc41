import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../runtime/config.js';
import { createLogger } from '../../runtime/logger.js';
import { credentialShapeOf, redactCredentials } from '../../runtime/redaction.js';
import { secretEnvProblem } from '../../runtime/sandbox/sandbox-spec.js';

const SLACK_BOT = 'xoxb-1234567890-abcdefghij';
const SLACK_USER = 'xoxp-1234567890-abcdefghij';
const SLACK_APP = 'xapp-1-A0123456789-abcdefghij';
const API_KEY = 'sk-ant-api03-abcdefghijklmnop';

describe('redactCredentials (defect 10: credentials echoed)', () => {
  it('replaces the userinfo of a URL, with or without a password, and keeps the rest', () => {
    expect(redactCredentials('via https://alice:hunter2@proxy.internal:8443/v1 now')).toBe('via https://[redacted]@proxy.internal:8443/v1 now');
    expect(redactCredentials('http://tok3n@api.example.com')).toBe('http://[redacted]@api.example.com');
  });

  it('replaces Slack bot, user and app tokens and API keys wherever they sit in a text', () => {
    const text = `a ${SLACK_BOT}, b ${SLACK_USER}; c=${SLACK_APP} d:"${API_KEY}"`;
    const redacted = redactCredentials(text);
    for (const secret of [SLACK_BOT, SLACK_USER, SLACK_APP, API_KEY]) expect(redacted).not.toContain(secret);
    expect(redacted).toBe('a [redacted], b [redacted]; c=[redacted] d:"[redacted]"');
  });

  it('replaces a whole private key block', () => {
    const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----';
    expect(redactCredentials(`key: ${key} done`)).toBe('key: [redacted] done');
  });

  it('leaves ordinary text, paths, e-mail addresses and URLs without userinfo alone', () => {
    const text = 'https://api.anthropic.com/v1/messages?a=b@c, mail bob@example.com, task-skills /data/sk-notes risk-assessment';
    expect(redactCredentials(text)).toBe(text);
  });

  it('never reaches across a JSON string, so a redacted log line still parses', () => {
    const line = JSON.stringify({ url: 'http://x', note: 'a@b', key: API_KEY, msg: 'via https://u:p@h/' });
    expect(JSON.parse(redactCredentials(line))).toEqual({ url: 'http://x', note: 'a@b', key: '[redacted]', msg: 'via https://[redacted]@h/' });
  });

  it('is the list the sandbox refuses env values by: one list, not two', () => {
    for (const value of [SLACK_BOT, SLACK_APP, API_KEY, 'https://u:p@host/']) {
      expect(credentialShapeOf(value)).toBeDefined();
      expect(secretEnvProblem('SOME_VALUE', value, {})).toMatch(/its value looks like/);
    }
    expect(secretEnvProblem('SOME_VALUE', 'plain', {})).toBeNull();
  });
});

describe('config errors (defect 10: credentials echoed)', () => {
  it('do not echo a token-shaped value given for a key', () => {
    let error: unknown;
    try {
      loadConfig({ env: { LEDGERCLAW_SQLITE_SYNCHRONOUS: SLACK_BOT }, cwd: '/' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('eventStore.sqlite.synchronous = "[redacted]" (from LEDGERCLAW_SQLITE_SYNCHRONOUS)');
    expect(message).not.toContain(SLACK_BOT);
  });

  it('do not echo the password of a URL', () => {
    expect(() => loadConfig({ env: { LEDGERCLAW_EVENT_STORE: 'esdb://admin:changeit@db:2113' }, cwd: '/' })).toThrow(
      /eventStore\.backend = "esdb:\/\/\[redacted\]@db:2113"/,
    );
  });
});

describe('logger (defect 10: credentials echoed)', () => {
  it('redacts credential-shaped values in messages, free-form fields and error messages', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    logger.info({ baseUrl: 'https://bob:s3cretpass@proxy/', note: `got ${SLACK_APP}` }, `calling with ${API_KEY}`);
    logger.error({ err: new Error(`Slack refused ${SLACK_BOT}`) }, 'failed');
    const text = lines.join('');
    for (const secret of ['s3cretpass', SLACK_APP, API_KEY, SLACK_BOT]) expect(text).not.toContain(secret);
    const first = JSON.parse(lines[0]!) as Record<string, string>;
    expect(first).toMatchObject({ baseUrl: 'https://[redacted]@proxy/', note: 'got [redacted]', msg: 'calling with [redacted]' });
    expect((JSON.parse(lines[1]!) as { err: { message: string } }).err.message).toBe('Slack refused [redacted]');
  });
});
