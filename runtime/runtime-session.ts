/**
 * What the assembled runtime tells whoever started it (the facts of the start, for a
 * banner), and the session contract: something run inside the runtime instead of waiting
 * for a signal, such as the local chat (runtime/channels/console/chat-session.ts).
 */
import type { EventStore } from '../events/port.js';
import type { ActorHost } from './actor-host/actor-host.js';
import type { RunningSlackApp } from './channels/slack/slack-app.js';
import type { ConversationChannel } from './channels/conversation-channel.js';
import type { Config } from './config.js';
import type { RunningInspector } from './inspector.js';
import type { AgentRuns } from './runs/agent-runs.js';
import type { Sandbox } from './sandbox/sandbox.js';
import type { PreviousShutdown } from './start-stop-record.js';

/** What started: `start` prints it as its banner, a session shows what it needs of it. */
export interface BannerFacts {
  /** Where the events are: the SQLite file, or the EventStoreDB connection string without credentials. */
  readonly eventStoreLocation: string;
  /** What an acknowledged append survives: SQLite's synchronous level, or `quorum` on EventStoreDB. */
  readonly durability: string;
  readonly previous: PreviousShutdown;
  readonly kinds: readonly string[];
  readonly resumedEffects: number;
  readonly inspector: RunningInspector | undefined;
  readonly sandbox: Sandbox;
  /** Null when model calls can be made; otherwise what to set. */
  readonly modelUnavailable: string | null;
  /** The Slack connection, or null when no Slack tokens are set. */
  readonly slack: RunningSlackApp | null;
  readonly slackMode: string;
  /** The scheduler's state: tasks on its clock, off by config, or why it could not start. */
  readonly scheduler: { readonly armedTasks: number } | 'off' | { readonly failed: string };
}

/** What a session can use while the runtime runs. */
export interface LiveRuntime {
  readonly host: ActorHost;
  readonly store: EventStore;
  readonly runs: AgentRuns;
  readonly config: Config;
}

/** Something run inside the runtime instead of waiting for a signal (the local chat). */
export interface RuntimeSession {
  /** Where its groups' messages, replies and acknowledgements go. */
  readonly channel: ConversationChannel;
  /** Shows what started, in place of the banner. */
  banner(facts: BannerFacts): void;
  /** Runs until the session is over; the runtime then stops cleanly. */
  run(live: LiveRuntime): Promise<void>;
}
