/**
 * Store Rollback: undo what a sync wrote — one run, one record, or everything in a time span — from the
 * audit's before-images. Commit audits every successful write with `before` (the system's base snapshot
 * before the write: the canonical data it held as far as the sync knew) and `after` (what was written).
 * For each (record, system) the target wrote, the plan is to write the first `before` back:
 * - an update goes back to the values before it;
 * - a create (no `before`) is undone as a delete, when the delete policy allows (else reported);
 * - a delete (no `after`) is undone by creating the record again with its values before.
 * A record changed again after the target's last write to it (a later audit entry for the record in that
 * system or in the golden record, or a base that is no longer what was written) is not overwritten: it is
 * listed as a conflict with the three values, and audited as one when executed.
 *
 * Dry run (default): the list only, nothing stored. Execute: the changes are saved as planned changes of
 * the current run (marked `rollback`) and emitted as canonical items, so the same Mapper (From canonical) →
 * DataSync write → Store Commit path writes them, and Commit audits them as `rollback` under this run. The
 * golden record goes back too (when it still holds what the target wrote). A rollback is a run like any
 * other, so it can be rolled back.
 */
import type { SyncItem } from '../item';
import { sameValue } from './hash';
import { matchValuesOf, parseMatchKeys } from './identity';
import { expectedVersion } from './source-times';
import { StoreTx, type Store } from './store/store';
import type { AuditEntry, CanonicalData, GoldenRecord, Link, PlannedChange } from './store/types';

/** What to roll back. At least one of run, record (key, or system + id) or time span. */
export interface RollbackTarget {
	/** A run id (`<execution id>-<start>`, as on the dashboard and in the audit). */
	runId?: string;
	/** A golden record's key. */
	key?: string;
	/** With `externalId`: a record by its id in that system; alone: only that system's writes. */
	system?: string;
	externalId?: string;
	/** A time span of the writes (ISO 8601; `since` inclusive, `until` exclusive). */
	since?: string;
	until?: string;
	entity?: string;
}

export interface RollbackOptions {
	sync: string;
	/** The run the rollback's writes are planned under (this execution's run id). */
	runId: string;
	target: RollbackTarget;
	/** false (default): list what would change, store nothing. true: plan the changes and emit them. */
	execute?: boolean;
	/** `propagate` (default): a record the target created is deleted again; `report`: listed, not deleted. */
	deletePolicy?: 'propagate' | 'report';
	/** The entity's match keys (as in the Conflict Resolver), for the golden records set back; default: the ones stored. */
	matchKeys?: string[];
	/** At most this many writes are read from the audit (default 100,000); more is an error, never a partial plan. */
	maxWrites?: number;
}

export type RollbackStatus = 'planned' | 'conflict' | 'reported' | 'unchanged';

/** One change the rollback makes (or would make, or does not make and says why), for one record in one system. */
export interface RollbackChange {
	entity: string;
	key: string;
	system: string;
	/** The record's id in the system now (null: it is not there now and would be created). */
	externalId: string | null;
	/** What the rollback writes: `upsert` of `after`, or `delete`. */
	op: 'upsert' | 'delete';
	status: RollbackStatus;
	/** Plain words: what is undone, or why it is not. */
	reason: string;
	/** What the system held before the rolled-back writes (null: the record was not there). */
	before: CanonicalData | null;
	/** What the system holds now, as far as the store knows (its base snapshot; null: no record). */
	now: CanonicalData | null;
	/** What the rollback leaves there (null: deleted). */
	after: CanonicalData | null;
	/** The fields whose values change (for updates). */
	fields: string[];
	/** The runs whose writes are undone, and the audit entries. */
	runs: string[];
	auditIds: number[];
}

export interface RollbackResult {
	sync: string;
	runId: string;
	dryRun: boolean;
	changes: RollbackChange[];
	/** Per system: how many of each status. */
	bySystem: Record<string, Record<RollbackStatus, number>>;
	/** When executed: the items to write (canonical, with key, id and the target's version), one per planned change. */
	items: SyncItem[];
	/** Golden records set back (when executed). */
	goldenRestored: number;
}

const MAX_WRITES = 100_000;

function checkOptions(options: RollbackOptions): void {
	if (typeof options.sync !== 'string' || options.sync === '') throw new Error('Rollback options: "sync" must be a non-empty text');
	if (typeof options.runId !== 'string' || options.runId === '') throw new Error('Rollback options: "runId" must be a non-empty text');
	const t = options.target ?? {};
	for (const field of ['runId', 'key', 'system', 'externalId', 'since', 'until', 'entity'] as const) {
		const v = t[field];
		if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) throw new Error(`Rollback target: "${field}" must be a non-empty text when given, got ${JSON.stringify(v)}`);
	}
	for (const field of ['since', 'until'] as const) {
		if (t[field] !== undefined && Number.isNaN(Date.parse(t[field]!))) throw new Error(`Rollback target: "${field}" must be an ISO 8601 date-time, got ${JSON.stringify(t[field])}`);
	}
	if (t.externalId !== undefined && t.system === undefined) throw new Error('Rollback target: a record by its id needs "system" too (the system the id belongs to)');
	if (!t.runId && !t.key && !t.externalId && !t.since && !t.until) {
		throw new Error('Rollback target: give a run id, a record (golden key, or system and id) or a time span (since / until): nothing to roll back otherwise');
	}
	if (t.runId && t.runId === options.runId) throw new Error(`Rollback target: run ${t.runId} is this run; roll back a finished run`);
	if (options.deletePolicy !== undefined && options.deletePolicy !== 'propagate' && options.deletePolicy !== 'report') {
		throw new Error(`Rollback options: "deletePolicy" must be "propagate" or "report", got ${JSON.stringify(options.deletePolicy)}`);
	}
}

const refOf = (e: { entity: string; key: string | null; system: string | null }) => `${e.entity}\u0000${e.key}\u0000${e.system}`;

/** The fields whose values differ between two records. */
function changedFields(a: CanonicalData | null, b: CanonicalData | null): string[] {
	const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
	return [...keys].filter((k) => !sameValue((a ?? {})[k] ?? null, (b ?? {})[k] ?? null)).sort();
}

/** Plans (and, when executed, stores) the rollback. One store transaction when executed; a read otherwise. */
export async function rollback(store: Store, options: RollbackOptions): Promise<RollbackResult> {
	checkOptions(options);
	const execute = options.execute === true;
	const work = async (tx: StoreTx): Promise<RollbackResult> => {
		const t = options.target;
		const max = options.maxWrites ?? MAX_WRITES;
		let writes = await tx.auditWrites({ sync: options.sync, runId: t.runId, entity: t.entity, key: t.key, system: t.system, externalId: t.externalId, since: t.since, until: t.until, limit: max + 1 });
		if (writes.length > max) throw new Error(`Rollback: the target holds more than ${max} writes; narrow it (a run, a shorter time span) — nothing was planned`);
		// A record without a run or time span: the latest run that wrote it is undone.
		if (!t.runId && !t.since && !t.until && writes.length) {
			const last = writes[writes.length - 1].runId;
			writes = writes.filter((w) => w.runId === last);
		}
		// This run's own writes are never part of its target.
		writes = writes.filter((w) => w.runId !== options.runId && w.key !== null && w.system !== null);

		if (!writes.length) {
			const what = Object.entries(t).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ');
			throw new Error(`Rollback: the audit holds no successful writes of sync "${options.sync}" for ${what} (a mistyped run id, or older than the audit's retention?): nothing to roll back`);
		}
		const groups = new Map<string, AuditEntry[]>();
		for (const w of writes) {
			const k = refOf(w);
			const list = groups.get(k);
			if (list) list.push(w);
			else groups.set(k, [w]);
		}
		const byEntity = new Map<string, Array<{ key: string; system: string }>>();
		for (const list of groups.values()) {
			const w = list[0];
			const refs = byEntity.get(w.entity) ?? [];
			refs.push({ key: w.key!, system: w.system! });
			byEntity.set(w.entity, refs);
		}
		const links = new Map<string, Link>();
		const latest = new Map<string, { id: number; runId: string | null; action: string; at: string }>();
		const golden = new Map<string, GoldenRecord>();
		for (const [entity, refs] of byEntity) {
			for (const l of await tx.linksByRef(entity, refs)) links.set(refOf(l), l);
			for (const [k, v] of await tx.latestChanges(entity, refs)) latest.set(`${entity}\u0000${k}`, v);
			// Changes to the golden record from the sources (system = the source) count as later changes too.
			for (const g of await tx.goldenByKey(entity, [...new Set(refs.map((r) => r.key))])) golden.set(`${entity}\u0000${g.key}`, g);
		}

		const changes: RollbackChange[] = [];
		for (const [k, list] of groups) {
			const first = list[0];
			const last = list[list.length - 1];
			const entity = first.entity;
			const key = first.key!;
			const system = first.system!;
			const link = links.get(k) ?? null;
			const before = first.before;
			const written = last.after;
			const now = link ? link.base : null;
			const runs = [...new Set(list.map((w) => w.runId ?? ''))].filter(Boolean);
			const change: RollbackChange = {
				entity,
				key,
				system,
				externalId: link?.externalId ?? null,
				op: before === null ? 'delete' : 'upsert',
				status: 'planned',
				reason: '',
				before,
				now,
				after: before,
				fields: changedFields(now, before),
				runs,
				auditIds: list.map((w) => w.id!),
			};
			const later = latest.get(k);
			const what = last.action === 'rollback' ? 'rollback' : 'write';
			if (later && later.id > last.id!) {
				change.status = 'conflict';
				change.reason = `changed again after the ${what} (${later.action} in run ${later.runId ?? '?'} at ${later.at}): not overwritten`;
			} else if (written === null ? link !== null : link === null || !sameValue(link.base, written)) {
				change.status = 'conflict';
				change.reason = written === null ? `deleted by the ${what}, but ${system} holds a record again (${link!.externalId}): not overwritten` : link === null ? `written by the ${what}, but no longer linked in ${system} (deleted there since?): not re-created` : `${system} holds other values than the ${what} wrote: not overwritten`;
			} else if (before === null) {
				if (options.deletePolicy === 'report') {
					change.status = 'reported';
					change.reason = `created by run ${runs.join(', ')}; the delete policy is Report Only: not deleted`;
				} else {
					change.reason = `created by run ${runs.join(', ')}: deleted again`;
				}
				change.fields = [];
			} else if (written === null) {
				change.externalId = null;
				change.reason = `deleted by run ${runs.join(', ')}: created again with its values before`;
				change.fields = changedFields(null, before);
			} else if (!change.fields.length) {
				change.status = 'unchanged';
				change.reason = 'the run wrote the values it found: nothing to undo';
			} else {
				change.reason = `updated by run ${runs.join(', ')}: ${change.fields.join(', ')} set back`;
			}
			changes.push(change);
		}
		changes.sort((a, b) => (a.system < b.system ? -1 : a.system > b.system ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

		const bySystem: RollbackResult['bySystem'] = {};
		for (const c of changes) {
			const row = (bySystem[c.system] ??= { planned: 0, conflict: 0, reported: 0, unchanged: 0 });
			row[c.status]++;
		}
		const result: RollbackResult = { sync: options.sync, runId: options.runId, dryRun: !execute, changes, bySystem, items: [], goldenRestored: 0 };
		if (!execute) return result;

		const planned: PlannedChange[] = [];
		const goldens: GoldenRecord[] = [];
		const seenGolden = new Set<string>();
		for (const c of changes.filter((x) => x.status === 'planned')) {
			const link = links.get(refOf(c)) ?? null;
			const data = c.op === 'delete' ? {} : { ...(c.after as CanonicalData) };
			planned.push({ runId: options.runId, entity: c.entity, key: c.key, system: c.system, op: c.op, data, status: 'planned', createdAt: tx.now, sensitiveDigest: null, action: 'rollback' });
			const item: SyncItem = {
				entity: c.entity,
				system: c.system,
				id: c.op === 'upsert' && c.after !== null && c.now === null ? null : c.externalId,
				op: c.op,
				shape: 'canonical',
				data,
				key: c.key,
				actor: 'rollback',
				trace: { runId: options.runId, origin: 'rollback', hops: 0, sync: options.sync },
			};
			// The version the rolled-back write left there (or last read in full): the write goes through only if it still is.
			const version = link ? (expectedVersion(link).version ?? link.sourceAt) : null;
			if (version) item.trace.version = version;
			result.items.push(item);
			// The golden record goes back too, when it still holds what was written (not for undone creates:
			// the source the record came from still has it).
			const gk = `${c.entity}\u0000${c.key}`;
			const g = golden.get(gk);
			if (c.op === 'upsert' && g && !seenGolden.has(gk) && (g.deleted || (c.now !== null && sameValue(g.data, c.now)))) {
				seenGolden.add(gk);
				goldens.push({ ...g, data: { ...(c.after as CanonicalData) }, deleted: false, version: g.version + 1, updatedAt: tx.now });
			}
		}
		for (const [entity, list] of byEntityOf(goldens)) {
			const keys = list.map((g) => g.key);
			let matchValues: Array<{ key: string; field: string; value: string }>;
			if (options.matchKeys?.length) {
				const mk = parseMatchKeys(options.matchKeys);
				matchValues = list.flatMap((g) => matchValuesOf(g.data, mk).map((m) => ({ key: g.key, ...m })));
			} else {
				// The fields the store matches this entity by, taken from what is stored, with the new values.
				const fields = [...new Set((await tx.storedMatchValues(entity, keys)).map((m) => m.field))];
				const mk = parseMatchKeys(fields);
				matchValues = list.flatMap((g) => matchValuesOf(g.data, mk).map((m) => ({ key: g.key, ...m })));
			}
			await tx.saveGolden(list, matchValues);
		}
		result.goldenRestored = goldens.length;
		await tx.savePlanned(planned);
		await tx.insertAudit(
			changes
				.filter((c) => c.status === 'conflict' || c.status === 'reported')
				.map((c) => ({
					at: tx.now,
					runId: options.runId,
					sync: options.sync,
					entity: c.entity,
					key: c.key,
					system: c.system,
					externalId: c.externalId,
					action: 'rollback' as const,
					before: c.before,
					after: c.now,
					actor: null,
					outcome: c.status === 'conflict' ? ('conflict' as const) : ('skipped' as const),
					error: `rollback of run ${c.runs.join(', ')}: ${c.reason}`,
				})),
		);
		await tx.addRunMetrics(options.runId, options.sync, { planned: planned.length, conflicts: changes.filter((c) => c.status === 'conflict').length }, false);
		return result;
	};
	return execute ? store.transaction(work) : work(new StoreTx(store.driver, store.clock().toISOString()));
}

function byEntityOf<T extends { entity: string }>(list: T[]): Map<string, T[]> {
	const out = new Map<string, T[]>();
	for (const item of list) {
		const mine = out.get(item.entity);
		if (mine) mine.push(item);
		else out.set(item.entity, [item]);
	}
	return out;
}
