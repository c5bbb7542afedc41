/**
 * A runtime process for the consolidation crash test: on the data directory given, a
 * group's conversation passes the budget and its consolidation is answered by a scripted
 * model, until the answer is recorded and the first fact is; then it prints `cut-off` and
 * waits, for the test to SIGKILL it there. Run: node consolidation-runner.js <dataDir>
 */
import { ConsolidationWorld, sampleAnswer, sampleConversation, textReply, type ConsolidateExecutor } from '../integration/memory/consolidation-world.js';

/** Lets the first recordFact through, then never answers the second: the process stops there. */
const stopAtSecondFact =
  (executor: ConsolidateExecutor): ConsolidateExecutor =>
  (params, context) => {
    let facts = 0;
    return executor(params, {
      ...context,
      send: (async (kind: string, id: string, command: { type: string }, options?: object) => {
        if (command.type === 'recordFact' && (facts += 1) === 2) {
          process.stdout.write('cut-off\n');
          return new Promise(() => {});
        }
        return context.send(kind as never, id, command as never, options);
      }) as typeof context.send,
    });
  };

async function main(): Promise<void> {
  const [dataDir] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: consolidation-runner <dataDir>');
  const world = await ConsolidationWorld.open({ dataDir, wrap: stopAtSecondFact });
  const ids = await sampleConversation(world);
  world.fake.enqueue(textReply(sampleAnswer(ids)));
  if (!(await world.trigger.check('T1.C1'))) throw new Error('no consolidation was asked for');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
