/**
 * `npm run bench -- slack`: what the host adds between a Slack event and an agent at work,
 * through the real Bolt app in Socket Mode against the fake Slack, the real actor host and
 * wiring, a Docker container per turn and the model gateway against the Anthropic fake.
 *
 * Each turn is a fresh top-level mention (so a fresh thread group), answered with one
 * model call:
 * - Slack event sent → recorded (the durable receiver acknowledges only then);
 * - Slack event sent → the working-on-it reaction reaching Slack (target: under 1 s, the
 *   time within which the sender must see the message was taken up);
 * - Slack event sent → run started (its container running);
 * - per turn, model time excluded: event sent → the reply's chat.postMessage reaching
 *   Slack, less the model call's own latency;
 * beside `docker run` of the same image (the container start alone) in the same run.
 * NanoClaw's anchor: up to 2 s of polling before a container is even asked for.
 */
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { actorKinds } from '../../actors/index.js';
import { runIdForMessage } from '../../actors/group.js';
import { SUPERVISOR_ID } from '../../actors/supervisor.js';
import { ensureAgentImage } from '../../container/image/build-image.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../events/catalogue/index.js';
import { createEventStore } from '../../events/event-store.js';
import { readModelProjections } from '../../projections/index.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { createActorWiring } from '../../runtime/actor-wiring.js';
import { conversationEffects, loggedChannel, routedChannel, type ConversationChannel } from '../../runtime/channels/conversation-channel.js';
import { InteractionRouter } from '../../runtime/channels/slack/interactions.js';
import { openSlackApp } from '../../runtime/channels/slack/slack-app.js';
import { loadConfig } from '../../runtime/config.js';
import { ReadModelReaders } from '../../runtime/gateways/host-tools/read-model-readers.js';
import { createLogger } from '../../runtime/logger.js';
import { openAgentRuns } from '../../runtime/runs/agent-runs.js';
import { DockerSandbox } from '../../runtime/sandbox/docker-sandbox.js';
import { startFakeAnthropic } from '../fakes/anthropic-messages.js';
import { FakeSlack } from '../fakes/slack.js';
import { modelLatencyMs, timeDockerRun, timedSandbox } from './turn-timing.js';
import type { Suite } from './main.js';
import { formatMs, formatTable, summarize } from './stats.js';
import { inBenchWorkspace, verdict, type Target } from './suite-workspace.js';

const KEY = 'sk-bench';
const CHANNEL = 'C0BENCH';
const NANOCLAW_POLL_MS = 2_000;
const REACTION_TARGET_MS = 1_000;

async function until<T>(value: () => T | undefined, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const found = value();
    if (found !== undefined) return found;
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export const runSlackSuite: Suite = (options) =>
  inBenchWorkspace('slack-', options.dir, async (root) => {
    const turns = options.quick ? 4 : 20;
    const docker = new Dockerode();
    await docker.ping();
    const image = await ensureAgentImage(docker, { log: { info: (_fields, message) => options.log(message), warn: (_fields, message) => options.log(message) } });
    const model = await startFakeAnthropic({ apiKey: KEY });
    model.respondWith(() => ({ content: [{ type: 'text', text: 'On it: done.' }] }));
    const slack = await FakeSlack.start();
    slack.web.addChannel({ id: CHANNEL, name: 'bench' });
    const { config: base } = loadConfig({ env: { LEDGERCLAW_DATA: join(root, 'data'), ANTHROPIC_BASE_URL: model.url }, cwd: root });
    const config = { ...base, slack: { ...base.slack, apiUrl: slack.url } };
    const store = createEventStore(await openSqliteBackend({ path: join(root, 'events.db'), mode: 'writer' }), catalogue);
    const logger = createLogger({ level: 'warn' });
    const projections = new ProjectionHost({ store, projections: readModelProjections, dataDir: config.dataDir, logger });
    const runningAt = new Map<string, number>();
    const sandbox = timedSandbox(new DockerSandbox({ docker, image: image.tag, scope: join(root, 'runs'), log: logger }), runningAt);
    let channel: ConversationChannel = loggedChannel(logger);
    let host: ActorHost | undefined;
    const runs = await openAgentRuns({
      config,
      store,
      actors: () => host!,
      env: { ANTHROPIC_API_KEY: KEY },
      channel: { post: (message) => channel.post(message), postToChannel: (post) => channel.postToChannel(post) },
      caughtUp: (name, position) => projections.waitFor(name, position),
      logger,
      sandbox,
    });
    host = new ActorHost({
      requireAllEffects: false,
      store,
      kinds: actorKinds,
      effects: { ...createActorWiring({ retryInterruptedRuns: false }), ...runs.effects, ...conversationEffects(() => channel) },
      logger,
    });
    await projections.start();
    await host.send('supervisor', SUPERVISOR_ID, { type: 'configure', maxConcurrentRuns: 1, maxRunsPerGroup: 1 });
    const readModels = new ReadModelReaders(config.dataDir);
    const app = await openSlackApp({
      config,
      tokens: { mode: 'socket', botToken: slack.botToken, appToken: slack.appToken },
      actors: host,
      readModels,
      interactions: new InteractionRouter(),
      logger,
      slash: { callTool: (name, input, context) => runs.tools.call(name, input, context), groupSettings: async () => ({ isAdmin: false }), status: async () => '' },
    });
    channel = routedChannel([app.channel], loggedChannel(logger));
    await slack.socket.waitForConnection();
    const repliedAt = new Map<string, number>();
    const reactedAt = new Map<string, number>();
    slack.web.onActivity((activity) => {
      if (activity.kind === 'bot_reaction_added' && !reactedAt.has(activity.ts)) reactedAt.set(activity.ts, performance.now());
      const threadTs = activity.kind === 'bot_message_posted' ? activity.message.thread_ts : undefined;
      if (threadTs !== undefined && !repliedAt.has(threadTs)) repliedAt.set(threadTs, performance.now());
    });

    const toRecorded: number[] = [];
    const toReaction: number[] = [];
    const toRunning: number[] = [];
    const perTurn: number[] = [];
    const dockerRuns: number[] = [];
    try {
      for (let turn = 0; turn < turns; turn += 1) {
        options.log(`slack: turn ${turn + 1} of ${turns}`);
        dockerRuns.push(await timeDockerRun(image.tag));
        const sent = performance.now();
        const post = await slack.userPosts({ channel: CHANNEL, user: 'U0BENCH', text: `<@U0BOT> turn ${turn}` });
        const recorded = performance.now();
        if (!post.deliveries.every((delivery) => delivery.acked)) throw new Error('bench: the Slack event was not acknowledged');
        const runId = runIdForMessage(`${slack.identity.teamId}.${CHANNEL}.${post.ts}`, post.ts);
        const reacted = await until(() => reactedAt.get(post.ts), `the reaction on ${post.ts}`);
        const running = await until(() => runningAt.get(runId), `run ${runId} to start`);
        const replied = await until(() => repliedAt.get(post.ts), `the reply to ${post.ts}`);
        const modelMs = await modelLatencyMs(store, runId);
        toRecorded.push(recorded - sent);
        toReaction.push(reacted - sent);
        toRunning.push(running - sent);
        perTurn.push(replied - sent - modelMs);
      }
    } finally {
      await app.stop();
      await slack.socket.waitForNoConnection().catch(() => undefined);
      await readModels.close();
      await runs.close();
      await host.stop();
      await projections.stop();
      await store.close();
      await slack.close();
      await model.close();
    }

    const recordedSummary = summarize(toRecorded);
    const reaction = summarize(toReaction);
    const reactionTarget: Target = { name: 'event → reaction p99 (ms)', value: reaction.p99, threshold: REACTION_TARGET_MS, pass: reaction.p99 < REACTION_TARGET_MS };
    const running = summarize(toRunning);
    const baseline = summarize(dockerRuns);
    const overhead = summarize(perTurn);
    const table = [
      `slack: ${turns} mentions through Bolt in Socket Mode (fake Slack), each answered in Docker (${image.tag}${image.offline ? ', offline build' : ''}); model: the local fake`,
      formatTable(
        ['measure', 'p50', 'p99', 'baseline (same run)'],
        [
          ['Slack event sent → recorded and acknowledged', formatMs(recordedSummary.p50), formatMs(recordedSummary.p99), ''],
          [
            `Slack event sent → working-on-it reaction (target p99 < ${formatMs(REACTION_TARGET_MS)})`,
            formatMs(reaction.p50),
            formatMs(reaction.p99),
            verdict(reactionTarget.pass),
          ],
          ['Slack event sent → run started (container running)', formatMs(running.p50), formatMs(running.p99), `docker run of the image: p50 ${formatMs(baseline.p50)}, p99 ${formatMs(baseline.p99)}`],
          ['per turn, model time excluded (event → reply posted)', formatMs(overhead.p50), formatMs(overhead.p99), `NanoClaw: up to ${formatMs(NANOCLAW_POLL_MS)} of polling before a container is asked for`],
        ],
        { align: ['left', 'right', 'right', 'left'] },
      ),
    ].join('\n');
    return { table, figures: { turns, toRecorded: recordedSummary, toReaction: reaction, targets: [reactionTarget], toRunning: running, dockerRun: baseline, overheadPerTurn: overhead, nanoclawPollMs: NANOCLAW_POLL_MS } };
  });
