import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, ConfigError, FILE_ONLY_SECTIONS, configSchema, loadConfig, type LoadConfigInput } from '../../runtime/config.js';

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'ledgerclaw-config-'));
});

afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function writeConfigFile(content: unknown, name = 'ledgerclaw.config.json'): string {
  const path = join(cwd, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function load(input: Partial<LoadConfigInput> = {}) {
  return loadConfig({ env: {}, cwd, ...input });
}

function loadError(input: Partial<LoadConfigInput> = {}): ConfigError {
  try {
    load(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('defaults', () => {
  it('needs no file, no env and no flags', () => {
    const { config, configFile } = load();
    expect(configFile).toBeNull();
    expect(config).toEqual({
      dataDir: join(cwd, 'data'),
      log: { level: 'info' },
      eventStore: {
        backend: 'sqlite',
        sqlite: { synchronous: 'FULL', busyTimeoutMs: 5_000, maxBatchEvents: 2_000 },
        eventstoredb: { leaseTtlMs: 10_000, leaseRenewEveryMs: 2_000, requestTimeoutMs: 10_000 },
      },
      memory: { consolidationBudgetTokens: 8_000, consolidationMaxAttempts: 3, consolidationRetryDelayMs: 5_000 },
      knowledge: { sources: [], syncEveryMs: 900_000 },
      agent: expect.objectContaining({ model: 'claude-sonnet-5-5', maxIterations: 20 }),
      model: { baseUrl: 'https://api.anthropic.com', maxRetries: 4, timeoutMs: 600_000, prices: {} },
      runs: expect.objectContaining({ sandbox: 'auto', maxConcurrent: 4, maxPerGroup: 1 }),
      budgets: { groupDailyTokens: 2_000_000, taskDailyTokens: 500_000 },
      scheduler: { enabled: true, missedAfterMs: 60_000, maxConcurrentFires: 128, adminGroup: null },
      slack: { mode: 'socket', port: 3_000, apiUrl: 'https://slack.com/api/', ackReaction: 'eyes', maxMessageChars: 3_900, channels: {} },
      permissions: {
        defaultMaxTier: 'write',
        groups: {},
        roles: { admin: [] },
        tiers: {
          external: { approvers: ['role:admin'], required: 1, expiresAfterMs: 86_400_000 },
          critical: { approvers: ['role:admin'], required: 2, expiresAfterMs: 86_400_000 },
        },
        tools: {},
      },
      actions: { http: [] },
      webFetch: { allowHosts: [], allowPrivateAddresses: false, maxBytes: 2_097_152, timeoutMs: 15_000, maxRedirects: 5 },
      actors: { snapshotEvery: 100, maxLiveActors: 20_000, idleAfterMs: 600_000 },
    });
  });

  it('documents every key of the schema in the env table', () => {
    const leaves: string[] = [];
    const walk = (value: unknown, path: string[]) => {
      if (typeof value === 'object' && value !== null) {
        for (const [key, inner] of Object.entries(value)) walk(inner, [...path, key]);
      } else {
        leaves.push(path.join('.'));
      }
    };
    const { permissions: _permissions, actions: _actions, webFetch: _webFetch, ...withEnvironment } = configSchema.parse({});
    expect(Object.keys(configSchema.parse({})).filter((key) => !(key in withEnvironment))).toEqual([...FILE_ONLY_SECTIONS]);
    walk(withEnvironment, []);
    expect(CONFIG_KEYS.map((doc) => doc.key).sort()).toEqual(leaves.sort());
  });
});

describe('slack', () => {
  it('takes per-channel settings and roles from the file, naming a bad channel id', () => {
    writeConfigFile({
      slack: { channels: { C0123ABCD: { triggerMode: 'all', allowedSenders: ['U024BE7LH'], isAdmin: true, rolesAddressingUsers: ['Reviewer'] } } },
      agent: { roles: [{ name: 'Reviewer', icon: ':eyes:', description: 'reviews code' }] },
    });
    const { config } = load({});
    expect(config.slack.channels).toEqual({ C0123ABCD: { triggerMode: 'all', allowedSenders: ['U024BE7LH'], isAdmin: true, rolesAddressingUsers: ['Reviewer'] } });
    expect(config.agent.roles).toEqual([{ name: 'Reviewer', icon: ':eyes:', description: 'reviews code' }]);
    writeConfigFile({ slack: { channels: { general: {} } } });
    expect(loadError().message).toMatch(/slack\.channels.*general.*expected a Slack channel id/);
  });

  it('refuses a Slack token in the config file: secrets come from the environment', () => {
    writeConfigFile({ slack: { botToken: 'xoxb-1' } });
    expect(loadError().message).toMatch(/unknown key slack\.botToken/);
  });
});

describe('knowledge sources', () => {
  it('reads folder and Slack sources from the config file', () => {
    writeConfigFile({
      knowledge: {
        sources: [
          { name: 'handbook', kind: 'folder', path: './docs', urlBase: 'https://git.example/handbook/' },
          { name: 'slack-general', kind: 'slack', channels: ['C0123ABCD'] },
        ],
      },
    });
    expect(load().config.knowledge.sources).toEqual([
      { name: 'handbook', kind: 'folder', path: './docs', urlBase: 'https://git.example/handbook/' },
      { name: 'slack-general', kind: 'slack', channels: ['C0123ABCD'] },
    ]);
  });

  it('refuses a token in the config file: secrets come from the environment', () => {
    const path = writeConfigFile({ knowledge: { sources: [{ name: 'slack', kind: 'slack', token: 'xoxb-secret' }] } });
    const message = loadError().message;
    expect(message).toContain('knowledge.sources.0');
    expect(message).toContain(path);
    expect(message).not.toContain('xoxb-secret');
  });

  it('names a bad source field', () => {
    writeConfigFile({ knowledge: { sources: [{ name: 'Hand Book', kind: 'folder', path: './docs' }] } });
    expect(loadError().message).toMatch(/knowledge\.sources\.0\.name/);
  });
});

describe('precedence: defaults < file < env < flag', () => {
  it('takes a value from the file over the default', () => {
    writeConfigFile({ log: { level: 'debug' }, eventStore: { sqlite: { synchronous: 'NORMAL' } } });
    const { config, configFile } = load();
    expect(configFile).toBe(join(cwd, 'ledgerclaw.config.json'));
    expect(config.log.level).toBe('debug');
    expect(config.eventStore.sqlite).toEqual({ synchronous: 'NORMAL', busyTimeoutMs: 5_000, maxBatchEvents: 2_000 });
  });

  it('takes env over the file, and keeps the file for keys env leaves alone', () => {
    writeConfigFile({ dataDir: '/from/file', eventStore: { sqlite: { synchronous: 'NORMAL', busyTimeoutMs: 100 } } });
    const { config } = load({
      env: { LEDGERCLAW_SQLITE_SYNCHRONOUS: 'EXTRA', LEDGERCLAW_DATA: '/from/env', LEDGERCLAW_SQLITE_MAX_BATCH_EVENTS: '64' },
    });
    expect(config.dataDir).toBe('/from/env');
    expect(config.eventStore.sqlite).toEqual({ synchronous: 'EXTRA', busyTimeoutMs: 100, maxBatchEvents: 64 });
  });

  it('takes --data over env and file', () => {
    writeConfigFile({ dataDir: '/from/file' });
    const { config } = load({ env: { LEDGERCLAW_DATA: '/from/env' }, flags: { data: '/from/flag' } });
    expect(config.dataDir).toBe('/from/flag');
  });

  it('reads every documented env variable', () => {
    const { config } = load({
      env: {
        LEDGERCLAW_DATA: '/d',
        LEDGERCLAW_LOG_LEVEL: 'warn',
        LEDGERCLAW_EVENT_STORE: 'eventstoredb',
        LEDGERCLAW_EVENTSTOREDB_LEASE_TTL_MS: '6000',
        LEDGERCLAW_EVENTSTOREDB_LEASE_RENEW_MS: '1500',
        LEDGERCLAW_EVENTSTOREDB_REQUEST_TIMEOUT_MS: '4000',
        LEDGERCLAW_SQLITE_SYNCHRONOUS: 'NORMAL',
        LEDGERCLAW_SQLITE_BUSY_TIMEOUT_MS: '250',
        LEDGERCLAW_SQLITE_MAX_BATCH_EVENTS: '10',
        LEDGERCLAW_SNAPSHOT_EVERY: '25',
        LEDGERCLAW_KNOWLEDGE_SYNC_EVERY_MS: '60000',
        LEDGERCLAW_CONSOLIDATION_BUDGET_TOKENS: '4000',
        LEDGERCLAW_CONSOLIDATION_MAX_ATTEMPTS: '5',
        LEDGERCLAW_CONSOLIDATION_RETRY_DELAY_MS: '250',
        LEDGERCLAW_MAX_LIVE_ACTORS: '500',
        LEDGERCLAW_ACTOR_IDLE_AFTER_MS: '60000',
        LEDGERCLAW_AGENT_NAME: 'Ledger',
        LEDGERCLAW_AGENT_IDENTITY: 'You are Ledger.',
        LEDGERCLAW_MODEL: 'claude-haiku-4-5',
        LEDGERCLAW_MAX_TOKENS: '2048',
        LEDGERCLAW_MAX_ITERATIONS: '5',
        LEDGERCLAW_CONVERSATION_WINDOW_TOKENS: '3000',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999',
        LEDGERCLAW_MODEL_MAX_RETRIES: '2',
        LEDGERCLAW_MODEL_TIMEOUT_MS: '30000',
        LEDGERCLAW_SANDBOX: 'process',
        LEDGERCLAW_MAX_CONCURRENT_RUNS: '8',
        LEDGERCLAW_MAX_RUNS_PER_GROUP: '2',
        LEDGERCLAW_RUN_TIMEOUT_MS: '60000',
        LEDGERCLAW_RUN_IDLE_TIMEOUT_MS: '20000',
        LEDGERCLAW_RUN_MEMORY_MB: '256',
        LEDGERCLAW_RUN_CPUS: '0.5',
        LEDGERCLAW_RUN_PIDS: '64',
        LEDGERCLAW_BASH_TIMEOUT_MS: '5000',
        LEDGERCLAW_RUN_WORKSPACE_MB: '50',
        LEDGERCLAW_RETRY_INTERRUPTED: 'false',
        LEDGERCLAW_GROUP_DAILY_TOKENS: '100000',
        LEDGERCLAW_TASK_DAILY_TOKENS: '50000',
        LEDGERCLAW_SCHEDULER: 'false',
        LEDGERCLAW_MISSED_AFTER_MS: '5000',
        LEDGERCLAW_MAX_CONCURRENT_FIRES: '4',
        LEDGERCLAW_ADMIN_GROUP: 'local.ops',
        LEDGERCLAW_SLACK_MODE: 'http',
        LEDGERCLAW_SLACK_PORT: '3100',
        LEDGERCLAW_SLACK_API_URL: 'http://127.0.0.1:9998/api/',
        LEDGERCLAW_SLACK_ACK_REACTION: 'hourglass',
        LEDGERCLAW_SLACK_MAX_MESSAGE_CHARS: '1000',
      },
    });
    const { permissions: _permissions, actions: _actions, webFetch: _webFetch, ...fromEnvironment } = config;
    expect(fromEnvironment).toEqual({
      dataDir: '/d',
      log: { level: 'warn' },
      eventStore: {
        backend: 'eventstoredb',
        sqlite: { synchronous: 'NORMAL', busyTimeoutMs: 250, maxBatchEvents: 10 },
        eventstoredb: { leaseTtlMs: 6_000, leaseRenewEveryMs: 1_500, requestTimeoutMs: 4_000 },
      },
      memory: { consolidationBudgetTokens: 4_000, consolidationMaxAttempts: 5, consolidationRetryDelayMs: 250 },
      knowledge: { sources: [], syncEveryMs: 60_000 },
      actors: { snapshotEvery: 25, maxLiveActors: 500, idleAfterMs: 60_000 },
      agent: { name: 'Ledger', identity: 'You are Ledger.', model: 'claude-haiku-4-5', maxTokens: 2048, maxIterations: 5, conversationWindowTokens: 3000, roles: [] },
      model: { baseUrl: 'http://127.0.0.1:9999', maxRetries: 2, timeoutMs: 30_000, prices: {} },
      runs: {
        sandbox: 'process',
        maxConcurrent: 8,
        maxPerGroup: 2,
        hardTimeoutMs: 60_000,
        idleTimeoutMs: 20_000,
        memoryMb: 256,
        cpus: 0.5,
        pids: 64,
        bashTimeoutMs: 5_000,
        workspaceMb: 50,
        retryInterrupted: false,
      },
      budgets: { groupDailyTokens: 100_000, taskDailyTokens: 50_000 },
      scheduler: { enabled: false, missedAfterMs: 5_000, maxConcurrentFires: 4, adminGroup: 'local.ops' },
      slack: { mode: 'http', port: 3_100, apiUrl: 'http://127.0.0.1:9998/api/', ackReaction: 'hourglass', maxMessageChars: 1_000, channels: {} },
    });
  });

  it('reads booleans and decimals from env, and names the variable when one is malformed', () => {
    expect(() => load({ env: { LEDGERCLAW_RETRY_INTERRUPTED: 'yes' } })).toThrow(/runs.retryInterrupted = "yes" \(from LEDGERCLAW_RETRY_INTERRUPTED\): expected true or false/);
    expect(() => load({ env: { LEDGERCLAW_RUN_CPUS: '1,5' } })).toThrow(/runs.cpus = "1,5" \(from LEDGERCLAW_RUN_CPUS\)/);
    expect(load({ env: { LEDGERCLAW_RETRY_INTERRUPTED: '1' } }).config.runs.retryInterrupted).toBe(true);
  });

  it('treats an empty env variable as unset', () => {
    expect(load({ env: { LEDGERCLAW_LOG_LEVEL: '' } }).config.log.level).toBe('info');
  });

  it('reads the file named by --config, then LEDGERCLAW_CONFIG, instead of the default one', () => {
    writeConfigFile({ log: { level: 'error' } });
    writeConfigFile({ log: { level: 'warn' } }, 'by-env.json');
    writeConfigFile({ log: { level: 'trace' } }, 'by-flag.json');
    expect(load({ env: { LEDGERCLAW_CONFIG: 'by-env.json' } }).config.log.level).toBe('warn');
    expect(load({ env: { LEDGERCLAW_CONFIG: 'by-env.json' }, flags: { config: 'by-flag.json' } }).config.log.level).toBe('trace');
  });
});

describe('dataDir is absolute', () => {
  it('resolves a relative flag or env value against the working directory', () => {
    expect(load({ flags: { data: 'state' } }).config.dataDir).toBe(join(cwd, 'state'));
    expect(load({ env: { LEDGERCLAW_DATA: '../elsewhere' } }).config.dataDir).toBe(join(cwd, '..', 'elsewhere'));
  });

  it("resolves a relative value from a config file against the file's directory", () => {
    const configDir = join(cwd, 'etc');
    const configPath = join(configDir, 'ledgerclaw.json');
    mkdirSync(configDir);
    writeFileSync(configPath, JSON.stringify({ dataDir: 'state' }));
    expect(load({ flags: { config: configPath } }).config.dataDir).toBe(join(configDir, 'state'));
  });
});

describe('errors name the key and where the value came from', () => {
  it('names an env variable', () => {
    const error = loadError({ env: { LEDGERCLAW_SQLITE_SYNCHRONOUS: 'fast' } });
    expect(error.message).toBe(
      'invalid config: eventStore.sqlite.synchronous = "fast" (from LEDGERCLAW_SQLITE_SYNCHRONOUS): expected one of FULL, NORMAL, EXTRA',
    );
  });

  it('names the config file', () => {
    const path = writeConfigFile({ log: { level: 'loud' } });
    expect(loadError().message).toBe(
      `invalid config: log.level = "loud" (from ${path}): expected one of fatal, error, warn, info, debug, trace, silent`,
    );
  });

  it('names the --data flag', () => {
    expect(loadError({ flags: { data: '' } }).message).toBe('invalid config: dataDir = "" (from --data): expected a non-empty string');
  });

  it('parses numbers in env strictly', () => {
    for (const text of ['12abc', '1e3', ' 5', '0x10', '-5', '2.5']) {
      expect(loadError({ env: { LEDGERCLAW_SQLITE_BUSY_TIMEOUT_MS: text } }).message).toBe(
        `invalid config: eventStore.sqlite.busyTimeoutMs = ${JSON.stringify(text)} (from LEDGERCLAW_SQLITE_BUSY_TIMEOUT_MS): expected a non-negative integer written in digits`,
      );
    }
  });

  it('checks a number from env against the schema', () => {
    expect(loadError({ env: { LEDGERCLAW_SQLITE_MAX_BATCH_EVENTS: '0' } }).message).toBe(
      'invalid config: eventStore.sqlite.maxBatchEvents = 0 (from LEDGERCLAW_SQLITE_MAX_BATCH_EVENTS): expected at least 1',
    );
  });

  it('refuses a wrongly typed value in the file', () => {
    const path = writeConfigFile({ eventStore: { sqlite: { busyTimeoutMs: '100' } } });
    expect(loadError().message).toBe(
      `invalid config: eventStore.sqlite.busyTimeoutMs = "100" (from ${path}): expected a number`,
    );
    writeConfigFile({ eventStore: { sqlite: { busyTimeoutMs: 1.5 } } });
    expect(loadError().message).toContain('eventStore.sqlite.busyTimeoutMs = 1.5');
    expect(loadError().message).toContain('expected an integer');
  });

  it('refuses an event store backend that does not exist, naming the ones that do', () => {
    expect(loadError({ env: { LEDGERCLAW_EVENT_STORE: 'postgres' } }).message).toBe(
      'invalid config: eventStore.backend = "postgres" (from LEDGERCLAW_EVENT_STORE): expected one of sqlite, eventstoredb',
    );
  });

  it('refuses an EventStoreDB connection string in the file, pointing at the environment variable, without echoing it', () => {
    writeConfigFile({ eventStore: { backend: 'eventstoredb', eventstoredb: { url: 'esdb://admin:changeit@db:2113' } } });
    const message = loadError().message;
    expect(message).toContain('eventStore.eventstoredb.url');
    expect(message).toContain('LEDGERCLAW_EVENTSTOREDB_URL');
    expect(message).not.toContain('changeit');
  });

  it('refuses a lease renewed less often than twice per lease', () => {
    expect(loadError({ env: { LEDGERCLAW_EVENTSTOREDB_LEASE_TTL_MS: '3000', LEDGERCLAW_EVENTSTOREDB_LEASE_RENEW_MS: '2000' } }).message).toContain(
      'leaseRenewEveryMs must be at most half of leaseTtlMs',
    );
  });

  it('blames the file, not env, for a bad file value next to an env override', () => {
    const path = writeConfigFile({ eventStore: { sqlite: { synchronous: 'fast' } } });
    const error = loadError({ env: { LEDGERCLAW_SQLITE_BUSY_TIMEOUT_MS: '10' } });
    expect(error.message).toContain(`(from ${path})`);
  });

  it('lets env override a bad file value', () => {
    writeConfigFile({ eventStore: { sqlite: { synchronous: 'NORMAL' } } });
    expect(load({ env: { LEDGERCLAW_SQLITE_SYNCHRONOUS: 'FULL' } }).config.eventStore.sqlite.synchronous).toBe('FULL');
  });
});

describe('the config file', () => {
  it('refuses an unknown key, naming it, the file and the keys it could have meant', () => {
    const path = writeConfigFile({ eventStore: { sqlite: { synchronus: 'FULL' } } });
    expect(loadError().message).toBe(
      `invalid config: unknown key eventStore.sqlite.synchronus (from ${path}); known keys in eventStore.sqlite: synchronous, busyTimeoutMs, maxBatchEvents`,
    );
  });

  it('refuses an unknown top-level key', () => {
    const path = writeConfigFile({ dataDir: './d', notion: {} });
    expect(loadError().message).toBe(
      `invalid config: unknown key notion (from ${path}); known keys at the top level: dataDir, log, eventStore, memory, knowledge, agent, model, runs, budgets, scheduler, slack, permissions, actions, webFetch, actors`,
    );
  });

  it('names the file when its JSON is malformed', () => {
    const path = writeConfigFile('{ "dataDir": "./d", }');
    const message = loadError().message;
    expect(message).toMatch(new RegExp(`^invalid config: config file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON: `));
  });

  it('must hold an object', () => {
    const path = writeConfigFile('[1, 2]');
    expect(loadError().message).toBe(`invalid config: config file ${path} must hold a JSON object, found an array`);
  });

  it('may be missing when it is the default one', () => {
    expect(load().configFile).toBeNull();
  });

  it('must exist when named explicitly', () => {
    expect(loadError({ flags: { config: 'missing.json' } }).message).toBe(
      `invalid config: config file ${join(cwd, 'missing.json')} (from --config) does not exist`,
    );
    expect(loadError({ env: { LEDGERCLAW_CONFIG: 'gone.json' } }).message).toBe(
      `invalid config: config file ${join(cwd, 'gone.json')} (from LEDGERCLAW_CONFIG) does not exist`,
    );
  });
});
