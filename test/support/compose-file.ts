/**
 * docker-compose.yml read as data, and the checks the production file must pass. No image
 * can be pulled on the machines that run the tests, so the file is checked, not started:
 * each check returns the problems it found (empty: none), so a test can show both that the
 * real file passes and that a broken copy is caught.
 *
 * The schema is the subset of the Compose specification this project uses, strict: a key
 * it does not know is an error, so a new kind of setting gets a check before it gets in.
 */
import { parse } from 'yaml';
import { z } from 'zod';
import { CONFIG_KEYS, loadConfig } from '../../runtime/config.js';
import { EVENTSTOREDB_URL_ENV, readEventStoreDbUrl } from '../../runtime/eventstoredb-url.js';
import { credentialShapeOf } from '../../runtime/redaction.js';

const healthcheckSchema = z
  .object({
    test: z.array(z.string()).min(2),
    interval: z.string(),
    timeout: z.string(),
    retries: z.number().int().positive(),
    start_period: z.string().optional(),
  })
  .strict();

const serviceSchema = z
  .object({
    image: z.string().optional(),
    build: z.object({ context: z.string(), dockerfile: z.string() }).strict().optional(),
    profiles: z.array(z.string()).optional(),
    // The map form only: every value stays visible to the checks, none hides in a list item.
    environment: z.record(z.string(), z.string()).optional(),
    env_file: z.array(z.object({ path: z.string(), required: z.boolean() }).strict()).optional(),
    volumes: z.array(z.string()).optional(),
    ports: z.array(z.string()).optional(),
    depends_on: z.record(z.string(), z.object({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) }).strict()).optional(),
    healthcheck: healthcheckSchema.optional(),
    restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']).optional(),
    init: z.boolean().optional(),
    stop_grace_period: z.string().optional(),
  })
  .strict();

export type ComposeService = z.infer<typeof serviceSchema>;

const composeSchema = z
  .object({
    services: z.record(z.string(), serviceSchema),
    // Named volumes with the default driver: `name:` and nothing else.
    volumes: z.record(z.string(), z.null()).default({}),
  })
  // Top-level `x-…` keys are Compose's extension fields (the shared runtime definition).
  .catchall(z.unknown())
  .superRefine((file, context) => {
    for (const key of Object.keys(file)) {
      if (key !== 'services' && key !== 'volumes' && !key.startsWith('x-')) context.addIssue({ code: 'custom', path: [key], message: `unexpected top-level key ${key}` });
    }
  });

export type ComposeFile = z.infer<typeof composeSchema>;

/** Parses the file's text (YAML merge keys on, as Compose reads them) and checks its shape. */
export function parseComposeFile(text: string): ComposeFile {
  const result = composeSchema.safeParse(parse(text, { merge: true }));
  if (!result.success) {
    throw new Error(`docker-compose.yml: ${result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  return result.data;
}

/**
 * Compose's variable substitution for the forms this file uses: `${NAME}`, `${NAME:-default}`
 * (default when unset or empty), `${NAME-default}` (default when unset) and `$$`. Any other
 * form is refused rather than guessed at.
 */
export function interpolate(value: string, env: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$(.?)/g, (match, name?: string, operator?: string, fallback?: string, bare?: string) => {
    if (match === '$$') return '$';
    if (name === undefined) throw new Error(`unsupported substitution ${JSON.stringify(`$${bare ?? ''}`)} in ${JSON.stringify(value)}`);
    const current = env[name];
    if (operator === ':-') return current === undefined || current === '' ? (fallback ?? '') : current;
    if (operator === '-') return current === undefined ? (fallback ?? '') : current;
    return current ?? '';
  });
}

/** Services a plain `docker compose up` starts: those in no profile. */
export function defaultServices(file: ComposeFile): string[] {
  return Object.entries(file.services)
    .filter(([, service]) => (service.profiles ?? []).length === 0)
    .map(([name]) => name);
}

export function servicesInProfile(file: ComposeFile, profile: string): string[] {
  return Object.entries(file.services)
    .filter(([, service]) => (service.profiles ?? []).includes(profile))
    .map(([name]) => name);
}

const EVENTSTOREDB_IMAGE = /^eventstore\/eventstore:/;

/** The EventStoreDB nodes: services that run the server image. */
export function eventStoreNodes(file: ComposeFile): string[] {
  return Object.entries(file.services)
    .filter(([, service]) => EVENTSTOREDB_IMAGE.test(service.image ?? ''))
    .map(([name]) => name);
}

/** The ledgerclaw runtimes: services built from the repository. */
export function runtimeServices(file: ComposeFile): string[] {
  return Object.entries(file.services)
    .filter(([, service]) => service.build !== undefined)
    .map(([name]) => name);
}

// ---------------------------------------------------------------------------------------
// Checks: each returns its problems, one sentence each, naming the service.

/** A pulled image names a version (digits and dots), never `latest` or no tag at all. */
export function unpinnedImages(file: ComposeFile, runtimeImage: string): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.services)) {
    if (service.build !== undefined) {
      if (service.image !== runtimeImage) problems.push(`${name}: the built image is tagged ${String(service.image)}, expected ${runtimeImage}`);
      continue;
    }
    if (service.image === undefined) {
      problems.push(`${name}: neither an image nor a build`);
    } else if (!/^[a-z0-9./_-]+:\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/.test(service.image)) {
      problems.push(`${name}: image ${service.image} is not pinned to a version`);
    }
  }
  return problems;
}

/** Every EventStoreDB node: a healthcheck on /health/live, its data and logs in named volumes. */
export function eventStoreNodeProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const name of eventStoreNodes(file)) {
    const service = file.services[name]!;
    const probe = service.healthcheck?.test ?? [];
    if (!probe.some((part) => /^https?:\/\/localhost:2113\/health\/live$/.test(part))) problems.push(`${name}: no healthcheck on http://localhost:2113/health/live`);
    for (const target of ['/var/lib/eventstore', '/var/log/eventstore']) {
      const mount = (service.volumes ?? []).find((volume) => volume.split(':')[1] === target);
      const source = mount?.split(':')[0];
      if (source === undefined) problems.push(`${name}: nothing mounted at ${target}`);
      else if (!(source in file.volumes)) problems.push(`${name}: ${target} is on ${source}, not a named volume of the file`);
    }
    if (service.environment?.['EVENTSTORE_INSECURE'] === 'true') {
      for (const port of service.ports ?? []) {
        if (!port.startsWith('127.0.0.1:')) problems.push(`${name}: an insecure node publishes ${port} beyond loopback`);
      }
    }
    if (service.restart === undefined) problems.push(`${name}: no restart policy`);
  }
  return problems;
}

const DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * Every runtime: waits for a healthy store, mounts the Docker socket, keeps its data
 * directory at the same path inside and out (the host's daemon resolves the workspace
 * mounts of agent runs on the host), takes secrets from an env file and restarts.
 */
export function runtimeServiceProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const dataDirs = new Map<string, string>();
  for (const name of runtimeServices(file)) {
    const service = file.services[name]!;
    const dependencies = Object.entries(service.depends_on ?? {});
    const stores = dependencies.filter(([dependency]) => eventStoreNodes(file).includes(dependency));
    if (stores.length === 0) problems.push(`${name}: depends on no EventStoreDB node`);
    for (const [dependency, { condition }] of stores) {
      if (condition !== 'service_healthy') problems.push(`${name}: starts when ${dependency} is ${condition}, not healthy`);
    }
    const volumes = service.volumes ?? [];
    if (!volumes.includes(`${DOCKER_SOCKET}:${DOCKER_SOCKET}`)) problems.push(`${name}: the Docker socket is not mounted`);
    const dataDir = service.environment?.['LEDGERCLAW_DATA'];
    if (dataDir === undefined) {
      problems.push(`${name}: LEDGERCLAW_DATA is not set`);
    } else {
      if (!volumes.includes(`${dataDir}:${dataDir}`)) problems.push(`${name}: the data directory ${dataDir} is not mounted at the same path on the host`);
      const sharer = dataDirs.get(dataDir);
      if (sharer !== undefined) problems.push(`${name}: shares the data directory ${dataDir} with ${sharer}`);
      dataDirs.set(dataDir, name);
    }
    if ((service.env_file ?? []).length === 0) problems.push(`${name}: takes no env file`);
    if (service.restart === undefined) problems.push(`${name}: no restart policy`);
  }
  return problems;
}

/** Names that hold a secret by convention. */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIALS?)$/;

/**
 * Secrets only through the env file: no line of the text (comments included) holds a
 * credential-shaped value, and no service sets a secret-named variable itself.
 */
export function secretProblems(text: string, file: ComposeFile): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    const shape = credentialShapeOf(line);
    if (shape !== undefined) problems.push(`line ${index + 1}: looks like ${shape.what}`);
  });
  for (const [name, service] of Object.entries(file.services)) {
    for (const key of Object.keys(service.environment ?? {})) {
      if (SECRET_NAME.test(key)) problems.push(`${name}: sets ${key} in the file; secrets belong in the env file`);
    }
  }
  return problems;
}

/** Every runtime variable's name: the config's table, the connection string and the config file's. */
const RUNTIME_ENV_NAMES = new Set([...CONFIG_KEYS.map((doc) => doc.env), EVENTSTOREDB_URL_ENV, 'LEDGERCLAW_CONFIG']);

/**
 * A runtime's environment after substitution with `hostEnv` (what Compose reads from the
 * shell and .env): every variable is one the runtime knows, the config schema accepts the
 * values, the backend is EventStoreDB, and the connection string names a node of the file
 * (unless `hostEnv` points elsewhere).
 */
export function runtimeEnvironmentProblems(file: ComposeFile, hostEnv: Readonly<Record<string, string | undefined>>, cwd: string): string[] {
  const problems: string[] = [];
  for (const name of runtimeServices(file)) {
    const raw = file.services[name]!.environment ?? {};
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (!RUNTIME_ENV_NAMES.has(key)) problems.push(`${name}: ${key} is no variable the runtime reads`);
      env[key] = interpolate(value, hostEnv);
    }
    let backend: string;
    try {
      const { config } = loadConfig({ env, cwd });
      backend = config.eventStore.backend;
      if (env['LEDGERCLAW_DATA'] !== undefined && config.dataDir !== env['LEDGERCLAW_DATA']) problems.push(`${name}: the data directory resolves to ${config.dataDir}, not ${env['LEDGERCLAW_DATA']}`);
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (backend !== 'eventstoredb') {
      problems.push(`${name}: the event store backend is ${backend}, not eventstoredb`);
      continue;
    }
    let url: string;
    try {
      url = readEventStoreDbUrl(env);
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (hostEnv[EVENTSTOREDB_URL_ENV] === undefined || hostEnv[EVENTSTOREDB_URL_ENV] === '') {
      const dependencies = Object.keys(file.services[name]!.depends_on ?? {});
      for (const host of connectionStringHosts(url)) {
        if (!dependencies.includes(host)) problems.push(`${name}: its store ${host} is not a service it depends on`);
      }
    }
  }
  return problems;
}

/** The host names of an `esdb://host:port[,host:port…][?…]` connection string. */
export function connectionStringHosts(url: string): string[] {
  const match = /^esdb(?:\+discover)?:\/\/(?:[^@/?]*@)?([^/?]+)/.exec(url);
  if (!match) return [];
  return match[1]!.split(',').map((endpoint) => endpoint.replace(/:\d+$/, ''));
}

/**
 * The cluster: three nodes in the `cluster` profile, each of size 3, each seeded with
 * exactly the other two and advertising its own service name.
 */
export function clusterProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const nodes = servicesInProfile(file, 'cluster').filter((name) => eventStoreNodes(file).includes(name));
  if (nodes.length !== 3) problems.push(`the cluster profile has ${nodes.length} EventStoreDB nodes, not 3`);
  for (const name of nodes) {
    const env = file.services[name]!.environment ?? {};
    if (env['EVENTSTORE_CLUSTER_SIZE'] !== String(nodes.length)) problems.push(`${name}: EVENTSTORE_CLUSTER_SIZE is ${String(env['EVENTSTORE_CLUSTER_SIZE'])}, not ${nodes.length}`);
    const seeds = (env['EVENTSTORE_GOSSIP_SEED'] ?? '').split(',').filter((seed) => seed !== '').map((seed) => seed.replace(/:\d+$/, '')).sort();
    const others = nodes.filter((other) => other !== name).sort();
    if (JSON.stringify(seeds) !== JSON.stringify(others)) problems.push(`${name}: gossip seeds ${seeds.join(',') || '(none)'}, expected ${others.join(',')}`);
    for (const key of ['EVENTSTORE_REPLICATION_HOST_ADVERTISE_AS', 'EVENTSTORE_ADVERTISE_HOST_TO_CLIENT_AS']) {
      if (env[key] !== name) problems.push(`${name}: ${key} is ${String(env[key])}, not ${name}`);
    }
  }
  return problems;
}

/** `.env.example`: `NAME=` lines with no value, and comments. */
export function envExampleProblems(text: string, knownNames: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) {
      problems.push(`line ${index + 1}: not NAME= or a comment`);
      return;
    }
    if (match[2] !== '') problems.push(`line ${index + 1}: ${match[1]!} has a value; the example holds names only`);
    if (!knownNames.has(match[1]!)) problems.push(`line ${index + 1}: ${match[1]!} is no variable ledgerclaw reads`);
  });
  return problems;
}
