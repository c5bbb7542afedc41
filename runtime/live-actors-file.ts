/**
 * `<dataDir>/runtime/live-actors.json`: the actors the running runtime holds in memory, so
 * that `ledgerclaw actors list` in another process can say which are live. The runtime
 * writes it, atomically (a temporary file renamed over it, so a reader never sees half a
 * file), at most about once a second while actors change, and removes it on a clean stop.
 * A file whose pid is no longer running was left by a crash and means nothing.
 */
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Observable, Subscription } from 'rxjs';
import { z } from 'zod';
import type { ActorView, Logger } from './actor-host/actor-host.js';
import type { InspectionEvent } from './actor-host/inspection.js';

export const LIVE_ACTORS_DIR = 'runtime';
export const LIVE_ACTORS_FILE = 'live-actors.json';

/** What the file holds; the reader (runtime/cli/live-actors-reader.ts) parses it with this. */
export const liveActorsFileSchema = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  /** When the runtime last wrote the file (ISO 8601). */
  updatedAt: z.string(),
  actors: z.array(
    z.object({
      streamId: z.string(),
      state: z.string(),
      /** The revision of the last event the live actor folded; null for an actor with no events. */
      revision: z.number().int().nonnegative().nullable(),
    }),
  ),
});

export type LiveActorsFileContent = z.infer<typeof liveActorsFileSchema>;

export function liveActorsPath(dataDir: string): string {
  return join(dataDir, LIVE_ACTORS_DIR, LIVE_ACTORS_FILE);
}

/** What the writer reads: the actor host has both. */
export interface LiveActorsSource {
  liveActors(): readonly ActorView[];
  readonly inspection: Observable<InspectionEvent>;
}

export interface LiveActorsFileOptions {
  readonly dataDir: string;
  readonly source: LiveActorsSource;
  /** How long changes are gathered before one write. Default 1 s. */
  readonly coalesceMs?: number;
  /** How often the file is checked even when nothing was reported, as a safety net. Default 30 s. */
  readonly refreshMs?: number;
  readonly logger?: Logger;
}

const DEFAULT_COALESCE_MS = 1_000;
const DEFAULT_REFRESH_MS = 30_000;

export class LiveActorsFileWriter {
  private readonly path: string;
  private readonly subscription: Subscription;
  private readonly refresher: NodeJS.Timeout;
  private pending: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** The actors part of the last file written, to skip writes that would change nothing. */
  private lastWritten: string | undefined;
  private stopped = false;

  private constructor(private readonly options: LiveActorsFileOptions) {
    this.path = liveActorsPath(options.dataDir);
    this.subscription = options.source.inspection.subscribe((event) => {
      // Only an actor coming into memory, changing state or leaving it changes the file.
      if (event.type === 'actor' || event.type === 'event' || event.type === 'passivated') this.schedule();
    });
    this.refresher = setInterval(() => this.schedule(), options.refreshMs ?? DEFAULT_REFRESH_MS);
    // The file is a report on the runtime; it never keeps the process alive by itself.
    this.refresher.unref();
  }

  /** Starts watching the source, and writes the file once before returning. */
  static async start(options: LiveActorsFileOptions): Promise<LiveActorsFileWriter> {
    await mkdir(join(options.dataDir, LIVE_ACTORS_DIR), { recursive: true });
    const writer = new LiveActorsFileWriter(options);
    await writer.flush();
    return writer;
  }

  /** Writes now if the live actors changed since the last write, and waits for it. */
  async flush(): Promise<void> {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    const write = this.writing.then(() => this.writeIfChanged());
    this.writing = write.catch(() => undefined);
    await write;
  }

  /** Stops watching and removes the file: no runtime, no live actors. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.subscription.unsubscribe();
    clearInterval(this.refresher);
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    await this.writing;
    await unlink(this.path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
  }

  /** One write after the first change of a burst: later changes in the window ride along. */
  private schedule(): void {
    if (this.pending || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.flush().catch((error: unknown) =>
        this.options.logger?.warn({ err: error, path: this.path }, 'writing the live-actors file failed; actors list may be out of date'),
      );
    }, this.options.coalesceMs ?? DEFAULT_COALESCE_MS);
    this.pending.unref();
  }

  private async writeIfChanged(): Promise<void> {
    if (this.stopped) return;
    const actors: LiveActorsFileContent['actors'] = this.options.source.liveActors().map((actor) => ({
      streamId: actor.streamId,
      state: actor.state,
      revision: actor.revision === null ? null : Number(actor.revision),
    }));
    const actorsJson = JSON.stringify(actors);
    if (actorsJson === this.lastWritten) return;
    const content: LiveActorsFileContent = { pid: process.pid, hostname: hostname(), updatedAt: new Date().toISOString(), actors };
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(content)}\n`);
    await rename(temporary, this.path);
    this.lastWritten = actorsJson;
  }
}
