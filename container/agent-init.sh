# The agent image's entrypoint, pid 1 of every run container (copied to /app/agent-init.sh).
#
# Why not run the runner as pid 1 directly:
# - Orphans are handed to pid 1, and only pid 1 can reap them. Node reaps only the children it
#   spawned itself, so processes a bash call left behind (a fork bomb's, say) stayed zombies
#   and held their slot of the pids limit until every later fork failed. This shell's `wait`
#   reaps any child, its own or adopted.
# - The host channel (stdin and stdout) must be held by the runner alone: a process of the
#   agent's uid that holds it, or can open it through /proc/<pid>/fd, can forge frames. This
#   shell hands the three descriptors to the runner and keeps only /dev/null itself. The
#   runner's node is execute-only (mode 0711), so the kernel marks the runner non-dumpable and
#   refuses /proc/<runner>/fd/* to every process without CAP_SYS_PTRACE, which no process here has.
#
# LEDGERCLAW_OWN_PID_NAMESPACE tells the runner that every other process in this pid
# namespace was started by one of its tool calls, so after each bash call it may end them all
# (bash.ts); the shell the agent's commands run in never sees it (its env is PATH, HOME, LANG).

exec 3<&0 4>&1 5>&2 0</dev/null 1>/dev/null 2>/dev/null
LEDGERCLAW_OWN_PID_NAMESPACE=1 /usr/local/bin/node /app/dist/container/runner/main.js 0<&3 1>&4 2>&5 3<&- 4>&- 5>&- &
exec 3<&- 4>&- 5>&-
# The runner's exit status (128 + n for signal n) is the container's.
wait $!
