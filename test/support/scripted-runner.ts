/**
 * A run's sandbox with no process in it: the test is the runner. It writes frames the host
 * reads (honest ones, or forged, replayed, too deep, too large) and reads what the host
 * answers, so the host's side of the protocol can be tested frame by frame. With it, a
 * scripted model gateway that returns the responses the test names.
 */
import { PassThrough } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../../container/protocol/framing.js';
import type { HostToRunnerMessage } from '../../container/protocol/messages.js';
import type { ModelCallRecord, ModelGateway, ModelOutputBlock } from '../../runtime/gateways/model-gateway.js';
import type { SandboxExit, SandboxedProcess } from '../../runtime/sandbox/sandbox.js';

export interface ScriptedRunner {
  readonly process: SandboxedProcess;
  /** Writes one frame, as the runner would (any JSON: the host must judge it). */
  send(frame: unknown): void;
  /** Writes raw bytes to the host. */
  write(bytes: Buffer): void;
  /** Writes a frame of this JSON text as it is (a value too deep for JSON.stringify, say). */
  sendText(json: string): void;
  /** Says `done` and exits 0, as an honest runner ends. */
  finish(answer: string, iterations: number): void;
  /** The next frame of this type the host sends (frames already received count). */
  next<T extends HostToRunnerMessage['type']>(type: T): Promise<Extract<HostToRunnerMessage, { type: T }>>;
  /** Every frame the host sent so far. */
  readonly received: HostToRunnerMessage[];
  readonly killed: () => boolean;
}

export function scriptedRunner(): ScriptedRunner {
  const stdout = new PassThrough();
  const stdin = new PassThrough();
  const stderr = new PassThrough();
  const received: HostToRunnerMessage[] = [];
  const waiting: Array<{ type: string; resolve: (message: HostToRunnerMessage) => void }> = [];
  const taken = new Set<HostToRunnerMessage>();
  const decoder = new FrameDecoder();
  decoder.on('error', () => undefined);
  decoder.on('data', (message: HostToRunnerMessage) => {
    received.push(message);
    const waiter = waiting.findIndex((entry) => entry.type === message.type);
    if (waiter >= 0) {
      taken.add(message);
      waiting.splice(waiter, 1)[0]!.resolve(message);
    }
  });
  stdin.pipe(decoder);
  let exit!: (value: SandboxExit) => void;
  const exited = new Promise<SandboxExit>((resolve) => (exit = resolve));
  let killed = false;
  const process: SandboxedProcess = {
    id: 'scripted:1',
    workspaceRoot: '/workspace',
    stdin,
    stdout,
    stderr,
    exited,
    kill: async () => {
      if (killed) return;
      killed = true;
      stdout.end();
      exit({ exitCode: null, signal: 'SIGKILL', oomKilled: false, stderrTail: '' });
    },
  };
  const sendText = (json: string) => {
    const body = Buffer.from(json, 'utf8');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    stdout.write(Buffer.concat([header, body]));
  };
  return {
    process,
    send: (frame) => stdout.write(encodeFrame(frame)),
    write: (bytes) => stdout.write(bytes),
    sendText,
    finish: (answer, iterations) => {
      sendText(JSON.stringify({ type: 'done', answer, iterations, stopReason: 'end_turn' }));
      exit({ exitCode: 0, signal: null, oomKilled: false, stderrTail: '' });
    },
    next: (type) => {
      const already = received.find((message) => message.type === type && !taken.has(message));
      if (already) {
        taken.add(already);
        return Promise.resolve(already as never);
      }
      return new Promise((resolve) => waiting.push({ type, resolve: resolve as (message: HostToRunnerMessage) => void }));
    },
    received,
    killed: () => killed,
  };
}

/** A model gateway that answers each call with the next scripted output, and counts the calls. */
export function scriptedModel(...outputs: ModelOutputBlock[][]): Pick<ModelGateway, 'call'> & { readonly calls: number } {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    call: async (callId) => {
      const output = outputs[calls] ?? [{ type: 'text', text: 'nothing more scripted' }];
      calls += 1;
      const record: ModelCallRecord = {
        callId,
        model: 'claude-sonnet-5-5',
        tokens: { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 },
        costUsd: 0.0001,
        latencyMs: 1,
        attempts: 1,
        stopReason: output.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn',
        output,
      };
      return { status: 'answered', record };
    },
  };
}
