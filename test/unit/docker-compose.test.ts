/**
 * docker-compose.yml, .env.example and the runtime image, checked as files: no image can be
 * pulled here, so nothing is started. Each check is shown to pass on the real file and to
 * catch a broken copy of it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../runtime/config.js';
import { EVENTSTOREDB_URL_ENV } from '../../runtime/eventstoredb-url.js';
import {
  clusterProblems,
  connectionStringHosts,
  defaultServices,
  envExampleProblems,
  eventStoreNodeProblems,
  interpolate,
  parseComposeFile,
  runtimeEnvironmentProblems,
  runtimeServiceProblems,
  secretProblems,
  servicesInProfile,
  unpinnedImages,
  type ComposeFile,
} from '../support/compose-file.js';

const root = join(import.meta.dirname, '..', '..');
const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const compose = parseComposeFile(composeText);
const packageVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const runtimeImage = `ledgerclaw-runtime:${packageVersion}`;

// A directory with no ledgerclaw.config.json, so loadConfig sees only the environment.
const emptyCwd = mkdtempSync(join(tmpdir(), 'ledgerclaw-compose-'));
afterAll(() => rmSync(emptyCwd, { recursive: true, force: true }));

/** The parsed file with one change, for showing that a check catches it. */
function changed(edit: (file: ComposeFile) => void): ComposeFile {
  const copy = structuredClone(compose);
  edit(copy);
  return copy;
}

describe('docker-compose.yml', () => {
  it('a plain `up` starts one EventStoreDB node and the runtime; the standby and the cluster wait behind their profiles', () => {
    expect(defaultServices(compose).sort()).toEqual(['eventstoredb', 'ledgerclaw']);
    expect(servicesInProfile(compose, 'standby')).toEqual(['ledgerclaw-standby']);
    expect(servicesInProfile(compose, 'cluster').sort()).toEqual(['es-node1', 'es-node2', 'es-node3']);
  });

  it('pins every pulled image to a version and tags the built runtime with the package version', () => {
    expect(unpinnedImages(compose, runtimeImage)).toEqual([]);
    expect(unpinnedImages(changed((file) => (file.services['eventstoredb']!.image = 'eventstore/eventstore:latest')), runtimeImage)).toEqual([
      'eventstoredb: image eventstore/eventstore:latest is not pinned to a version',
    ]);
    expect(unpinnedImages(changed((file) => (file.services['es-node2']!.image = 'eventstore/eventstore')), runtimeImage)).toEqual([
      'es-node2: image eventstore/eventstore is not pinned to a version',
    ]);
  });

  it('gives every EventStoreDB node a /health/live healthcheck, named volumes for data and logs, and no insecure port beyond loopback', () => {
    expect(eventStoreNodeProblems(compose)).toEqual([]);
    const broken = changed((file) => {
      delete file.services['es-node1']!.healthcheck;
      file.services['eventstoredb']!.ports = ['2113:2113'];
      file.services['es-node3']!.volumes = ['./esdb:/var/lib/eventstore'];
    });
    expect(eventStoreNodeProblems(broken)).toEqual([
      'eventstoredb: an insecure node publishes 2113:2113 beyond loopback',
      'es-node1: no healthcheck on http://localhost:2113/health/live',
      'es-node3: /var/lib/eventstore is on ./esdb, not a named volume of the file',
      'es-node3: nothing mounted at /var/log/eventstore',
    ]);
  });

  it('builds the runtime from the repository with a Dockerfile that exists', () => {
    for (const name of ['ledgerclaw', 'ledgerclaw-standby']) {
      const build = compose.services[name]!.build!;
      expect(build.context).toBe('.');
      expect(existsSync(join(root, build.context, build.dockerfile)), build.dockerfile).toBe(true);
    }
  });

  it('starts each runtime on a healthy store with the Docker socket, its own data directory at the same path inside and out, an env file and a restart policy', () => {
    expect(runtimeServiceProblems(compose)).toEqual([]);
    const broken = changed((file) => {
      const standby = file.services['ledgerclaw-standby']!;
      standby.depends_on = { eventstoredb: { condition: 'service_started' } };
      standby.environment = { ...standby.environment, LEDGERCLAW_DATA: '/var/lib/ledgerclaw' };
      standby.volumes = ['/var/lib/ledgerclaw:/data'];
      delete standby.env_file;
    });
    expect(runtimeServiceProblems(broken)).toEqual([
      'ledgerclaw-standby: starts when eventstoredb is service_started, not healthy',
      'ledgerclaw-standby: the Docker socket is not mounted',
      'ledgerclaw-standby: the data directory /var/lib/ledgerclaw is not mounted at the same path on the host',
      'ledgerclaw-standby: shares the data directory /var/lib/ledgerclaw with ledgerclaw',
      'ledgerclaw-standby: takes no env file',
    ]);
  });

  it('holds no secret: no credential-shaped value on any line, comments included, and no secret-named variable set in the file', () => {
    expect(secretProblems(composeText, compose)).toEqual([]);
    const leaked = composeText.replace(
      '      LEDGERCLAW_SANDBOX: docker\n',
      '      LEDGERCLAW_SANDBOX: docker\n      SLACK_BOT_TOKEN: xoxb-1234567890-abcdefghij\n',
    );
    expect(leaked).not.toBe(composeText);
    expect(secretProblems(leaked, parseComposeFile(leaked))).toEqual([
      expect.stringMatching(/^line \d+: looks like a Slack token$/),
      'ledgerclaw: sets SLACK_BOT_TOKEN in the file; secrets belong in the env file',
    ]);
    const inComment = `${composeText}\n# esdb://admin:changeit@eventstoredb:2113\n`;
    expect(secretProblems(inComment, compose)).toEqual([expect.stringMatching(/looks like a URL with a password in it$/)]);
  });

  it('takes secrets from .env, which git and the image build both leave out', () => {
    for (const name of ['ledgerclaw', 'ledgerclaw-standby']) expect(compose.services[name]!.env_file).toEqual([{ path: '.env', required: false }]);
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('.env');
    expect(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')).toContain('.env');
  });

  it("sets only variables the runtime reads, with values its config schema accepts, on the eventstoredb backend and the file's own node", () => {
    expect(runtimeEnvironmentProblems(compose, {}, emptyCwd)).toEqual([]);
    const env = compose.services['ledgerclaw']!.environment!;
    expect(interpolate(env[EVENTSTOREDB_URL_ENV]!, {})).toBe('esdb://eventstoredb:2113?tls=false');
    const broken = changed((file) => {
      const service = file.services['ledgerclaw']!;
      service.environment = { ...service.environment, LEDGERCLAW_EVENT_STORE: 'eventstore', LEDGERCLAW_EVENTSTORE_URL: 'esdb://x:2113' };
    });
    expect(runtimeEnvironmentProblems(broken, {}, emptyCwd)).toEqual([
      'ledgerclaw: LEDGERCLAW_EVENTSTORE_URL is no variable the runtime reads',
      expect.stringMatching(/^ledgerclaw: invalid config: eventStore\.backend = "eventstore" \(from LEDGERCLAW_EVENT_STORE\): expected one of sqlite, eventstoredb$/),
    ]);
    const elsewhere = changed((file) => {
      const service = file.services['ledgerclaw-standby']!;
      service.environment = { ...service.environment, LEDGERCLAW_EVENTSTOREDB_URL: 'esdb://es-node1:2113?tls=false' };
    });
    expect(runtimeEnvironmentProblems(elsewhere, {}, emptyCwd)).toEqual(['ledgerclaw-standby: its store es-node1 is not a service it depends on']);
  });

  it('lets LEDGERCLAW_EVENTSTOREDB_URL from the shell or .env point the runtimes at another store, such as the cluster', () => {
    const cluster = 'esdb://es-node1:2113,es-node2:2113,es-node3:2113?tls=false';
    expect(runtimeEnvironmentProblems(compose, { [EVENTSTOREDB_URL_ENV]: cluster }, emptyCwd)).toEqual([]);
    for (const name of ['ledgerclaw', 'ledgerclaw-standby']) {
      expect(interpolate(compose.services[name]!.environment![EVENTSTOREDB_URL_ENV]!, { [EVENTSTOREDB_URL_ENV]: cluster })).toBe(cluster);
    }
    // An empty value in .env counts as unset, as `:-` says.
    expect(interpolate(compose.services['ledgerclaw']!.environment![EVENTSTOREDB_URL_ENV]!, { [EVENTSTOREDB_URL_ENV]: '' })).toBe('esdb://eventstoredb:2113?tls=false');
  });

  it('runs the cluster profile as three nodes, each seeded with the other two and advertising its service name, at the URL README.md gives', () => {
    expect(clusterProblems(compose)).toEqual([]);
    const broken = changed((file) => {
      file.services['es-node2']!.environment!['EVENTSTORE_GOSSIP_SEED'] = 'es-node1:2113';
      file.services['es-node3']!.environment!['EVENTSTORE_ADVERTISE_HOST_TO_CLIENT_AS'] = 'es-node1';
    });
    expect(clusterProblems(broken)).toEqual([
      'es-node2: gossip seeds es-node1, expected es-node1,es-node3',
      'es-node3: EVENTSTORE_ADVERTISE_HOST_TO_CLIENT_AS is es-node1, not es-node3',
    ]);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const documented = /LEDGERCLAW_EVENTSTOREDB_URL='?(esdb:\/\/es-node[^'\s]+)/.exec(readme);
    expect(documented, 'README.md gives the cluster connection string').not.toBeNull();
    expect(connectionStringHosts(documented![1]!).sort()).toEqual(servicesInProfile(compose, 'cluster').sort());
  });
});

describe('interpolate (Compose substitution)', () => {
  it('substitutes ${NAME}, ${NAME:-default}, ${NAME-default} and $$ as Compose does', () => {
    expect(interpolate('${A}/${B:-b}/${C-c}/$$D', { A: 'a', B: '', C: '' })).toBe('a/b//$D');
    expect(interpolate('${A:-x}', {})).toBe('x');
  });

  it('refuses a form it does not implement rather than guess', () => {
    expect(() => interpolate('$HOME/data', {})).toThrow(/unsupported substitution "\$H"/);
    expect(() => interpolate('${A:?must be set}', {})).toThrow(/unsupported substitution/);
  });
});

/** Every name in runtime/ read from an environment (`env.NAME`) or written as a string literal that looks like one. */
function namesTheRuntimeMentions(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) for (const match of readFileSync(path, 'utf8').matchAll(/(?:'|\benv\.)([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b/g)) names.add(match[1]!);
    }
  };
  walk(join(root, 'runtime'));
  return names;
}

describe('.env.example', () => {
  const text = readFileSync(join(root, '.env.example'), 'utf8');
  const known = new Set([...namesTheRuntimeMentions(), ...CONFIG_KEYS.map((doc) => doc.env), EVENTSTOREDB_URL_ENV]);

  it('lists names only, each one ledgerclaw reads', () => {
    expect(envExampleProblems(text, known)).toEqual([]);
    for (const name of ['ANTHROPIC_API_KEY', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', EVENTSTOREDB_URL_ENV]) expect(text).toMatch(new RegExp(`^${name}=$`, 'm'));
    expect(envExampleProblems('SLACK_BOT_TOKEN=xoxb-123\nSLAK_APP_TOKEN=\n', known)).toEqual([
      'line 1: SLACK_BOT_TOKEN has a value; the example holds names only',
      'line 2: SLAK_APP_TOKEN is no variable ledgerclaw reads',
    ]);
  });
});

/** The packages a source text imports (static and dynamic), by package name; node: built-ins left out. */
function importedPackages(source: string): Set<string> {
  const packages = new Set<string>();
  for (const match of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'([^'.][^']*)'/g)) {
    const specifier = match[1]!;
    if (specifier.startsWith('node:')) continue;
    const parts = specifier.split('/');
    packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return packages;
}

/** Packages the runtime's source imports that are not production dependencies, with a file that does. */
function nonProductionImports(files: readonly { path: string; source: string }[], dependencies: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const { path, source } of files) {
    for (const name of importedPackages(source)) if (!dependencies.has(name)) problems.push(`${path} imports ${name}`);
  }
  return problems;
}

describe('container/runtime/Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'container', 'runtime', 'Dockerfile'), 'utf8');

  it('carries what the runtime builds the agent image from, and starts `ledgerclaw start`', () => {
    // agent-image-inputs.ts hashes these; without them the runtime cannot build the agent image.
    expect(dockerfile).toMatch(/^COPY container\/Dockerfile container\/Dockerfile\.offline container\/agent-init\.sh container\/$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist\/ dist\/$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/node_modules\/ node_modules\/$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/dist\/runtime\/cli\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["start"\]$/m);
  });

  it('keeps every package the runtime imports: the image prunes dev dependencies, so runtime code may import production ones only', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const dependencies = new Set(Object.keys(manifest.dependencies));
    const files: { path: string; source: string }[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) files.push({ path: path.slice(root.length + 1), source: readFileSync(path, 'utf8') });
      }
    };
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    for (const folder of tsconfig.include.filter((folder) => folder !== 'test')) walk(join(root, folder));
    expect(files.length).toBeGreaterThan(100);
    expect(nonProductionImports(files, dependencies)).toEqual([]);
    expect(
      nonProductionImports([{ path: 'runtime/x.ts', source: "import { parse } from 'yaml';\nimport { z } from 'zod';\nconst grpc = await import('@grpc/grpc-js/build/src');\nimport './local.js';\n" }], dependencies),
    ).toEqual(['runtime/x.ts imports yaml', 'runtime/x.ts imports @grpc/grpc-js']);
  });

  it('copies every folder tsconfig.json builds', () => {
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] };
    for (const folder of tsconfig.include) expect(dockerfile).toMatch(new RegExp(`^COPY ${folder}/ ${folder}/$`, 'm'));
  });
});
