/**
 * How a read-only handle learns that another process committed: inotify on the database
 * directory (the WAL file changes on every commit) for promptness, and a slow poll of
 * SQLite's `data_version` as the fallback where file events are lost or unsupported.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Observable, share } from 'rxjs';

const POLL_INTERVAL_MS = 250;

export function watchForeignCommits(databasePath: string, readDataVersion: () => Promise<number>): Observable<void> {
  return new Observable<void>((subscriber) => {
    let lastVersion: number | undefined;
    let checking = false;
    let recheck = false;

    const check = async (): Promise<void> => {
      if (checking) {
        recheck = true;
        return;
      }
      checking = true;
      try {
        do {
          recheck = false;
          const version = await readDataVersion();
          // The first check always ticks: a commit may have landed before the baseline.
          if (version !== lastVersion) subscriber.next();
          lastVersion = version;
        } while (recheck);
      } catch {
        // The handle is closing; the subscription is about to end with it.
      } finally {
        checking = false;
      }
    };

    const timer = setInterval(() => void check(), POLL_INTERVAL_MS);
    timer.unref();
    let watcher: FSWatcher | undefined;
    const file = basename(databasePath);
    try {
      watcher = watch(dirname(databasePath), { persistent: false }, (_event, changed) => {
        if (changed === null || changed.startsWith(file)) void check();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No inotify here: the poll alone will do, a little later.
    }
    void check();

    return () => {
      clearInterval(timer);
      watcher?.close();
    };
  }).pipe(share());
}
