/**
 * Deletes found by a refresh: against a complete snapshot (findDeletes) and page by page, each page of
 * links checked against the system by id (findDeletesPage) — the same deletes, on both store backends.
 */
import { findDeletes, findDeletesPage } from '../../../lib/engine/reconcile';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import type { SyncItem } from '../../../lib/item';
import { BACKENDS } from './backends';
import { change, round } from './fixtures';

/** Ids whose text order differs from their number order ("10" < "9"), as a table's integer keys are. */
const IDS = Array.from({ length: 14 }, (_, i) => String(i + 1));

describe.each(BACKENDS.map((make) => [make().name, make] as const))('find deletes on %s', (_name, make) => {
	const backend = make();
	let store: Store;
	beforeAll(() => backend.setup());
	beforeEach(async () => {
		store = await openStore(backend.config());
		await round(store, IDS.map((id) => change('crm', id, { email: `c${id}@example.com` })), { systems: ['crm', 'erp'] });
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	const options = { entity: 'contact', system: 'crm', runId: 'refresh-1', sync: 'contacts' };

	/** Every page until a short one, as the refresh's loop calls it; returns the pages' deletes. */
	async function allPages(table: Set<string>, pageSize: number): Promise<{ pages: SyncItem[][]; asked: string[][] }> {
		const pages: SyncItem[][] = [];
		const asked: string[][] = [];
		let afterId = '';
		for (;;) {
			const page = await findDeletesPage(store, { ...options, afterId, pageSize }, async (ids) => {
				asked.push(ids);
				return ids.filter((id) => table.has(id));
			});
			pages.push(page);
			if (page.length < pageSize) return { pages, asked };
			afterId = page[page.length - 1].id as string;
		}
	}

	it('finds, page by page, the same deletes as the complete snapshot, wherever they sit', async () => {
		const gone = ['1', '2', '7', '9', '10', '14'];
		const table = new Set(IDS.filter((id) => !gone.includes(id)));
		const whole = await findDeletes(store, options, table);
		const { pages, asked } = await allPages(table, 3);
		// The same delete items (the snapshot's come in key order, the pages' in ID order).
		const byId = (items: SyncItem[]) => [...items].sort((a, b) => String(a.id).localeCompare(String(b.id)));
		expect(byId(pages.flat())).toEqual(byId(whole));
		expect(pages.flat().map((d) => d.id).sort()).toEqual([...gone].sort());
		// At most a page of deletes per call; the links asked in pages of at most 3, each once.
		expect(pages.map((p) => p.length)).toEqual([3, 3, 0]);
		expect(asked.every((ids) => ids.length <= 3)).toBe(true);
		expect(asked.flat().sort()).toEqual([...IDS].sort());
		expect(pages[0][0]).toEqual({
			entity: 'contact',
			system: 'crm',
			id: expect.any(String),
			op: 'delete',
			shape: 'system',
			data: {},
			key: expect.any(String),
			trace: { runId: 'refresh-1', origin: 'crm', hops: 0, sync: 'contacts' },
		});
	});

	it('finds nothing when the table holds every linked record, and every record when the table is empty', async () => {
		expect((await allPages(new Set(IDS), 4)).pages.flat()).toEqual([]);
		const { pages } = await allPages(new Set(), 5);
		expect(pages.map((p) => p.length)).toEqual([5, 5, 4]);
		expect(pages.flat().map((d) => d.id).sort()).toEqual([...IDS].sort());
		// A system with no links has nothing to check.
		expect(await findDeletesPage(store, { ...options, system: 'shop', afterId: '', pageSize: 5 }, async () => [])).toEqual([]);
	});

	it('refuses a page size that is not a whole number of 1 or more', async () => {
		await expect(findDeletesPage(store, { ...options, afterId: '', pageSize: 0 }, async () => [])).rejects.toThrow('"pageSize" must be a whole number of 1 or more, not 0');
		await expect(findDeletesPage(store, { ...options, runId: '', afterId: '', pageSize: 5 }, async () => [])).rejects.toThrow('"runId" must be a non-empty text');
	});
});
