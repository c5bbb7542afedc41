/**
 * `npm run bench -- runs`: what the host adds to an agent turn, in the real runtime (the
 * actor host with its wiring, the supervisor, a Docker container per turn, the model and
 * tool gateways) against the Anthropic fake, so model time is near zero and measured.
 *
 * - Turn start: from the group accepting the message to the container running, and to the
 *   first model call reaching the gateway; beside `docker run` of the same image (a
 *   container created, started and exited) timed in the same run.
 * - Host overhead per host tool call: from the runner's call arriving to its result sent.
 * - Host overhead per turn, model time excluded: the turn's wall time (message accepted to
 *   run completed) less the model calls' own latency.
 */
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { filter, firstValueFrom } from 'rxjs';
import { actorKinds } from '../../actors/index.js';
import { SUPERVISOR_ID } from '../../actors/supervisor.js';
import { ensureAgentImage } from '../../container/image/build-image.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../events/catalogue/index.js';
import { createEventStore } from '../../events/event-store.js';
import { readModelProjections } from '../../projections/index.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { actorWiring } from '../../runtime/actor-wiring.js';
import { conversationEffects, loggedChannel } from '../../runtime/channels/conversation-channel.js';
import { loadConfig } from '../../runtime/config.js';
import { createLogger } from '../../runtime/logger.js';
import { openAgentRuns } from '../../runtime/runs/agent-runs.js';
import { DockerSandbox } from '../../runtime/sandbox/docker-sandbox.js';
import { startFakeAnthropic } from '../fakes/anthropic-messages.js';
import { modelLatencyMs, timeDockerRun, timedSandbox } from './turn-timing.js';
import type { Suite } from './main.js';
import { formatMs, formatTable, summarize } from './stats.js';
import { inBenchWorkspace } from './suite-workspace.js';

const KEY = 'sk-bench';
const TOOL_ROUNDS = 3;

export const runRunsSuite: Suite = (options) =>
  inBenchWorkspace('runs-', options.dir, async (root) => {
    const turns = options.quick ? 4 : 20;
    const docker = new Dockerode();
    await docker.ping();
    const image = await ensureAgentImage(docker, { log: { info: (_fields, message) => options.log(message), warn: (_fields, message) => options.log(message) } });
    const fake = await startFakeAnthropic({ apiKey: KEY });
    const { config } = loadConfig({ env: { LEDGERCLAW_DATA: join(root, 'data'), ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_MAX_CONCURRENT_RUNS: '1' }, cwd: root });
    const backend = await openSqliteBackend({ path: join(root, 'events.db'), mode: 'writer' });
    const store = createEventStore(backend, catalogue);
    const logger = createLogger({ level: 'warn' });
    const projections = new ProjectionHost({ store, projections: readModelProjections, dataDir: config.dataDir, logger });
    const runningAt = new Map<string, number>();
    const sandbox = timedSandbox(new DockerSandbox({ docker, image: image.tag, scope: join(root, 'runs'), log: logger }), runningAt);
    let host: ActorHost | undefined;
    const runs = await openAgentRuns({
      config,
      store,
      actors: () => host!,
      env: { ANTHROPIC_API_KEY: KEY },
      channel: { post: async (message) => ({ ref: message.callId }), postToChannel: async (post) => ({ posted: true, ref: post.key }) },
      caughtUp: (name, position) => projections.waitFor(name, position),
      logger,
      sandbox,
    });
    host = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, effects: { ...actorWiring, ...runs.effects, ...conversationEffects(() => loggedChannel(logger)) }, logger });
    await projections.start();
    await host.send('supervisor', SUPERVISOR_ID, { type: 'configure', maxConcurrentRuns: 1, maxRunsPerGroup: 1 });
    await host.send('group', 'bench.turns', { type: 'configure', triggerMode: 'dm', allowedSenders: [], isAdmin: false });

    const firstModelCallAt = new Map<string, number>();
    const toolHostMs: number[] = [];
    runs.progress.subscribe(({ runId, progress }) => {
      if (progress.kind === 'thinking' && !firstModelCallAt.has(runId)) firstModelCallAt.set(runId, performance.now());
      if (progress.kind === 'tool_answered') toolHostMs.push(progress.hostMs);
    });
    // Each turn: TOOL_ROUNDS host tool calls (list_tasks: a real gateway call with no model work), then the answer.
    fake.respondWith((request) => {
      const messages = (request.body as { messages: unknown[] }).messages;
      const rounds = (messages.length - 1) / 2;
      return rounds < TOOL_ROUNDS ? { content: [{ type: 'tool_use', name: 'list_tasks', input: {} }] } : { content: [{ type: 'text', text: 'done' }] };
    });

    const toRunning: number[] = [];
    const toFirstModelCall: number[] = [];
    const overheadPerTurn: number[] = [];
    const dockerRuns: number[] = [];
    try {
      for (let turn = 0; turn < turns; turn += 1) {
        options.log(`runs: turn ${turn + 1} of ${turns}`);
        dockerRuns.push(await timeDockerRun(image.tag));
        const messageId = `${1_800_000_000 + turn}.000100`;
        const accepted = performance.now();
        const result = await host.send('group', 'bench.turns', { type: 'receiveMessage', messageId, sender: 'U1', text: `turn ${turn}`, mentionsBot: true });
        if (result.status !== 'accepted') throw new Error(`the bench's message was refused: ${result.reason}`);
        const runId = (result.events.find((event) => event.type === 'group.turn_requested')?.data as { runId: string }).runId;
        const ended = await firstValueFrom(
          store.subscribe({ fromPosition: 'start', filter: { streamPrefixes: [`run-${runId}`] } }).pipe(
            filter((delivery) => {
              delivery.ack();
              return ['run.completed', 'run.failed', 'run.timed_out', 'run.interrupted'].includes(delivery.event.type);
            }),
          ),
        );
        const finished = performance.now();
        if (ended.event.type !== 'run.completed') throw new Error(`bench run ${runId} ended with ${ended.event.type}: ${JSON.stringify(ended.event.data)}`);
        const modelMs = await modelLatencyMs(store, runId);
        toRunning.push(runningAt.get(runId)! - accepted);
        toFirstModelCall.push(firstModelCallAt.get(runId)! - accepted);
        overheadPerTurn.push(finished - accepted - modelMs);
      }
    } finally {
      await runs.close();
      await host.stop();
      await projections.stop();
      await store.close();
      await fake.close();
    }

    const running = summarize(toRunning);
    const firstCall = summarize(toFirstModelCall);
    const baseline = summarize(dockerRuns);
    const tools = summarize(toolHostMs);
    const perTurn = summarize(overheadPerTurn);
    const table = [
      `runs: ${turns} turns in Docker (${image.tag}${image.offline ? ', offline build' : ''}), each with ${TOOL_ROUNDS} host tool calls; model: the local fake`,
      formatTable(
        ['measure', 'p50', 'p99', 'baseline (same run)'],
        [
          ['message accepted → container running', formatMs(running.p50), formatMs(running.p99), `docker run of the image: p50 ${formatMs(baseline.p50)}, p99 ${formatMs(baseline.p99)}`],
          ['message accepted → first model call', formatMs(firstCall.p50), formatMs(firstCall.p99), ''],
          ['host overhead per host tool call', formatMs(tools.p50), formatMs(tools.p99), ''],
          ['per turn, model time excluded', formatMs(perTurn.p50), formatMs(perTurn.p99), ''],
        ],
        { align: ['left', 'right', 'right', 'left'] },
      ),
    ].join('\n');
    return { table, figures: { turns, toolRounds: TOOL_ROUNDS, toRunning: running, toFirstModelCall: firstCall, dockerRun: baseline, toolHostMs: tools, overheadPerTurn: perTurn } };
  });
