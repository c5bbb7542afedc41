/**
 * The App Home tab: for the person who opens it, the groups they talk to the assistant in
 * (from the group-activity read model, most recent first) and each one's WORK_CONTEXT.md
 * summary, then the company-wide one. Only groups the person has written in are shown, so
 * the tab never reveals a channel's work to someone outside it.
 */
import { readFile } from 'node:fs/promises';
import type { KnownBlock } from '@slack/types';
import { groupActivityProjection, groupsOfMember } from '../../../projections/group-activity.js';
import { workContextPath } from '../../../projections/work-context.js';
import type { ReadModelReaders } from '../../gateways/host-tools/read-model-readers.js';
import { parseSlackGroupId } from './slack-ids.js';

/** Slack's limits: 100 blocks a view, 3,000 characters a section. */
const MAX_GROUPS = 15;
const SUMMARY_LINES = 12;
const SECTION_CHARS = 2_900;

export interface HomeViewSources {
  readonly dataDir: string;
  readonly readModels: ReadModelReaders;
  readonly agentName: string;
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** The first lines of a WORK_CONTEXT.md that say something (its title left out), in Slack's terms. */
export function summarise(workContext: string): string {
  const lines = workContext
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('# '))
    .map((line) => line.replace(/^## (.*)$/, '*$1*').replace(/^(\s*)- /, '$1• '));
  if (lines.length === 0) return '_Nothing open._';
  const shown = lines.slice(0, SUMMARY_LINES);
  const more = lines.length - shown.length;
  const text = shown.join('\n') + (more > 0 ? `\n_…and ${more} more lines_` : '');
  return text.length <= SECTION_CHARS ? text : `${text.slice(0, SECTION_CHARS)}…`;
}

function groupLabel(groupId: string): string {
  const conversation = parseSlackGroupId(groupId);
  if (!conversation) return groupId;
  return conversation.channel.startsWith('D') ? 'Your direct messages' : `<#${conversation.channel}>`;
}

export async function homeView(userId: string, sources: HomeViewSources): Promise<{ type: 'home'; blocks: KnownBlock[] }> {
  const groups = (await sources.readModels.withReadModel(groupActivityProjection.name, (db) => groupsOfMember(db, userId, MAX_GROUPS))) ?? [];
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `${sources.agentName}: your work`, emoji: true } },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'Open tasks, pending approvals, active runs and what is blocked, in the conversations you take part in.' }],
    },
  ];
  if (groups.length === 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `You have not talked to ${sources.agentName} yet. Mention it in a channel, or send it a direct message.` } });
  }
  for (const group of groups) {
    const summary = summarise(await readOptional(workContextPath(sources.dataDir, group.groupId)));
    blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: `*${groupLabel(group.groupId)}*\n${summary}` } });
  }
  const company = summarise(await readOptional(workContextPath(sources.dataDir, null)));
  blocks.push({ type: 'divider' }, { type: 'section', text: { type: 'mrkdwn', text: `*Company-wide*\n${company}` } });
  return { type: 'home', blocks };
}
