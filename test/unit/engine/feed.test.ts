/**
 * The Database Trigger's read loop (lib/engine/feed.ts) against a table in memory whose cursor moves only
 * when an "execution" commits, as Store Commit does: bursts coalesced into one read, no read while an
 * execution runs, catch-up after lost notifications, failed executions and failed reads retried, deletes
 * kept until delivered, full pages read on.
 */
import { ChangeFeed, type FeedOptions } from '../../../lib/engine/feed';
import type { SyncItem } from '../../../lib/item';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A table of rows changed at increasing positions, and the sync's cursor (moved by a successful execution). */
class Table {
	rows = new Map<string, number>();

	private clock = 0;

	cursor = 0;

	reads = 0;

	failReads = 0;

	change(id: string): void {
		this.rows.set(id, ++this.clock);
	}

	read(limit: number): { items: SyncItem[]; full: boolean } {
		this.reads++;
		if (this.failReads > 0) {
			this.failReads--;
			throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
		}
		const after = [...this.rows.entries()].filter(([, at]) => at > this.cursor).sort((a, b) => a[1] - b[1]).slice(0, limit);
		return { items: after.map(([id, at]) => item(id, 'upsert', at)), full: after.length === limit };
	}
}

function item(id: string, op: 'upsert' | 'delete', at?: number): SyncItem {
	return { entity: 'contact', system: 'crm', id, op, shape: 'system', data: {}, trace: { runId: 'r', origin: 'crm', hops: 0, ...(at ? { cursor: { ts: String(at), id } } : {}) } };
}

function setup(table: Table, options: Partial<FeedOptions> & { limit?: number; runMs?: number; failRuns?: number } = {}) {
	const executions: SyncItem[][] = [];
	let failRuns = options.failRuns ?? 0;
	let running = 0;
	let overlapped = false;
	const feed = new ChangeFeed({
		read: async () => table.read(options.limit ?? 100),
		emit: async (items) => {
			running++;
			if (running > 1) overlapped = true;
			executions.push(items);
			await sleep(options.runMs ?? 5);
			running--;
			if (failRuns > 0) {
				failRuns--;
				return false;
			}
			// Commit: the cursor moves to the furthest position read.
			const at = items.map((i) => Number(i.trace.cursor?.ts ?? 0));
			table.cursor = Math.max(table.cursor, ...at);
			return true;
		},
		deleteItem: (id) => item(id, 'delete'),
		coalesceMs: 10,
		firstRetryMs: 10,
		maxRetryMs: 40,
		failed: () => undefined,
		...options,
	});
	return { feed, executions, overlapped: () => overlapped };
}

const ids = (executions: SyncItem[][]) => executions.flat().map((i) => `${i.op === 'delete' ? '-' : ''}${i.id}`);

describe('ChangeFeed', () => {
	it('coalesces a burst of notifications into one read and one execution', async () => {
		const table = new Table();
		const { feed, executions } = setup(table);
		for (let i = 0; i < 50; i++) {
			table.change(`r${i}`);
			feed.wake();
		}
		await sleep(30);
		await feed.idle();
		expect(table.reads).toBe(1);
		expect(executions).toHaveLength(1);
		expect(executions[0]).toHaveLength(50);
		feed.stop();
	});

	it('does not read while its execution runs; changes meanwhile make exactly one more read after it', async () => {
		const table = new Table();
		const { feed, executions, overlapped } = setup(table, { runMs: 60 });
		table.change('a');
		feed.wake();
		await sleep(20);
		for (const id of ['b', 'c', 'd']) {
			table.change(id);
			feed.wake();
			await sleep(5);
		}
		await sleep(10);
		await feed.idle();
		expect(overlapped()).toBe(false);
		expect(executions.map((e) => e.map((i) => i.id))).toEqual([['a'], ['b', 'c', 'd']]);
		expect(table.reads).toBe(2);
		feed.stop();
	});

	it('loses nothing when notifications are lost: the next read after the cursor finds every row, once', async () => {
		const table = new Table();
		const { feed, executions } = setup(table);
		table.change('a');
		feed.wake();
		await sleep(20);
		await feed.idle();
		// Connection down: three changes, no notification.
		table.change('b');
		table.change('a');
		table.change('c');
		await sleep(20);
		expect(executions).toHaveLength(1);
		// Reconnected: one wake.
		feed.wake();
		await sleep(20);
		await feed.idle();
		expect(executions.map((e) => e.map((i) => i.id))).toEqual([['a'], ['b', 'a', 'c']]);
		feed.stop();
	});

	it('reads on while the pages are full, each after the previous execution committed', async () => {
		const table = new Table();
		const { feed, executions } = setup(table, { limit: 4 });
		for (let i = 0; i < 10; i++) table.change(`r${i}`);
		feed.wake();
		await sleep(120);
		await feed.idle();
		expect(executions.map((e) => e.length)).toEqual([4, 4, 2]);
		expect(new Set(ids(executions)).size).toBe(10);
		feed.stop();
	});

	it('a failed execution: its rows and deletes are emitted again after a wait; a successful one is not repeated', async () => {
		const table = new Table();
		const { feed, executions } = setup(table, { failRuns: 1 });
		table.change('a');
		feed.deleted('x', '2026-01-01T00:00:00Z');
		await sleep(80);
		await feed.idle();
		expect(executions.map((e) => e.map((i) => `${i.op}:${i.id}`))).toEqual([
			['delete:x', 'upsert:a'],
			['delete:x', 'upsert:a'],
		]);
		expect(feed.pendingDeletes).toBe(0);
		expect(feed.stats.failures).toBe(1);
		feed.stop();
	});

	it('a failed read (database down) is retried with backoff and the deletes told meanwhile are kept', async () => {
		const table = new Table();
		const errors: number[] = [];
		const { feed, executions } = setup(table, { failed: (_e, wait) => errors.push(wait) });
		table.failReads = 3;
		table.change('a');
		feed.deleted('x');
		feed.deleted('x');
		await sleep(200);
		await feed.idle();
		expect(errors).toEqual([10, 20, 40]);
		expect(ids(executions)).toEqual(['-x', 'a']);
		feed.stop();
	});

	it('stops reading once stopped', async () => {
		const table = new Table();
		const { feed, executions } = setup(table);
		feed.stop();
		table.change('a');
		feed.wake();
		await sleep(30);
		expect(executions).toHaveLength(0);
		expect(table.reads).toBe(0);
	});
});
