/**
 * The Conflict Resolver's engine: identity, three-way merge into the golden record, deletes, the echo
 * rule and the plan of outbound changes, for one batch in one store transaction.
 */
import { randomUUID } from 'node:crypto';
import { SyncItemError, type SyncItem } from '../item';
import { sameValue } from './hash';
import { isUnread, matchValuesOf, parseMatchKeys, type MatchKey } from './identity';
import { advanceRunCursors } from './cursor';
import { isEcho } from './echo';
import { mergeRecord, type EmptyValueRule, type MergePolicy } from './merge';
import { SensitiveDigests } from './sensitive';
import { completed, expectedVersion, isNewer, leafPaths, notOvertaken, pickPaths, stamped, withoutPaths } from './source-times';
import { StoreTx, type NewConflict, type Store } from './store/store';
import type {
	AuditEntry,
	CanonicalData,
	CompetingValue,
	ConflictKind,
	ConflictRecord,
	GoldenRecord,
	Link,
	LinkTombstone,
	PlannedChange,
	RunMetrics,
	SensitiveDigest,
} from './store/types';

/**
 * What happens to a record deleted in one system:
 * - `propagate`: the golden record is marked deleted and the record is deleted in every other system;
 * - `soft`: the golden record is marked deleted and kept, the other systems keep theirs; a later change
 *   from any system brings it back;
 * - `approval`: nothing happens until someone approves the delete (an open conflict);
 * - `ignore`: the golden record and the other systems keep the record; only the link to the deleting
 *   system is dropped (the record comes back there with its next change).
 */
export type DeletePolicy = 'propagate' | 'soft' | 'approval' | 'ignore';

export interface ResolveOptions {
	sync: string;
	entity: string;
	/** The run (execution) this batch belongs to; Commit pairs write results by it. */
	runId: string;
	/** Every system of this sync: changes are planned for these. */
	systems: string[];
	/**
	 * Canonical fields that identify a record across systems (e.g. email, sku), each on its own: a new
	 * record matches a golden record when any of them is equal. Text is compared in Unicode NFC, trimmed,
	 * white space collapsed, case-insensitive; `sku:trim` keeps the case, `code:exact` compares as is.
	 */
	matchKeys?: string[];
	policy: MergePolicy;
	deletePolicy?: DeletePolicy;
	emptyValueRule?: EmptyValueRule;
	/**
	 * Fields that never reach the store; they still travel to the targets with the change that carried them.
	 * The store keeps only keyed digests of them (lib/engine/sensitive.ts), so an edit of only such a field
	 * is a change, and its echo is not.
	 */
	sensitiveFields?: string[];
	/** Plan everything, store nothing. */
	dryRun?: boolean;
}

export type SkipReason =
	| 'echo'
	| 'stale'
	| 'no-change'
	| 'unknown-record'
	| 'already-deleted'
	| 'delete-ignored'
	| 'conflict-pending';

export interface ResolvedChange {
	/** The change to write: `system` is the target, `id` its linked record or null (create), `key` set. */
	item: SyncItem;
	/** The input item that caused it (for n8n's pairedItem). */
	sourceIndex: number;
	/** The target link's sensitive digest once this write is committed (set when the write carries sensitive values). */
	sensitiveDigest?: SensitiveDigest;
}

/**
 * A conflict this batch met: `open` ones wait for review; `resolved` ones were settled by the policy
 * (the change went ahead) and are reported so that a flow can alert on them.
 */
export interface ResolvedConflict {
	item: SyncItem;
	sourceIndex: number;
	kind: ConflictKind;
	status: 'open' | 'resolved';
	key: string | null;
	fields: string[];
	competing: CompetingValue[];
	/** How the policy settled it (null while open). */
	resolution: unknown;
	message: string;
}

export interface SkippedItem {
	item: SyncItem;
	sourceIndex: number;
	reason: SkipReason;
	detail: string;
}

export interface ResolveResult {
	changes: ResolvedChange[];
	conflicts: ResolvedConflict[];
	skipped: SkippedItem[];
	/** Counts of this batch (also added to the run's metrics unless dry run). */
	metrics: Partial<RunMetrics>;
}

/** Throws a SyncItemError naming the item and the field. */
function bad(index: number, item: Partial<SyncItem>, field: string, message: string): never {
	const where = [item.entity, item.system, item.id].filter((p) => typeof p === 'string').join(' / ');
	throw new SyncItemError(`item ${index}${where ? ` (${where})` : ''}: field "${field}" ${message}`, index, field);
}

function checkOptions(options: ResolveOptions): void {
	const need = (field: keyof ResolveOptions, ok: boolean, what: string) => {
		if (!ok) throw new Error(`Resolver options: "${field}" must be ${what}`);
	};
	need('sync', typeof options.sync === 'string' && options.sync !== '', 'a non-empty text');
	need('entity', typeof options.entity === 'string' && options.entity !== '', 'a non-empty text');
	need('runId', typeof options.runId === 'string' && options.runId !== '', 'a non-empty text');
	need('systems', Array.isArray(options.systems) && options.systems.length > 0 && options.systems.every((s) => typeof s === 'string' && s !== ''), 'a list of system names');
	const kinds = ['priority', 'lastWriteWins', 'ownership', 'manual'];
	need('policy', typeof options.policy === 'object' && options.policy !== null && kinds.includes(options.policy.kind), `one of ${kinds.join(', ')}`);
	need('deletePolicy', options.deletePolicy === undefined || ['propagate', 'soft', 'approval', 'ignore'].includes(options.deletePolicy), 'propagate, soft, approval or ignore');
	try {
		parseMatchKeys(options.matchKeys);
	} catch (error) {
		throw new Error(`Resolver options: "matchKeys": ${(error as Error).message}`);
	}
	need('emptyValueRule', options.emptyValueRule === undefined || ['keep', 'erase'].includes(options.emptyValueRule), 'keep or erase');
}

/** Checks the batch before anything is read or written. */
export function checkItems(options: Pick<ResolveOptions, 'entity' | 'systems'>, items: SyncItem[]): void {
	items.forEach((item, i) => {
		if (typeof item !== 'object' || item === null) bad(i, {}, '(item)', 'must be a DataSync item');
		if (item.entity !== options.entity) bad(i, item, 'entity', `must be "${options.entity}" (this Resolver's entity), got ${JSON.stringify(item.entity)}`);
		if (item.shape !== 'canonical') bad(i, item, 'shape', `must be "canonical" (map it with the Mapper first), got ${JSON.stringify(item.shape)}`);
		if (!options.systems.includes(item.system)) bad(i, item, 'system', `must be one of the sync's systems (${options.systems.join(', ')}), got ${JSON.stringify(item.system)}`);
		if (typeof item.id !== 'string' || item.id === '') bad(i, item, 'id', 'must be the record\'s id in its source system');
		if (item.op !== 'upsert' && item.op !== 'delete') bad(i, item, 'op', `must be "upsert" or "delete", got ${JSON.stringify(item.op)}`);
		if (typeof item.data !== 'object' || item.data === null || Array.isArray(item.data)) bad(i, item, 'data', 'must be an object');
		if (item.changedAt !== undefined && Number.isNaN(Date.parse(item.changedAt))) bad(i, item, 'changedAt', `must be an ISO 8601 date-time, got ${JSON.stringify(item.changedAt)}`);
		if (typeof item.trace !== 'object' || item.trace === null) bad(i, item, 'trace', 'must be an object with runId, origin and hops');
		const cursor = item.trace.cursor;
		if (cursor !== undefined && (typeof cursor.ts !== 'string' || Number.isNaN(Date.parse(cursor.ts)) || typeof cursor.id !== 'string')) {
			bad(i, item, 'trace.cursor', 'must be { ts: ISO 8601 date-time, id: text }');
		}
	});
}

export { matchValuesOf } from './identity';

function without(data: CanonicalData, fields: Set<string>): CanonicalData {
	if (!fields.size) return data;
	const out: CanonicalData = {};
	for (const [k, v] of Object.entries(data)) if (!fields.has(k)) out[k] = v;
	return out;
}

function pick(data: CanonicalData, fields: Set<string>): CanonicalData {
	const out: CanonicalData = {};
	for (const [k, v] of Object.entries(data)) if (fields.has(k)) out[k] = v;
	return out;
}

/** What a batch (or a conflict resolution) reads, changes and writes; shared by resolve and resolveConflict. */
export class Batch {
	readonly golden = new Map<string, GoldenRecord>();

	/** key → system → link */
	readonly links = new Map<string, Map<string, Link>>();

	readonly linkByRef = new Map<string, Link>();

	/** `field\0value` → keys of golden records (not deleted) with that match value. */
	readonly matchIndex = new Map<string, Set<string>>();

	readonly openConflicts = new Map<string, ConflictRecord[]>();

	/** `key\0system` written by another execution right now (planned, not yet committed). */
	readonly inFlight = new Set<string>();

	/** `key\0system` → the creates not planned because another execution has them in flight (see plan). */
	readonly deferred = new Map<string, { key: string; system: string }>();

	readonly dirtyGolden = new Set<string>();

	/** Keys of the golden records this batch created (nothing of theirs is stored yet). */
	readonly created = new Set<string>();

	readonly dirtyLinks = new Map<string, Link>();

	readonly removedLinks = new Map<string, { key: string; system: string }>();

	/** `system\0id` → the tombstone of a deleted record's link. */
	readonly tombstones = new Map<string, LinkTombstone>();

	readonly newTombstones: LinkTombstone[] = [];

	readonly audit: AuditEntry[] = [];

	readonly conflicts: Array<NewConflict & { sourceIndex: number; message: string }> = [];

	/** The open conflicts of this batch by key: looked up per item and per planned key, so never a scan of them all. */
	private readonly openInBatch = new Map<string, NewConflict[]>();

	/** Keys whose targets must be planned, with the input item that touched them last. */
	readonly touched = new Map<string, { item: SyncItem; sourceIndex: number; sensitive: CanonicalData }>();

	/** Systems not to plan for a key in this batch (the system whose delete is ignored). */
	readonly holdBack = new Map<string, Set<string>>();

	readonly metrics: RunMetrics = { received: 0, created: 0, updated: 0, deleted: 0, skipped: 0, conflicts: 0, planned: 0, written: 0, failed: 0 };

	readonly skipped: SkippedItem[] = [];

	/** Keyed digests of sensitive values, when the Resolver has Sensitive Fields (read in load). */
	digests: SensitiveDigests | null = null;

	/** The Resolver's sensitive fields: a full read carries them though the base never holds them. */
	readonly sensitiveNames: ReadonlySet<string>;

	constructor(
		readonly tx: StoreTx,
		readonly options: ResolveOptions,
	) {
		this.keys = parseMatchKeys(options.matchKeys);
		this.sensitiveNames = new Set(options.sensitiveFields ?? []);
	}

	get entity(): string {
		return this.options.entity;
	}

	/** The match keys' field names (for messages and conflicts). */
	get matchKeys(): string[] {
		return this.keys.map((k) => k.field);
	}

	/** The match keys with their comparison modes, parsed once. */
	readonly keys: MatchKey[];

	/** Reads, in a fixed number of statements, everything the items can touch. */
	async load(items: SyncItem[], extraKeys: string[] = []): Promise<void> {
		const refs = items.filter((it) => it.id !== null).map((it) => ({ system: it.system, id: it.id as string }));
		// Which records are linked, and to which key: their links themselves (base snapshots included)
		// are read once below, with every other link of those keys.
		const linked = new Map<string, string>();
		for (const l of await this.tx.linkRefsByExternalId(this.entity, refs)) linked.set(`${l.system}\u0000${l.externalId}`, l.key);
		const wanted: Array<{ field: string; value: string }> = [];
		for (const it of items) {
			if (it.op === 'upsert' && !linked.has(`${it.system}\u0000${it.id}`)) wanted.push(...this.matchValues(it.data));
		}
		const unlinked = refs.filter((r) => !linked.has(`${r.system}\u0000${r.id}`));
		for (const t of await this.tx.tombstones(this.entity, unlinked)) this.tombstones.set(`${t.system}\u0000${t.externalId}`, t);
		const matches = await this.tx.matchValues(this.entity, wanted);
		const keys = new Set<string>(extraKeys);
		for (const key of linked.values()) keys.add(key);
		for (const m of matches) keys.add(m.key);
		const keyList = [...keys];
		if (this.options.sensitiveFields?.length && !this.digests) this.digests = new SensitiveDigests(await this.tx.sensitiveSecret(), this.entity);
		for (const g of await this.tx.goldenByKey(this.entity, keyList)) this.golden.set(g.key, g);
		for (const l of await this.tx.linksByKey(this.entity, keyList)) this.putLink(l);
		for (const k of await this.tx.plannedInFlight(this.entity, keyList, this.options.runId)) this.inFlight.add(k);
		for (const c of await this.tx.openConflictsByKey(this.entity, keyList)) {
			const list = this.openConflicts.get(c.key as string) ?? [];
			list.push(c);
			this.openConflicts.set(c.key as string, list);
		}
		for (const m of matches) {
			if (this.golden.get(m.key)?.deleted) continue;
			this.indexAdd(m.field, m.value, m.key);
		}
	}

	/** Match values by record data object: an item's data and a golden record's data are each asked several times. */
	private readonly matchValueCache = new Map<CanonicalData, Array<{ field: string; value: string }>>();

	/** The match values of a record's data (never changed in place, so computed once per object). */
	matchValues(data: CanonicalData): Array<{ field: string; value: string }> {
		let values = this.matchValueCache.get(data);
		if (values === undefined) this.matchValueCache.set(data, (values = matchValuesOf(data, this.keys)));
		return values;
	}

	private indexAdd(field: string, value: string, key: string) {
		const k = `${field}\u0000${value}`;
		let set = this.matchIndex.get(k);
		if (!set) this.matchIndex.set(k, (set = new Set()));
		set.add(key);
	}

	private reindex(before: CanonicalData | null, after: GoldenRecord) {
		if (before) for (const m of this.matchValues(before)) this.matchIndex.get(`${m.field}\u0000${m.value}`)?.delete(after.key);
		if (!after.deleted) for (const m of this.matchValues(after.data)) this.indexAdd(m.field, m.value, after.key);
	}

	putLink(link: Link) {
		let bySystem = this.links.get(link.key);
		if (!bySystem) this.links.set(link.key, (bySystem = new Map()));
		bySystem.set(link.system, link);
		this.linkByRef.set(`${link.system}\u0000${link.externalId}`, link);
	}

	saveLink(link: Link) {
		this.putLink(link);
		const k = `${link.key}\u0000${link.system}`;
		this.dirtyLinks.set(k, link);
		this.removedLinks.delete(k);
	}

	/** Drops a link whose record is gone, leaving a tombstone (`deletedAt`: the source's time of the delete). */
	removeLink(link: Link, deletedAt: string | null) {
		const tombstone = { entity: this.entity, system: link.system, externalId: link.externalId, key: link.key, deletedAt };
		this.newTombstones.push(tombstone);
		this.tombstones.set(`${link.system}\u0000${link.externalId}`, tombstone);
		this.links.get(link.key)?.delete(link.system);
		this.linkByRef.delete(`${link.system}\u0000${link.externalId}`);
		const k = `${link.key}\u0000${link.system}`;
		this.dirtyLinks.delete(k);
		this.removedLinks.set(k, { key: link.key, system: link.system });
	}

	setGolden(record: GoldenRecord, before: CanonicalData | null) {
		this.golden.set(record.key, record);
		this.dirtyGolden.add(record.key);
		this.reindex(before, record);
	}

	auditEntry(item: SyncItem | null, partial: Partial<AuditEntry> & Pick<AuditEntry, 'action' | 'outcome'>): void {
		this.audit.push({
			at: this.tx.now,
			runId: this.options.runId,
			sync: this.options.sync,
			entity: this.entity,
			key: item?.key ?? null,
			system: item?.system ?? null,
			externalId: item?.id ?? null,
			before: null,
			after: null,
			actor: item?.actor ?? null,
			error: null,
			...partial,
		});
	}

	skip(item: SyncItem, sourceIndex: number, reason: SkipReason, detail: string, key?: string) {
		this.skipped.push({ item: key ? { ...item, key } : item, sourceIndex, reason, detail });
		this.metrics.skipped++;
		// A change skipped as stale keeps its values in the audit: the value that lost stays findable.
		const after = reason === 'stale' ? item.data : null;
		this.auditEntry(item, { key: key ?? null, action: 'skip', outcome: 'skipped', error: `${reason}: ${detail}`, after });
	}

	conflict(
		item: SyncItem,
		sourceIndex: number,
		c: { kind: ConflictKind; key: string | null; fields: string[]; competing: CompetingValue[]; status?: 'open' | 'resolved'; resolution?: unknown; message: string },
	) {
		const status = c.status ?? 'open';
		const stored: NewConflict & { sourceIndex: number; message: string } = {
			sync: this.options.sync,
			runId: this.options.runId,
			entity: this.entity,
			key: c.key,
			system: item.system,
			externalId: item.id,
			kind: c.kind,
			status,
			fields: c.fields,
			competing: c.competing,
			item: c.key ? { ...item, key: c.key } : item,
			resolution: c.resolution ?? null,
			sourceIndex,
			message: c.message,
		};
		this.conflicts.push(stored);
		if (status === 'open' && c.key !== null) {
			const list = this.openInBatch.get(c.key);
			if (list) list.push(stored);
			else this.openInBatch.set(c.key, [stored]);
		}
		if (status === 'open') this.metrics.conflicts++;
		this.auditEntry(item, { key: c.key, action: 'conflict', outcome: status === 'open' ? 'conflict' : 'ok', error: c.message });
	}

	/** Whether a conflict of this kind from this system already waits for review (stored or from this batch). */
	hasOpen(key: string, kind: ConflictKind, system: string): boolean {
		return (
			(this.openConflicts.get(key) ?? []).some((c) => c.kind === kind && c.system === system) ||
			(this.openInBatch.get(key) ?? []).some((c) => c.kind === kind && c.system === system)
		);
	}

	/**
	 * What an upsert's sensitive values mean, by their keyed digests (the values themselves are never
	 * stored): a field whose value differs from what the source's link knows it held is an edit (`changed`;
	 * the golden record's digest takes it: `golden`); a field the link knew nothing of (first sight, or a
	 * store from before migration 7) is learnt without counting as an edit. `link`: the source's digest
	 * now (undefined when unchanged). `carry`: the values that may travel to the other systems: not one the
	 * golden record's digest says is outdated (a lagging system's old value never overwrites a newer one).
	 */
	sensitiveOf(
		golden: GoldenRecord,
		link: Link,
		sensitive: CanonicalData,
	): { carry: CanonicalData; changed: string[]; link?: SensitiveDigest; golden?: SensitiveDigest } {
		const d = this.digests;
		const fields = Object.keys(sensitive).filter((f) => sensitive[f] !== undefined);
		if (!d || !fields.length) return { carry: sensitive, changed: [] };
		const carry: CanonicalData = {};
		const changed: string[] = [];
		const edits: CanonicalData = {};
		let learnt = false;
		for (const f of fields) {
			const v = sensitive[f];
			const held = d.holds(link.sensitiveDigest, f, v);
			if (held !== true) learnt = true;
			if (held === false) {
				changed.push(f);
				if (d.holds(golden.sensitiveDigest, f, v) !== true) edits[f] = v;
			} else if (d.holds(golden.sensitiveDigest, f, v) === false) continue;
			carry[f] = v;
		}
		return {
			carry,
			changed,
			link: learnt ? d.with(link.sensitiveDigest, pick(sensitive, new Set(fields))) : undefined,
			golden: Object.keys(edits).length ? d.with(golden.sensitiveDigest, edits) : undefined,
		};
	}

	/**
	 * Whether `link`'s system lacks a sensitive value the golden record's digest says is current (a write
	 * of it that failed, or a link made since): written although its stored fields are up to date.
	 */
	sensitiveBehind(golden: GoldenRecord, link: Link, sensitive: CanonicalData): boolean {
		const d = this.digests;
		if (!d || !golden.sensitiveDigest) return false;
		return Object.keys(sensitive).some(
			(f) => sensitive[f] !== undefined && d.holds(golden.sensitiveDigest, f, sensitive[f]) === true && d.holds(link.sensitiveDigest, f, sensitive[f]) !== true,
		);
	}

	touch(key: string, item: SyncItem, sourceIndex: number, sensitive: CanonicalData) {
		this.touched.set(key, { item, sourceIndex, sensitive });
	}

	/** Identity: the link, else one golden record by match keys, else a new golden record. */
	identify(item: SyncItem, sourceIndex: number): { key: string; link: Link | null } | null {
		const link = this.linkByRef.get(`${item.system}\u0000${item.id}`);
		if (link) return { key: link.key, link };
		const candidates = new Set<string>();
		for (const m of this.matchValues(item.data)) {
			for (const key of this.matchIndex.get(`${m.field}\u0000${m.value}`) ?? []) candidates.add(key);
		}
		if (candidates.size > 1) {
			const keys = [...candidates].sort();
			this.conflict(item, sourceIndex, {
				kind: 'ambiguous-match',
				key: null,
				fields: this.matchKeys,
				competing: keys.map((key) => ({ role: 'candidate', system: '(golden record)', value: { key, data: this.golden.get(key)?.data ?? null } })),
				message: `${item.system} record ${item.id} matches ${keys.length} golden records (${keys.join(', ')}) by ${this.matchKeys.join(', ')}`,
			});
			return null;
		}
		if (candidates.size === 1) {
			const key = [...candidates][0];
			const other = this.links.get(key)?.get(item.system);
			if (other) {
				this.conflict(item, sourceIndex, {
					kind: 'duplicate-link',
					key,
					fields: this.matchKeys,
					competing: [
						{ role: 'golden', system: item.system, value: { id: other.externalId, data: other.base } },
						{ role: 'incoming', system: item.system, value: { id: item.id, data: item.data } },
					],
					message: `${item.system} record ${item.id} matches golden record ${key}, which is already linked to ${item.system} record ${other.externalId}`,
				});
				return null;
			}
			return { key, link: null };
		}
		return { key: '', link: null };
	}

	/**
	 * Applies one incoming item. `force` carries a reviewer's choice: link it to golden record `key`,
	 * `create` a new golden record, or apply a delete or a revival that was approved.
	 */
	apply(item: SyncItem, sourceIndex: number, sensitive: CanonicalData, force: { key?: string; create?: boolean; deleteApproved?: boolean; reviveApproved?: boolean } = {}): void {
		this.metrics.received++;
		if (item.op === 'delete') return this.applyDelete(item, sourceIndex, force.deleteApproved === true);
		const ref = `${item.system}\u0000${item.id}`;
		const tombstone = this.tombstones.get(ref);
		// A late delivery of a record that was deleted must not bring it back (ids are not reused); only a
		// change made after a known delete time is a record restored in its system.
		const deleted =
			!this.linkByRef.has(ref) && tombstone !== undefined && (tombstone.deletedAt === null || !isNewer(item.changedAt, tombstone.deletedAt));
		if (deleted && force.key === undefined && !force.create) {
			this.skip(item, sourceIndex, 'stale', `${item.system} record ${item.id} was deleted after this change was made`, tombstone.key || undefined);
			return;
		}
		// A reviewer's choice may apply a change whose record has since been deleted in its system: the
		// values count, but the deleted record is not linked again (the plan creates a new one there).
		const linkTo = (l: Link) => {
			if (!deleted) this.saveLink(l);
		};
		let identity: { key: string; link: Link | null } | null;
		if (force.key !== undefined) identity = { key: force.key, link: this.links.get(force.key)?.get(item.system) ?? null };
		else if (force.create) identity = { key: '', link: null };
		else identity = this.identify(item, sourceIndex);
		if (!identity) return;
		const at = item.changedAt ?? this.tx.now;
		if (identity.link && item.changedAt !== undefined && isNewer(identity.link.sourceAt ?? undefined, item.changedAt)) {
			// Overtaken by a newer change of the record. It still brings the fields no newer change has set
			// (a delivery of only some fields); the rest lost to newer values and stay in the audit.
			const fields = [...leafPaths(item.data), ...Object.keys(sensitive)];
			const fresh = new Set(notOvertaken(identity.link, fields, item.changedAt, this.sensitiveNames));
			if (!fresh.size) {
				this.skip(item, sourceIndex, 'stale', `a newer change of ${item.system} record ${item.id} (${identity.link.sourceAt}) was already read`, identity.key);
				return;
			}
			const lost = new Set(fields.filter((f) => !fresh.has(f)));
			if (lost.size) {
				this.auditEntry(item, {
					key: identity.key,
					action: 'skip',
					outcome: 'skipped',
					error: `stale: newer changes of ${[...lost].join(', ')} of ${item.system} record ${item.id} were already read; the other fields of this change are applied`,
					after: pickPaths(item.data, lost),
				});
				item = { ...item, data: withoutPaths(item.data, lost) };
				sensitive = without(sensitive, lost);
			}
		}
		if (identity.key === '') {
			const key = randomUUID();
			this.created.add(key);
			// The golden record and the source's base start as the same data: one copy serves both (records
			// are never changed in place), and the store prints it once.
			const data = { ...item.data };
			const origin = { system: item.system, at };
			const fields: GoldenRecord['fields'] = {};
			for (const f of Object.keys(data)) {
				// As Object.fromEntries would: "__proto__" is an own field here, not the prototype.
				if (f === '__proto__') Object.defineProperty(fields, f, { value: origin, enumerable: true, writable: true, configurable: true });
				else fields[f] = origin;
			}
			const record: GoldenRecord = {
				entity: this.entity,
				key,
				data,
				fields,
				version: 1,
				deleted: false,
				updatedAt: this.tx.now,
			};
			// A new record's sensitive values are its first values: the golden record and the source hold them.
			if (this.digests && Object.keys(sensitive).length) record.sensitiveDigest = this.digests.with(null, sensitive);
			this.setGolden(record, null);
			const first: Link = {
				entity: this.entity,
				key,
				system: item.system,
				externalId: item.id as string,
				base: {},
				writtenHash: null,
				writtenAt: null,
				sourceAt: null,
				sensitiveDigest: this.digests && Object.keys(sensitive).length ? this.digests.with(null, sensitive) : null,
			};
			linkTo({ ...first, ...stamped(first, [...Object.keys(data), ...Object.keys(sensitive)], item.changedAt, this.sensitiveNames, item.trace.partial === true), base: data });
			this.metrics.created++;
			this.auditEntry(item, { key, action: 'create', outcome: 'ok', after: record.data });
			this.touch(key, item, sourceIndex, sensitive);
			return;
		}
		const key = identity.key;
		const golden = this.golden.get(key);
		if (!golden) throw new Error(`The store has a link to golden record ${key} (${this.entity}) but not the record itself`);
		let link = identity.link;
		if (!link) {
			link = { entity: this.entity, key, system: item.system, externalId: item.id as string, base: {}, writtenHash: null, writtenAt: null, sourceAt: null };
			linkTo(link);
			this.auditEntry(item, { key, action: 'link', outcome: 'ok', error: null });
		}
		const base = identity.link ? link.base : null;
		const carried = [...leafPaths(item.data), ...Object.keys(sensitive)];
		// A change of some fields: a nested object it carries in part keeps the leaves it does not carry.
		if (base && (item.trace.partial === true || Object.keys(base).some((f) => !Object.prototype.hasOwnProperty.call(item.data, f)))) {
			item = { ...item, data: completed(item.data, base) };
		}
		const times = stamped(link, carried, item.changedAt, this.sensitiveNames, item.trace.partial === true);
		// An edit of a deleted record that waits for review is not taken into the base: the link's version stays
		// where it was, so no write made meanwhile (another review reviving the record) passes the target's
		// version check and overwrites the edit that waits (found by the simulation, seed 9851).
		const waitsForReview = golden.deleted && !force.reviveApproved && !isEcho(item.data, base) && this.options.deletePolicy !== 'soft';
		if (!waitsForReview && (times.sourceAt !== link.sourceAt || !sameValue(times.partial ?? null, link.partial ?? null))) {
			link = { ...link, ...times };
			linkTo(link);
		}
		if (golden.deleted && !force.reviveApproved) {
			if (isEcho(item.data, base)) {
				this.skip(item, sourceIndex, 'echo', 'the golden record is deleted and this record did not change since', key);
				this.touch(key, item, sourceIndex, sensitive);
				return;
			}
			if (this.options.deletePolicy !== 'soft') {
				if (this.hasOpen(key, 'edit-delete', item.system)) {
					this.skip(item, sourceIndex, 'conflict-pending', 'this edit of a deleted record already waits for review', key);
					return;
				}
				this.conflict(item, sourceIndex, {
					kind: 'edit-delete',
					key,
					fields: Object.keys(item.data),
					competing: [
						{ role: 'incoming', system: item.system, value: item.data, at },
						{ role: 'golden', system: '(golden record)', value: null, at: golden.updatedAt },
					],
					message: `${item.system} record ${item.id} was changed, but golden record ${key} was deleted`,
				});
				return;
			}
		}
		const s = this.sensitiveOf(golden, link, sensitive);
		if (s.link) {
			link = { ...link, sensitiveDigest: s.link };
			linkTo(link);
		}
		sensitive = s.carry;
		if (isEcho(item.data, base) && !golden.deleted && !s.golden) {
			this.skip(item, sourceIndex, 'echo', 'equal to the base snapshot: our own write or a repeated delivery', key);
			this.touch(key, item, sourceIndex, sensitive);
			return;
		}
		// A change that only repeats values already waiting for review adds nothing (a re-delivery).
		const waiting = new Map<string, unknown>();
		const stored = this.openConflicts.get(key);
		if (stored) {
			for (const c of stored) {
				if (c.kind === 'field' && c.system === item.system) for (const f of c.fields) waiting.set(f, c.item.data[f]);
			}
		}
		if (
			!s.golden &&
			waiting.size &&
			Object.keys(item.data).every((f) => (waiting.has(f) ? sameValue(waiting.get(f), item.data[f]) : sameValue(item.data[f], base?.[f])))
		) {
			this.skip(item, sourceIndex, 'conflict-pending', 'the same values already wait for review', key);
			return;
		}
		const outcome = mergeRecord({
			golden: golden.deleted ? { data: {}, fields: {} } : golden,
			base: golden.deleted ? null : base,
			incoming: item.data,
			system: item.system,
			at,
			atFromSource: item.changedAt !== undefined,
			policy: this.options.policy,
			emptyValueRule: this.options.emptyValueRule ?? 'keep',
		});
		const open = outcome.conflicts.filter((c) => c.winner === null).map((c) => c.field);
		for (const c of outcome.conflicts) {
			this.conflict(item, sourceIndex, {
				kind: 'field',
				key,
				fields: [c.field],
				competing: c.competing,
				status: c.winner === null ? 'open' : 'resolved',
				resolution: c.winner === null ? undefined : { by: 'policy', winner: c.winner, reason: c.reason },
				message: `${c.field}: ${item.system} and the golden record both changed it; ${c.reason}`,
			});
		}
		// The source now holds what it sent, except fields that wait for review: their base stays, so the
		// pending value is neither taken as agreed nor overwritten before the review.
		const heldBack = new Set(open);
		linkTo({ ...link, base: { ...link.base, ...without(item.data, heldBack) } });
		const revived = golden.deleted;
		if (outcome.changed.length || revived || s.golden) {
			const record: GoldenRecord = {
				...golden,
				data: revived ? { ...golden.data, ...outcome.data } : outcome.data,
				fields: revived ? { ...golden.fields, ...outcome.fields } : outcome.fields,
				version: golden.version + 1,
				deleted: false,
				updatedAt: this.tx.now,
				sensitiveDigest: s.golden ?? golden.sensitiveDigest ?? null,
			};
			this.setGolden(record, golden.data);
			this.metrics.updated++;
			this.auditEntry(item, {
				key,
				action: revived ? 'create' : 'merge',
				outcome: 'ok',
				before: pick(golden.data, new Set(outcome.changed)),
				after: pick(record.data, new Set(outcome.changed)),
				// Named, never their values.
				error: s.changed.length ? `sensitive fields changed: ${s.changed.join(', ')} (values not stored)` : null,
			});
		} else if (!outcome.conflicts.length) {
			this.skip(item, sourceIndex, 'no-change', 'the golden record already has these values', key);
		}
		this.touch(key, item, sourceIndex, sensitive);
	}

	private applyDelete(item: SyncItem, sourceIndex: number, approved: boolean): void {
		const link = this.linkByRef.get(`${item.system}\u0000${item.id}`);
		if (!link) {
			// Remembered anyway: a late delivery of this record's creation must not bring it back.
			const tombstone = { entity: this.entity, system: item.system, externalId: item.id as string, key: '', deletedAt: item.changedAt ?? null };
			this.newTombstones.push(tombstone);
			this.tombstones.set(`${item.system}\u0000${item.id}`, tombstone);
			this.skip(item, sourceIndex, 'unknown-record', `${item.system} record ${item.id} is not linked to a golden record`);
			return;
		}
		const key = link.key;
		const golden = this.golden.get(key);
		if (!golden) throw new Error(`The store has a link to golden record ${key} (${this.entity}) but not the record itself`);
		if (golden.deleted) {
			this.removeLink(link, item.changedAt ?? null);
			this.skip(item, sourceIndex, 'already-deleted', `golden record ${key} is already deleted`, key);
			this.touch(key, item, sourceIndex, {});
			return;
		}
		const policy = this.options.deletePolicy ?? 'propagate';
		if (policy === 'ignore') {
			this.removeLink(link, item.changedAt ?? null);
			this.holdBack.set(key, new Set([...(this.holdBack.get(key) ?? []), item.system]));
			this.skip(item, sourceIndex, 'delete-ignored', 'this sync ignores deletes; the golden record stays', key);
			return;
		}
		// Edit versus delete: the golden record holds changes the deleting system never saw.
		const unseen = Object.keys(golden.data).filter((f) => !sameValue(golden.data[f], link.base[f]));
		if (!approved && unseen.length) {
			if (this.hasOpen(key, 'edit-delete', item.system)) {
				this.skip(item, sourceIndex, 'conflict-pending', 'this delete already waits for review', key);
				return;
			}
			this.conflict(item, sourceIndex, {
				kind: 'edit-delete',
				key,
				fields: unseen,
				competing: [
					{ role: 'incoming', system: item.system, value: null, at: item.changedAt },
					{ role: 'golden', system: '(golden record)', value: golden.data, at: golden.updatedAt },
					{ role: 'base', system: item.system, value: link.base },
				],
				message: `${item.system} deleted record ${item.id}, but golden record ${key} was changed since ${item.system} last saw it`,
			});
			return;
		}
		if (!approved && policy === 'approval') {
			if (this.hasOpen(key, 'delete-approval', item.system)) {
				this.skip(item, sourceIndex, 'conflict-pending', 'this delete already waits for approval', key);
				return;
			}
			this.conflict(item, sourceIndex, {
				kind: 'delete-approval',
				key,
				fields: [],
				competing: [{ role: 'golden', system: '(golden record)', value: golden.data, at: golden.updatedAt }],
				message: `${item.system} deleted record ${item.id}; deletes of this sync wait for approval`,
			});
			return;
		}
		this.removeLink(link, item.changedAt ?? null);
		this.setGolden({ ...golden, version: golden.version + 1, deleted: true, updatedAt: this.tx.now }, golden.data);
		this.metrics.deleted++;
		this.auditEntry(item, { key, action: 'delete', outcome: 'ok', before: golden.data });
		this.touch(key, item, sourceIndex, {});
	}

	/** Outbound changes for every touched key: each system whose base differs from the golden record. */
	plan(): ResolvedChange[] {
		const changes: ResolvedChange[] = [];
		const propagate = (this.options.deletePolicy ?? 'propagate') === 'propagate' || this.options.deletePolicy === 'approval';
		for (const [key, source] of this.touched) {
			const golden = this.golden.get(key);
			if (!golden) continue;
			const links = this.links.get(key) ?? new Map<string, Link>();
			const pending = new Set<string>();
			// A system whose values wait for review, or whose delete does, is not written meanwhile (an
			// upsert of its deleted record would only meet the delete again).
			const holds = (c: { kind: ConflictKind; item: SyncItem }) => c.kind === 'field' || ((c.kind === 'edit-delete' || c.kind === 'delete-approval') && c.item.op === 'delete');
			for (const c of this.openConflicts.get(key) ?? []) if (holds(c)) pending.add(c.system);
			for (const c of this.openInBatch.get(key) ?? []) if (holds(c)) pending.add(c.system);
			// A record no system's copy of has been read in full (first seen through a change of some of its
			// fields: the trigger's Payload Holds = Changed Fields Only): its golden record lacks every value
			// no change carried, so it is written nowhere (no half record created in another system) until a
			// read in full — Get Changes reads such records by id (Store.unreadLinks).
			if (!golden.deleted && links.size > 0 && ![...links.values()].some((l) => !isUnread(l) && !expectedVersion(l).wait)) continue;
			for (const system of this.options.systems) {
				const link = links.get(system) ?? null;
				if (this.holdBack.get(key)?.has(system) || pending.has(system)) continue;
				// A record found by a create's match lookup and not read since: written once it is read. The same
				// for one known only through changes of some of its fields (source-times.ts).
				const expected = link ? expectedVersion(link) : { wait: false };
				if (link && !golden.deleted && (isUnread(link) || expected.wait)) continue;
				// Another execution is creating this record in this system right now: not created twice. This
				// run waits for it (a 'deferred' planned change holds its cursor), so the poll reads the record
				// again and creates it once that execution's plan stops counting (it failed or died).
				const ref = `${key}\u0000${system}`;
				if (!link && !golden.deleted && this.inFlight.has(ref)) {
					this.deferred.set(ref, { key, system });
					continue;
				}
				let op: 'upsert' | 'delete';
				if (golden.deleted) {
					if (!propagate || !link) continue;
					op = 'delete';
				} else {
					if (link && sameValue(link.base, golden.data) && !this.sensitiveBehind(golden, link, source.sensitive)) continue;
					op = 'upsert';
				}
				const from = source.item;
				const data = op === 'delete' ? {} : { ...golden.data, ...source.sensitive };
				const item: SyncItem = {
					entity: this.entity,
					system,
					id: link?.externalId ?? null,
					op,
					shape: 'canonical',
					data,
					key,
					trace: {
						runId: this.options.runId,
						origin: from.trace.origin || from.system,
						hops: from.trace.hops + 1,
						sync: this.options.sync,
					},
				};
				// The target's version this plan expects: the write goes through only if the record is still there.
				if (expected.version) item.trace.version = expected.version;
				if (from.changedAt !== undefined) item.changedAt = from.changedAt;
				if (from.actor !== undefined) item.actor = from.actor;
				const carried = op === 'upsert' && this.digests && Object.keys(source.sensitive).some((f) => source.sensitive[f] !== undefined);
				// Commit gives the target's link this digest: the echo of the write is then known as one.
				if (carried) changes.push({ item, sourceIndex: source.sourceIndex, sensitiveDigest: this.digests!.with(link?.sensitiveDigest, source.sensitive) });
				else changes.push({ item, sourceIndex: source.sourceIndex });
			}
		}
		this.metrics.planned += changes.length;
		return changes;
	}

	/** Writes everything this batch changed: a fixed number of statements. */
	async save(changes: ResolvedChange[]): Promise<void> {
		const goldens = [...this.dirtyGolden].map((k) => this.golden.get(k) as GoldenRecord);
		const matchRows = goldens.filter((g) => !g.deleted).flatMap((g) => this.matchValues(g.data).map((m) => ({ key: g.key, ...m })));
		await this.tx.saveGolden(goldens, matchRows, this.created, [...this.dirtyLinks.values(), ...this.removedLinks.values()]);
		await this.tx.deleteLinks(this.entity, [...this.removedLinks.values()]);
		await this.tx.saveTombstones(this.newTombstones);
		await this.tx.saveLinks([...this.dirtyLinks.values()]);
		await this.tx.insertConflicts(this.conflicts);
		await this.tx.insertAudit(this.audit);
		const planned: PlannedChange[] = changes.map((c) => ({
			runId: this.options.runId,
			entity: this.entity,
			key: c.item.key as string,
			system: c.item.system,
			op: c.item.op,
			data: c.item.op === 'delete' ? {} : (this.golden.get(c.item.key as string) as GoldenRecord).data,
			status: 'planned',
			createdAt: this.tx.now,
			sensitiveDigest: c.sensitiveDigest ?? null,
		}));
		for (const d of this.deferred.values()) {
			planned.push({ runId: this.options.runId, entity: this.entity, key: d.key, system: d.system, op: 'upsert', data: {}, status: 'deferred', createdAt: this.tx.now });
		}
		await this.tx.savePlanned(planned);
	}
}

export function splitSensitive(item: SyncItem, sensitive: Set<string>): { item: SyncItem; sensitive: CanonicalData } {
	if (!sensitive.size) return { item, sensitive: {} };
	return { item: { ...item, data: without(item.data, sensitive) }, sensitive: pick(item.data, sensitive) };
}

/**
 * Resolves a batch of canonical changes: identity, merge into the golden records, deletes, echo, and the
 * plan of changes to write. One store transaction; a failure leaves the store as it was.
 */
export async function resolve(store: Store, options: ResolveOptions, items: SyncItem[]): Promise<ResolveResult> {
	checkOptions(options);
	checkItems(options, items);
	const sensitive = new Set(options.sensitiveFields ?? []);
	const prepared = items.map((item) => splitSensitive(item, sensitive));
	const work = async (tx: StoreTx): Promise<ResolveResult> => {
		const batch = new Batch(tx, options);
		await batch.load(prepared.map((p) => p.item));
		prepared.forEach((p, i) => batch.apply(p.item, i, p.sensitive));
		const changes = batch.plan();
		if (!options.dryRun) {
			await batch.save(changes);
			await tx.addRunMetrics(options.runId, options.sync, batch.metrics, false);
			await tx.countVolume(options.sync, [
				...prepared.map((p) => ({ system: p.item.system, entity: options.entity, kind: 'received' as const, count: 1 })),
				...batch.skipped.map((k) => ({ system: k.item.system, entity: options.entity, kind: 'skipped' as const, reason: k.reason, count: 1 })),
				...batch.conflicts.filter((c) => c.status === 'open').map((c) => ({ system: c.item.system, entity: options.entity, kind: 'conflicts' as const, reason: c.kind, count: 1 })),
			]);
			const cursors = prepared
				.filter((p) => p.item.trace.cursor)
				.map((p) => ({ sync: options.sync, system: p.item.system, entity: options.entity, cursor: p.item.trace.cursor! }));
			await tx.saveRunCursors(options.runId, cursors);
			// A run with nothing to write has nothing to wait for: its cursors move now (else a page of
			// echoes would be read again and again, since no Commit follows it).
			if ((await tx.countPlanned(options.runId)) === 0) await advanceRunCursors(tx, options.runId);
		}
		return {
			changes,
			conflicts: batch.conflicts.map((c) => ({
				item: c.item,
				sourceIndex: c.sourceIndex,
				kind: c.kind,
				status: c.status,
				key: c.key,
				fields: c.fields,
				competing: c.competing,
				resolution: c.resolution ?? null,
				message: c.message,
			})),
			skipped: batch.skipped,
			metrics: batch.metrics,
		};
	};
	// A dry run reads outside any write transaction: it plans, it never locks or stores.
	return options.dryRun ? work(new StoreTx(store.driver, store.clock().toISOString())) : store.transaction(work);
}

export { advanceRunCursors };
