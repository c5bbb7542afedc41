/**
 * Every read model the runtime maintains. A new projection is added here; raising one's
 * version rebuilds it (beside the live one) on the next start.
 */
import type { Projection } from './projection.js';

export const readModelProjections: readonly Projection[] = [];
