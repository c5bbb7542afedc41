/**
 * The control server: while `ledgerclaw start` runs, it listens on a unix socket in the
 * data directory (`control.sock`) so that writer commands of the CLI (`tasks pause`, ...)
 * reach the running runtime's actor host instead of needing the runtime stopped. The
 * actor decides, as for any other command; the socket only carries it.
 *
 * - The socket file is created with mode 0600 (only the data directory's owner connects)
 *   and removed on close. The runtime holds the writer lock, so a socket file found at
 *   start was left by a runtime that died, and is replaced.
 * - Only the kinds it is given are reachable (task and memory today): the socket is the
 *   operator's, not a way to impersonate runs or the supervisor. A request may name a
 *   Slack user it acts for (`onBehalfOf`): the operator vouching for that person, as
 *   `memory confirm --as` does; it is signed `user:<id>`, and its command id still says
 *   `control:`.
 * - Every line is checked (JSON, the versioned request schema, the kind's command schema);
 *   a bad line is answered with an error saying why, and the server goes on serving.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import type { Command } from '../../actors/actor-kind.js';
import { InvalidCommandError, type Logger, type SendResult } from '../actor-host/actor-host.js';
import type { SendOptions } from '../actor-host/effects.js';
import {
  CONTROL_PROTOCOL_VERSION,
  controlRequestSchema,
  MAX_CONTROL_LINE_BYTES,
  type ControlErrorCode,
  type ControlRequest,
  type ControlResponse,
  type WireSendResult,
} from './protocol.js';

export const CONTROL_SOCKET_FILE = 'control.sock';

/** Unix socket paths are limited (108 bytes on Linux, 104 on macOS), terminator included. */
export const MAX_SOCKET_PATH_BYTES = 103;

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_FILE);
}

/** The data directory's path is too long for a unix socket in it. */
export class ControlSocketPathError extends Error {
  override readonly name = 'ControlSocketPathError';
}

export function checkSocketPath(path: string): void {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ControlSocketPathError(`the control socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, too long for a unix socket; use a shorter data directory path`);
  }
}

/** What the server sends commands through: the actor host, with kinds and commands read off the wire. */
export interface ControlledActors {
  sendUnchecked(kind: string, id: string, command: Command, options?: SendOptions): Promise<SendResult>;
}

export interface ControlServerOptions {
  readonly dataDir: string;
  readonly actors: ControlledActors;
  /** The actor kinds requests may address. */
  readonly kinds: readonly string[];
  /**
   * Kinds of which only some commands are reachable (`approval`: `vote` only; the clock
   * expires approvals, and a request comes from a run). Kinds not named here take any.
   */
  readonly commandsOf?: Readonly<Record<string, readonly string[]>>;
  /** `metadata.actor` of the commands it sends. Default `cli`. */
  readonly actor?: string;
  readonly logger?: Logger;
}

export interface RunningControlServer {
  readonly path: string;
  /** Stops listening, ends open connections, removes the socket file. Safe to call twice. */
  close(): Promise<void>;
}

const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** Only the owner may connect: the mode is set at bind time, not after, so there is no window. */
const SOCKET_UMASK = 0o177;

export async function startControlServer(options: ControlServerOptions): Promise<RunningControlServer> {
  const path = controlSocketPath(options.dataDir);
  checkSocketPath(path);
  removeStaleSocket(path);
  const logger = options.logger ?? silentLogger;
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveConnection(socket, options, logger);
  });
  await listen(server, path);
  // Belt and braces: a filesystem that ignored the umask still ends up 0600.
  chmodSync(path, 0o600);
  let closing: Promise<void> | undefined;
  return {
    path,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      }).finally(() => {
        try {
          removeStaleSocket(path);
        } catch (error) {
          logger.warn({ path, err: error }, 'could not remove the control socket file');
        }
      });
      return closing;
    },
  };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // The bind happens inside listen(), synchronously: the umask applies to this file only.
    const previous = process.umask(SOCKET_UMASK);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
}

/** Removes a socket file left at `path`; refuses to remove anything that is not a socket. */
function removeStaleSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; move it away so the control socket can be created`);
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function serveConnection(socket: Socket, options: ControlServerOptions, logger: Logger): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', (error) => logger.warn({ err: error }, 'control socket connection failed'));
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim() !== '') void answer(socket, line, options, logger);
    }
    if (Buffer.byteLength(buffered) > MAX_CONTROL_LINE_BYTES) {
      buffered = '';
      reply(socket, failure(null, 'malformed', `a request line is longer than ${MAX_CONTROL_LINE_BYTES} bytes`));
      socket.end();
    }
  });
}

async function answer(socket: Socket, line: string, options: ControlServerOptions, logger: Logger): Promise<void> {
  const request = parseRequest(line);
  if ('error' in request) {
    reply(socket, request.error);
    return;
  }
  reply(socket, await execute(request.ok, options, logger));
}

function parseRequest(line: string): { ok: ControlRequest } | { error: ControlResponse } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { error: failure(null, 'malformed', `the request is not JSON: ${(error as Error).message}`) };
  }
  const id = idOf(value);
  const version = typeof value === 'object' && value !== null ? (value as { v?: unknown }).v : undefined;
  if (version !== CONTROL_PROTOCOL_VERSION && version !== undefined) {
    return { error: failure(id, 'unsupported_version', `protocol version ${JSON.stringify(version)} is not spoken here; this runtime speaks v${CONTROL_PROTOCOL_VERSION}`) };
  }
  const parsed = controlRequestSchema.safeParse(value);
  if (!parsed.success) {
    return { error: failure(id, 'malformed', `not a control request: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`) };
  }
  return { ok: parsed.data };
}

/** The request's id, if it has a usable one, so even a refusal can be matched. */
function idOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const parsed = controlRequestSchema.shape.id.safeParse((value as { id?: unknown }).id);
  return parsed.success ? parsed.data : null;
}

async function execute(request: ControlRequest, options: ControlServerOptions, logger: Logger): Promise<ControlResponse> {
  if (!options.kinds.includes(request.kind)) {
    return failure(request.id, 'forbidden_kind', `actor kind '${request.kind}' is not reachable through the control socket (it takes: ${options.kinds.join(', ')})`);
  }
  const reachable = options.commandsOf?.[request.kind];
  if (reachable && !reachable.includes(request.command.type)) {
    return failure(request.id, 'forbidden_kind', `the ${request.kind} command '${request.command.type}' is not reachable through the control socket (it takes: ${reachable.join(', ')})`);
  }
  try {
    // The request id keys the command: a request sent twice is applied once.
    const actor =
      request.operator !== undefined ? `operator:${request.operator}` : request.onBehalfOf !== undefined ? `user:${request.onBehalfOf}` : (options.actor ?? 'cli');
    const result = await options.actors.sendUnchecked(request.kind, request.actorId, request.command, { actor, commandId: `control:${request.id}` });
    logger.info({ kind: request.kind, actorId: request.actorId, command: request.command.type, status: result.status }, 'control command');
    return { v: CONTROL_PROTOCOL_VERSION, id: request.id, ok: true, result: toWire(result) };
  } catch (error) {
    if (error instanceof InvalidCommandError) return failure(request.id, 'invalid_command', error.message);
    logger.error({ kind: request.kind, actorId: request.actorId, err: error }, 'control command failed');
    return failure(request.id, 'failed', error instanceof Error ? error.message : String(error));
  }
}

export function toWire(result: SendResult): WireSendResult {
  if (result.status === 'rejected') return { status: 'rejected', reason: result.reason, state: result.state };
  return {
    status: 'accepted',
    events: result.events.map((event) => ({
      id: event.id,
      streamId: event.streamId,
      type: event.type,
      revision: event.revision.toString(),
      position: event.position.toString(),
      data: event.data,
      occurredAt: event.metadata.occurredAt,
      actor: event.metadata.actor,
    })),
    revision: result.revision.toString(),
    state: result.state,
    duplicate: result.duplicate,
  };
}

function failure(id: string | null, code: ControlErrorCode, message: string): ControlResponse {
  return { v: CONTROL_PROTOCOL_VERSION, id, ok: false, error: { code, message } };
}

function reply(socket: Socket, response: ControlResponse): void {
  if (!socket.writable) return;
  socket.write(`${JSON.stringify(response)}\n`);
}
