/**
 * Before any test file runs: the agent image for the current build, made once. Every test
 * that starts the runtime (`start`, `chat`) picks Docker when a daemon answers and would
 * otherwise build the image itself, in several processes at once, under its own clock.
 * Without a daemon nothing is built here; the tests that need Docker say so themselves.
 */
import Dockerode from 'dockerode';
import { ensureAgentImage } from '../../container/image/build-image.js';

export default async function setup(): Promise<void> {
  const docker = new Dockerode();
  try {
    await docker.ping();
  } catch {
    process.stderr.write('global setup: no Docker daemon answers; the agent image is not built (Docker tests will fail and say why)\n');
    return;
  }
  const began = Date.now();
  const image = await ensureAgentImage(docker, { log: { info: () => undefined, warn: (_fields, message) => process.stderr.write(`global setup: ${message}\n`) } });
  process.stderr.write(`global setup: agent image ${image.tag} ${image.built ? `built in ${Date.now() - began} ms${image.offline ? ' (offline)' : ''}` : 'already there'}\n`);
}
