/** Small builders for engine tests: canonical items and a resolve → write → commit round. */
import type { SyncItem } from '../../../lib/item';
import { commit, type WriteResult } from '../../../lib/engine/commit';
import { resolve, type ResolveOptions, type ResolveResult } from '../../../lib/engine/resolve';
import type { Store } from '../../../lib/engine/store';

export function change(system: string, id: string, data: Record<string, unknown>, extra: Partial<SyncItem> = {}): SyncItem {
	return { entity: 'contact', system, id, op: 'upsert', shape: 'canonical', data, trace: { runId: 'r', origin: system, hops: 0 }, ...extra };
}

export function removal(system: string, id: string, extra: Partial<SyncItem> = {}): SyncItem {
	return change(system, id, {}, { op: 'delete', ...extra });
}

export const SYSTEMS = ['crm', 'erp', 'shop'];

let runs = 0;

export function options(extra: Partial<ResolveOptions> = {}): ResolveOptions {
	return {
		sync: 'contacts',
		entity: 'contact',
		runId: `run-${++runs}`,
		systems: SYSTEMS,
		matchKeys: ['email'],
		policy: { kind: 'priority', priority: SYSTEMS },
		...extra,
	};
}

/**
 * One run as the flow does it: resolve, "write" each change (a create gets id `<system>-<n>` unless
 * `ids` says otherwise), commit.
 */
export async function round(
	store: Store,
	items: SyncItem[],
	extra: Partial<ResolveOptions> = {},
	ids: Record<string, string> = {},
): Promise<ResolveResult & { runId: string }> {
	const opts = options(extra);
	const result = await resolve(store, opts, items);
	const writes: WriteResult[] = result.changes.map(({ item }) => ({
		entity: item.entity,
		system: item.system,
		key: item.key as string,
		op: item.op,
		id: item.id ?? ids[`${item.system}:${item.data.email}`] ?? `${item.system}-${item.key}`,
		data: item.data,
	}));
	if (writes.length) await commit(store, { sync: opts.sync, runId: opts.runId }, writes);
	return { ...result, runId: opts.runId };
}
