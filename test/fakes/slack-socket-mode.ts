/**
 * A fake of Slack's Socket Mode WebSocket end, on the Web API fake's HTTP server (the URLs
 * `apps.connections.open` hands out: `ws://127.0.0.1:<port>/link/?ticket=…&app_id=…`).
 *
 * Faithful to what `@slack/socket-mode` (and so Bolt's SocketModeReceiver) relies on:
 * - A ticket works once; a used or unknown one is refused at the upgrade (HTTP 401).
 * - On connect the server sends `hello` as Slack does: `{type: 'hello', num_connections,
 *   debug_info: {host, build_number, approximate_connection_time}, connection_info: {app_id}}`;
 *   the client only counts itself connected once it has it.
 * - Keep-alive: the server pings every `pingIntervalMs` (the client starts a
 *   `serverPingTimeout` timer at the first ping and drops the link when pings stop), and
 *   answers the client's pings with pongs (its `clientPingTimeout`), as `ws` does by itself.
 * - Envelopes: `{envelope_id, payload, type: 'events_api' | 'slash_commands' | 'interactive',
 *   accepts_response_payload, retry_attempt, retry_reason}` (the last two on events only),
 *   each sent to one live connection (in turn); the client acks with
 *   `{envelope_id, payload?}`, and a delivery resolves with whether (and what) it acked within
 *   the ack timeout (three seconds at Slack). Nothing is deduplicated or retried by itself:
 *   a test redelivers (same event_id, `retryAttempt`) as Slack would after a missed ack.
 * - `disconnect` messages (`warning`, `refresh_requested`, `link_disabled`) with `debug_info`;
 *   after `refresh_requested` and `link_disabled` the server closes the socket itself if the
 *   client has not, as Slack does.
 *
 * Left out: the ten-connection limit, `debug_reconnects`, Slack's own periodic refreshes
 * (call `deliverDisconnect`), compression, and an app being disabled for good after
 * `link_disabled` (`apps.connections.open` still answers).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { eventCallback, newEnvelopeId, newEventId } from './slack-events.js';
import type { FakeSlackWebApi, JsonObject } from './slack-web-api.js';

export interface FakeSlackSocketModeOptions {
  /** How often the server pings each connection. Default 5,000 ms; 0: never. */
  readonly pingIntervalMs?: number;
  /** How long a delivery waits for its ack. Default 3,000 ms (Slack's window). */
  readonly ackTimeoutMs?: number;
  /** After `refresh_requested`/`link_disabled`, close a socket the client has not closed. Default 2,000 ms. */
  readonly closeAfterDisconnectMs?: number;
}

export type SocketModeEnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

export interface SocketModeConnection {
  readonly id: number;
  readonly openedAt: number;
  closedAt: number | undefined;
  /** Pings the server sent and pongs it had back. */
  pingsSent: number;
  pongsReceived: number;
  /** Pings the client sent. */
  clientPings: number;
}

export interface SocketModeDelivery {
  readonly envelopeId: string;
  readonly type: SocketModeEnvelopeType;
  readonly connectionId: number;
  readonly acked: boolean;
  /** The ack's `payload` (`{}` when it had none). */
  readonly payload: JsonObject | undefined;
  readonly ackedAfterMs: number | undefined;
}

export interface SocketModeAck {
  readonly envelopeId: string;
  readonly payload: JsonObject | undefined;
  readonly connectionId: number;
  /** Whether a delivery was still waiting for it (false: late, or for no envelope sent). */
  readonly inTime: boolean;
}

export interface DeliverEnvelopeOptions {
  readonly timeoutMs?: number;
  /** The connection to use; default the next live one in turn. */
  readonly connectionId?: number;
}

export interface DeliverEventOptions extends DeliverEnvelopeOptions {
  /** Default a fresh one; the same one again for a redelivery. */
  readonly eventId?: string;
  readonly eventTime?: number;
  /** 0 for a first delivery, n for Slack's n-th retry. */
  readonly retryAttempt?: number;
  /** Default `''` on a first delivery, `timeout` on a retry. */
  readonly retryReason?: string;
}

interface Live {
  readonly record: SocketModeConnection;
  readonly socket: WebSocket;
  pingTimer: NodeJS.Timeout | undefined;
}

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
  readonly fail: (error: Error) => void;
}

export class FakeSlackSocketMode {
  /** Every connection that got its `hello`, open or closed. */
  readonly connections: SocketModeConnection[] = [];
  /** Every envelope and control message sent, in order. */
  readonly sent: JsonObject[] = [];
  readonly acks: SocketModeAck[] = [];
  /** Upgrades refused (bad or reused ticket, wrong path). */
  rejectedUpgrades = 0;
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly live = new Map<number, Live>();
  private readonly pending = new Map<string, { sentAt: number; connectionId: number; settle: (ack: JsonObject | undefined, acked: boolean) => void }>();
  private readonly waiters = new Set<Waiter>();
  private nextConnectionId = 1;
  private turn = 0;
  private serverPings = true;
  private readonly pingIntervalMs: number;
  private readonly ackTimeoutMs: number;
  private readonly closeAfterDisconnectMs: number;

  private constructor(
    private readonly web: FakeSlackWebApi,
    options: FakeSlackSocketModeOptions,
  ) {
    this.pingIntervalMs = options.pingIntervalMs ?? 5_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 3_000;
    this.closeAfterDisconnectMs = options.closeAfterDisconnectMs ?? 2_000;
    web.onUpgrade((request, socket, head) => this.upgrade(request, socket, head));
  }

  /** The Socket Mode end of `web`: `apps.connections.open`'s URLs now lead here. */
  static attach(web: FakeSlackWebApi, options: FakeSlackSocketModeOptions = {}): FakeSlackSocketMode {
    return new FakeSlackSocketMode(web, options);
  }

  /** Open connections (that got their `hello`). */
  get connectionCount(): number {
    return this.live.size;
  }

  /**
   * Resolves once `count` connections are open (default 1) and, with `opened`, once that many
   * have ever opened. "Open" means the server sent `hello`; the client may not have read it
   * yet. Stopping a Bolt app while its reconnect still waits for that hello makes
   * @slack/socket-mode leave an unhandled rejection (its start() promise is rejected on
   * disconnect), so after a reconnect deliver something and await its ack before stopping.
   */
  waitForConnection(options: { count?: number; opened?: number; timeoutMs?: number } = {}): Promise<void> {
    const count = options.count ?? 1;
    return this.waitUntil(() => this.live.size >= count && (options.opened === undefined || this.connections.length >= options.opened), options.timeoutMs ?? 10_000, `${count} Socket Mode connection(s)`);
  }

  /** Resolves once no connection is open. */
  waitForNoConnection(timeoutMs = 10_000): Promise<void> {
    return this.waitUntil(() => this.live.size === 0, timeoutMs, 'every Socket Mode connection closed');
  }

  /** Turns the server's pings off (a silent Slack) or back on. */
  setServerPings(enabled: boolean): void {
    this.serverPings = enabled;
  }

  /** Wraps `event` in an `event_callback` and an `events_api` envelope, sends it, waits for the ack. */
  deliverEvent(event: JsonObject, options: DeliverEventOptions = {}): Promise<SocketModeDelivery & { readonly eventId: string }> {
    const eventId = options.eventId ?? newEventId();
    const body = eventCallback(this.web.identity, event, { eventId, ...(options.eventTime === undefined ? {} : { eventTime: options.eventTime }) });
    return this.deliverEventCallback(body, options).then((delivery) => ({ ...delivery, eventId }));
  }

  /** Sends a ready `event_callback` body in an `events_api` envelope. */
  deliverEventCallback(body: JsonObject, options: DeliverEventOptions = {}): Promise<SocketModeDelivery> {
    const retryAttempt = options.retryAttempt ?? 0;
    return this.deliverEnvelope('events_api', body, false, options, { retry_attempt: retryAttempt, retry_reason: options.retryReason ?? (retryAttempt > 0 ? 'timeout' : '') });
  }

  /** A slash command (its fields as Slack sends them); resolves with the ack's payload. */
  deliverSlashCommand(fields: Record<string, string>, options: DeliverEnvelopeOptions = {}): Promise<SocketModeDelivery> {
    return this.deliverEnvelope('slash_commands', fields, true, options);
  }

  /** An interaction payload (`block_actions`, `view_submission`…); resolves with the ack's payload. */
  deliverInteractive(payload: JsonObject, options: DeliverEnvelopeOptions = {}): Promise<SocketModeDelivery> {
    const acceptsResponse = payload.type === 'view_submission' || payload.type === 'block_suggestion';
    return this.deliverEnvelope('interactive', payload, acceptsResponse, options);
  }

  deliverEnvelope(type: SocketModeEnvelopeType, payload: JsonObject, acceptsResponsePayload: boolean, options: DeliverEnvelopeOptions = {}, extra: JsonObject = {}): Promise<SocketModeDelivery> {
    const envelopeId = newEnvelopeId();
    const envelope: JsonObject = { envelope_id: envelopeId, payload, type, accepts_response_payload: acceptsResponsePayload, ...extra };
    const sentAt = Date.now();
    return new Promise<SocketModeDelivery>((resolve) => {
      // Throws (rejecting this promise) when no client is connected.
      const live = this.pick(options.connectionId);
      const timer = setTimeout(() => settle(undefined, false), options.timeoutMs ?? this.ackTimeoutMs);
      const settle = (ack: JsonObject | undefined, acked: boolean): void => {
        clearTimeout(timer);
        this.pending.delete(envelopeId);
        resolve({ envelopeId, type, connectionId: live.record.id, acked, payload: ack, ackedAfterMs: acked ? Date.now() - sentAt : undefined });
      };
      this.pending.set(envelopeId, { sentAt, connectionId: live.record.id, settle });
      this.send(live, envelope);
    });
  }

  /**
   * A `disconnect` message to every open connection (or one): the client reconnects through
   * `apps.connections.open`. After `refresh_requested`/`link_disabled` the server closes the
   * socket itself if the client has not.
   */
  deliverDisconnect(reason: 'refresh_requested' | 'link_disabled' | 'warning', options: { connectionId?: number } = {}): void {
    const targets = options.connectionId === undefined ? [...this.live.values()] : [this.pick(options.connectionId)];
    for (const live of targets) {
      this.send(live, { type: 'disconnect', reason, debug_info: { host: hostOf(live.record.id) } });
      if (reason !== 'warning') {
        setTimeout(() => {
          if (live.socket.readyState === WebSocket.OPEN) live.socket.close(1000);
        }, this.closeAfterDisconnectMs).unref();
      }
    }
  }

  /** Drops every connection without a close handshake (a network failure). */
  terminateConnections(): void {
    for (const live of this.live.values()) live.socket.terminate();
  }

  async close(): Promise<void> {
    for (const pending of [...this.pending.values()]) pending.settle(undefined, false);
    for (const live of this.live.values()) {
      clearInterval(live.pingTimer);
      live.socket.terminate();
    }
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const waiter of [...this.waiters]) waiter.fail(new Error('fake Slack Socket Mode: closed while waiting'));
  }

  // -------------------------------------------------------------------------------------

  private upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket');
    if (!/^\/link\/?$/.test(url.pathname) || ticket === null || !this.web.redeemTicket(ticket)) {
      this.rejectedUpgrades += 1;
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.server.handleUpgrade(request, socket, head, (ws) => this.connected(ws));
  }

  private connected(socket: WebSocket): void {
    const record: SocketModeConnection = { id: this.nextConnectionId++, openedAt: Date.now(), closedAt: undefined, pingsSent: 0, pongsReceived: 0, clientPings: 0 };
    const live: Live = { record, socket, pingTimer: undefined };
    this.live.set(record.id, live);
    this.connections.push(record);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) this.received(live, rawText(data));
    });
    socket.on('ping', () => {
      record.clientPings += 1;
    });
    socket.on('pong', () => {
      record.pongsReceived += 1;
    });
    socket.on('close', () => {
      clearInterval(live.pingTimer);
      record.closedAt = Date.now();
      this.live.delete(record.id);
      this.notify();
    });
    socket.on('error', () => {
      // A client that vanishes mid-frame; 'close' follows.
    });
    if (this.pingIntervalMs > 0) {
      live.pingTimer = setInterval(() => {
        if (!this.serverPings || socket.readyState !== WebSocket.OPEN) return;
        record.pingsSent += 1;
        socket.ping(Buffer.from(`ping-${record.pingsSent}`));
      }, this.pingIntervalMs);
      live.pingTimer.unref();
    }
    this.send(live, {
      type: 'hello',
      num_connections: this.live.size,
      debug_info: { host: hostOf(record.id), build_number: 118, approximate_connection_time: 18_060 },
      connection_info: { app_id: this.web.identity.appId },
    });
    this.notify();
  }

  private received(live: Live, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
    const { envelope_id: envelopeId, payload } = message as JsonObject;
    if (typeof envelopeId !== 'string') return;
    const ackPayload = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as JsonObject) : undefined;
    const pending = this.pending.get(envelopeId);
    this.acks.push({ envelopeId, payload: ackPayload, connectionId: live.record.id, inTime: pending !== undefined });
    pending?.settle(ackPayload ?? {}, true);
  }

  private pick(connectionId: number | undefined): Live {
    if (connectionId !== undefined) {
      const chosen = this.live.get(connectionId);
      if (!chosen) throw new Error(`fake Slack Socket Mode: connection ${connectionId} is not open`);
      return chosen;
    }
    const open = [...this.live.values()];
    if (open.length === 0) throw new Error('fake Slack Socket Mode: no client is connected (await waitForConnection() first)');
    const chosen = open[this.turn % open.length]!;
    this.turn += 1;
    return chosen;
  }

  private send(live: Live, message: JsonObject): void {
    this.sent.push(message);
    live.socket.send(JSON.stringify(message));
  }

  private waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`fake Slack Socket Mode: timed out after ${timeoutMs} ms waiting for ${what} (open: ${this.live.size}, ever opened: ${this.connections.length})`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
        fail: (error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) if (waiter.check()) waiter.resolve();
  }
}

function hostOf(connectionId: number): string {
  return `applink-fake-${connectionId}`;
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
