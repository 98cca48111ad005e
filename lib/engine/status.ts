/**
 * The Store node's Status, its dashboard and its Prometheus text: where a sync stands, read from the store
 * in a few indexed queries (the volume table is counted per hour and per day as changes go by, so no
 * read here scans the audit).
 */
import { SyncItemError, type SyncCursor } from '../item';
import { ruleOf } from './commit';
import { retentionOf, type Retention } from './alerts';
import type { Store } from './store/store';
import type { VolumeCount, VolumeRow } from './store/store';
import type { AuditEntry, ConflictRecord, GoldenRecord, Link, RunRecord, SyncStatus } from './store/types';

export type HealthState = 'ok' | 'stale' | 'failing';

export interface HealthOptions {
	/** Stale after this many minutes without a success; 0 = automatic (2 × the usual interval between runs, at least 10). */
	staleMinutes: number;
	/** Failing when this many latest runs all had write errors. */
	failingRuns: number;
}

/** One system and entity of a sync: counts of the last 30 days, last times, cursor and health. */
export interface TargetHealth {
	system: string;
	entity: string;
	received: number;
	created: number;
	updated: number;
	deleted: number;
	failed: number;
	invalid: number;
	blocked: number;
	skipped: number;
	/** Changes the Loop Guard's Change Compression merged into a later change of the same record (they did sync, with it). */
	compressed: number;
	writtenTotal: number;
	failedTotal: number;
	openConflicts: number;
	lastSyncAt: string | null;
	lastSuccessAt: string | null;
	lastFailureAt: string | null;
	cursor: (SyncCursor & { updatedAt: string }) | null;
	cursorLagSeconds: number | null;
	health: HealthState;
	why: string;
}

/** What did not sync, by kind and reason, system and entity. */
export interface NotSynced {
	kind: string;
	reason: string;
	system: string;
	entity: string;
	last24h: number;
	last30d: number;
}

export interface VolumeBucket {
	start: string;
	received: number;
	written: number;
	errors: number;
	blocked: number;
}

export interface SyncOverview {
	sync: string;
	generatedAt: string;
	health: HealthState;
	/** The rule, as shown on the page. */
	rule: string;
	staleAfterMinutes: number;
	/** Per system and entity. */
	targets: TargetHealth[];
	/** Last writes and failures per target system and entity (Commit's counts). */
	systems: SyncStatus[];
	/** The committed position of each source's change feed. */
	cursors: Array<{ system: string; entity: string; cursor: SyncCursor; updatedAt: string }>;
	/** The latest runs, newest first, with their metrics and the number of their records that did not sync. */
	runs: Array<RunRecord & { notSynced: number }>;
	/** Run durations of the latest finished runs, in ms. */
	durations: { count: number; p50: number | null; p95: number | null };
	notSynced: NotSynced[];
	/** The latest records that did not sync (refused by a Mapper, or a write error), newest first. */
	recentFailures: AuditEntry[];
	/** Changes per hour for the last 48 hours and per day for the last 30 days, oldest first. */
	hourly: VolumeBucket[];
	daily: VolumeBucket[];
	openConflicts: number;
	/** How long logs are kept (the last Purge's retention) and the oldest audit entry kept. */
	retention: Retention;
	/** The open conflicts (at most 50), with every competing value. */
	conflicts: ConflictRecord[];
}

export interface RunLog {
	sync: string;
	runId: string;
	run: RunRecord | null;
	entries: AuditEntry[];
	truncated: boolean;
}

export interface FieldChange {
	at: string;
	runId: string | null;
	system: string | null;
	actor: string | null;
	action: string;
	outcome: string;
	field: string;
	before: unknown;
	after: unknown;
}

export interface RecordHistory {
	sync: string;
	query: { key?: string; system?: string; id?: string; entity?: string };
	records: Array<{ golden: GoldenRecord | null; links: Link[]; conflicts: ConflictRecord[] }>;
	entries: AuditEntry[];
	changes: FieldChange[];
}

export interface RecordInvalidResult {
	recorded: number;
	counts: VolumeCount[];
}

export const DEFAULT_HEALTH: HealthOptions = { staleMinutes: 0, failingRuns: 3 };
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WRITTEN = new Set(['created', 'updated', 'deleted']);
const NOT_SYNCED = new Set(['invalid', 'blocked', 'failed', 'skipped']);
function percentile(sorted: number[], p: number): number | null {
	if (!sorted.length)
		return null;
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const later = (a: string | null | undefined, b: string | null | undefined): string | null => {
	if (!a)
		return b ?? null;
	if (!b)
		return a;
	return Date.parse(a) >= Date.parse(b) ? a : b;
};
function buckets(rows: VolumeRow[], startMs: number, stepMs: number, count: number): VolumeBucket[] {
	const out: VolumeBucket[] = [];
	const index = new Map<number, VolumeBucket>();
	for (let i = 0; i < count; i++) {
		const t = startMs + i * stepMs;
		const b: VolumeBucket = { start: new Date(t).toISOString(), received: 0, written: 0, errors: 0, blocked: 0 };
		out.push(b);
		index.set(t, b);
	}
	for (const r of rows) {
		const b = index.get(Date.parse(r.bucket));
		if (!b)
			continue;
		if (r.kind === 'received')
			b.received += r.count;
		else if (WRITTEN.has(r.kind))
			b.written += r.count;
		else if (r.kind === 'failed' || r.kind === 'invalid')
			b.errors += r.count;
		else if (r.kind === 'blocked')
			b.blocked += r.count;
	}
	return out;
}
/** The stale threshold in minutes, and how it was chosen. */
function staleThreshold(runs: RunRecord[], options: HealthOptions): { minutes: number; text: string } {
	if (options.staleMinutes > 0)
		return { minutes: options.staleMinutes, text: `${options.staleMinutes} min (set in the Store node)` };
	const starts = runs.map((r) => Date.parse(r.startedAt)).sort((a, b) => b - a);
	if (starts.length < 3)
		return { minutes: 60, text: '60 min (fewer than 3 runs yet to learn the usual interval)' };
	const gaps = starts.slice(1).map((t, i) => starts[i] - t).sort((a, b) => a - b);
	const usual = gaps[Math.floor(gaps.length / 2)] / 60_000;
	const minutes = Math.max(10, Math.ceil(2 * usual));
	return { minutes, text: `${minutes} min (2 × the usual ${usual < 1 ? `${Math.round(usual * 60)} s` : `${Math.round(usual)} min`} between runs, at least 10)` };
}
/**
 * The health of one system and entity: `failing` when its latest write failed (last failure after last
 * success), or it is a target and the last `failingRuns` runs all had write errors; `stale` when it has
 * synced before but not within the threshold; `ok` otherwise.
 */
export function healthOf(
	t: Pick<TargetHealth, 'system' | 'lastSuccessAt' | 'lastFailureAt' | 'writtenTotal' | 'failedTotal'>,
	runs: RunRecord[],
	now: Date,
	staleMinutes: number,
	failingRuns: number,
): { health: HealthState; why: string } {
	if (t.lastFailureAt && (!t.lastSuccessAt || Date.parse(t.lastFailureAt) >= Date.parse(t.lastSuccessAt))) {
		return { health: 'failing', why: `the latest write to ${t.system} failed (${t.lastFailureAt})` };
	}
	const latest = runs.slice(0, failingRuns);
	if (t.writtenTotal + t.failedTotal > 0 && failingRuns > 0 && latest.length === failingRuns && latest.every((r) => r.errors > 0)) {
		return { health: 'failing', why: `the last ${failingRuns} runs all had write errors` };
	}
	if (!t.lastSuccessAt)
		return { health: 'stale', why: 'no successful sync yet' };
	const ageMin = (now.getTime() - Date.parse(t.lastSuccessAt)) / 60_000;
	if (ageMin > staleMinutes)
		return { health: 'stale', why: `no success for ${Math.round(ageMin)} min, more than ${staleMinutes}` };
	return { health: 'ok', why: `last success ${Math.max(0, Math.round(ageMin))} min ago, no failure since` };
}
const WORST: Record<HealthState, number> = { ok: 0, stale: 1, failing: 2 };
export async function status(store: Store, sync: string, options: { runs?: number; health?: Partial<HealthOptions>; now?: Date } = {}): Promise<SyncOverview> {
	if (typeof sync !== 'string' || sync === '')
		throw new Error('Status: "sync" must be a non-empty text');
	const health = { ...DEFAULT_HEALTH, ...(options.health ?? {}) };
	if (!(health.staleMinutes >= 0))
		throw new Error('Status: "staleMinutes" must be a number >= 0 (0 = automatic)');
	if (!Number.isInteger(health.failingRuns) || health.failingRuns < 1)
		throw new Error('Status: "failingRuns" must be a whole number >= 1');
	const now = options.now ?? store.clock();
	const hourStart = Math.floor(now.getTime() / HOUR) * HOUR - 47 * HOUR;
	const dayStart = Math.floor(now.getTime() / DAY) * DAY - 29 * DAY;
	const [systems, cursors, runs, openConflicts, conflictCounts, hourlyRows, dailyRows, conflicts, recentFailures] = await Promise.all([
		store.syncStatus(sync),
		store.listCursors(sync),
		store.listRuns(sync, Math.max(options.runs ?? 20, health.failingRuns)),
		store.countConflicts('open'),
		store.openConflictCounts(sync),
		store.volume(sync, 'hour', new Date(hourStart).toISOString()),
		store.volume(sync, 'day', new Date(dayStart).toISOString()),
		store.listConflicts({ status: 'open', limit: 50 }),
		store.failedRecords(sync, 50),
	]);
	const notSyncedPerRun = await store.failedPerRun(runs.map((r) => r.runId));
	const stale = staleThreshold(runs, health);
	const rows = new Map<string, TargetHealth>();
	const row = (system: string, entity: string): TargetHealth => {
		const k = `${system}\u0000${entity}`;
		let t = rows.get(k);
		if (!t) {
			t = {
				system,
				entity,
				received: 0,
				created: 0,
				updated: 0,
				deleted: 0,
				failed: 0,
				invalid: 0,
				blocked: 0,
				skipped: 0,
				compressed: 0,
				writtenTotal: 0,
				failedTotal: 0,
				openConflicts: 0,
				lastSyncAt: null,
				lastSuccessAt: null,
				lastFailureAt: null,
				cursor: null,
				cursorLagSeconds: null,
				health: 'ok',
				why: '',
			};
			rows.set(k, t);
		}
		return t;
	};
	for (const s of systems) {
		const t = row(s.system, s.entity);
		t.writtenTotal = s.written;
		t.failedTotal = s.failed;
		t.lastSuccessAt = s.lastSuccessAt;
		t.lastFailureAt = s.lastFailureAt;
	}
	for (const c of cursors) {
		const t = row(c.system, c.entity);
		t.cursor = { ...c.cursor, updatedAt: c.updatedAt };
		const ts = Date.parse(c.cursor.ts);
		t.cursorLagSeconds = Number.isNaN(ts) ? null : Math.max(0, Math.round((now.getTime() - ts) / 1000));
		// A committed read of the source is a success of that source.
		t.lastSuccessAt = later(t.lastSuccessAt, c.updatedAt);
	}
	const notSynced = new Map<string, NotSynced>();
	const dayAgo = now.getTime() - DAY;
	for (const r of dailyRows) {
		const t = row(r.system, r.entity);
		if (r.kind in t && r.kind !== 'conflicts')
			(t as unknown as Record<string, number>)[r.kind] += r.count;
		if (NOT_SYNCED.has(r.kind)) {
			const k = `${r.kind}\u0000${r.reason}\u0000${r.system}\u0000${r.entity}`;
			const n = notSynced.get(k) ?? { kind: r.kind, reason: r.reason, system: r.system, entity: r.entity, last24h: 0, last30d: 0 };
			n.last30d += r.count;
			notSynced.set(k, n);
		}
	}
	for (const r of hourlyRows) {
		if (!NOT_SYNCED.has(r.kind) || Date.parse(r.bucket) + HOUR <= dayAgo)
			continue;
		const n = notSynced.get(`${r.kind}\u0000${r.reason}\u0000${r.system}\u0000${r.entity}`);
		if (n)
			n.last24h += r.count;
	}
	for (const c of conflictCounts)
		row(c.system, c.entity).openConflicts += c.count;
	// A source that is only ever read (webhooks, no cursor) last synced with the sync's last good run.
	const lastGoodRun = runs.find((r) => r.finishedAt && r.errors === 0)?.finishedAt ?? null;
	let worst: HealthState = 'ok';
	for (const t of rows.values()) {
		t.lastSyncAt = later(later(t.lastSuccessAt, t.lastFailureAt), t.cursor?.updatedAt);
		if (!t.lastSuccessAt && t.writtenTotal + t.failedTotal === 0 && t.received > 0)
			t.lastSuccessAt = lastGoodRun;
		t.lastSyncAt = later(t.lastSyncAt, t.lastSuccessAt);
		Object.assign(t, healthOf(t, runs, now, stale.minutes, health.failingRuns));
		if (WORST[t.health] > WORST[worst])
			worst = t.health;
	}
	const targets = [...rows.values()].sort((a, b) => a.entity.localeCompare(b.entity) || a.system.localeCompare(b.system));
	const durations = runs
		.map((r) => r.durationMs)
		.filter((d): d is number => d !== null)
		.sort((a, b) => a - b);
	const latestRuns = runs.slice(0, options.runs ?? 20).map((r) => ({ ...r, notSynced: notSyncedPerRun.get(r.runId) ?? 0 }));
	return {
		sync,
		generatedAt: now.toISOString(),
		health: targets.length ? worst : 'stale',
		rule: `failing: the latest write to a system failed, or the last ${health.failingRuns} runs all had write errors; ` +
			`stale: no success for more than ${stale.text}; ok: otherwise`,
		staleAfterMinutes: stale.minutes,
		targets,
		systems,
		cursors,
		runs: latestRuns,
		durations: { count: durations.length, p50: percentile(durations, 50), p95: percentile(durations, 95) },
		notSynced: [...notSynced.values()].sort((a, b) => b.last30d - a.last30d || a.kind.localeCompare(b.kind) || a.reason.localeCompare(b.reason)),
		recentFailures,
		hourly: buckets(hourlyRows, hourStart, HOUR, 48),
		daily: buckets(dailyRows, dayStart, DAY, 30),
		openConflicts,
		retention: await retentionOf(store),
		conflicts: conflicts.filter((c) => c.sync === sync || c.sync === null),
	};
}
export async function runLog(store: Store, sync: string, runId: string, limit = 2000): Promise<RunLog> {
	const [run, entries] = await Promise.all([store.getRun(runId), store.audit({ runId, limit: limit + 1 })]);
	const truncated = entries.length > limit;
	return { sync, runId, run, entries: entries.slice(0, limit).reverse(), truncated };
}
function fieldChanges(e: AuditEntry): FieldChange[] {
	if (!e.before && !e.after)
		return [];
	const before: Record<string, unknown> = e.before ?? {};
	const after: Record<string, unknown> = e.after ?? {};
	const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
	const out: FieldChange[] = [];
	for (const field of fields) {
		const b = before[field];
		const a = e.after === null && (e.action === 'write' || e.action === 'rollback') ? undefined : after[field];
		if (JSON.stringify(b) === JSON.stringify(a))
			continue;
		out.push({ at: e.at, runId: e.runId, system: e.system, actor: e.actor, action: e.action, outcome: e.outcome, field, before: b, after: a });
	}
	return out;
}
/** A record's history: by golden key (in any entity of the store), or by a system's record id. */
export async function recordHistory(store: Store, sync: string, query: RecordHistory['query'], limit = 500): Promise<RecordHistory> {
	const refs: Array<{ entity: string; key: string }> = [];
	let byExternal: AuditEntry[] = [];
	if (query.key) {
		const entities = query.entity ? [query.entity] : await store.entitiesOf(sync);
		for (const entity of entities)
			refs.push({ entity, key: query.key });
	}
	else if (query.system && query.id) {
		for (const ref of await store.keysOfExternal(query.system, query.id)) {
			if (!query.entity || ref.entity === query.entity)
				refs.push(ref);
		}
		byExternal = await store.audit({ system: query.system, externalId: query.id, limit });
	}
	else {
		throw new Error('Record history: give a golden record key, or a system and the record\'s id there');
	}
	const records: RecordHistory['records'] = [];
	const entries = new Map<number, AuditEntry>();
	for (const e of byExternal)
		entries.set(e.id!, e);
	for (const ref of refs) {
		const [golden, links, conflicts, audit] = await Promise.all([
			store.getGolden(ref.entity, ref.key),
			store.getLinks(ref.entity, ref.key),
			store.listConflicts({ entity: ref.entity, key: ref.key, limit: 100 }),
			store.audit({ entity: ref.entity, key: ref.key, limit }),
		]);
		if (golden || links.length || audit.length || conflicts.length)
			records.push({ golden, links, conflicts });
		for (const e of audit)
			entries.set(e.id!, e);
	}
	const list = [...entries.values()].sort((a, b) => b.id! - a.id!).slice(0, limit);
	return { sync, query, records, entries: list, changes: list.flatMap(fieldChanges) };
}
/**
 * Records the items of a Mapper's Invalid output (Store "Record Invalid"): one audit entry per record,
 * naming its fields and rules (its data as the Mapper left it, sensitive fields already removed), and
 * the counts the dashboard and Prometheus show. One store transaction.
 */
export async function recordInvalid(store: Store, options: { sync: string; runId: string | null }, items: unknown[]): Promise<RecordInvalidResult> {
	if (typeof options.sync !== 'string' || options.sync === '')
		throw new Error('Record Invalid: "sync" must be a non-empty text');
	const checked = items.map((raw, i) => {
		const item = raw as Record<string, unknown> & { errors?: unknown[] };
		const where = `item ${i}${typeof item?.entity === 'string' ? ` (${item.entity} / ${String(item.system)} / ${String(item.id ?? 'new')})` : ''}`;
		if (typeof item !== 'object' || item === null)
			throw new SyncItemError(`${where} must be an item of a Mapper's Invalid output`, i, '(item)');
		for (const field of ['entity', 'system']) {
			if (typeof item[field] !== 'string' || item[field] === '')
				throw new SyncItemError(`${where}: field "${field}" must be a non-empty text`, i, field);
		}
		if (!Array.isArray(item.errors) || item.errors.length === 0) {
			throw new SyncItemError(`${where}: field "errors" must be the Mapper's list of field errors (wire the Mapper's Invalid output here)`, i, 'errors');
		}
		return item as Record<string, unknown> & { entity: string; system: string; errors: unknown[] };
	});
	return store.transaction(async (tx) => {
		const counts: VolumeCount[] = [];
		const audit: AuditEntry[] = checked.map((item) => {
			const rule = ruleOf(item.errors);
			counts.push({ system: item.system, entity: item.entity, kind: 'invalid', reason: rule, count: 1 });
			// A source's change refused on its way in was never counted as received by the Resolver.
			if (item.shape !== 'canonical')
				counts.push({ system: item.system, entity: item.entity, kind: 'received', count: 1 });
			const why = item.errors
				.map((e) => {
				const f = e as { field?: unknown; message?: unknown } | null;
				return typeof f?.message === 'string' ? `${typeof f.field === 'string' ? `${f.field}: ` : ''}${f.message}` : String(e);
			})
				.join('; ');
			return {
				at: tx.now,
				runId: options.runId,
				sync: options.sync,
				entity: item.entity,
				key: typeof item.key === 'string' && item.key !== '' ? item.key : null,
				system: item.system,
				externalId: item.id === null || item.id === undefined ? null : String(item.id),
				action: 'invalid' as AuditEntry['action'],
				before: null,
				after: typeof item.data === 'object' && item.data !== null ? (item.data as Record<string, unknown>) : null,
				actor: typeof item.actor === 'string' ? item.actor : null,
				outcome: 'failed' as const,
				error: `invalid, not synced: ${why}`,
			};
		});
		await tx.insertAudit(audit);
		await tx.countVolume(options.sync, counts);
		const received = counts.filter((c) => c.kind === 'received').length;
		if (options.runId)
			await tx.addRunMetrics(options.runId, options.sync, { received }, true);
		return { recorded: audit.length, counts: counts.filter((c) => c.kind === 'invalid') };
	});
}
