/**
 * The Store node's Commit: after the targets were written, pair each write result with the change the
 * Resolver planned (by run, entity, key and system, so order and missing items do not matter) and store
 * what is now true: links with their new external ids, base snapshots, written hashes, the audit, the
 * run's metrics; and move the cursors once every planned write of the run has succeeded.
 */
import { SyncItemError, type SyncItem } from '../item';
import { keyedHash } from './hash';
import { mergeGoldenRecords } from './identity';
import { advanceRunCursors } from './cursor';
import type { NewConflict, Store, VolumeCount } from './store/store';
import type { AuditEntry, Link, LinkTombstone, PlannedChange } from './store/types';

export interface CommitOptions {
	sync: string;
	/** The run whose planned changes these results belong to. */
	runId: string;
}

/**
 * One write result: the change as the connector wrote it (a SyncItem with `key` and the target's `id`,
 * in any shape), or the same fields with `error` when the write failed.
 */
export interface WriteResult {
	entity: string;
	system: string;
	key: string;
	id: string | number | null;
	op?: 'upsert' | 'delete';
	data?: Record<string, unknown>;
	/**
	 * The target's own time of the write, when the connector returns it: the target's echo of an older
	 * write that arrives after this one is then recognised as stale.
	 */
	changedAt?: string;
	actor?: string;
	error?: string;
	/**
	 * The outgoing Mapper's validation errors (an item of its Invalid output): nothing was written and
	 * nothing will be until the record changes; the run does not wait for it.
	 */
	errors?: unknown[];
	/**
	 * What the conditional write did (absent = `written`):
	 * - `written`: the change is in the target; `changedAt` is the target's own new version;
	 * - `matched`: a create found the record already in the target by its match keys (the record of a
	 *   system that already held it, or our own create whose Commit was lost): nothing written, `id` is
	 *   that record; it is linked with an empty base, so its values meet the golden record in the
	 *   three-way merge when it is next read;
	 * - `stale`: the target record moved since the version the plan expected (`changedAt` = its version
	 *   now): nothing written; the change is written again from the golden record once the record's
	 *   current version has been read (at once when it already has: see `retries`);
	 * - `target-deleted`: the linked record is gone from the target: nothing written (never re-inserted),
	 *   an edit-delete conflict is opened;
	 * - `ambiguous`: a create matches several records of the target: nothing written, an ambiguous-match
	 *   conflict is opened.
	 */
	outcome?: WriteOutcome;
	/** Why, for the outcomes other than `written` (e.g. the candidate ids). */
	detail?: string;
}

export type WriteOutcome = 'written' | 'matched' | 'stale' | 'target-deleted' | 'ambiguous';

const OUTCOMES: readonly WriteOutcome[] = ['written', 'matched', 'stale', 'target-deleted', 'ambiguous'];

export interface CommitResult {
	committed: number;
	failed: number;
	/** Results that matched no planned change of this run (already committed, another run, or repeated). */
	unmatched: Array<{ index: number; reason: string }>;
	/** Cursors moved forward by this commit. */
	cursors: Array<{ system: string; entity: string; ts: string; id: string }>;
	/** Planned changes of this run still without a successful result (the cursors wait for them). */
	waiting: number;
	/**
	 * Writes refused as stale whose target version the store has already read (another execution merged
	 * it meanwhile): planned again from the golden record as it is now, against that version, for the
	 * same run. The Store node emits them on its Retry output, back into the write path.
	 */
	retries: SyncItem[];
	/** Results refused by the outgoing Mapper (its Invalid output): counted in `failed` too, but not waited for. */
	rejected: number;
	/** Results by outcome (written, matched, stale, target-deleted, ambiguous). */
	outcomes: Record<WriteOutcome, number>;
}

function checkResult(result: unknown, index: number): WriteResult {
	const r = result as Record<string, unknown>;
	const where = () => {
		const parts = [r.entity, r.system, r.key].filter((p) => typeof p === 'string');
		return `result ${index}${parts.length ? ` (${parts.join(' / ')})` : ''}`;
	};
	const fail = (field: string, what: string): never => {
		throw new SyncItemError(`${where()}: field "${field}" ${what}, got ${JSON.stringify(r?.[field]) ?? 'nothing'}`, index, field);
	};
	if (typeof r !== 'object' || r === null) throw new SyncItemError(`result ${index} must be the item a connector wrote`, index, '(item)');
	for (const field of ['entity', 'system', 'key']) if (typeof r[field] !== 'string' || r[field] === '') fail(field, 'must be a non-empty text (the change as the Resolver planned it)');
	if (r.error !== undefined && r.error !== null && typeof r.error !== 'string') fail('error', 'must be the error message');
	if (r.op !== undefined && r.op !== 'upsert' && r.op !== 'delete') fail('op', 'must be "upsert" or "delete"');
	if (r.changedAt !== undefined && r.changedAt !== null && (typeof r.changedAt !== 'string' || Number.isNaN(Date.parse(r.changedAt)))) {
		fail('changedAt', 'must be an ISO 8601 date-time');
	}
	if (r.data !== undefined && (typeof r.data !== 'object' || r.data === null || Array.isArray(r.data))) fail('data', 'must be an object');
	if (r.outcome !== undefined && r.outcome !== null && !OUTCOMES.includes(r.outcome as WriteOutcome)) fail('outcome', `must be one of ${OUTCOMES.join(', ')}`);
	return r as unknown as WriteResult;
}

/** The rule of a Mapper's first field error (`required`, `date`, …): the reason a record is counted invalid under. */
export function ruleOf(errors: unknown[] | undefined): string {
	const first = errors?.[0] as { rule?: unknown } | undefined;
	return typeof first?.rule === 'string' && first.rule !== '' ? first.rule : 'mapping';
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

/** Stores the outcome of the writes of one run (or part of it). One store transaction. */
export async function commit(store: Store, options: CommitOptions, results: WriteResult[]): Promise<CommitResult> {
	if (typeof options.sync !== 'string' || options.sync === '') throw new Error('Commit options: "sync" must be a non-empty text');
	if (typeof options.runId !== 'string' || options.runId === '') throw new Error('Commit options: "runId" must be a non-empty text');
	const checked = results.map(checkResult);
	checked.forEach((r, i) => {
		const failed = typeof r.error === 'string' && r.error !== '';
		const nothingWritten = r.outcome === 'ambiguous' || r.outcome === 'target-deleted' || (Array.isArray(r.errors) && r.errors.length > 0);
		if (!failed && !nothingWritten && r.op !== 'delete' && (r.id === null || r.id === undefined || String(r.id) === '')) {
			throw new SyncItemError(`result ${i} (${r.entity} / ${r.system} / ${r.key}): field "id" must be the id the target gave the record`, i, 'id');
		}
	});
	return store.transaction(async (tx) => {
		const secret = await tx.sensitiveSecret();
		const refs = checked.map((r) => ({ entity: r.entity, key: r.key, system: r.system }));
		const planned = new Map<string, PlannedChange>();
		for (const p of await tx.plannedChanges(options.runId, refs)) planned.set(`${p.entity}\u0000${p.key}\u0000${p.system}`, p);
		const links = new Map<string, Link>();
		/** Unlinked external ids whose delete was read already (the delete's time, null when unknown). */
		const deadBefore = new Map<string, string | null>();
		/** Which golden record holds each external id; the base snapshot only of links saved by this commit. */
		const byExternal = new Map<string, { key: string; base?: Link['base'] }>();
		for (const [entity, mine] of byEntityOf(checked)) {
			for (const l of await tx.linksByRef(entity, mine)) links.set(`${l.entity}\u0000${l.key}\u0000${l.system}`, l);
			const ids = mine.filter((r) => r.id !== null && r.id !== undefined).map((r) => ({ system: r.system, id: String(r.id) }));
			for (const l of await tx.linkRefsByExternalId(entity, ids)) byExternal.set(`${entity}\u0000${l.system}\u0000${l.externalId}`, { key: l.key });
			// Records deleted in their system before they were linked: a delete read while this create was
			// on its way (it found the row, or made it, and the row's user deleted it before this Commit).
			const unlinked = ids.filter((ref) => !byExternal.has(`${entity}\u0000${ref.system}\u0000${ref.id}`));
			for (const t of await tx.tombstones(entity, unlinked)) deadBefore.set(`${entity}\u0000${t.system}\u0000${t.externalId}`, t.deletedAt);
		}
		/** Competing values of duplicate-link conflicts that wait for the other link's base snapshot (read below). */
		const otherBases: Array<{ entity: string; key: string; system: string; value: { key: string; data?: unknown } }> = [];

		const result: CommitResult = {
			committed: 0,
			failed: 0,
			unmatched: [],
			cursors: [],
			waiting: 0,
			retries: [],
			rejected: 0,
			outcomes: { written: 0, matched: 0, stale: 0, 'target-deleted': 0, ambiguous: 0 },
		};
		/** Stale writes: planned again when the store has read the target's current version. */
		const stale: Array<{ r: WriteResult; plan: PlannedChange; current: Link | null }> = [];
		/** Planned changes done with, though nothing was written (conflict opened, or waiting for a re-read). */
		const settled: Array<{ entity: string; key: string; system: string }> = [];
		const conflictOf = (r: WriteResult, plan: PlannedChange, kind: NewConflict['kind'], externalId: string | null, competing: NewConflict['competing']): NewConflict => ({
			sync: options.sync,
			runId: options.runId,
			entity: r.entity,
			key: r.key,
			system: r.system,
			externalId,
			kind,
			status: 'open',
			fields: [],
			competing,
			item: { entity: r.entity, system: r.system, id: externalId, op: plan.op, shape: 'canonical', data: plan.data, key: r.key, trace: { runId: options.runId, origin: r.system, hops: 0, sync: options.sync } },
			resolution: null,
		});
		const done = new Set<string>();
		const merges: Array<{ r: WriteResult; owner: string }> = [];
		const saveLinks = new Map<string, Link>();
		const dropLinks = new Map<string, Array<{ key: string; system: string }>>();
		const succeeded: Array<{ entity: string; key: string; system: string }> = [];
		const failed: Array<{ entity: string; key: string; system: string }> = [];
		const audit: AuditEntry[] = [];
		const tombstones: LinkTombstone[] = [];
		const conflicts: NewConflict[] = [];
		const perTarget = new Map<string, { sync: string; system: string; entity: string; runId: string; written: number; failed: number }>();
		const volume: VolumeCount[] = [];
		const counted = (r: WriteResult, kind: VolumeCount['kind'], reason = '') => volume.push({ system: r.system, entity: r.entity, kind, reason, count: 1 });
		const count = (r: WriteResult, ok: boolean) => {
			const k = `${r.system}\u0000${r.entity}`;
			const row = perTarget.get(k) ?? { sync: options.sync, system: r.system, entity: r.entity, runId: options.runId, written: 0, failed: 0 };
			if (ok) row.written++;
			else row.failed++;
			perTarget.set(k, row);
		};
		const entry = (r: WriteResult, e: Pick<AuditEntry, 'action' | 'outcome'> & Partial<AuditEntry>): AuditEntry => ({
			at: tx.now,
			runId: options.runId,
			sync: options.sync,
			entity: r.entity,
			key: r.key,
			system: r.system,
			externalId: r.id === null || r.id === undefined ? null : String(r.id),
			before: null,
			after: null,
			actor: r.actor ?? null,
			error: null,
			...e,
		});
		const fail = (r: WriteResult, ref: { entity: string; key: string; system: string }, message: string) => {
			failed.push(ref);
			result.failed++;
			count(r, false);
			counted(r, 'failed', 'write-error');
			audit.push(entry(r, { action: 'write', outcome: 'failed', error: message }));
		};

		checked.forEach((r, index) => {
			const ref = { entity: r.entity, key: r.key, system: r.system };
			const k = `${r.entity}\u0000${r.key}\u0000${r.system}`;
			const plan = planned.get(k);
			if (done.has(k)) {
				result.unmatched.push({ index, reason: `a result for ${r.system} / ${r.key} came twice in this commit` });
				return;
			}
			if (!plan) {
				result.unmatched.push({ index, reason: `no change to ${r.system} for golden record ${r.key} is planned in run ${options.runId}` });
				return;
			}
			if (r.op !== undefined && r.op !== plan.op) {
				result.unmatched.push({ index, reason: `the run planned ${plan.op} for ${r.system} / ${r.key}, the result says ${r.op}` });
				return;
			}
			done.add(k);
			if (Array.isArray(r.errors) && r.errors.length) {
				// Refused before any write (the outgoing Mapper's Invalid output): no retry would change that,
				// so the run does not wait for it (the poll moves on). The golden record keeps the change; the
				// audit names the record and the fields, and the next change of the record plans it again.
				settled.push(ref);
				result.failed++;
				result.rejected++;
				count(r, false);
				counted(r, 'invalid', ruleOf(r.errors));
				const why = r.errors.map((e) => (typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e))).join('; ');
				audit.push(entry(r, { action: 'write', outcome: 'failed', after: plan.data, error: `invalid for ${r.system}, not written: ${why}` }));
				return;
			}
			if (typeof r.error === 'string' && r.error !== '') return fail(r, ref, r.error);
			const current = links.get(k) ?? null;
			let outcome = r.outcome ?? 'written';
			if (!current && plan.op === 'upsert' && (outcome === 'written' || outcome === 'matched') && r.id !== null && r.id !== undefined) {
				const ref = `${r.entity}\u0000${r.system}\u0000${String(r.id)}`;
				const deletedAt = deadBefore.get(ref);
				// Linked now, the record would be a link to a deleted one that no later read corrects: it is the
				// target's delete of a linked record (edit versus delete), unless the row came back after it.
				if (deadBefore.has(ref) && (deletedAt === null || r.changedAt === undefined || Date.parse(deletedAt!) >= Date.parse(r.changedAt))) {
					outcome = 'target-deleted';
					r = { ...r, detail: `${r.system} record ${String(r.id)} was deleted there before this ${r.outcome === 'matched' ? 'match' : 'create'} was committed; not linked (edit versus delete)` };
				}
			}
			result.outcomes[outcome]++;
			if (outcome === 'stale') {
				// Nothing was written: the values that were to be written stay findable in the audit.
				stale.push({ r, plan, current });
				audit.push(
					entry(r, {
						action: 'write',
						outcome: 'skipped',
						externalId: current?.externalId ?? (r.id === null ? null : String(r.id)),
						before: current?.base ?? null,
						after: plan.data,
						error: `stale target: ${r.detail ?? `${r.system} record changed since the version this change was planned against; not overwritten`}`,
					}),
				);
				return;
			}
			if (outcome === 'target-deleted') {
				settled.push(ref);
				const externalId = r.id === null || r.id === undefined ? (current?.externalId ?? null) : String(r.id);
				if (current && externalId !== null && current.externalId !== externalId) {
					// The golden record is linked to another record of that system by now (created there again
					// meanwhile): the dead one only gets a tombstone, and the change goes to the live one, as a
					// stale write does (at once when its version is known).
					tombstones.push({ entity: r.entity, system: r.system, externalId, key: r.key, deletedAt: null });
					stale.push({ r: { ...r, changedAt: current.sourceAt ?? undefined }, plan, current });
					audit.push(entry(r, { action: 'write', outcome: 'skipped', externalId, after: plan.data, error: `${r.system} record ${externalId} was deleted there; golden record ${r.key} is linked to ${r.system} record ${current.externalId} now` }));
					return;
				}
				// The conflict holds the target's delete as its incoming change, as a delete read from that
				// system would: "apply" deletes the golden record everywhere, "dismiss" drops the dead link so
				// the record is created there again.
				conflicts.push(
					conflictOf(r, { ...plan, op: 'delete', data: {} }, 'edit-delete', externalId, [
						{ role: 'incoming', system: r.system, value: null },
						{ role: 'golden', system: '(golden record)', value: plan.data },
						...(current ? [{ role: 'base' as const, system: r.system, value: current.base }] : []),
					]),
				);
				audit.push(entry(r, { action: 'write', outcome: 'conflict', externalId, after: plan.data, error: r.detail ?? `${r.system} record ${externalId} was deleted there; not re-inserted (edit versus delete)` }));
				return;
			}
			if (outcome === 'ambiguous') {
				settled.push(ref);
				conflicts.push(conflictOf(r, plan, 'ambiguous-match', null, [{ role: 'golden', system: '(golden record)', value: plan.data }, { role: 'candidate', system: r.system, value: r.detail ?? null }]));
				audit.push(entry(r, { action: 'write', outcome: 'conflict', after: plan.data, error: r.detail ?? `several ${r.system} records match golden record ${r.key}; nothing created` }));
				return;
			}
			if (plan.op === 'delete') {
				// Late deliveries of the record we deleted must not bring it back.
				if (current) tombstones.push({ entity: r.entity, system: r.system, externalId: current.externalId, key: r.key, deletedAt: null });
				const list = dropLinks.get(r.entity) ?? [];
				list.push({ key: r.key, system: r.system });
				dropLinks.set(r.entity, list);
				succeeded.push(ref);
				result.committed++;
				count(r, true);
				counted(r, 'deleted');
				audit.push(entry(r, { action: plan.action ?? 'write', outcome: 'ok', externalId: current?.externalId ?? null, before: current?.base ?? null, after: null }));
				return;
			}
			const id = String(r.id);
			const other = byExternal.get(`${r.entity}\u0000${r.system}\u0000${id}`);
			if (other && other.key !== r.key && outcome === 'matched') {
				// The record the create found is another golden record's: the two are one customer. They are
				// merged after this commit's links are saved (mergeGoldenRecords in identity.ts).
				merges.push({ r, owner: other.key });
				settled.push(ref);
				result.committed++;
				return;
			}
			if (other && other.key !== r.key) {
				const otherValue: { key: string; data?: unknown } = { key: other.key, data: other.base };
				if (other.base === undefined) otherBases.push({ entity: r.entity, key: other.key, system: r.system, value: otherValue });
				conflicts.push({
					sync: options.sync,
					runId: options.runId,
					entity: r.entity,
					key: r.key,
					system: r.system,
					externalId: id,
					kind: 'duplicate-link',
					status: 'open',
					fields: [],
					competing: [
						{ role: 'golden', system: r.system, value: otherValue },
						{ role: 'incoming', system: r.system, value: { key: r.key, data: plan.data } },
					],
					item: { entity: r.entity, system: r.system, id, op: 'upsert', shape: 'canonical', data: plan.data, key: r.key, trace: { runId: options.runId, origin: r.system, hops: 0, sync: options.sync } },
					resolution: null,
				});
				return fail(r, ref, `${r.system} record ${id} is already linked to golden record ${other.key}`);
			}
			if (outcome === 'matched') {
				if (current && current.externalId === id) {
					// Another execution read the record meanwhile and linked it (with its values merged).
					settled.push(ref);
					audit.push(entry(r, { action: 'link', outcome: 'ok', error: `matched ${r.system} record ${id} by match key; already linked` }));
					return;
				}
				// The target already holds this record: linked, nothing agreed yet (empty base) and no version
				// read (null): nothing is written to it until it is read, and then every value it holds meets the
				// golden record in the three-way merge (see isUnread in identity.ts).
				const link: Link = {
					entity: r.entity,
					key: r.key,
					system: r.system,
					externalId: id,
					base: {},
					writtenHash: null,
					writtenAt: null,
					sourceAt: null,
				};
				saveLinks.set(k, link);
				byExternal.set(`${r.entity}\u0000${r.system}\u0000${id}`, link);
				succeeded.push(ref);
				result.committed++;
				audit.push(entry(r, { action: 'link', outcome: 'ok', after: null, error: `${r.detail ?? `matched ${r.system} record ${id} by match key`}; nothing created, merged when it is next read` }));
				return;
			}
			const link: Link = {
				entity: r.entity,
				key: r.key,
				system: r.system,
				externalId: id,
				base: plan.data,
				writtenHash: keyedHash(secret, r.data ?? plan.data),
				writtenAt: tx.now,
				// The target's own version after the write (what the next conditional write expects).
				sourceAt: r.changedAt ?? current?.sourceAt ?? null,
				// The sensitive values written (as the Resolver's keyed digest; the values never reach the store).
				sensitiveDigest: plan.sensitiveDigest ?? current?.sensitiveDigest ?? null,
			};
			saveLinks.set(k, link);
			byExternal.set(`${r.entity}\u0000${r.system}\u0000${id}`, link);
			succeeded.push(ref);
			result.committed++;
			count(r, true);
			counted(r, current ? 'updated' : 'created');
			// Store Rollback's writes are audited as `rollback`, so that they can be told apart (and rolled back too).
			audit.push(entry(r, { action: plan.action ?? 'write', outcome: 'ok', before: current?.base ?? null, after: plan.data }));
		});

		for (const [entity, list] of byEntityOf(otherBases)) {
			const bases = new Map((await tx.linksByRef(entity, list)).map((l) => [`${l.key}\u0000${l.system}`, l.base]));
			for (const o of list) o.value.data = bases.get(`${o.key}\u0000${o.system}`);
		}
		// Stale writes: when the store has read the target's current version (its own delivery was merged
		// by another execution meanwhile), the change is planned again at once from the golden record as it
		// is now; otherwise that delivery (webhook or poll: the record's updated-at moved) is still to come,
		// and its merge plans the write. Either way nothing is overwritten blind and the run does not wait.
		const retryPlans: PlannedChange[] = [];
		for (const [entity, list] of byEntityOf(stale.map((s) => s.r))) {
			const golden = new Map((await tx.goldenByKey(entity, [...new Set(list.map((r) => r.key))])).map((g) => [g.key, g]));
			for (const s of stale.filter((x) => x.r.entity === entity)) {
				const ref = { entity: s.r.entity, key: s.r.key, system: s.r.system };
				const g = golden.get(s.r.key);
				const version = s.r.changedAt ?? null;
				// Read in full at that version: a record known only through changes of some fields is not (its next
				// full read plans the write; see source-times.ts).
				const readIt = s.current?.sourceAt != null && !s.current.partial && version !== null && Date.parse(s.current.sourceAt) === Date.parse(version);
				if (!g || !readIt || !s.current || (g.deleted && s.plan.op !== 'delete')) {
					settled.push(ref);
					continue;
				}
				const op: 'upsert' | 'delete' = g.deleted ? 'delete' : 'upsert';
				// The retry carries no sensitive values (they travelled in the first write's memory only).
				retryPlans.push({ ...s.plan, op, data: op === 'delete' ? {} : g.data, status: 'planned', createdAt: tx.now, sensitiveDigest: null });
				result.retries.push({
					entity,
					system: s.r.system,
					id: s.current.externalId,
					op,
					shape: 'canonical',
					data: op === 'delete' ? {} : { ...g.data },
					key: s.r.key,
					trace: { runId: options.runId, origin: s.r.system, hops: 1, sync: options.sync, version: s.current.sourceAt ?? undefined },
				});
			}
		}
		for (const [entity, list] of dropLinks) await tx.deleteLinks(entity, list);
		await tx.saveTombstones(tombstones);
		await tx.saveLinks([...saveLinks.values()]);
		await tx.deletePlanned(options.runId, [...succeeded, ...settled]);
		await tx.savePlanned(retryPlans);
		await tx.markPlannedFailed(options.runId, failed);
		for (const { r, owner } of merges) {
			// Who holds the record now (an earlier merge of this commit may have moved it).
			const id = String(r.id);
			const [holder] = await tx.linkRefsByExternalId(r.entity, [{ system: r.system, id }]);
			const merged = holder ? await mergeGoldenRecords(tx, r.entity, holder.key, r.key) : { merged: false as const, reason: `${r.system} record ${id} is no longer linked` };
			if (merged.merged) {
				audit.push(
					entry(r, {
						key: merged.survivor,
						action: 'merge',
						outcome: 'ok',
						error: `the create for golden record ${r.key} found ${r.system} record ${id}, linked to golden record ${owner}: golden record ${merged.absorbed} merged into ${merged.survivor} (links moved: ${merged.moved.join(', ') || 'none'}; merged when next read)`,
					}),
				);
			} else if (merged.clash) {
				const [open] = (await tx.openConflictsByKey(r.entity, [r.key])).filter((c) => c.kind === 'duplicate-link' && c.system === r.system);
				if (!open) {
					const plan = planned.get(`${r.entity}\u0000${r.key}\u0000${r.system}`)!;
					conflicts.push({
						...conflictOf(r, plan, 'duplicate-link', id, [
							{ role: 'golden', system: r.system, value: { key: holder!.key } },
							{ role: 'incoming', system: r.system, value: { key: r.key, data: plan.data } },
						]),
					});
				}
				audit.push(entry(r, { action: 'write', outcome: 'conflict', error: `${r.system} record ${id} is linked to golden record ${owner}; golden records ${owner} and ${r.key} both hold a record in ${merged.clash.join(', ')}: not merged, for review` }));
			} else {
				audit.push(entry(r, { action: 'link', outcome: 'ok', error: `matched ${r.system} record ${id}; ${merged.reason}` }));
			}
		}
		for (const c of conflicts) volume.push({ system: c.system, entity: c.entity, kind: 'conflicts', reason: c.kind, count: 1 });
		await tx.insertConflicts(conflicts);
		await tx.insertAudit(audit);
		await tx.recordWrites([...perTarget.values()]);
		await tx.countVolume(options.sync, volume);
		await tx.addRunMetrics(options.runId, options.sync, { written: result.committed, failed: result.failed }, true);
		result.waiting = await tx.countPlanned(options.runId);
		if (result.waiting === 0) result.cursors = await advanceRunCursors(tx, options.runId);
		return result;
	});
}
