/**
 * The runner's model calls, tunnelled through the framed channel to the host's model
 * gateway. The SDK runs unchanged inside the container: it is handed this `fetch`, which
 * turns its HTTP request into a `model_request` frame and the gateway's answer back into
 * an HTTP response (the SSE stream, or the API's error), so the SDK's own stream parsing,
 * message accumulation and tool-input assembly do the work. The container has no network
 * and no key: only the host can reach the API.
 */
import type { HostToRunnerMessage, RunnerToHostMessage } from '../protocol/messages.js';

type ModelReply = Extract<HostToRunnerMessage, { type: 'model_event' | 'model_end' | 'model_error' }>;

interface PendingCall {
  /** Settles the fetch once the first reply arrives. */
  readonly respond: (response: Response) => void;
  readonly reject: (error: Error) => void;
  stream: ReadableStreamDefaultController<Uint8Array> | null;
}

const encoder = new TextEncoder();

function sseFrame(event: { type: string }): Uint8Array {
  return encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

export class ModelTunnel {
  private readonly pending = new Map<string, PendingCall>();
  private nextCall = 1;

  constructor(private readonly send: (message: RunnerToHostMessage) => void) {}

  /** The `fetch` to give the SDK. Only `POST …/v1/messages` goes through. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    if (method !== 'POST' || !url.pathname.endsWith('/v1/messages')) {
      return jsonResponse(404, { type: 'not_found_error', message: `the runner only tunnels POST /v1/messages, not ${method} ${url.pathname}` });
    }
    if (typeof init?.body !== 'string') throw new Error('the runner expected the SDK to send a JSON string body');
    const body = JSON.parse(init.body) as Record<string, never>;
    const callId = `m${this.nextCall++}`;
    return new Promise<Response>((respond, reject) => {
      this.pending.set(callId, { respond, reject, stream: null });
      init.signal?.addEventListener('abort', () => this.abort(callId, new Error('the model call was aborted')), { once: true });
      this.send({ type: 'model_request', callId, body });
    });
  };

  /** A model reply from the host. */
  receive(message: ModelReply): void {
    const call = this.pending.get(message.callId);
    if (!call) return; // an aborted call's late reply
    if (message.type === 'model_error') {
      this.pending.delete(message.callId);
      call.respond(jsonResponse(message.status, message.error));
      return;
    }
    if (call.stream === null) this.openStream(call);
    if (message.type === 'model_event') {
      call.stream?.enqueue(sseFrame(message.event));
      return;
    }
    this.pending.delete(message.callId);
    call.stream?.close();
  }

  /** The channel broke: every call in flight fails. */
  failAll(error: Error): void {
    for (const callId of [...this.pending.keys()]) this.abort(callId, error);
  }

  private openStream(call: PendingCall): void {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        call.stream = controller;
      },
    });
    call.respond(new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }));
  }

  private abort(callId: string, error: Error): void {
    const call = this.pending.get(callId);
    if (!call) return;
    this.pending.delete(callId);
    if (call.stream) call.stream.error(error);
    else call.reject(error);
  }
}

function jsonResponse(status: number, error: { type: string; message: string }): Response {
  return new Response(JSON.stringify({ type: 'error', error }), { status, headers: { 'content-type': 'application/json' } });
}
