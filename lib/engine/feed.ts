/**
 * The read loop of the DataSync Database Trigger, in plain code: notifications (or poll ticks) say "there
 * are changes"; the feed reads the rows changed after the sync's cursor, emits them and waits until the
 * execution they started has finished before it reads again, because only that execution's Store Commit
 * moves the cursor. So:
 * - a burst of notifications is one read (they are coalesced for `coalesceMs`, and those that arrive while
 *   a read or its execution runs make one more read afterwards);
 * - a notification lost (connection down, trigger restarted) costs nothing: the next read, after the same
 *   cursor, finds the row;
 * - a row is not emitted twice while its first execution is still running (0 duplicates), and is emitted
 *   again only when that execution failed (at-least-once, as the poll does);
 * - hard deletes, which leave no row to read, come from the notifications (`deleted`) and are kept until an
 *   execution that carried them succeeded.
 */
import type { SyncItem } from '../item';

export interface FeedOptions {
	/** One page of changes after the sync's cursor; `full` = the page was full (more are waiting). */
	read(): Promise<{ items: SyncItem[]; full: boolean }>;
	/** Emits the items as one execution; resolves when it has finished: true if it succeeded. */
	emit(items: SyncItem[]): Promise<boolean>;
	/** The item of a hard delete told by a notification. */
	deleteItem(id: string, changedAt: string | undefined): SyncItem;
	/** How long notifications are collected into one read. */
	coalesceMs: number;
	/** Wait after a failed read or execution, doubled per failure up to maxRetryMs. */
	firstRetryMs: number;
	maxRetryMs: number;
	/** A read that failed (the database or the store did not answer); the feed tries again by itself. */
	failed(error: unknown, retryInMs: number): void;
}

export interface FeedStats {
	/** Times the feed was told there are changes. */
	wakes: number;
	reads: number;
	/** Executions started. */
	emits: number;
	items: number;
	failures: number;
}

export class ChangeFeed {
	readonly stats: FeedStats = { wakes: 0, reads: 0, emits: 0, items: 0, failures: 0 };

	private dirty = false;

	private running: Promise<void> | undefined;

	private timer: NodeJS.Timeout | undefined;

	private stopped = false;

	private failures = 0;

	/** Hard deletes not yet carried by a successful execution, by id (a delete told twice is one). */
	private readonly deletes = new Map<string, string | undefined>();

	constructor(private readonly options: FeedOptions) {}

	/** There may be changes: read soon (at once after `coalesceMs`, or after the running pass). */
	wake(): void {
		this.stats.wakes++;
		this.dirty = true;
		this.schedule(this.options.coalesceMs);
	}

	/** A row was deleted (a notification with its id): emitted with the next read. */
	deleted(id: string, changedAt?: string): void {
		this.deletes.set(id, changedAt);
		this.wake();
	}

	/** Deletes told but not yet delivered by a successful execution. */
	get pendingDeletes(): number {
		return this.deletes.size;
	}

	private schedule(ms: number): void {
		if (this.stopped || this.running || this.timer) return;
		this.timer = setTimeout(() => {
			this.timer = undefined;
			this.running = this.pass().finally(() => {
				this.running = undefined;
				this.next();
			});
		}, ms);
	}

	private next(): void {
		if (this.stopped) return;
		if (this.failures > 0) {
			// A failed read or execution: try again later, not at the pace of the notifications.
			const wait = Math.min(this.options.maxRetryMs, this.options.firstRetryMs * 2 ** Math.min(this.failures - 1, 20));
			this.dirty = true;
			this.schedule(wait);
		} else if (this.dirty) {
			this.schedule(this.options.coalesceMs);
		}
	}

	private async pass(): Promise<void> {
		this.dirty = false;
		const deletes = [...this.deletes.entries()];
		let page: { items: SyncItem[]; full: boolean };
		this.stats.reads++;
		try {
			page = await this.options.read();
		} catch (error) {
			this.failures++;
			this.stats.failures++;
			this.options.failed(error, Math.min(this.options.maxRetryMs, this.options.firstRetryMs * 2 ** Math.min(this.failures - 1, 20)));
			return;
		}
		// Deletes first: a row deleted and inserted again with the same id ends up there.
		const items = [...deletes.map(([id, at]) => this.options.deleteItem(id, at)), ...page.items];
		if (items.length === 0) {
			this.failures = 0;
			return;
		}
		this.stats.emits++;
		this.stats.items += items.length;
		let ok: boolean;
		try {
			ok = await this.options.emit(items);
		} catch {
			ok = false;
		}
		if (ok) {
			for (const [id, at] of deletes) if (this.deletes.get(id) === at) this.deletes.delete(id);
			this.failures = 0;
			// A full page: the rest waits after the cursor the execution's Commit just moved.
			if (page.full) this.dirty = true;
		} else {
			// The execution failed: its rows are still after the cursor and its deletes still pending.
			this.failures++;
			this.stats.failures++;
		}
	}

	/** Stops reading (a pass already running ends by itself; its execution is n8n's to finish). */
	stop(): void {
		this.stopped = true;
		clearTimeout(this.timer);
		this.timer = undefined;
	}

	/** Resolves once no pass is running or scheduled (tests). */
	async idle(): Promise<void> {
		while (this.running || this.timer) {
			await (this.running ?? new Promise((r) => setTimeout(r, 5)));
		}
	}
}
