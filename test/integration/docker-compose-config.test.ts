/**
 * docker-compose.yml as Compose itself reads it: `docker compose config` loads and validates
 * the file against the Compose specification and substitutes variables, without pulling or
 * starting anything. It cross-checks test/unit/docker-compose.test.ts, whose checks read the
 * file with the `yaml` package and substitute variables themselves.
 *
 * Skipped where the Compose plugin is not installed (the CI machine has the Docker engine
 * only); the unit test still checks the file there.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EVENTSTOREDB_URL_ENV } from '../../runtime/eventstoredb-url.js';
import { interpolate, parseComposeFile } from '../support/compose-file.js';

const root = join(import.meta.dirname, '..', '..');
const composeAvailable = spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8' }).status === 0;

// Compose's own output, as far as these tests read it.
const resolvedSchema = z.object({
  services: z.record(
    z.string(),
    z.object({
      environment: z.record(z.string(), z.string().nullable()).optional(),
      healthcheck: z.object({ test: z.array(z.string()) }).optional(),
      depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
    }),
  ),
});

describe.skipIf(!composeAvailable)('docker compose config (skipped when the Docker Compose plugin is not installed)', () => {
  // A copy in a folder of its own: a developer's .env next to the real file would otherwise be
  // read, and its secrets printed into the test's output.
  const folder = mkdtempSync(join(tmpdir(), 'ledgerclaw-compose-config-'));
  copyFileSync(join(root, 'docker-compose.yml'), join(folder, 'docker-compose.yml'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  function composeConfig(hostEnv: Record<string, string>): z.infer<typeof resolvedSchema> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && key !== EVENTSTOREDB_URL_ENV && !key.startsWith('COMPOSE_')) env[key] = value;
    }
    const result = spawnSync('docker', ['compose', '--project-directory', folder, '--profile', 'standby', '--profile', 'cluster', 'config', '--format', 'json'], {
      encoding: 'utf8',
      env: { ...env, ...hostEnv },
    });
    expect(result.stderr, 'docker compose config reports no error').not.toMatch(/error/i);
    expect(result.status).toBe(0);
    return resolvedSchema.parse(JSON.parse(result.stdout));
  }

  it('accepts the file, with every service of every profile', () => {
    const resolved = composeConfig({});
    const ours = parseComposeFile(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(ours.services).sort());
  });

  it("gives the runtimes the environment the unit test's substitution computes", () => {
    const ours = parseComposeFile(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
    const hostEnvs: Record<string, string>[] = [{}, { [EVENTSTOREDB_URL_ENV]: 'esdb://es-node1:2113,es-node2:2113,es-node3:2113?tls=false' }];
    for (const hostEnv of hostEnvs) {
      const resolved = composeConfig(hostEnv);
      for (const name of ['ledgerclaw', 'ledgerclaw-standby']) {
        const expected = Object.fromEntries(Object.entries(ours.services[name]!.environment ?? {}).map(([key, value]) => [key, interpolate(value, hostEnv)]));
        expect(resolved.services[name]!.environment).toEqual(expected);
        expect(resolved.services[name]!.depends_on?.['eventstoredb']?.condition).toBe('service_healthy');
      }
    }
  });
});
