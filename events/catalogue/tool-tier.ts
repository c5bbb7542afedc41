/**
 * How far a tool call reaches (see runtime/permissions/tiers.ts for what each tier means).
 * Here because events record it: a run's tool calls and an approval's action carry it.
 */
import { z } from 'zod';

export const TOOL_TIERS = ['read', 'write', 'external', 'critical'] as const;

export const toolTierSchema = z.enum(TOOL_TIERS);

export type ToolTier = z.infer<typeof toolTierSchema>;
