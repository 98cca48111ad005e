/**
 * Cursor handling: where the poll (Get Changes / List) goes on reading. The rules, in one place:
 * - Get Changes never writes a cursor; each item it reads carries its position (`trace.cursor`);
 * - the Resolver remembers, per run, the furthest position it has read (StoreTx.saveRunCursors);
 * - Commit moves the sync's cursors to those positions only when no planned change of the run is left
 *   (`waiting = 0`): a failed write, a write still to come, or a create held back because another
 *   execution has it in flight (a `deferred` planned change) keeps them where they were, so the next poll
 *   reads those records again and nothing is skipped past; a run that planned nothing moves them at once;
 * - cursors never move backwards (StoreTx.advanceCursor compares (ts, id)).
 */
import type { StoreTx } from './store/store';

/** Moves the cursors a run has read to the sync's cursors, once all its writes are committed. */
export async function advanceRunCursors(tx: StoreTx, runId: string): Promise<Array<{ system: string; entity: string; ts: string; id: string }>> {
	const advanced: Array<{ system: string; entity: string; ts: string; id: string }> = [];
	for (const c of await tx.runCursors(runId)) {
		if (await tx.advanceCursor(c.sync, c.system, c.entity, c.cursor)) advanced.push({ system: c.system, entity: c.entity, ...c.cursor });
	}
	await tx.deleteRunCursors(runId);
	return advanced;
}
