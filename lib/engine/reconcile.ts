/**
 * Deletes found by a full snapshot (the manual refresh and the reconcile): a system's records the store
 * has links for, but that the snapshot no longer holds, were deleted there. Hard deletes leave no row for
 * Get Changes to read; this is how they are found.
 */
import type { SyncItem } from '../item';
import type { Store } from './store/store';

export interface FindDeletesOptions {
	entity: string;
	system: string;
	/** The run the deletes belong to (trace.runId). */
	runId: string;
	sync?: string;
}

/**
 * The delete items (shape `system`, no data) for every linked record of `system` whose id is not in
 * `snapshotIds`. The snapshot must be complete: a page of it would make every other page look deleted.
 */
export async function findDeletes(store: Store, options: FindDeletesOptions, snapshotIds: Iterable<string>): Promise<SyncItem[]> {
	for (const field of ['entity', 'system', 'runId'] as const) {
		if (typeof options[field] !== 'string' || options[field] === '') throw new Error(`Find Deletes: "${field}" must be a non-empty text`);
	}
	const seen = new Set(snapshotIds);
	const links = await store.listLinks(options.entity, options.system);
	return links
		.filter((link) => !seen.has(link.externalId))
		.map((link) => ({
			entity: options.entity,
			system: options.system,
			id: link.externalId,
			op: 'delete' as const,
			shape: 'system' as const,
			data: {},
			key: link.key,
			trace: { runId: options.runId, origin: options.system, hops: 0, ...(options.sync ? { sync: options.sync } : {}) },
		}));
}
