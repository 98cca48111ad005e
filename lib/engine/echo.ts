/**
 * Echo suppression: a change that only repeats what the store already exchanged with its system is not
 * a change. Two places apply it:
 * - the Loop Guard (guard.ts), before mapping: our own writes coming back (the actor, the hash of what
 *   we wrote, too many hops) and the same delivery twice (the duplicate window);
 * - the Resolver (resolve.ts), after mapping: data equal, on every field it carries, to the link's base
 *   snapshot is skipped as `echo` (`isEcho` below), so nothing is written back and no A→B→A loop starts.
 */
import { sameValue } from './hash';
import type { CanonicalData } from './store/types';

/** Whether every field the source sent equals its base snapshot: the echo rule. */
export function isEcho(incoming: CanonicalData, base: CanonicalData | null): boolean {
	if (base === null) return false;
	for (const field of Object.keys(incoming)) {
		if (incoming[field] === undefined) continue;
		if (!sameValue(incoming[field], base[field])) return false;
	}
	return true;
}
