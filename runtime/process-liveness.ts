/**
 * Whether a process still runs, for files a process leaves behind (the writer lock, the
 * live-actors file): one left by a process that died means nothing.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
