/**
 * `ledgerclaw start --inspect`: the actor host's inspection feed shown in Stately's
 * inspector. @statelyai/inspect's server serves a page on http://localhost:<port> that
 * embeds the inspector UI from stately.ai (so the browser needs internet; the runtime does
 * not) and relays what a WebSocket client sends it; this module is that client.
 *
 * The host's actors are not running xstate actors (they are folded from their streams),
 * so they are reported by hand: each actor once when it comes into memory, each command
 * and stored event as an event sent to it, and its state after every stored event.
 */
import { createServer } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { Observable, Subscription } from 'rxjs';
import type { AnyActorKind } from '../actors/actor-kind.js';
import { kindOfStream } from '../actors/index.js';
import type { Logger } from './logger.js';
import type { InspectionEvent } from './actor-host/inspection.js';

type WebSocketInspector = ReturnType<typeof createWebSocketInspector>;

/** The part of an inspector the bridge uses: any of @statelyai/inspect's inspectors. */
export type InspectorSink = Pick<WebSocketInspector, 'actor' | 'event' | 'snapshot'>;

export interface BridgeOptions {
  /** The kinds whose machine definitions are sent along, so the UI can draw them. */
  readonly kinds?: readonly AnyActorKind[];
}

/** What the inspector needs of an actor to draw its machine: xstate's own actor refs have this shape. */
interface DrawableActorRef {
  readonly sessionId: string;
  readonly logic: { readonly config: unknown };
  send(): void;
  getSnapshot(): unknown;
}

/** Forwards the host's inspection feed to an inspector until unsubscribed. */
export function bridgeInspection(inspection: Observable<InspectionEvent>, inspector: InspectorSink, options: BridgeOptions = {}): Subscription {
  const actorRef = (streamId: string): string | DrawableActorRef => {
    const owner = options.kinds ? kindOfStream(streamId, options.kinds) : undefined;
    if (!owner) return streamId;
    return { sessionId: streamId, logic: { config: owner.kind.machine.config }, send: () => undefined, getSnapshot: () => undefined };
  };
  return inspection.subscribe((item) => {
    switch (item.type) {
      case 'actor':
        inspector.actor(actorRef(item.streamId), {
          status: 'active',
          value: item.value,
          context: item.context,
        });
        return;
      case 'command':
        inspector.event(item.streamId, { ...item.command });
        return;
      case 'event': {
        const event = {
          type: item.event.type,
          data: item.event.data,
          revision: Number(item.event.revision),
          eventId: item.event.id,
          metadata: item.event.metadata,
        };
        inspector.event(item.streamId, event);
        inspector.snapshot(item.streamId, { status: 'active', value: item.value, context: item.context }, { event });
        return;
      }
      // An effect is an action, not something sent to the actor, and a saved snapshot is
      // the store's business: neither has a place in the inspector's picture of actors.
      case 'effect':
      case 'snapshot':
        return;
      case 'passivated':
        inspector.snapshot(item.streamId, { status: 'stopped' });
        return;
    }
  });
}

export class InspectorPortError extends Error {
  override readonly name = 'InspectorPortError';
}

/** Fails with a clear message while the port cannot be listened on (the server itself would crash the process). */
async function checkPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is in use' : error.code === 'EACCES' ? 'needs privileges to listen on' : `cannot be listened on (${error.message})`;
      reject(new InspectorPortError(`inspector port ${port} ${why}; choose another with --inspect-port <port>`));
    });
    // No host, as the inspector server listens: on every interface.
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

export interface RunningInspector {
  /** The page to open in a browser. */
  readonly url: string;
  readonly port: number;
  /** Starts forwarding the host's inspection feed. */
  attach(inspection: Observable<InspectionEvent>, options?: BridgeOptions): void;
  stop(): void;
}

/**
 * Starts the inspector server on `port` (every interface: whoever reaches the port sees
 * actor state) and the client that feeds it.
 */
export async function startInspector(options: { port: number; logger?: Logger }): Promise<RunningInspector> {
  const { port } = options;
  await checkPortFree(port);
  const server = createInspectorServer({ port, autoOpen: false });
  const inspector = createWebSocketInspector({ url: `ws://localhost:${port}` });
  const subscriptions: Subscription[] = [];
  options.logger?.warn(
    { port },
    'the inspector listens on every network interface: whoever can reach this port can read actor state; use it on a trusted network only',
  );
  return {
    url: `http://localhost:${port}`,
    port,
    attach: (inspection, bridgeOptions) => {
      subscriptions.push(bridgeInspection(inspection, inspector, bridgeOptions));
    },
    stop: () => {
      for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
      inspector.stop();
      server.stop();
    },
  };
}
