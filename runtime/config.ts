/**
 * The runtime's configuration: one zod schema, filled from four layers, lowest precedence
 * first: the schema's defaults, `ledgerclaw.config.json`, environment variables, and
 * command-line flags. Every value remembers which layer it came from, so an invalid one is
 * reported with its key path and its source, which is what an operator needs to fix it.
 *
 * `loadConfig` takes env and cwd as arguments and never reads `process.env`, so tests can
 * call it with any environment.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { permissionsConfigSchema } from './permissions/policy-config.js';
import { redactCredentials } from './redaction.js';
import { EVENTSTOREDB_URL_ENV } from './eventstoredb-url.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const SQLITE_SYNCHRONOUS_LEVELS = ['FULL', 'NORMAL', 'EXTRA'] as const;
export const EVENT_STORE_BACKENDS = ['sqlite', 'eventstoredb'] as const;
export const DEFAULT_CONFIG_FILE = 'ledgerclaw.config.json';
export const SANDBOX_CHOICES = ['auto', 'docker', 'process'] as const;

const modelPriceSchema = z.object({ inputPerMTok: z.number().nonnegative(), outputPerMTok: z.number().nonnegative() }).strict();

const knowledgeSourceNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'expected lower-case words joined by dashes, such as handbook or slack-general');

const knowledgeSourceConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      name: knowledgeSourceNameSchema,
      kind: z.literal('folder'),
      /** A folder or a git working tree; relative to the working directory. */
      path: z.string().min(1),
      /** Who may read it: everyone (default) or one group. */
      group: z.string().min(1).optional(),
      /** Prefix for links in results, such as a repository's blob URL. */
      urlBase: z.url().optional(),
    })
    .strict(),
  z
    .object({
      name: knowledgeSourceNameSchema,
      kind: z.literal('slack'),
      /** Channel ids; every channel the bot is in when left out. */
      channels: z.array(z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'expected a Slack channel id such as C0123ABCD')).optional(),
      /** The Web API's base URL; `slack.apiUrl` by default (tests point it at a fake). */
      apiBaseUrl: z.url().optional(),
    })
    .strict(),
]);

export type KnowledgeSourceConfig = z.infer<typeof knowledgeSourceConfigSchema>;

export const SLACK_MODES = ['socket', 'http'] as const;

const slackChannelIdSchema = z.string().regex(/^[CDG][A-Z0-9]{2,}$/, 'expected a Slack channel id such as C0123ABCD');
const slackUserIdConfigSchema = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user id such as U024BE7LH');
const roleNameConfigSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9 _-]{0,39}$/, 'expected a role name such as Researcher');

/** How the assistant behaves in one Slack channel (file only). */
const slackChannelSettingsSchema = z
  .object({
    /** `mention` (default in channels): answers when @mentioned and in threads it answers in; `all`: every top-level message. */
    triggerMode: z.enum(['mention', 'all']).optional(),
    /** Who may address the assistant here; everyone when empty. */
    allowedSenders: z.array(slackUserIdConfigSchema).max(1000).optional(),
    /** The admin group: manages every group's tasks. */
    isAdmin: z.boolean().optional(),
    /** Sub-agent roles that may address people here (mention them or the channel). */
    rolesAddressingUsers: z.array(roleNameConfigSchema).max(50).optional(),
  })
  .strict();

export type SlackChannelSettings = z.infer<typeof slackChannelSettingsSchema>;

/** A named identity sub-agents post under: a name and an emoji (`:mag:`) or image URL. */
const agentRoleSchema = z
  .object({
    name: roleNameConfigSchema,
    icon: z.union([z.string().regex(/^:[a-z0-9_+-]+:$/, 'expected an emoji code such as :mag:'), z.url()]).optional(),
    /** What the role does, for the model choosing whom to post as. */
    description: z.string().min(1).max(500).optional(),
  })
  .strict();

export type AgentRoleConfig = z.infer<typeof agentRoleSchema>;

/** An environment variable's name, whose value a header of an HTTP action carries. */
const envVarNameSchema = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'expected an environment variable name such as CRM_TOKEN');

/**
 * One HTTP action `http_request` may call. Header values come from environment variables
 * named here, never from the file: the config is not a secret, and the model never sees them.
 */
const httpActionSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected an action name such as post_customer_webhook'),
    /** What it does, for the model choosing one and the approvers reading the request. */
    description: z.string().min(1).max(500),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    /** Header name to the environment variable holding its value. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'expected an HTTP header name such as Authorization'), z.object({ env: envVarNameSchema }).strict()).default({}),
    timeoutMs: z.number().int().min(500).max(120_000).default(15_000),
  })
  .strict();

export type HttpActionConfig = z.output<typeof httpActionSchema>;

const allowedHostSchema = z
  .string()
  .regex(/^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?$/, 'expected a lower-case host name such as docs.example.com or *.example.com, with an optional :port');

// `.prefault({})` (not `.default`) so that a missing section is parsed as `{}` and its
// fields still get their own defaults.
export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    log: z
      .object({
        level: z.enum(LOG_LEVELS).default('info'),
      })
      .strict()
      .prefault({}),
    eventStore: z
      .object({
        backend: z.enum(EVENT_STORE_BACKENDS).default('sqlite'),
        sqlite: z
          .object({
            synchronous: z.enum(SQLITE_SYNCHRONOUS_LEVELS).default('FULL'),
            busyTimeoutMs: z.number().int().nonnegative().default(5_000),
            maxBatchEvents: z.number().int().min(1).default(2_000),
          })
          .strict()
          .prefault({}),
        eventstoredb: z
          .object({
            // The connection string can hold credentials, so it has no place in a file
            // that gets copied around: it is read only from LEDGERCLAW_EVENTSTOREDB_URL.
            url: z
              .unknown()
              .refine(() => false, {
                error: `the EventStoreDB connection string is read only from the environment variable ${EVENTSTOREDB_URL_ENV}, never from the config file`,
              })
              .optional(),
            /** How long a runtime's lease on the store lasts unless it is renewed. */
            leaseTtlMs: z.number().int().min(1_000).max(600_000).default(10_000),
            /** How often the active runtime renews its lease; well under leaseTtlMs. */
            leaseRenewEveryMs: z.number().int().min(100).max(300_000).default(2_000),
            /** How long a call to the server may take before it fails as deadline exceeded. */
            requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
          })
          .strict()
          .refine((section) => section.leaseRenewEveryMs * 2 <= section.leaseTtlMs, {
            message: 'leaseRenewEveryMs must be at most half of leaseTtlMs, so that one late renewal does not lose the lease',
            path: ['leaseRenewEveryMs'],
          })
          .prefault({}),
      })
      .strict()
      .prefault({}),
    memory: z
      .object({
        /** Tokens of conversation a group gathers before a consolidation is asked for. */
        consolidationBudgetTokens: z.number().int().min(100).default(8_000),
        /** Failed attempts (a model error, a malformed answer) before a consolidation request ends as failed. */
        consolidationMaxAttempts: z.number().int().min(1).max(20).default(3),
        /** The wait before a consolidation's second attempt, doubled for each one after. */
        consolidationRetryDelayMs: z.number().int().min(0).max(3_600_000).default(5_000),
      })
      .strict()
      .prefault({}),
    knowledge: z
      .object({
        /**
         * Where knowledge caches come from. Set in ledgerclaw.config.json only; secrets are
         * never configuration: a Slack source reads its token from SLACK_BOT_TOKEN.
         */
        sources: z.array(knowledgeSourceConfigSchema).default([]),
        /** How often the running runtime syncs every source (the scheduler will take this over). */
        syncEveryMs: z.number().int().min(10_000).default(900_000),
      })
      .strict()
      .prefault({}),
    agent: z
      .object({
        /** Who the assistant is: the first section of every prompt (what the company and each group ask of it is in COMPANY.md and INSTRUCTIONS.md). */
        name: z.string().min(1).max(100).default('ledgerclaw'),
        identity: z
          .string()
          .min(1)
          .max(20_000)
          .default(
            "You are a company's assistant, working in its Slack with its team. You remember the business across months through your memory tools, act through your tools, and say plainly when you do not know.",
          ),
        model: z.string().min(1).max(200).default('claude-sonnet-5-5'),
        maxTokens: z.number().int().min(256).max(128_000).default(8_192),
        /** Model calls one turn may make before it is stopped. */
        maxIterations: z.number().int().min(1).max(200).default(20),
        /** Tokens of conversation a prompt carries (newest first, cut at a message boundary). */
        conversationWindowTokens: z.number().int().min(500).max(500_000).default(12_000),
        /** Named identities sub-agents post under (file only); empty: the built-in Researcher, Coder and Reviewer. */
        roles: z.array(agentRoleSchema).max(20).default([]),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        /** Anthropic's API, or an Anthropic-compatible server. */
        baseUrl: z.url().default('https://api.anthropic.com'),
        maxRetries: z.number().int().min(0).max(10).default(4),
        timeoutMs: z.number().int().min(1_000).default(600_000),
        /** Extra or changed prices, by model-id prefix, in US dollars per million tokens. */
        prices: z.record(z.string().min(1), modelPriceSchema).default({}),
      })
      .strict()
      .prefault({}),
    runs: z
      .object({
        /** `auto`: Docker when a daemon answers, else the weaker process sandbox. */
        sandbox: z.enum(SANDBOX_CHOICES).default('auto'),
        maxConcurrent: z.number().int().min(1).max(1_000).default(4),
        maxPerGroup: z.number().int().min(1).max(1_000).default(1),
        hardTimeoutMs: z.number().int().min(1_000).default(900_000),
        /** No model call, tool call or output for this long ends the run. */
        idleTimeoutMs: z.number().int().min(1_000).default(180_000),
        memoryMb: z.number().int().min(32).default(1_024),
        cpus: z.number().min(0.1).max(64).default(1),
        pids: z.number().int().min(16).default(256),
        bashTimeoutMs: z.number().int().min(1_000).default(120_000),
        /**
         * A group's workspace quota in MiB: one file can be no larger (the container's RLIMIT_FSIZE),
         * and a run whose tool call leaves the workspace larger fails with `workspace_quota`.
         */
        workspaceMb: z.number().int().min(1).max(1_048_576).default(1_024),
        /** A run interrupted by a runtime restart is queued once more. */
        retryInterrupted: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    budgets: z
      .object({
        /** Tokens (input, cache writes and output) a group's runs may spend per UTC day. */
        groupDailyTokens: z.number().int().min(1_000).default(2_000_000),
        /** Tokens one task's runs may spend per UTC day. */
        taskDailyTokens: z.number().int().min(1_000).default(500_000),
      })
      .strict()
      .prefault({}),
    scheduler: z
      .object({
        /** The clock fires due tasks; off, tasks are recorded but never fire (a read-only replica, say). */
        enabled: z.boolean().default(true),
        /** A fire this far past its due time counts as missed (the runtime was down): the task's catch-up policy decides. */
        missedAfterMs: z.number().int().min(1_000).default(60_000),
        /** Fires (gate checks and appends) under way at once. */
        maxConcurrentFires: z.number().int().min(1).max(1_000).default(128),
        /** Where a task paused after repeated failures is reported; the task's own group when unset. */
        adminGroup: z.string().min(1).nullable().default(null),
      })
      .strict()
      .prefault({}),
    slack: z
      .object({
        /** `socket`: Socket Mode, an outbound websocket (no public URL needed); `http`: the Events API over HTTP, signed requests only. */
        mode: z.enum(SLACK_MODES).default('socket'),
        /** The port the HTTP mode listens on (`/slack/events`). */
        port: z.number().int().min(0).max(65_535).default(3_000),
        /** The Web API's base URL (tests point it at a fake). */
        apiUrl: z.url().default('https://slack.com/api/'),
        /** The reaction that tells a sender their message was taken up. */
        ackReaction: z.string().regex(/^[a-z0-9_+'-]+$/, 'expected an emoji name without colons, such as eyes').default('eyes'),
        /** Longest text of one posted message; longer replies are split at paragraph, line or word boundaries. */
        maxMessageChars: z.number().int().min(500).max(40_000).default(3_900),
        /** Per-channel settings by channel id (file only); a channel not listed answers mentions, a DM every message. */
        channels: z
          .record(z.string(), slackChannelSettingsSchema)
          .superRefine((channels, context) => {
            // Checked here rather than as the record's key schema, whose message names no key.
            for (const id of Object.keys(channels)) {
              if (!slackChannelIdSchema.safeParse(id).success) {
                context.addIssue({ code: 'custom', path: [id], message: `expected a Slack channel id such as C0123ABCD as the key, not '${id}'` });
              }
            }
          })
          .default({}),
      })
      .strict()
      .prefault({}),
    /** Who may use which tier of tool without asking, and who approves the rest (file only; see runtime/permissions/). */
    permissions: permissionsConfigSchema.prefault({}),
    /** Actions the assistant may take outside its sandbox, by name (file only). */
    actions: z
      .object({
        /** HTTP calls `http_request` may make: the model picks one by name, never a URL. */
        http: z
          .array(httpActionSchema)
          .max(100)
          .superRefine((actions, context) => {
            const seen = new Set<string>();
            actions.forEach((action, index) => {
              if (seen.has(action.name)) context.addIssue({ code: 'custom', path: [index, 'name'], message: `'${action.name}' is named twice; each action has its own name` });
              seen.add(action.name);
            });
          })
          .default([]),
      })
      .strict()
      .prefault({}),
    /** What `web_fetch` may fetch (file only): nothing until hosts are allowed. */
    webFetch: z
      .object({
        /** Host names (`docs.example.com`), or `*.example.com` for its subdomains. Redirects are followed only within them. */
        allowHosts: z.array(allowedHostSchema).max(500).default([]),
        /**
         * Whether an allowed name may resolve to a loopback, private, link-local or other
         * non-public address. Off: such a fetch is refused, unless the entry is the address itself.
         */
        allowPrivateAddresses: z.boolean().default(false),
        maxBytes: z.number().int().min(1_024).max(20 * 1024 * 1024).default(2 * 1024 * 1024),
        timeoutMs: z.number().int().min(500).max(120_000).default(15_000),
        maxRedirects: z.number().int().min(0).max(20).default(5),
      })
      .strict()
      .prefault({}),
    actors: z
      .object({
        snapshotEvery: z.number().int().min(1).default(100),
        maxLiveActors: z.number().int().min(1).default(20_000),
        idleAfterMs: z.number().int().min(1_000).default(600_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The validated configuration; `dataDir` is always an absolute path. */
export type Config = z.output<typeof configSchema>;

export interface ConfigKeyDoc {
  /** Dotted path in the schema and in `ledgerclaw.config.json`. */
  readonly key: string;
  readonly env: string;
  readonly flag?: string;
  /** How an environment value is turned into the schema's input. */
  readonly envKind: 'string' | 'integer' | 'number' | 'boolean';
  readonly description: string;
}

/** Every key, its environment variable and its flag: the table README.md documents. */
export const CONFIG_KEYS: readonly ConfigKeyDoc[] = [
  {
    key: 'dataDir',
    env: 'LEDGERCLAW_DATA',
    flag: '--data <dir>',
    envKind: 'string',
    description:
      "the data directory (events.db, writer.lock); relative paths are resolved against the working directory, or against the config file's directory when set there",
  },
  { key: 'log.level', env: 'LEDGERCLAW_LOG_LEVEL', envKind: 'string', description: `pino log level: ${LOG_LEVELS.join(', ')}` },
  {
    key: 'eventStore.backend',
    env: 'LEDGERCLAW_EVENT_STORE',
    envKind: 'string',
    description: `which event store: ${EVENT_STORE_BACKENDS.join(', ')}`,
  },
  {
    key: 'eventStore.eventstoredb.leaseTtlMs',
    env: 'LEDGERCLAW_EVENTSTOREDB_LEASE_TTL_MS',
    envKind: 'integer',
    description: "how long the active runtime's lease on an EventStoreDB store lasts unless renewed; a standby takes over this long after the active one stops renewing",
  },
  {
    key: 'eventStore.eventstoredb.leaseRenewEveryMs',
    env: 'LEDGERCLAW_EVENTSTOREDB_LEASE_RENEW_MS',
    envKind: 'integer',
    description: 'how often the active runtime renews its lease (at most half of leaseTtlMs)',
  },
  {
    key: 'eventStore.eventstoredb.requestTimeoutMs',
    env: 'LEDGERCLAW_EVENTSTOREDB_REQUEST_TIMEOUT_MS',
    envKind: 'integer',
    description: 'the deadline of each call to EventStoreDB',
  },
  {
    key: 'eventStore.sqlite.synchronous',
    env: 'LEDGERCLAW_SQLITE_SYNCHRONOUS',
    envKind: 'string',
    description: 'SQLite durability: FULL fsyncs every commit (an acknowledged append survives power loss); NORMAL may lose the last commits on power loss; EXTRA also fsyncs the directory',
  },
  {
    key: 'eventStore.sqlite.busyTimeoutMs',
    env: 'LEDGERCLAW_SQLITE_BUSY_TIMEOUT_MS',
    envKind: 'integer',
    description: 'how long a connection waits for a lock held by another connection',
  },
  {
    key: 'eventStore.sqlite.maxBatchEvents',
    env: 'LEDGERCLAW_SQLITE_MAX_BATCH_EVENTS',
    envKind: 'integer',
    description: 'the most events the group-commit writer puts in one transaction',
  },
  {
    key: 'memory.consolidationBudgetTokens',
    env: 'LEDGERCLAW_CONSOLIDATION_BUDGET_TOKENS',
    envKind: 'integer',
    description: "tokens of a group's conversation since its last consolidation that make the runtime ask for the next one",
  },
  {
    key: 'memory.consolidationMaxAttempts',
    env: 'LEDGERCLAW_CONSOLIDATION_MAX_ATTEMPTS',
    envKind: 'integer',
    description: 'failed attempts (a model error, a malformed answer) before a consolidation request ends as failed and the next window may ask again',
  },
  {
    key: 'memory.consolidationRetryDelayMs',
    env: 'LEDGERCLAW_CONSOLIDATION_RETRY_DELAY_MS',
    envKind: 'integer',
    description: "the wait before a consolidation's second attempt, doubled for each one after",
  },
  {
    key: 'knowledge.syncEveryMs',
    env: 'LEDGERCLAW_KNOWLEDGE_SYNC_EVERY_MS',
    envKind: 'integer',
    description: 'how often `ledgerclaw start` syncs the configured knowledge sources (once at start, then at this interval)',
  },
  { key: 'agent.model', env: 'LEDGERCLAW_MODEL', envKind: 'string', description: 'the model every run uses (its price is known for claude-* families; see model.prices)' },
  {
    key: 'agent.maxIterations',
    env: 'LEDGERCLAW_MAX_ITERATIONS',
    envKind: 'integer',
    description: 'model calls one turn may make before the runner stops it (default 20)',
  },
  {
    key: 'agent.conversationWindowTokens',
    env: 'LEDGERCLAW_CONVERSATION_WINDOW_TOKENS',
    envKind: 'integer',
    description: "tokens of a group's conversation a prompt carries, newest first",
  },
  {
    key: 'model.baseUrl',
    env: 'ANTHROPIC_BASE_URL',
    envKind: 'string',
    description: 'an Anthropic-compatible server for model calls; the key itself is read only from ANTHROPIC_API_KEY and never stored in config',
  },
  {
    key: 'runs.sandbox',
    env: 'LEDGERCLAW_SANDBOX',
    envKind: 'string',
    description: `where runs execute: ${SANDBOX_CHOICES.join(', ')} (auto: Docker when a daemon answers, else the weaker process sandbox with bash off)`,
  },
  { key: 'runs.maxConcurrent', env: 'LEDGERCLAW_MAX_CONCURRENT_RUNS', envKind: 'integer', description: 'runs holding a slot at once, over every group' },
  { key: 'runs.hardTimeoutMs', env: 'LEDGERCLAW_RUN_TIMEOUT_MS', envKind: 'integer', description: "a run's total time limit" },
  {
    key: 'runs.idleTimeoutMs',
    env: 'LEDGERCLAW_RUN_IDLE_TIMEOUT_MS',
    envKind: 'integer',
    description: 'a run with no model call, tool call or message for this long is stopped',
  },
  { key: 'runs.memoryMb', env: 'LEDGERCLAW_RUN_MEMORY_MB', envKind: 'integer', description: "a run container's memory limit (no swap)" },
  {
    key: 'budgets.groupDailyTokens',
    env: 'LEDGERCLAW_GROUP_DAILY_TOKENS',
    envKind: 'integer',
    description: "tokens a group's runs may spend per UTC day; a run past it is stopped with the reason",
  },
  {
    key: 'budgets.taskDailyTokens',
    env: 'LEDGERCLAW_TASK_DAILY_TOKENS',
    envKind: 'integer',
    description: "tokens one scheduled task's runs may spend per UTC day",
  },
  { key: 'agent.name', env: 'LEDGERCLAW_AGENT_NAME', envKind: 'string', description: "the assistant's name, as it introduces itself" },
  { key: 'agent.identity', env: 'LEDGERCLAW_AGENT_IDENTITY', envKind: 'string', description: "who the assistant is: the first, cached section of every prompt (the company's and a group's instructions follow, from COMPANY.md and INSTRUCTIONS.md)" },
  { key: 'agent.maxTokens', env: 'LEDGERCLAW_MAX_TOKENS', envKind: 'integer', description: "the most output tokens of one model call" },
  { key: 'model.maxRetries', env: 'LEDGERCLAW_MODEL_MAX_RETRIES', envKind: 'integer', description: 'retries of a model call answered 429 or 529, with backoff (retry-after honoured)' },
  { key: 'model.timeoutMs', env: 'LEDGERCLAW_MODEL_TIMEOUT_MS', envKind: 'integer', description: 'the longest one model call may take' },
  { key: 'runs.maxPerGroup', env: 'LEDGERCLAW_MAX_RUNS_PER_GROUP', envKind: 'integer', description: 'runs holding a slot at once in one group' },
  { key: 'runs.cpus', env: 'LEDGERCLAW_RUN_CPUS', envKind: 'number', description: "a run container's CPU limit" },
  { key: 'runs.pids', env: 'LEDGERCLAW_RUN_PIDS', envKind: 'integer', description: "a run container's process limit" },
  { key: 'runs.bashTimeoutMs', env: 'LEDGERCLAW_BASH_TIMEOUT_MS', envKind: 'integer', description: "the longest one bash command in a run may take" },
  {
    key: 'runs.workspaceMb',
    env: 'LEDGERCLAW_RUN_WORKSPACE_MB',
    envKind: 'integer',
    description: "a group's workspace quota in MiB: no file larger, and a run that leaves the workspace larger fails (workspace_quota)",
  },
  { key: 'runs.retryInterrupted', env: 'LEDGERCLAW_RETRY_INTERRUPTED', envKind: 'boolean', description: 'queue a run once more when a runtime restart interrupted it' },
  { key: 'scheduler.enabled', env: 'LEDGERCLAW_SCHEDULER', envKind: 'boolean', description: 'fire scheduled tasks when they are due' },
  {
    key: 'scheduler.missedAfterMs',
    env: 'LEDGERCLAW_MISSED_AFTER_MS',
    envKind: 'integer',
    description: "a fire this late counts as missed (the runtime was down); the task's catch-up policy (fire once or skip) decides",
  },
  { key: 'scheduler.maxConcurrentFires', env: 'LEDGERCLAW_MAX_CONCURRENT_FIRES', envKind: 'integer', description: 'due tasks being fired at once (wake gates checked, fires recorded)' },
  {
    key: 'scheduler.adminGroup',
    env: 'LEDGERCLAW_ADMIN_GROUP',
    envKind: 'string',
    description: 'the group told when a task is paused after repeated failures (default: the task\'s own group)',
  },
  { key: 'slack.mode', env: 'LEDGERCLAW_SLACK_MODE', envKind: 'string', description: `how Slack reaches the runtime: ${SLACK_MODES.join(' or ')}` },
  { key: 'slack.port', env: 'LEDGERCLAW_SLACK_PORT', envKind: 'integer', description: 'the port of the HTTP mode (`/slack/events`)' },
  { key: 'slack.apiUrl', env: 'LEDGERCLAW_SLACK_API_URL', envKind: 'string', description: "Slack's Web API base URL" },
  { key: 'slack.ackReaction', env: 'LEDGERCLAW_SLACK_ACK_REACTION', envKind: 'string', description: 'the reaction that says a message was taken up' },
  { key: 'slack.maxMessageChars', env: 'LEDGERCLAW_SLACK_MAX_MESSAGE_CHARS', envKind: 'integer', description: 'longest text of one posted Slack message; longer replies are split' },
  {
    key: 'actors.snapshotEvery',
    env: 'LEDGERCLAW_SNAPSHOT_EVERY',
    envKind: 'integer',
    description: "save an actor's snapshot once this many events were folded since its last one (snapshots.db)",
  },
  {
    key: 'actors.maxLiveActors',
    env: 'LEDGERCLAW_MAX_LIVE_ACTORS',
    envKind: 'integer',
    description: 'the most actors kept in memory; the least recently used idle ones are unloaded beyond it',
  },
  {
    key: 'actors.idleAfterMs',
    env: 'LEDGERCLAW_ACTOR_IDLE_AFTER_MS',
    envKind: 'integer',
    description: 'an actor unused this long is unloaded, and reloaded from its snapshot and stream on demand',
  },
];

/**
 * Sections set only in the config file, with no environment variable or flag: a policy,
 * named actions and an allowlist are reviewed documents, not knobs (README.md documents them).
 */
export const FILE_ONLY_SECTIONS = ['permissions', 'actions', 'webFetch'] as const;

export const CONFIG_FILE_ENV = 'LEDGERCLAW_CONFIG';

/**
 * A configuration that cannot be used. The message names the key and where the value came
 * from, and shows the value with any credential in it redacted (a token pasted into the
 * wrong variable, a URL with a password).
 */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(message: string, options?: { cause?: unknown }) {
    super(redactCredentials(`invalid config: ${message}`), options);
    this.name = 'ConfigError';
  }
}

export interface ConfigFlags {
  /** `--data <dir>` */
  readonly data?: string | undefined;
  /** `--config <file>` */
  readonly config?: string | undefined;
}

export interface LoadConfigInput {
  readonly flags?: ConfigFlags;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The config file that was read, or null when there was none. */
  readonly configFile: string | null;
}

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function display(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of path) {
    if (!isPlainObject(current)) return undefined;
    current = current[String(segment)];
  }
  return current;
}

function setAt(root: PlainObject, path: readonly string[], value: unknown): void {
  let current = root;
  for (const segment of path.slice(0, -1)) {
    const next = current[segment];
    if (isPlainObject(next)) {
      current = next;
    } else {
      const created: PlainObject = {};
      current[segment] = created;
      current = created;
    }
  }
  current[path[path.length - 1]!] = value;
}

/** The keys a config object may hold at `parent` (an empty path for the top level). */
/** The keys the schema has under a path, read off the defaults it fills in. */
function knownKeysUnder(parent: readonly string[]): string[] {
  let node: unknown = configSchema.parse({});
  for (const key of parent) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return typeof node === 'object' && node !== null && !Array.isArray(node) ? Object.keys(node) : [];
}

/** What the value should have been, in words, for the zod issues a config can produce. */
function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => String(value)).join(', ')}`;
    case 'invalid_type':
      if (issue.expected === 'int') return 'expected an integer';
      if (issue.expected === 'object') return 'expected an object';
      return `expected a ${issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string') return 'expected a non-empty string';
      return `expected ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}`;
    case 'too_big':
      return `expected ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

interface ConfigFile {
  readonly path: string;
  readonly content: PlainObject;
}

function locateConfigFile(input: LoadConfigInput): { path: string; explicitFrom: string | null } {
  if (input.flags?.config !== undefined) return { path: resolve(input.cwd, input.flags.config), explicitFrom: '--config' };
  const fromEnv = input.env[CONFIG_FILE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { path: resolve(input.cwd, fromEnv), explicitFrom: CONFIG_FILE_ENV };
  return { path: resolve(input.cwd, DEFAULT_CONFIG_FILE), explicitFrom: null };
}

function readConfigFile(input: LoadConfigInput): ConfigFile | null {
  const { path, explicitFrom } = locateConfigFile(input);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Only the default file is optional: a file someone named must be there.
    if (code === 'ENOENT' && explicitFrom === null) return null;
    if (code === 'ENOENT') throw new ConfigError(`config file ${path} (from ${explicitFrom}) does not exist`, { cause: error });
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isPlainObject(content)) {
    throw new ConfigError(`config file ${path} must hold a JSON object, found ${describeJsonType(content)}`);
  }
  return { path, content };
}

/**
 * Parses `raw` and turns the first issue into a ConfigError naming the key, the value and
 * its source. Unknown keys can only come from the file: env and flags are fixed tables.
 */
function parseOrThrow(raw: PlainObject, sourceOf: (path: readonly string[]) => string): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys.map((key) => [...path, key].join('.'));
    const where = path.length === 0 ? 'at the top level' : `in ${path.join('.')}`;
    throw new ConfigError(
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (from ${sourceOf(path)}); ` +
        `known keys ${where}: ${knownKeysUnder(path).join(', ')}`,
    );
  }
  throw new ConfigError(`${path.join('.')} = ${display(valueAt(raw, path))} (from ${sourceOf(path)}): ${expectation(issue)}`);
}

function envValue(doc: ConfigKeyDoc, text: string): unknown {
  if (doc.envKind === 'string') return text;
  if (doc.envKind === 'boolean') {
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    throw new ConfigError(`${doc.key} = ${display(text)} (from ${doc.env}): expected true or false`);
  }
  if (doc.envKind === 'number') {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) throw new ConfigError(`${doc.key} = ${display(text)} (from ${doc.env}): expected a non-negative number such as 1 or 0.5`);
    return Number(text);
  }
  // Strictly digits: Number() would accept '', ' 12', '1e3' and '0x10'.
  if (!/^[0-9]+$/.test(text)) {
    throw new ConfigError(`${doc.key} = ${display(text)} (from ${doc.env}): expected a non-negative integer written in digits`);
  }
  return Number(text);
}

export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const file = readConfigFile(input);
  const fileLabel = file?.path ?? 'defaults';

  // The file is checked on its own first, so a bad file is blamed on the file even when
  // an env variable overrides a neighbouring key.
  const raw: PlainObject = structuredClone(file?.content ?? {});
  parseOrThrow(raw, () => fileLabel);

  const overrides = new Map<string, string>();
  const sourceOf = (path: readonly string[]): string => {
    for (let length = path.length; length > 0; length -= 1) {
      const source = overrides.get(path.slice(0, length).join('.'));
      if (source) return source;
    }
    return file && valueAt(file.content, path) !== undefined ? file.path : 'defaults';
  };

  for (const doc of CONFIG_KEYS) {
    const text = input.env[doc.env];
    // An empty variable counts as unset, as `${VAR:-}` in compose files produces.
    if (text === undefined || text === '') continue;
    setAt(raw, doc.key.split('.'), envValue(doc, text));
    overrides.set(doc.key, doc.env);
  }
  if (input.flags?.data !== undefined) {
    setAt(raw, ['dataDir'], input.flags.data);
    overrides.set('dataDir', '--data');
  }

  const parsed = parseOrThrow(raw, sourceOf);
  // A relative dataDir in a config file means "next to the file", as paths in tsconfig do.
  const dataDirBase = file && !overrides.has('dataDir') && file.content['dataDir'] !== undefined ? dirname(file.path) : input.cwd;
  const dataDir = isAbsolute(parsed.dataDir) ? parsed.dataDir : resolve(dataDirBase, parsed.dataDir);
  return { config: { ...parsed, dataDir }, configFile: file?.path ?? null };
}
