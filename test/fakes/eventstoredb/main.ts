/**
 * The fake EventStoreDB as a process, for tests and benches that need it outside their own
 * process:
 *
 *   node dist/test/fakes/eventstoredb/main.js --port 0
 *
 * prints `listening esdb://127.0.0.1:PORT?tls=false` on stdout once it accepts connections,
 * and stops on SIGTERM / SIGINT (or when stdin closes, with `--exit-on-stdin-close`, so a
 * parent that dies does not leave it behind).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startFakeEventStoreDb } from './fake-eventstoredb.js';

const argsSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z
    .string()
    .regex(/^\d+$/, 'must be a port number')
    .transform(Number)
    .refine((port) => port <= 65_535, 'must be at most 65535')
    .default(0),
  'no-batch-append': z.boolean().default(false),
  'no-system-records': z.boolean().default(false),
  'exit-on-stdin-close': z.boolean().default(false),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'no-batch-append': { type: 'boolean' },
      'no-system-records': { type: 'boolean' },
      'exit-on-stdin-close': { type: 'boolean' },
    },
    strict: true,
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; ');
    process.stderr.write(`fake EventStoreDB: bad arguments: ${problems}\n`);
    process.exitCode = 2;
    return;
  }
  const args = parsed.data;
  const fake = await startFakeEventStoreDb({
    host: args.host,
    port: args.port,
    advertiseBatchAppend: !args['no-batch-append'],
    seedSystemRecords: !args['no-system-records'],
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void fake.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (args['exit-on-stdin-close']) {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
  process.stdout.write(`listening ${fake.url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`fake EventStoreDB: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
