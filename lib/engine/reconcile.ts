/**
 * Deletes found by a full read (the manual refresh and the reconcile): a system's records the store has
 * links for, but that the system no longer holds, were deleted there. Hard deletes leave no row for Get
 * Changes to read; this is how they are found. Two ways: against a complete snapshot held at once
 * (`findDeletes`), or page by page, each page of links checked against the system by id
 * (`findDeletesPage`), so no execution holds the whole table.
 */
import type { SyncItem } from '../item';
import type { Link } from './store/types';
import type { Store } from './store/store';

export interface FindDeletesOptions {
	entity: string;
	system: string;
	/** The run the deletes belong to (trace.runId). */
	runId: string;
	sync?: string;
}

export interface FindDeletesPageOptions extends FindDeletesOptions {
	/** Check the links after this external id (the last delete of the previous page); '' = from the first. */
	afterId: string;
	/** Links read and checked per round trip, and the most deletes one call returns. */
	pageSize: number;
}

function checkOptions(options: FindDeletesOptions): void {
	for (const field of ['entity', 'system', 'runId'] as const) {
		if (typeof options[field] !== 'string' || options[field] === '') throw new Error(`Find Deletes: "${field}" must be a non-empty text`);
	}
}

function deleteOf(options: FindDeletesOptions, link: Link): SyncItem {
	return {
		entity: options.entity,
		system: options.system,
		id: link.externalId,
		op: 'delete',
		shape: 'system',
		data: {},
		key: link.key,
		trace: { runId: options.runId, origin: options.system, hops: 0, ...(options.sync ? { sync: options.sync } : {}) },
	};
}

/**
 * The delete items (shape `system`, no data) for every linked record of `system` whose id is not in
 * `snapshotIds`. The snapshot must be complete: a page of it would make every other page look deleted.
 */
export async function findDeletes(store: Store, options: FindDeletesOptions, snapshotIds: Iterable<string>): Promise<SyncItem[]> {
	checkOptions(options);
	const seen = new Set(snapshotIds);
	const links = await store.listLinks(options.entity, options.system);
	return links.filter((link) => !seen.has(link.externalId)).map((link) => deleteOf(options, link));
}

/**
 * One page of the paged Find Deletes: the system's links in external-id order after `afterId`, a page at
 * a time, each page asked of the system at once (`held`: which of these ids it still holds); a linked id
 * it no longer holds is a delete item, as `findDeletes` makes them. Stops at `pageSize` deletes: the next
 * call continues after the last one's id (fewer = every link was checked). Memory: one page of links and
 * at most `pageSize` deletes, whatever the table size. Which links a page holds does not depend on the
 * system's order of ids, so a record deleted anywhere in the table is found.
 */
export async function findDeletesPage(store: Store, options: FindDeletesPageOptions, held: (ids: string[]) => Promise<Iterable<string>>): Promise<SyncItem[]> {
	checkOptions(options);
	if (!Number.isInteger(options.pageSize) || options.pageSize < 1) throw new Error(`Find Deletes: "pageSize" must be a whole number of 1 or more, not ${JSON.stringify(options.pageSize)}`);
	if (typeof options.afterId !== 'string') throw new Error('Find Deletes: "afterId" must be a text (empty = from the first link)');
	const deletes: SyncItem[] = [];
	let after = options.afterId;
	for (;;) {
		const links = await store.listLinksPage(options.entity, options.system, after, options.pageSize);
		if (links.length === 0) return deletes;
		const there = new Set(await held(links.map((link) => link.externalId)));
		for (const link of links) {
			if (there.has(link.externalId)) continue;
			deletes.push(deleteOf(options, link));
			if (deletes.length === options.pageSize) return deletes;
		}
		if (links.length < options.pageSize) return deletes;
		after = links[links.length - 1].externalId;
	}
}
