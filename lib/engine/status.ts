/** The Store node's Status and Dashboard data: one read of where a sync stands. */
import type { SyncCursor } from '../item';
import type { Store } from './store/store';
import type { RunRecord, SyncStatus } from './store/types';

export interface SyncOverview {
	sync: string;
	/** Last writes and failures per target system and entity. */
	systems: SyncStatus[];
	/** The committed position of each source's change feed. */
	cursors: Array<{ system: string; entity: string; cursor: SyncCursor; updatedAt: string }>;
	/** The latest runs, newest first, with their metrics. */
	runs: RunRecord[];
	openConflicts: number;
}

export async function status(store: Store, sync: string, options: { runs?: number } = {}): Promise<SyncOverview> {
	if (typeof sync !== 'string' || sync === '') throw new Error('Status: "sync" must be a non-empty text');
	const [systems, cursors, runs, openConflicts] = await Promise.all([
		store.syncStatus(sync),
		store.listCursors(sync),
		store.listRuns(sync, options.runs ?? 20),
		store.countConflicts('open'),
	]);
	return { sync, systems, cursors, runs, openConflicts };
}
