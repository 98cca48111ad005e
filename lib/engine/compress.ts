/**
 * Change compression (the Loop Guard's Change Compression option): a burst of changes to one record
 * (20 edits in 3 seconds) becomes one change with the last state, so the other systems get one write.
 *
 * Each execution of a real-time flow carries one delivery. Compression meets them in the sync store: a
 * change registers in the record's burst (one row per sync, entity, system and id) and adds its fields to
 * the burst's accumulated change, then waits until `windowMs` after its own arrival (or the burst's
 * `maxDelayMs`, whichever comes first). If no later change of that record registered meanwhile, it takes
 * the burst's accumulated change out of the store and passes it on; otherwise the later one will, and this
 * one leaves on the Blocked output as `compressed`. So:
 *
 * - no change is lost: every field any change of the burst carried is in what passes (later values win,
 *   a field only an earlier change carried is kept; a delete ends the burst's state, a change after a
 *   delete starts over from that change's data), and exactly one execution passes each burst;
 * - records keep their order: every change waits the same window, so record X edited before record Y is
 *   passed before Y (within the clock's step);
 * - a record edited without pause is still passed at least every `maxDelayMs`;
 * - an execution that dies while its burst waits in the store does not take the burst with it: the next
 *   compression of the same sync passes a burst that is overdue by more than `STALE_GRACE_MS` (the sync's
 *   backup poll reads the source anyway).
 *
 * Changes read from a feed (they carry a cursor: Get Changes, the Database Trigger, a nightly page) pass
 * untouched: a feed read already returns each record's current state once, and its cursor must move with
 * the record that carried it. Compression is for deliveries (webhooks).
 *
 * The accumulated change waits in the store encrypted (AES-256-GCM, a key derived from the store's secret),
 * never in plain text, and is deleted when it passes: the store keeps no record values outside the golden
 * record and the links.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';

import type { SyncItem } from '../item';
import type { Store, StoreTx } from './store/store';

export interface CompressOptions {
	sync: string;
	/** Changes of one record that arrive within this many ms of the previous one become one. 0 = off. */
	windowMs: number;
	/** A burst is passed at the latest this many ms after its first change (default 10,000). */
	maxDelayMs?: number;
	/** The run these items belong to (a burst taken over from a dead execution runs as this one). */
	runId?: string;
}

export interface CompressEntry {
	item: SyncItem;
	sourceIndex: number;
}

export interface CompressResult {
	passed: CompressEntry[];
	/** Changes carried by another change of the same record: their fields are in what that one passes. */
	compressed: Array<CompressEntry & { detail: string }>;
	/** Bursts of dead executions passed by this one (paired with the first input item). */
	adopted: number;
}

/** A burst overdue by more than this was left by an execution that died: the next compression passes it. */
export const STALE_GRACE_MS = 60_000;
/** Bursts taken over from dead executions in one call at most. */
const ADOPT_LIMIT = 100;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function checkOptions(options: CompressOptions): { windowMs: number; maxDelayMs: number } {
	const windowMs = options.windowMs;
	const maxDelayMs = options.maxDelayMs ?? 10_000;
	if (!Number.isInteger(windowMs) || windowMs < 0 || windowMs > 600_000) {
		throw new Error(`Loop Guard Change Compression: "Window (Ms)" must be a whole number from 0 to 600000, got ${String(windowMs)}`);
	}
	if (!Number.isInteger(maxDelayMs) || maxDelayMs < windowMs || maxDelayMs > 3_600_000) {
		throw new Error(
			`Loop Guard Change Compression: "Max Delay (Ms)" must be a whole number from the window (${windowMs}) to 3600000, got ${String(maxDelayMs)}`,
		);
	}
	return { windowMs, maxDelayMs };
}

/**
 * Two changes of the same record, `b` arriving after `a`: what they amount to. The newer by changedAt is
 * applied last (deliveries can overtake each other: an older state arriving late must not win over a newer
 * one, nor lend the merged change its older changedAt, which the Resolver would skip as stale); by arrival
 * when either has no changedAt or both have the same.
 */
export function foldChange(a: SyncItem, b: SyncItem): SyncItem {
	const ta = a.changedAt === undefined ? NaN : Date.parse(a.changedAt);
	const tb = b.changedAt === undefined ? NaN : Date.parse(b.changedAt);
	const [earlier, later] = tb < ta ? [b, a] : [a, b];
	if (later.op === 'delete' || earlier.op === 'delete') return { ...later, data: { ...later.data } };
	return { ...later, data: { ...earlier.data, ...later.data } };
}

function keyOf(item: SyncItem): string {
	return `${item.entity}\u0000${item.system}\u0000${item.id}`;
}

function cipherKey(secret: string): Buffer {
	return createHmac('sha256', secret).update('datasync change compression v1').digest();
}

function seal(key: Buffer, item: SyncItem): string {
	const iv = randomBytes(12);
	const cipher = createCipheriv('aes-256-gcm', key, iv);
	const body = Buffer.concat([cipher.update(JSON.stringify(item), 'utf8'), cipher.final()]);
	return `v1.${iv.toString('base64')}.${cipher.getAuthTag().toString('base64')}.${body.toString('base64')}`;
}

function open(key: Buffer, text: string): SyncItem {
	const [version, iv, tag, body] = text.split('.');
	if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('a compressed change in the sync store is not readable (unknown format)');
	const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
	decipher.setAuthTag(Buffer.from(tag, 'base64'));
	return JSON.parse(Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8')) as SyncItem;
}

type BurstRow = {
	burst_id: string;
	seq: number;
	first_at: string;
	change: string;
};

interface Waiting {
	entry: CompressEntry;
	item: SyncItem;
	burstId: string;
	seq: number;
	firstAt: number;
	deadline: number;
}

async function readBurst(tx: StoreTx, sync: string, item: SyncItem): Promise<BurstRow | undefined> {
	const rows = await tx.sql.all<BurstRow>(
		`SELECT burst_id, seq, first_at, change FROM burst WHERE sync = ? AND entity = ? AND system = ? AND external_id = ?`,
		[sync, item.entity, item.system, item.id as string],
	);
	return rows[0] && { ...rows[0], seq: Number(rows[0].seq) };
}

async function deleteBurst(tx: StoreTx, sync: string, item: SyncItem): Promise<void> {
	await tx.sql.run(`DELETE FROM burst WHERE sync = ? AND entity = ? AND system = ? AND external_id = ?`, [sync, item.entity, item.system, item.id as string]);
}

function asRun(item: SyncItem, runId: string | undefined): SyncItem {
	return runId === undefined ? item : { ...item, trace: { ...item.trace, runId } };
}

/**
 * Compresses the bursts among `entries` (items that passed the Loop Guard's other checks). Waits up to
 * the window (at most the burst's max delay) before it returns. `sleep` is for tests.
 */
export async function compressBursts(
	store: Store,
	options: CompressOptions,
	entries: CompressEntry[],
	sleep: (ms: number) => Promise<void> = sleepFor,
): Promise<CompressResult> {
	if (typeof options.sync !== 'string' || options.sync === '') throw new Error('Loop Guard options: "sync" must be a non-empty text');
	const { windowMs, maxDelayMs } = checkOptions(options);
	const result: CompressResult = { passed: [], compressed: [], adopted: 0 };
	if (windowMs === 0 || entries.length === 0) {
		result.passed = entries;
		return result;
	}
	const sync = options.sync;
	// In this batch: the changes of one record fold into its last one.
	const groups = new Map<string, { last: CompressEntry; item: SyncItem }>();
	for (const entry of entries) {
		if (entry.item.id === null || entry.item.trace.cursor) {
			result.passed.push(entry);
			continue;
		}
		const k = keyOf(entry.item);
		const prior = groups.get(k);
		if (prior) {
			result.compressed.push({ ...prior.last, detail: 'merged into a later change of the same record in the same delivery' });
			groups.set(k, { last: entry, item: foldChange(prior.item, entry.item) });
		} else groups.set(k, { last: entry, item: entry.item });
	}

	const waiting: Waiting[] = [];
	if (groups.size) {
		await store.transaction(async (tx) => {
			const key = cipherKey(await tx.sensitiveSecret());
			const now = Date.parse(tx.now);
			waiting.length = 0;
			for (const { last, item } of groups.values()) {
				const row = await readBurst(tx, sync, item);
				if (row) {
					const merged = foldChange(open(key, row.change), item);
					await tx.sql.run(
						`UPDATE burst SET seq = ?, last_at = ?, change = ? WHERE sync = ? AND entity = ? AND system = ? AND external_id = ?`,
						[row.seq + 1, tx.now, seal(key, merged), sync, item.entity, item.system, item.id as string],
					);
					const firstAt = Date.parse(row.first_at);
					waiting.push({ entry: last, item, burstId: row.burst_id, seq: row.seq + 1, firstAt, deadline: Math.min(now + windowMs, firstAt + maxDelayMs) });
				} else {
					const burstId = randomUUID();
					await tx.sql.run(
						`INSERT INTO burst (sync, entity, system, external_id, burst_id, seq, first_at, last_at, due_at, change) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
						[sync, item.entity, item.system, item.id as string, burstId, tx.now, tx.now, new Date(now + maxDelayMs).toISOString(), seal(key, item)],
					);
					waiting.push({ entry: last, item, burstId, seq: 1, firstAt: now, deadline: now + windowMs });
				}
			}
		});
	}

	// Bursts whose execution died before passing them: this one passes them.
	const first = entries[0];
	const adopted = await store.transaction(async (tx) => {
		const overdue = new Date(Date.parse(tx.now) - STALE_GRACE_MS).toISOString();
		const rows = await tx.sql.all<{ entity: string; system: string; external_id: string; change: string }>(
			`SELECT entity, system, external_id, change FROM burst WHERE sync = ? AND due_at < ? ORDER BY due_at LIMIT ${ADOPT_LIMIT}`,
			[sync, overdue],
		);
		if (!rows.length) return [];
		const key = cipherKey(await tx.sensitiveSecret());
		const out: SyncItem[] = [];
		for (const row of rows) {
			await tx.sql.run(`DELETE FROM burst WHERE sync = ? AND entity = ? AND system = ? AND external_id = ?`, [sync, row.entity, row.system, row.external_id]);
			out.push(asRun(open(key, row.change), options.runId ?? first.item.trace.runId));
		}
		return out;
	});
	for (const item of adopted) result.passed.push({ item, sourceIndex: first.sourceIndex });
	result.adopted = adopted.length;

	// Wake at each deadline, earliest first; whoever is still the burst's last change passes it.
	waiting.sort((a, b) => a.deadline - b.deadline);
	let i = 0;
	while (i < waiting.length) {
		const wait = waiting[i].deadline - store.clock().getTime();
		if (wait > 0) await sleep(wait);
		const nowMs = store.clock().getTime();
		const due: Waiting[] = [];
		while (i < waiting.length && waiting[i].deadline <= nowMs + 5) due.push(waiting[i++]);
		if (!due.length) continue;
		const outcomes = await store.transaction(async (tx) => {
			const key = cipherKey(await tx.sensitiveSecret());
			const now = Date.parse(tx.now);
			const out: Array<{ w: Waiting; pass?: SyncItem; detail?: string }> = [];
			for (const w of due) {
				const row = await readBurst(tx, sync, w.item);
				if (!row || row.burst_id !== w.burstId) out.push({ w, detail: 'written with a later change of the same record, which carried this one' });
				else if (row.seq === w.seq || now >= w.firstAt + maxDelayMs) {
					await deleteBurst(tx, sync, w.item);
					out.push({ w, pass: asRun(open(key, row.change), w.entry.item.trace.runId) });
				} else out.push({ w, detail: 'a later change of the same record carries this one' });
			}
			return out;
		});
		for (const o of outcomes) {
			if (o.pass) result.passed.push({ item: o.pass, sourceIndex: o.w.entry.sourceIndex });
			else result.compressed.push({ ...o.w.entry, detail: o.detail! });
		}
	}
	result.passed.sort((a, b) => a.sourceIndex - b.sourceIndex);
	result.compressed.sort((a, b) => a.sourceIndex - b.sourceIndex);
	if (result.compressed.length) {
		await store.transaction((tx) =>
			tx.countVolume(sync, result.compressed.map((c) => ({ system: c.item.system, entity: c.item.entity, kind: 'compressed' as const, count: 1 }))),
		);
	}
	return result;
}
