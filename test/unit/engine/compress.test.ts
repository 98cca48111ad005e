/**
 * Change compression (lib/engine/compress.ts) on both backends: bursts of changes to one record pass as
 * one change that carries every field of the burst, exactly once; other records keep their order; a
 * record edited without pause still passes every max delay; a burst left by a dead execution is passed
 * by the next one; feed reads pass untouched; nothing of a record waits in the store in plain text.
 * Each concurrent call stands for one n8n execution (one webhook delivery), as in the Loop Guard node.
 */
import { compressBursts, foldChange, STALE_GRACE_MS, type CompressEntry, type CompressResult } from '../../../lib/engine/compress';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import type { SyncItem } from '../../../lib/item';
import { BACKENDS } from './backends';
import { change, removal } from './fixtures';

const entry = (item: SyncItem, sourceIndex = 0): CompressEntry => ({ item, sourceIndex });
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('foldChange', () => {
	it('keeps every field of the earlier change that the later one does not carry; later values win', () => {
		const a = change('crm', '1', { email: 'a@x', phone: '1' }, { changedAt: '2030-01-01T00:00:00Z' });
		const b = change('crm', '1', { phone: '2', city: 'Oslo' }, { changedAt: '2030-01-01T00:00:01Z', actor: 'eve' });
		expect(foldChange(a, b)).toEqual({ ...b, data: { email: 'a@x', phone: '2', city: 'Oslo' } });
	});
	it('a change that arrives late with an older changedAt does not win over the newer one', () => {
		const newer = change('crm', '1', { phone: '2', city: 'Oslo' }, { changedAt: '2030-01-01T00:00:05Z' });
		const older = change('crm', '1', { phone: '1', email: 'a@x' }, { changedAt: '2030-01-01T00:00:01Z' });
		expect(foldChange(newer, older)).toEqual({ ...newer, data: { email: 'a@x', phone: '2', city: 'Oslo' } });
		const deletedLater = removal('crm', '1', { changedAt: '2030-01-01T00:00:09Z' });
		expect(foldChange(deletedLater, older).op).toBe('delete');
	});
	it('a delete ends the state; a change after a delete starts over from its own data', () => {
		const a = change('crm', '1', { email: 'a@x', phone: '1' });
		const d = removal('crm', '1');
		const c = change('crm', '1', { email: 'new@x' });
		expect(foldChange(a, d).op).toBe('delete');
		expect(foldChange(foldChange(a, d), c)).toEqual({ ...c, data: { email: 'new@x' } });
	});
});

describe.each(BACKENDS.map((make) => [make().name, make] as const))('change compression on %s', (_name, make) => {
	const backend = make();
	let store: Store;

	beforeAll(async () => {
		await backend.setup();
	});
	beforeEach(async () => {
		store = await openStore(backend.config());
	}, 30_000);
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	const burstRows = async () => store.driver.all<{ n: number }>(`SELECT count(*) AS n FROM burst`).then((r) => Number(r[0].n));

	it('20 partial edits of one record, one execution each, 20 ms apart: one passes with every field, 19 are compressed', async () => {
		const calls: Array<Promise<CompressResult>> = [];
		for (let i = 0; i < 20; i++) {
			const item = change('crm', 'c-1', { [`f${i}`]: i, name: `v${i}` }, { changedAt: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(), trace: { runId: `run-${i}`, origin: 'crm', hops: 0 } });
			calls.push(compressBursts(store, { sync: 'contacts', windowMs: 1_500, maxDelayMs: 10_000, runId: `run-${i}` }, [entry(item)]));
			await delay(20);
		}
		const results = await Promise.all(calls);
		const passed = results.flatMap((r, i) => r.passed.map((p) => ({ run: i, item: p.item })));
		expect(passed).toHaveLength(1);
		expect(passed[0].run).toBe(19);
		const expected: Record<string, unknown> = { name: 'v19' };
		for (let i = 0; i < 20; i++) expected[`f${i}`] = i;
		expect(passed[0].item.data).toEqual(expected);
		expect(passed[0].item.changedAt).toBe('2030-01-01T00:00:19.000Z');
		expect(passed[0].item.trace.runId).toBe('run-19');
		expect(results.reduce((n, r) => n + r.compressed.length, 0)).toBe(19);
		expect(results.slice(0, 19).every((r) => r.compressed.length === 1 && /later change/.test(r.compressed[0].detail))).toBe(true);
		expect(await burstRows()).toBe(0);
		const volume = await store.driver.all<{ count: number }>(`SELECT count FROM volume WHERE kind = 'compressed' AND grain = 'day'`);
		expect(volume.map((v) => Number(v.count))).toEqual([19]);
	});

	it('keeps the order of different records: X edited before Y passes before Y', async () => {
		const order: string[] = [];
		const send = (id: string, i: number) =>
			compressBursts(store, { sync: 'contacts', windowMs: 1_000 }, [entry(change('crm', id, { n: i }))]).then((r) => {
				for (const p of r.passed) order.push(`${p.item.id}:${String(p.item.data.n)}`);
			});
		const all: Array<Promise<void>> = [];
		for (let i = 0; i < 3; i++) {
			all.push(send('X', i));
			await delay(20);
		}
		await delay(300);
		for (let i = 0; i < 3; i++) {
			all.push(send('Y', i));
			await delay(20);
		}
		await Promise.all(all);
		expect(order).toEqual(['X:2', 'Y:2']);
	});

	it('a record edited without pause still passes every max delay; each edit is carried by exactly one pass', async () => {
		const results: Array<Promise<CompressResult>> = [];
		for (let i = 0; i < 24; i++) {
			results.push(compressBursts(store, { sync: 'contacts', windowMs: 300, maxDelayMs: 700 }, [entry(change('crm', 'busy', { [`e${i}`]: true, last: i }))]));
			await delay(60);
		}
		const done = await Promise.all(results);
		const passes = done.flatMap((r) => r.passed.map((p) => p.item));
		// 24 edits over ~1.4 s with a max delay of 0.7 s: at least two passes before the last burst ends.
		expect(passes.length).toBeGreaterThanOrEqual(2);
		expect(passes.length + done.reduce((n, r) => n + r.compressed.length, 0)).toBe(24);
		// Each edit's field is in exactly one pass, and the passes' "last" values rise.
		for (let i = 0; i < 24; i++) expect(passes.filter((p) => p.data[`e${i}`] === true)).toHaveLength(1);
		const lasts = passes.map((p) => p.data.last as number);
		expect([...lasts].sort((a, b) => a - b)).toEqual(lasts);
		expect(lasts[lasts.length - 1]).toBe(23);
		expect(await burstRows()).toBe(0);
	});

	it('a delete inside a burst: the delete passes; a change after it passes with only its own data', async () => {
		const a = compressBursts(store, { sync: 'contacts', windowMs: 1_000 }, [entry(change('crm', 'd', { email: 'a@x', phone: '1' }))]);
		await delay(30);
		const d = compressBursts(store, { sync: 'contacts', windowMs: 1_000 }, [entry(removal('crm', 'd'))]);
		const [ra, rd] = await Promise.all([a, d]);
		expect(ra.passed).toEqual([]);
		expect(rd.passed.map((p) => p.item.op)).toEqual(['delete']);
		const r1 = compressBursts(store, { sync: 'contacts', windowMs: 1_000 }, [entry(removal('crm', 'e'))]);
		await delay(30);
		const r2 = compressBursts(store, { sync: 'contacts', windowMs: 1_000 }, [entry(change('crm', 'e', { email: 'back@x' }))]);
		const [x, y] = await Promise.all([r1, r2]);
		expect(x.passed).toEqual([]);
		expect(y.passed.map((p) => [p.item.op, p.item.data])).toEqual([['upsert', { email: 'back@x' }]]);
	});

	it('folds the changes of one record inside one delivery; other records of the delivery pass', async () => {
		const r = await compressBursts(store, { sync: 'contacts', windowMs: 50 }, [
			entry(change('crm', '1', { a: 1 }), 0),
			entry(change('crm', '2', { a: 2 }), 1),
			entry(change('crm', '1', { b: 1 }), 2),
			entry(change('crm', '1', { a: 3 }), 3),
		]);
		expect(r.passed.map((p) => [p.sourceIndex, p.item.id, p.item.data])).toEqual([
			[1, '2', { a: 2 }],
			[3, '1', { a: 3, b: 1 }],
		]);
		expect(r.compressed.map((c) => c.sourceIndex)).toEqual([0, 2]);
		expect(r.compressed[0].detail).toMatch(/same delivery/);
	});

	it('changes read from a feed (with a cursor) and creates without an id pass at once, untouched', async () => {
		const feed = change('crm', '1', { a: 1 }, { trace: { runId: 'r', origin: 'crm', hops: 0, cursor: { ts: '2030-01-01T00:00:00Z', id: '1' } } });
		const create = change('crm', null as unknown as string, { a: 2 }, { id: null });
		const t0 = Date.now();
		const r = await compressBursts(store, { sync: 'contacts', windowMs: 5_000 }, [entry(feed, 0), entry(create, 1)]);
		// No wait for the window (5 s).
		expect(Date.now() - t0).toBeLessThan(4_000);
		expect(r.passed.map((p) => p.item)).toEqual([feed, create]);
		expect(await burstRows()).toBe(0);
	});

	it('a burst whose execution died while it waited is passed by the next compression of the sync', async () => {
		const died = compressBursts(store, { sync: 'contacts', windowMs: 200, maxDelayMs: 400 }, [entry(change('crm', 'orphan', { email: 'o@x', phone: '9' }))], () =>
			Promise.reject(new Error('the execution died')),
		);
		await expect(died).rejects.toThrow('the execution died');
		expect(await burstRows()).toBe(1);
		// Before the grace period it stays (its execution may only be slow).
		const early = await compressBursts(store, { sync: 'contacts', windowMs: 10 }, [entry(change('crm', 'other', { a: 1 }))]);
		expect(early.adopted).toBe(0);
		jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
		try {
			jest.setSystemTime(Date.now() + 400 + STALE_GRACE_MS + 1_000);
			const feed = change('crm', 'p', { a: 1 }, { trace: { runId: 'poll-run', origin: 'crm', hops: 0, cursor: { ts: '2030-01-01T00:00:00Z', id: 'p' } } });
			const next = await compressBursts(store, { sync: 'contacts', windowMs: 10, runId: 'poll-run' }, [entry(feed, 4)]);
			expect(next.adopted).toBe(1);
			const adopted = next.passed.find((p) => p.item.id === 'orphan')!;
			expect(adopted.item.data).toEqual({ email: 'o@x', phone: '9' });
			expect(adopted.item.trace.runId).toBe('poll-run');
			expect(adopted.sourceIndex).toBe(4);
		} finally {
			jest.useRealTimers();
		}
		expect(await burstRows()).toBe(0);
	});

	it('keeps no value of the waiting change in plain text in the store', async () => {
		const canary = 'CANARY-7f3a9e-waiting-in-the-burst';
		const waiting = compressBursts(store, { sync: 'contacts', windowMs: 1_000 }, [entry(change('crm', 'secret', { ssn: canary, email: 'canary@example.com' }))]);
		let rows: Array<Record<string, unknown>> = [];
		for (let i = 0; i < 100 && rows.length === 0; i++) {
			await delay(10);
			rows = await store.driver.all<Record<string, unknown>>(`SELECT * FROM burst`);
		}
		expect(rows).toHaveLength(1);
		const text = JSON.stringify(rows);
		expect(text).not.toContain(canary);
		expect(text).not.toContain('canary@example.com');
		const r = await waiting;
		expect(r.passed[0].item.data.ssn).toBe(canary);
	});

	it('refuses options out of range, naming the option', async () => {
		const one = [entry(change('crm', '1', { a: 1 }))];
		await expect(compressBursts(store, { sync: 'contacts', windowMs: -1 }, one)).rejects.toThrow(/"Window \(Ms\)" must be a whole number from 0 to 600000, got -1/);
		await expect(compressBursts(store, { sync: 'contacts', windowMs: 2000, maxDelayMs: 1000 }, one)).rejects.toThrow(/"Max Delay \(Ms\)" must be a whole number from the window \(2000\)/);
		await expect(compressBursts(store, { sync: '', windowMs: 10 }, one)).rejects.toThrow(/"sync" must be a non-empty text/);
		const off = await compressBursts(store, { sync: 'contacts', windowMs: 0 }, one);
		expect(off.passed).toEqual(one);
	});
});
