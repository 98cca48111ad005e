/** What the store remembers (shared/DESIGN.md, "The store"), as the engine sees it. */
import type { SyncItem } from '../../item';

export type { SyncCursor } from '../../item';

export type CanonicalData = Record<string, unknown>;

/** Keyed digests of a record's Conflict Resolver sensitive values (never the values): see sensitive.ts. */
export interface SensitiveDigest {
	salt: string;
	fields: Record<string, string>;
}

/** Which system last set a field of a golden record, and when (the source's changedAt when it knew it). */
export interface FieldOrigin {
	system: string;
	at: string;
}

/** The master version of one record of an entity. */
export interface GoldenRecord {
	entity: string;
	key: string;
	data: CanonicalData;
	fields: Record<string, FieldOrigin>;
	version: number;
	deleted: boolean;
	updatedAt: string;
	/** The sensitive values the latest edits brought, as keyed digests (null: none seen since migration 7). */
	sensitiveDigest?: SensitiveDigest | null;
}

/** A golden record's counterpart in one system, with what was last exchanged with that system. */
export interface Link {
	entity: string;
	key: string;
	system: string;
	externalId: string;
	/** The base snapshot: the canonical data last exchanged with this system (read from it or written to it). */
	base: CanonicalData;
	/** The canonical hash of the data last written to this system, for the Loop Guard's cheap echo check. */
	writtenHash: string | null;
	writtenAt: string | null;
	/** The source's changedAt of the newest change read from this record: an older delivery is stale. */
	sourceAt: string | null;
	/**
	 * Set once a change of only some fields was read (null: every field of the base is known at
	 * `sourceAt`): see lib/engine/source-times.ts.
	 */
	partial?: PartialRead | null;
	/** The sensitive values this system holds (read from it or written to it), as keyed digests. */
	sensitiveDigest?: SensitiveDigest | null;
}

/** A record read in part: each field's change time, and the last version read in full (null: never). */
export interface PartialRead {
	readAt: string | null;
	at: Record<string, string>;
}

/** A link removed because its record was deleted; late deliveries of that record must not bring it back. */
export interface LinkTombstone {
	entity: string;
	system: string;
	externalId: string;
	/** The golden record it was linked to; empty when the delete came before the record was ever linked. */
	key: string;
	/** The source's time of the delete when known; null when we deleted it ourselves. */
	deletedAt: string | null;
}

export type ConflictKind = 'field' | 'ambiguous-match' | 'edit-delete' | 'delete-approval' | 'duplicate-link';

/** One side of a conflict: every competing value is kept, the losing ones too. */
export interface CompetingValue {
	system: string;
	field?: string;
	value: unknown;
	at?: string;
	/** 'base' is the value both sides started from, the others are the competitors. */
	role: 'base' | 'golden' | 'incoming' | 'candidate';
}

export interface ConflictRecord {
	id: number;
	sync: string | null;
	runId: string | null;
	entity: string;
	key: string | null;
	system: string;
	externalId: string | null;
	kind: ConflictKind;
	status: 'open' | 'resolved';
	fields: string[];
	competing: CompetingValue[];
	/** The incoming item as it arrived (sensitive fields removed). */
	item: SyncItem;
	createdAt: string;
	resolvedAt: string | null;
	/** How it was settled: the policy's name for automatic ones, or what the reviewer chose. */
	resolution: unknown;
}

/**
 * `write`: a change the sync made in a target system (Commit: upsert or delete, ok or failed; `system` is
 * the target). The others say what happened to the golden record because of a source's change (`system`
 * is the source): `create`, `merge`, `delete`, `link`, `skip`, `conflict`, `resolve`. `invalid`: a source's
 * change the Mapper refused (Store "Record Invalid"), nothing synced; `error` names the fields.
 * `rollback`: a write Store Rollback planned (Commit; like `write`, `before` is what the system held, `after`
 * what was written back), or a change Rollback did not make because the record changed again (`conflict`).
 */
export type AuditAction = 'create' | 'merge' | 'delete' | 'link' | 'skip' | 'conflict' | 'resolve' | 'write' | 'invalid' | 'rollback';

export interface AuditEntry {
	id?: number;
	at: string;
	runId: string | null;
	sync: string | null;
	entity: string;
	key: string | null;
	system: string | null;
	externalId: string | null;
	action: AuditAction;
	before: CanonicalData | null;
	after: CanonicalData | null;
	actor: string | null;
	outcome: 'ok' | 'skipped' | 'conflict' | 'failed';
	error: string | null;
}

/** A change the Resolver planned for one target; Commit pairs the write result with it. */
export interface PlannedChange {
	runId: string;
	entity: string;
	key: string;
	system: string;
	op: 'upsert' | 'delete';
	data: CanonicalData;
	/**
	 * `deferred`: not planned because another run has the same create in flight, or (key `delivery:<hash>`,
	 * from the Loop Guard) a re-read of a change another run has not committed yet; it holds this run's cursor.
	 */
	status: 'planned' | 'failed' | 'deferred';
	createdAt: string;
	/** What the target link's sensitive digest becomes once this write is committed (the values travel in memory only). */
	sensitiveDigest?: SensitiveDigest | null;
	/** Why it is written: absent = the sync's own write; `rollback` = Store Rollback (Commit audits it so). */
	action?: 'rollback' | null;
}

export interface RunMetrics {
	received: number;
	created: number;
	updated: number;
	deleted: number;
	skipped: number;
	conflicts: number;
	planned: number;
	written: number;
	failed: number;
}

export interface RunRecord {
	runId: string;
	sync: string;
	startedAt: string;
	finishedAt: string | null;
	durationMs: number | null;
	metrics: RunMetrics;
	errors: number;
}

export interface SyncStatus {
	sync: string;
	system: string;
	entity: string;
	lastRunId: string | null;
	lastSuccessAt: string | null;
	lastFailureAt: string | null;
	written: number;
	failed: number;
}
