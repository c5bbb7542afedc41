/**
 * `npm run image:build`: makes sure the agent image for the current build exists and prints
 * its tag on stdout (progress goes to stderr, so `$(npm run -s image:build)` is the tag).
 */
import Dockerode from 'dockerode';
import { Command } from 'commander';
import { ensureAgentImage, type ImageBuildLog } from './build-image.js';

const stderrLog: ImageBuildLog = {
  // The messages say it all for a person at a terminal; the fields are for JSON logs.
  info: (_fields, message) => process.stderr.write(`${message}\n`),
  warn: (_fields, message) => process.stderr.write(`warning: ${message}\n`),
};

const program = new Command()
  .name('image:build')
  .description('Build the ledgerclaw agent image unless one for the current inputs exists; prints its tag.')
  .option('--force', 'build even when an image for the current inputs exists', false)
  .option('--offline', 'build from the host\'s node and tools instead of pulling node:20-slim', false)
  .action(async (options: { force: boolean; offline: boolean }) => {
    const image = await ensureAgentImage(new Dockerode(), { log: stderrLog, force: options.force, offline: options.offline });
    if (!image.built) stderrLog.info({ tag: image.tag }, `agent image ${image.tag} is up to date (${image.offline ? 'offline' : 'normal'} build)`);
    process.stdout.write(`${image.tag}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`image:build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
