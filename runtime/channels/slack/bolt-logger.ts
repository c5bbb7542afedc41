/**
 * Bolt and the Slack clients log through this: their messages go to the runtime's pino
 * logger (JSON lines, secrets redacted), at Bolt's level or above.
 */
import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../../actor-host/actor-host.js';

const ORDER: readonly LogLevel[] = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];

function text(messages: readonly unknown[]): string {
  return messages.map((message) => (message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message))).join(' ');
}

export function boltLogger(logger: Logger & { debug?: (object: object, message: string) => void }, initial: LogLevel = LogLevel.WARN): SlackLogger {
  let level = initial;
  let name = 'slack';
  const enabled = (at: LogLevel) => ORDER.indexOf(at) >= ORDER.indexOf(level);
  return {
    debug: (...messages) => {
      if (enabled(LogLevel.DEBUG)) logger.debug?.({ component: name }, text(messages));
    },
    info: (...messages) => {
      if (enabled(LogLevel.INFO)) logger.info({ component: name }, text(messages));
    },
    warn: (...messages) => {
      if (enabled(LogLevel.WARN)) logger.warn({ component: name }, text(messages));
    },
    error: (...messages) => {
      if (enabled(LogLevel.ERROR)) logger.error({ component: name }, text(messages));
    },
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: (next) => {
      name = next;
    },
  };
}
