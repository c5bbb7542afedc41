/**
 * The control socket's client: sends one command to the running runtime and waits for its
 * answer. One connection a request; the response is checked with the protocol's schema.
 */
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import type { Command } from '../../actors/actor-kind.js';
import { CONTROL_PROTOCOL_VERSION, controlResponseSchema, MAX_CONTROL_LINE_BYTES, type ControlErrorCode, type ControlRequest, type WireSendResult } from './protocol.js';

/** Nothing listens on the socket (no runtime, or one that has not opened it yet). */
export class ControlUnavailableError extends Error {
  override readonly name = 'ControlUnavailableError';
  constructor(
    readonly path: string,
    override readonly cause: Error,
  ) {
    super(`nothing answers on the control socket ${path}: ${cause.message}`);
  }
}

/** The runtime answered that it sent no command, and why. */
export class ControlRequestError extends Error {
  override readonly name = 'ControlRequestError';
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ControlCommand {
  readonly kind: string;
  readonly actorId: string;
  readonly command: Command;
}

export interface ControlClientOptions {
  /** How long to wait for the answer. Default 30 s: a command waits its turn in the actor's mailbox. */
  readonly timeoutMs?: number;
  /** Keys the command; a fresh one unless given (the same id is applied once). */
  readonly requestId?: string;
  /** The Slack user the operator acts for: the command is signed `user:<id>`. */
  readonly onBehalfOf?: string;
  /** The operator's OS user name: the command is signed `operator:<name>`. */
  readonly operator?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export function sendControlCommand(socketPath: string, request: ControlCommand, options: ControlClientOptions = {}): Promise<WireSendResult> {
  const line: ControlRequest = {
    v: CONTROL_PROTOCOL_VERSION,
    id: options.requestId ?? randomUUID(),
    kind: request.kind,
    actorId: request.actorId,
    command: { ...request.command },
    ...(options.onBehalfOf === undefined ? {} : { onBehalfOf: options.onBehalfOf }),
    ...(options.operator === undefined ? {} : { operator: options.operator }),
  };
  return new Promise<WireSendResult>((resolve, reject) => {
    let connected = false;
    let received = '';
    let settled = false;
    const socket = createConnection(socketPath);
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`the runtime did not answer on ${socketPath} within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`))),
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(line)}\n`);
    });
    socket.on('error', (error) => settle(() => reject(connected ? error : new ControlUnavailableError(socketPath, error))));
    socket.on('close', () => settle(() => reject(new Error(`the runtime closed the control connection on ${socketPath} without answering`))));
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length > MAX_CONTROL_LINE_BYTES) {
        settle(() => reject(new Error(`the runtime's answer on ${socketPath} is longer than ${MAX_CONTROL_LINE_BYTES} bytes`)));
        return;
      }
      const newline = received.indexOf('\n');
      if (newline === -1) return;
      settle(() => {
        try {
          resolve(resultOf(received.slice(0, newline), line.id));
        } catch (error) {
          reject(error);
        }
      });
    });
  });
}

function resultOf(text: string, requestId: string): WireSendResult {
  const parsed = controlResponseSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`the runtime's answer is not a control response: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const response = parsed.data;
  if (!response.ok) throw new ControlRequestError(response.error.code, response.error.message);
  if (response.id !== requestId) throw new Error(`the runtime answered request ${response.id}, not ${requestId}`);
  return response.result;
}
