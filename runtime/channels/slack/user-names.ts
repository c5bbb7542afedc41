/**
 * Display names of Slack users, for prompts that say who spoke: `users.info`, asked once per
 * user and remembered for an hour. A name that cannot be found (a bot, no `users:read`, Slack
 * unreachable) is null, and the message goes on without it; the lookup never holds up the
 * recording of a message for long.
 */
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';

const TTL_MS = 3_600_000;
/** A message is recorded without a name rather than wait longer than this for one. */
const LOOKUP_TIMEOUT_MS = 1_500;
const MAX_CACHED = 10_000;

const userInfoSchema = z.looseObject({
  user: z.looseObject({
    name: z.string().optional(),
    real_name: z.string().optional(),
    profile: z.looseObject({ display_name: z.string().optional(), real_name: z.string().optional() }).optional(),
  }),
});

export class UserNames {
  private readonly cache = new Map<string, { name: string | null; at: number }>();

  constructor(
    private readonly client: Pick<WebClient, 'users'>,
    private readonly now: () => number = Date.now,
  ) {}

  async nameOf(userId: string): Promise<string | null> {
    const cached = this.cache.get(userId);
    if (cached && this.now() - cached.at < TTL_MS) return cached.name;
    const name = await Promise.race([this.lookUp(userId), new Promise<null>((resolve) => setTimeout(() => resolve(null), LOOKUP_TIMEOUT_MS).unref())]);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userId, { name, at: this.now() });
    return name;
  }

  private async lookUp(userId: string): Promise<string | null> {
    try {
      const info = userInfoSchema.safeParse(await this.client.users.info({ user: userId }));
      if (!info.success) return null;
      const { user } = info.data;
      const name = [user.profile?.display_name, user.profile?.real_name, user.real_name, user.name].find((candidate) => candidate !== undefined && candidate.trim() !== '');
      return name === undefined ? null : name.trim().slice(0, 200);
    } catch {
      return null;
    }
  }
}
