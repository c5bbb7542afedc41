/**
 * The local channel: a terminal conversation with the assistant through the whole
 * pipeline. Each line the user types becomes a message on the group's stream (the group
 * actor decides the turn, the supervisor grants a slot, the run executes in its sandbox
 * with the gateways), progress shows while the agent works, and the answer is printed
 * when the run ends. `/quit` or end of input stops the session and the runtime.
 */
import { createInterface } from 'node:readline';
import { filter, firstValueFrom, map } from 'rxjs';
import type { SendResult } from '../../actor-host/actor-host.js';
import type { ConversationChannel } from '../conversation-channel.js';
import { configureDelivery, groupDeliveryFor } from '../inbound.js';
import type { BannerFacts, LiveRuntime, RuntimeSession } from '../../runtime-session.js';
import { sandboxLine } from '../../sandbox/sandbox-line.js';
import type { RunProgressUpdate } from '../../runs/agent-runs.js';

export interface ChatSessionOptions {
  readonly groupId: string;
  readonly sender: string;
  readonly input: NodeJS.ReadableStream;
  /** Where the conversation is printed (the terminal). */
  readonly output: { write(text: string): unknown };
}

/** Slack-style message timestamps from the clock, strictly increasing within the session. */
export class MessageClock {
  private last = 0n;

  next(nowMs: number): string {
    const micros = BigInt(nowMs) * 1000n;
    this.last = micros > this.last ? micros : this.last + 1n;
    const text = this.last.toString().padStart(7, '0');
    return `${text.slice(0, -6)}.${text.slice(-6)}`;
  }
}

/** The name the terminal's messages go in under (the prefix of their command keys). */
const CONSOLE_CHANNEL = 'console';

const FINISHED_RUN_EVENTS = new Set(['run.completed', 'run.failed', 'run.timed_out', 'run.interrupted']);

export class ChatSession implements RuntimeSession {
  private readonly clock = new MessageClock();
  /** Runs whose ending the session is waiting for, to print it itself. */
  private readonly awaitedRuns = new Set<string>();
  /** Keys of the notices printed in this session. */
  private readonly printedNotices = new Set<string>();
  /** Keys of the posts to other channels printed in this session. */
  private readonly printedChannelPosts = new Set<string>();

  constructor(private readonly options: ChatSessionOptions) {}

  readonly channel: ConversationChannel = {
    handles: (groupId) => groupId === this.options.groupId,
    post: async (message) => {
      const who = message.identity ? `${message.identity.name}: ` : '';
      this.options.output.write(`\n${who}${message.text}\n`);
      return { ref: `console:${message.runId}:${message.callId}` };
    },
    // The terminal stands in for every channel: a post elsewhere is printed with where it
    // would go, once per call (an approved action carried out again prints nothing).
    postToChannel: async (post) => {
      const ref = `console:${post.channel}:${post.key}`;
      if (this.printedChannelPosts.has(post.key)) return { posted: true, ref };
      this.printedChannelPosts.add(post.key);
      this.options.output.write(`\nin ${post.channel}: ${post.text}\n`);
      return { posted: true, ref };
    },
    // A turn the session waits for prints its run's ending itself; a reply to any other
    // run (a turn retried after a restart, answering in the background) is printed here.
    postReply: async (reply) => {
      if (!this.awaitedRuns.has(reply.runId)) this.options.output.write(`\n${reply.text}\n`);
      return { refs: [`console:${reply.replyId}`] };
    },
    acknowledge: async () => {
      this.options.output.write('· working on it\n');
    },
    // The terminal is the only place anyone is reached from here: an approver's request, a
    // decision or a memory conflict is printed, whoever it is for. There are no buttons.
    reachesPerson: () => true,
    postNotice: async (notice) => {
      // A repeat in this session prints nothing; a terminal keeps no history to look in.
      if (this.printedNotices.has(notice.key)) return { refs: [`console:${notice.key}`] };
      this.printedNotices.add(notice.key);
      const to = notice.to.kind === 'person' ? `for ${notice.to.userId}: ` : '';
      this.options.output.write(`\n${to}${notice.text}\n`);
      return { refs: [`console:${notice.key}`] };
    },
  };

  banner(facts: BannerFacts): void {
    const lines = [
      `ledgerclaw chat: group ${this.options.groupId}, you are ${this.options.sender}`,
      `runs: ${sandboxLine(facts.sandbox)}`,
      ...(facts.modelUnavailable === null ? [] : [`model: NOT CONFIGURED: ${facts.modelUnavailable}`]),
      'Type a message and press Enter; /quit or Ctrl-D ends the chat.',
      '',
    ];
    this.options.output.write(lines.join('\n'));
  }

  async run(live: LiveRuntime): Promise<void> {
    await this.ensureConfigured(live);
    const lines = createInterface({ input: this.options.input, terminal: false });
    try {
      for await (const line of lines) {
        const text = line.trim();
        if (text === '') continue;
        if (text === '/quit' || text === '/exit') return;
        await this.turn(live, text);
      }
    } finally {
      lines.close();
    }
  }

  private async ensureConfigured(live: LiveRuntime): Promise<void> {
    const group = await live.host.load('group', this.options.groupId);
    if (group.snapshot.context.settings !== null) return;
    // A local chat is a DM: every message asks for a turn.
    const delivery = configureDelivery(this.options.groupId, { triggerMode: 'dm', allowedSenders: [], isAdmin: false });
    await live.host.send('group', delivery.groupId, delivery.command, delivery.options);
  }

  private async turn(live: LiveRuntime, text: string): Promise<void> {
    const { output } = this.options;
    const messageId = this.clock.next(Date.now());
    const delivery = groupDeliveryFor({
      kind: 'message',
      channel: CONSOLE_CHANNEL,
      conversationId: this.options.groupId,
      messageId,
      sender: this.options.sender,
      content: text,
      mentionsBot: true,
    });
    const result: SendResult = await live.host.send('group', delivery.groupId, delivery.command, delivery.options);
    if (result.status === 'rejected') {
      output.write(`(not sent: ${result.reason})\n`);
      return;
    }
    const runId = await this.runAnswering(live, messageId);
    this.awaitedRuns.add(runId);
    const showing = live.runs.progress.pipe(filter((update) => update.runId === runId)).subscribe((update) => this.showProgress(update));
    try {
      const ending = await this.ending(live, runId);
      output.write(`${ending}\n`);
    } finally {
      showing.unsubscribe();
    }
  }

  /** The run that answers the message: requested now, or after the run in progress. */
  private async runAnswering(live: LiveRuntime, messageId: string): Promise<string> {
    for (;;) {
      const group = (await live.host.load('group', this.options.groupId)).snapshot.context;
      if (group.currentRun?.messageIds.includes(messageId)) return group.currentRun.runId;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async ending(live: LiveRuntime, runId: string): Promise<string> {
    const streamId = `run-${runId}`;
    const existing = await live.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    const last = existing[0];
    const finished =
      last && FINISHED_RUN_EVENTS.has(last.type)
        ? last
        : await firstValueFrom(
            live.store.subscribe({ fromPosition: last ? last.position : 'start', filter: { streamPrefixes: [streamId] } }).pipe(
              map((delivery) => {
                delivery.ack();
                return delivery.event;
              }),
              filter((event) => event.streamId === streamId && FINISHED_RUN_EVENTS.has(event.type)),
            ),
          );
    const data = finished.data as Record<string, unknown>;
    switch (finished.type) {
      case 'run.completed':
        return `\n${String(data.summary)}\n`;
      case 'run.failed':
        return `\n(the run failed: ${String(data.reason)}: ${String(data.detail)})\n`;
      case 'run.timed_out':
        return `\n(the run timed out: its ${String(data.limit)} limit of ${String(data.limitMs)} ms passed)\n`;
      default:
        return `\n(the run was interrupted: ${String(data.reason)})\n`;
    }
  }

  private showProgress(update: RunProgressUpdate): void {
    const { progress } = update;
    if (progress.kind === 'thinking') this.options.output.write('· thinking…\n');
    else if (progress.kind === 'tool') this.options.output.write(`· using ${progress.tool}${progress.where === 'workspace' ? ' (workspace)' : ''}\n`);
  }
}
