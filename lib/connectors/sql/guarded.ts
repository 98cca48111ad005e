/**
 * Conditional writes, the same for every dialect: in one transaction, the rows to update or delete are
 * read and locked, and a record is written only if its row is still at the version the caller expects;
 * a create is first looked up by its match values, and only inserted when no row holds them. Nothing is
 * ever written blind: a row that moved is `stale`, a linked row that is gone is `target-deleted` (never
 * re-inserted by an upsert), a create that finds its row is `matched`, one that finds several is
 * `ambiguous`. Each written row's version is read back after the write, in the same transaction.
 */
import type { GuardedOutcome, GuardedRecord, ReadRecord, SqlSession, SqlTransport, TableSpec, WriteOptions } from './types';

/** Whether a row is marked deleted by the table's soft-delete column. */
function softDeleted(spec: TableSpec, row: ReadRecord): boolean {
	if (!spec.softDelete) return false;
	const v = row.row[spec.softDelete.column];
	if (spec.softDelete.kind === 'timestamp') return v !== null && v !== undefined && v !== '';
	return v === true || v === 1 || v === '1' || v === 't' || v === 'true' || v === 'Y';
}

function sameVersion(current: string | null, expected: string | undefined): boolean {
	if (expected === undefined || current === null) return true;
	if (current === expected) return true;
	const a = Date.parse(current);
	const b = Date.parse(expected);
	return !Number.isNaN(a) && a === b;
}

/** The lower-cased, trimmed forms a match value may be stored in (composed and decomposed Unicode). */
function probes(value: string): string[] {
	const out = new Set<string>();
	for (const form of ['NFC', 'NFD'] as const) out.add(value.normalize(form).trim().toLowerCase());
	return [...out];
}

export async function writeGuarded(
	transport: SqlTransport,
	spec: TableSpec,
	records: GuardedRecord[],
	options: WriteOptions & { deleteMode: 'hard' | 'soft' },
): Promise<GuardedOutcome[]> {
	if (!records.length) return [];
	return transport.session((session) => decideAndWrite(session, spec, records, options));
}

async function decideAndWrite(
	session: SqlSession,
	spec: TableSpec,
	records: GuardedRecord[],
	options: WriteOptions & { deleteMode: 'hard' | 'soft' },
): Promise<GuardedOutcome[]> {
	const outcomes: Array<GuardedOutcome | undefined> = new Array(records.length);
	const ids = [...new Set(records.filter((r) => r.id !== null).map((r) => r.id as string))];
	const rows = new Map<string, ReadRecord>();
	if (ids.length) for (const row of await session.lockByIds(spec, ids)) rows.set(row.id, row);

	// Creates: every row holding one of their match values, per column, read (and locked) once.
	const byColumn = new Map<string, Set<string>>();
	for (const r of records) {
		if (r.id !== null || r.op !== 'upsert') continue;
		for (const m of r.match ?? []) {
			const set = byColumn.get(m.column) ?? new Set<string>();
			for (const p of probes(m.value)) set.add(p);
			byColumn.set(m.column, set);
		}
	}
	const candidates = new Map<string, ReadRecord[]>();
	for (const [column, values] of byColumn) candidates.set(column, await session.lockByMatch(spec, column, [...values]));

	const upserts: number[] = [];
	const deletes: number[] = [];
	/** Creates of this batch by match value: a second create of the same record becomes `matched` to the first. */
	const creating = new Map<string, number>();
	const follows = new Map<number, { first: number; column: string }>();
	records.forEach((r, i) => {
		if (r.id !== null) {
			const row = rows.get(r.id);
			if (!row || softDeleted(spec, row)) {
				// A delete of a row that is gone is done; an update of one is never an insert.
				if (r.op === 'delete') outcomes[i] = { outcome: 'written', id: r.id, version: null };
				else outcomes[i] = { outcome: 'target-deleted', id: r.id };
				return;
			}
			if (!sameVersion(row.updatedAt, r.expect)) {
				outcomes[i] = { outcome: 'stale', id: r.id, version: row.updatedAt };
				return;
			}
			(r.op === 'delete' ? deletes : upserts).push(i);
			return;
		}
		if (r.op === 'delete') return; // a delete needs an id: refused by the caller before
		for (const m of r.match ?? []) {
			const found = new Map<string, ReadRecord>();
			for (const row of candidates.get(m.column) ?? []) {
				const v = row.row[m.column];
				if (v !== null && v !== undefined && !softDeleted(spec, row) && m.normalise(String(v)) === m.value) found.set(row.id, row);
			}
			if (found.size > 1) {
				outcomes[i] = { outcome: 'ambiguous', ids: [...found.keys()].sort(), column: m.column };
				return;
			}
			if (found.size === 1) {
				const [row] = found.values();
				outcomes[i] = { outcome: 'matched', id: row.id, version: row.updatedAt, column: m.column };
				return;
			}
			const k = `${m.column}\u0000${m.value}`;
			const first = creating.get(k);
			if (first !== undefined) {
				follows.set(i, { first, column: m.column });
				return;
			}
		}
		for (const m of r.match ?? []) creating.set(`${m.column}\u0000${m.value}`, i);
		upserts.push(i);
	});

	const written = new Map<number, string>();
	if (upserts.length) {
		const newIds = await session.upsert(spec, upserts.map((i) => records[i]), options);
		upserts.forEach((i, k) => written.set(i, newIds[k]));
	}
	if (deletes.length) {
		await session.delete(spec, deletes.map((i) => records[i].id as string), options.deleteMode, options);
		for (const i of deletes) outcomes[i] = { outcome: 'written', id: records[i].id as string, version: null };
	}
	// The target's own versions after the write, read back in the same transaction.
	const after = new Map<string, string | null>();
	const writtenIds = [...new Set(written.values())];
	if (writtenIds.length) for (const row of await session.lockByIds(spec, writtenIds)) after.set(row.id, row.updatedAt);
	for (const [i, id] of written) outcomes[i] = { outcome: 'written', id, version: after.get(id) ?? null };
	for (const [i, f] of follows) {
		const id = written.get(f.first) as string;
		outcomes[i] = { outcome: 'matched', id, version: after.get(id) ?? null, column: f.column };
	}
	return outcomes.map((o, i) => {
		if (!o) throw new Error(`record ${records[i].label}: no outcome (a delete without id)`);
		return o;
	});
}
