/**
 * Socket Mode for Bolt, acknowledging an event only once it is recorded.
 *
 * Bolt's own SocketModeReceiver acknowledges an Events API delivery before any listener
 * runs, so a runtime that dies between the ack and the append loses the message: Slack
 * never sends it again. This receiver holds the ack until Bolt has finished with the
 * event (the listeners have appended it to the group's stream); if that fails, it sends
 * no ack, and Slack redelivers (with `retry_attempt`), which the group actor recognises
 * as the same message. So a message is recorded at least once by delivery and exactly
 * once by the actor. Slash commands and interactions keep Bolt's behaviour: their
 * listener acks (with its response) as soon as it can.
 *
 * It is the real @slack/socket-mode client underneath: it opens the connection through
 * `apps.connections.open`, answers pings and reconnects on Slack's `disconnect`.
 */
import { SocketModeClient } from '@slack/socket-mode';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../../actor-host/actor-host.js';

export interface DurableSocketReceiverOptions {
  readonly appToken: string;
  /** The Web API base URL the client asks for its websocket URL. */
  readonly slackApiUrl: string;
  readonly logger: SlackLogger;
  readonly log: Logger;
}

interface SocketEvent {
  readonly ack: (response?: Record<string, unknown>) => Promise<void>;
  readonly type: string;
  readonly body: Record<string, unknown>;
  readonly retry_num?: number;
  readonly retry_reason?: string;
}

export class DurableSocketReceiver implements Receiver {
  readonly client: SocketModeClient;
  private app: App | undefined;

  constructor(private readonly options: DurableSocketReceiverOptions) {
    this.client = new SocketModeClient({ appToken: options.appToken, logger: options.logger, clientOptions: { slackApiUrl: options.slackApiUrl } });
    this.client.on('slack_event', (event: SocketEvent) => {
      void this.dispatch(event);
    });
  }

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {
    await this.client.start();
  }

  async stop(): Promise<void> {
    // @slack/socket-mode 3.1: a reconnect still waiting for its `hello` when disconnect() is
    // called rejects its own start promise with `undefined`, and nothing catches it. Node
    // would end the process on it, before the runtime records that it stopped. Only that
    // rejection is let go, and only while disconnecting; any other is rethrown as before.
    const letClientRejectionGo = (reason: unknown): void => {
      if (reason !== undefined) throw reason;
      this.options.log.warn({}, 'Socket Mode: a reconnect in progress was abandoned by the stop');
    };
    process.on('unhandledRejection', letClientRejectionGo);
    try {
      await this.client.disconnect();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', letClientRejectionGo);
    }
  }

  private async dispatch(event: SocketEvent): Promise<void> {
    if (!this.app) return;
    const holdsAck = event.type === 'events_api';
    let acked = false;
    let response: Record<string, unknown> | undefined;
    const receiverEvent: ReceiverEvent = {
      body: event.body,
      ack: async (body?: unknown) => {
        if (acked) return;
        acked = true;
        response = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
        if (!holdsAck) await event.ack(response);
      },
      ...(event.retry_num !== undefined ? { retryNum: event.retry_num } : {}),
      ...(event.retry_reason !== undefined ? { retryReason: event.retry_reason } : {}),
    };
    try {
      await this.app.processEvent(receiverEvent);
    } catch (error) {
      // Not recorded: no ack, so Slack delivers the event again.
      this.options.log.error({ err: error, type: event.type, retry: event.retry_num ?? 0 }, 'a Slack event could not be handled; it is left unacknowledged for Slack to deliver again');
      return;
    }
    if (holdsAck && acked) await event.ack(response).catch((error: unknown) => this.options.log.warn({ err: error }, 'could not acknowledge a Slack event'));
  }
}
