/**
 * The sync store: every read and write the engine makes, each one statement per batch whatever the
 * batch's size (the batch is one parameter: one JSON text and one round trip on Postgres; SQLite, in
 * process, binds its rows a few hundred per statement), the same SQL on SQLite and Postgres.
 */
import type { SyncCursor, SyncItem } from '../../item';
import { RowBatch, type ColumnType, type Driver, type Sql, type SqlValue } from './driver';
import type {
	AuditEntry,
	CanonicalData,
	CompetingValue,
	ConflictKind,
	ConflictRecord,
	GoldenRecord,
	Link,
	LinkTombstone,
	PartialRead,
	PlannedChange,
	RunMetrics,
	RunRecord,
	SensitiveDigest,
	SyncStatus,
} from './types';

const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(text: unknown): T => JSON.parse(String(text)) as T;
const parseOrNull = <T>(text: unknown): T | null => (text === null || text === undefined ? null : parse<T>(text));
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
/** A sensitive_digest column: JSON text or NULL. */
const digestText = (d: SensitiveDigest | null | undefined): string | null => (d ? JSON.stringify(d) : null);

/**
 * A planned change older than this without a Commit belongs to an execution that died (n8n killed
 * between the write and Commit): it no longer holds back a re-delivery or a create of the same record.
 */
export const STUCK_MS = 60_000;

/**
 * The JSON texts of the objects a transaction printed, or read where Commit writes them again, so that an
 * object written again (a planned change's data stored as the link's base and in the audit, a golden
 * record stored with its audit and its planned changes) is printed once, or not at all. The engine never
 * changes a record object in place (it copies, then changes the copy), so an object's text stays true for
 * the transaction. A plain Map: it lives as long as the transaction, whose batch holds these objects anyway.
 */
type JsonTexts = Map<object, string>;

/** Parses a json column, remembering the text of an object for writing it again. */
function parseJson<T>(text: unknown, texts: JsonTexts | undefined): T {
	const value = parse<T>(text);
	if (texts !== undefined && typeof value === 'object' && value !== null) texts.set(value, text as string);
	return value;
}

type Origins = GoldenRecord['fields'];
type Origin = Origins[string];

/** A golden record's data as text and, once needed, parsed. */
type GoldenData = { text: string; data?: CanonicalData };

/**
 * A golden record's per-field origins as stored: `[origin, exceptions]`, the origin most fields share
 * and, for the others, their own (null: a field of the data with none; a field not in the data keeps its
 * origin there too). A record read or written whole has one origin for every field, so it is stored
 * once instead of once per field. Older rows hold the plain map (an object), read as it is.
 */
export function packOrigins(data: Record<string, unknown>, fields: Origins): Origins | [Origin, Record<string, Origin | null>] {
	const keys = Object.keys(fields);
	if (keys.length < 2) return fields;
	// Most records have one origin for every field: then that is the common one, found without a tally.
	const first = fields[keys[0]];
	let one = true;
	for (const k of keys) if (fields[k].system !== first.system || fields[k].at !== first.at) one = false;
	let common = { origin: first, n: keys.length };
	if (!one) {
		const tally = new Map<string, { origin: Origin; n: number }>();
		for (const k of keys) {
			const o = fields[k];
			const id = `${o.system}\u0000${o.at}`;
			const t = tally.get(id);
			if (t) t.n++;
			else tally.set(id, { origin: o, n: 1 });
		}
		common = [...tally.values()].reduce((a, b) => (b.n > a.n ? b : a));
	}
	if (common.n < 2) return fields;
	const same = (o: Origin | undefined) => o !== undefined && o.system === common.origin.system && o.at === common.origin.at;
	const exceptions: Record<string, Origin | null> = {};
	const put = (k: string, v: Origin | null) => Object.defineProperty(exceptions, k, { value: v, enumerable: true, writable: true, configurable: true });
	for (const k of keys) if (!same(fields[k]) || !Object.prototype.hasOwnProperty.call(data, k)) put(k, fields[k]);
	for (const k of Object.keys(data)) if (!Object.prototype.hasOwnProperty.call(fields, k)) put(k, null);
	return [{ system: common.origin.system, at: common.origin.at }, exceptions];
}

/** The per-field origins of a stored golden record (either form, see packOrigins). */
export function unpackOrigins(data: Record<string, unknown>, stored: unknown): Origins {
	if (!Array.isArray(stored)) return stored as Origins;
	const [common, exceptions] = stored as [Origin, Record<string, Origin | null>];
	const out: Origins = {};
	const put = (k: string, v: Origin) => Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
	for (const k of Object.keys(data)) {
		if (!Object.prototype.hasOwnProperty.call(exceptions, k)) put(k, { ...common });
		else if (exceptions[k] !== null) put(k, exceptions[k] as Origin);
	}
	for (const [k, v] of Object.entries(exceptions)) if (v !== null && !Object.prototype.hasOwnProperty.call(out, k)) put(k, v);
	return out;
}

function goldenFromRow(r: Record<string, unknown>): GoldenRecord {
	// Not remembered as texts: a golden record is stored again only once changed, as new objects.
	const data = parse<Record<string, unknown>>(r.data);
	return {
		entity: String(r.entity),
		key: String(r.key),
		data,
		fields: unpackOrigins(data, parse(r.fields)),
		version: Number(r.version),
		deleted: Number(r.deleted) === 1,
		updatedAt: String(r.updated_at),
		sensitiveDigest: parseOrNull<SensitiveDigest>(r.sensitive_digest),
	};
}

/**
 * A link's base as stored (store migration 13). Most links hold what their golden record holds, so a base
 * is kept by reference where it can be:
 * - `''`: the base is the golden record's data;
 * - `[set, unset]` (JSON, so it starts with `[`): the golden record's data with the top-level fields of
 *   `set` instead and without those `unset` names, where that is shorter than the base itself;
 * - a JSON object: the base itself (every row before migration 13, an empty base, and bases far from the
 *   golden record).
 * A golden record's data changes only in saveGolden, which first re-expresses every link referring to it
 * against the new data (see StoreTx.rebaseLinks), so a reference always means the data it was made against.
 */
export function encodeBase(base: CanonicalData, baseText: string, golden: CanonicalData | undefined, goldenText: string | undefined): string {
	if (golden === undefined || goldenText === undefined || baseText === '{}') return baseText;
	if (baseText === goldenText) return '';
	const set: CanonicalData = {};
	for (const k of Object.keys(base)) {
		if (!Object.prototype.hasOwnProperty.call(golden, k) || !sameJson(base[k], golden[k])) {
			Object.defineProperty(set, k, { value: base[k], enumerable: true, writable: true, configurable: true });
		}
	}
	const unset = Object.keys(golden).filter((k) => !Object.prototype.hasOwnProperty.call(base, k));
	if (unset.length === 0 && Object.keys(set).length === 0) return '';
	const diff = JSON.stringify([set, unset]);
	return diff.length < baseText.length ? diff : baseText;
}

/** Whether two JSON values print as the same JSON text (objects: the same keys in the same order), without printing them. */
function sameJson(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
	if (Array.isArray(a)) {
		if (!Array.isArray(b) || a.length !== b.length) return false;
		for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
		return true;
	}
	if (Array.isArray(b)) return false;
	const ka = Object.keys(a);
	const kb = Object.keys(b);
	if (ka.length !== kb.length) return false;
	for (let i = 0; i < ka.length; i++) {
		if (ka[i] !== kb[i] || !sameJson((a as Record<string, unknown>)[ka[i]], (b as Record<string, unknown>)[kb[i]])) return false;
	}
	return true;
}

/** A link's base from its stored form (see encodeBase) and its golden record's data (null: no such record). */
export function decodeBase(stored: string, goldenText: string | null, where: () => string): CanonicalData {
	if (goldenText === null) throw new Error(`The sync store's link ${where()} refers to its golden record's data, but that record is missing`);
	const golden = parse<CanonicalData>(goldenText);
	if (stored === '') return golden;
	const [set, unset] = parse<[CanonicalData, string[]]>(stored);
	for (const k of unset) delete golden[k];
	for (const k of Object.keys(set)) Object.defineProperty(golden, k, { value: set[k], enumerable: true, writable: true, configurable: true });
	return golden;
}

/** Whether a stored base refers to its golden record's data (see encodeBase). */
const byReference = (stored: string): boolean => stored === '' || stored.charCodeAt(0) === 91; /* [ */

/** The columns of a link read with its base: the golden record's data comes along where the base refers to it. */
const LINK_COLUMNS = `l.*, CASE WHEN l.base = '' OR substr(l.base, 1, 1) = '[' THEN g.data END AS golden_data`;
const LINK_GOLDEN = 'LEFT JOIN golden_record g ON g.entity = l.entity AND g.key = l.key';

function linkFromRow(r: Record<string, unknown>, texts?: JsonTexts): Link {
	const stored = String(r.base);
	let base: CanonicalData;
	if (byReference(stored)) {
		const goldenText = r.golden_data === null || r.golden_data === undefined ? null : String(r.golden_data);
		base = decodeBase(stored, goldenText, () => `${String(r.entity)}/${String(r.key)} in ${String(r.system)} (${String(r.external_id)})`);
		if (stored === '' && texts !== undefined) texts.set(base, goldenText as string);
	} else base = parseJson(stored, texts);
	return {
		entity: String(r.entity),
		key: String(r.key),
		system: String(r.system),
		externalId: String(r.external_id),
		base,
		writtenHash: str(r.written_hash),
		writtenAt: str(r.written_at),
		sourceAt: str(r.source_at),
		partial: parseOrNull<PartialRead>(r.fields_at),
		sensitiveDigest: parseOrNull<SensitiveDigest>(r.sensitive_digest),
	};
}

function conflictFromRow(r: Record<string, unknown>): ConflictRecord {
	return {
		id: Number(r.id),
		sync: str(r.sync),
		runId: str(r.run_id),
		entity: String(r.entity),
		key: str(r.key),
		system: String(r.system),
		externalId: str(r.external_id),
		kind: String(r.kind) as ConflictKind,
		status: String(r.status) as ConflictRecord['status'],
		fields: parse(r.fields),
		competing: parse(r.competing),
		item: parse(r.item),
		createdAt: String(r.created_at),
		resolvedAt: str(r.resolved_at),
		resolution: parseOrNull(r.resolution),
	};
}

/**
 * An audit entry's `after` is stored as `''` where it is its golden record's data at the time (a create,
 * and the writes of that data to the other systems), until that data changes: saveGolden first stores the
 * data it replaces in those entries (StoreTx.ownCopies).
 */
function auditFromRow(r: Record<string, unknown>, golden?: Map<string, string>): AuditEntry {
	let after: AuditEntry['after'];
	if (r.after === '') {
		const text = golden?.get(`${String(r.entity)}\u0000${String(r.key)}`);
		if (text === undefined) throw new Error(`The sync store's audit entry ${String(r.id)} (${String(r.entity)}/${String(r.key)}) refers to its golden record's data, but that record is missing`);
		after = parse(text);
	} else after = parseOrNull(r.after);
	return {
		id: Number(r.id),
		at: String(r.at),
		runId: str(r.run_id),
		sync: str(r.sync),
		entity: String(r.entity),
		key: str(r.key),
		system: str(r.system),
		externalId: str(r.external_id),
		action: String(r.action) as AuditEntry['action'],
		before: parseOrNull(r.before),
		after,
		actor: str(r.actor),
		outcome: String(r.outcome) as AuditEntry['outcome'],
		error: str(r.error),
	};
}

function missingGolden(r: Record<string, unknown>): never {
	throw new Error(`The sync store's planned change of ${String(r.entity)}/${String(r.key)} for ${String(r.system)} refers to its golden record's data, but that record is missing`);
}

/** Audit rows as entries: the golden data the rows referring to it need is read in one statement. */
async function auditFromRows(sql: Sql, rows: Array<Record<string, unknown>>): Promise<AuditEntry[]> {
	const refs = new Map<string, { entity: string; key: string }>();
	for (const r of rows) if (r.after === '' && r.key !== null && r.key !== undefined) refs.set(`${String(r.entity)}\u0000${String(r.key)}`, { entity: String(r.entity), key: String(r.key) });
	const golden = new Map<string, string>();
	if (refs.size) {
		const columns = { entity: 'text', key: 'text' } as const;
		const data = await sql.all(
			`SELECT g.entity, g.key, g.data FROM ${sql.rows(columns, 'r')} ${sql.dialect === 'sqlite' ? 'CROSS JOIN' : 'JOIN'} golden_record g ON g.entity = r.entity AND g.key = r.key`,
			[RowBatch.of(columns, [...refs.values()], (x) => x)],
		);
		for (const row of data) golden.set(`${String(row.entity)}\u0000${String(row.key)}`, String(row.data));
	}
	return rows.map((r) => auditFromRow(r, golden));
}

export const EMPTY_METRICS: RunMetrics = {
	received: 0,
	created: 0,
	updated: 0,
	deleted: 0,
	skipped: 0,
	conflicts: 0,
	planned: 0,
	written: 0,
	failed: 0,
};

export interface NewConflict {
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
	item: SyncItem;
	resolution: unknown;
}

/** The store's statements inside one transaction. The engine composes its batch operations from these. */
export class StoreTx {
	/** See JsonTexts. */
	private readonly texts: JsonTexts = new Map();

	/**
	 * The data of golden records as it is now in this transaction (read or written in it), as text and,
	 * once needed, parsed: what a link's base is stored against (encodeBase).
	 */
	private readonly goldenData = new Map<string, Map<string, GoldenData>>();

	/** A golden record's data as it is now in this transaction (see goldenData), where the transaction has it. */
	private goldenAt(entity: string, key: string): GoldenData | undefined {
		return this.goldenData.get(entity)?.get(key);
	}

	private setGoldenAt(entity: string, key: string, data: GoldenData): void {
		let byKey = this.goldenData.get(entity);
		if (byKey === undefined) this.goldenData.set(entity, (byKey = new Map()));
		byKey.set(key, data);
	}

	/**
	 * The stored base (encodeBase) of every link of the records whose links were all read in this
	 * transaction (linksByKey), kept up to date as the transaction writes links: rebaseLinks works from it
	 * instead of reading those links again. What was read stays what is stored, but for the transaction's
	 * own writes: Postgres runs it SERIALIZABLE, SQLite one transaction at a time.
	 */
	private readonly linkBases = new Map<string, Map<string, Map<string, string>>>();

	/** The stored bases of a record's links by system (see linkBases), where the transaction has them all. */
	private basesOf(entity: string, key: string): Map<string, string> | undefined {
		return this.linkBases.get(entity)?.get(key);
	}

	constructor(
		readonly sql: Sql,
		readonly now: string,
	) {}

	/** The JSON text of a json column's value: an object read or printed before in this transaction is not printed again. */
	private readonly print = (value: unknown): string => {
		if (typeof value !== 'object' || value === null) return JSON.stringify(value);
		let text = this.texts.get(value);
		if (text === undefined) this.texts.set(value, (text = JSON.stringify(value)));
		return text;
	};

	/** A batch as a row source: its FROM clause and the one parameter that carries it (see RowBatch). */
	private batch<T>(columns: Record<string, ColumnType>, list: readonly T[], row: (item: T) => Record<string, unknown>) {
		return { from: this.sql.rows(columns, 'r'), param: RowBatch.of(columns, list, row, this.print) };
	}

	/** A list of run ids as a row source (`r.run_id`). */
	runIdBatch(runIds: readonly string[]) {
		return this.batch({ run_id: 'text' }, [...new Set(runIds)], (run_id) => ({ run_id }));
	}

	/** See `join`. */
	get joinKeyword(): string {
		return this.join;
	}

	private keyBatch(keys: readonly string[]) {
		return this.batch({ key: 'text' }, keys, (key) => ({ key }));
	}

	/**
	 * How a batch is joined to a table. SQLite cannot estimate how many rows json_each yields and may put
	 * the table in the outer loop, scanning the batch once per table row; CROSS JOIN keeps the batch
	 * outside, so each batch row probes the table's index and the cost follows the batch, not the table.
	 */
	private get join(): string {
		return this.sql.dialect === 'sqlite' ? 'CROSS JOIN' : 'JOIN';
	}

	/** DELETE of the rows of `table` that match the batch `source` (its parameter first, then the condition's). */
	private deleteMatching(table: string, alias: string, source: string, condition: string): string {
		return this.sql.dialect === 'sqlite'
			? `DELETE FROM ${table} WHERE rowid IN (SELECT ${alias}.rowid FROM ${source} CROSS JOIN ${table} ${alias} ON ${condition})`
			: `DELETE FROM ${table} ${alias} USING ${source} WHERE ${condition}`;
	}

	async linksByExternalId(entity: string, refs: Array<{ system: string; id: string }>): Promise<Link[]> {
		if (!refs.length) return [];
		const r = this.batch({ system: 'text', id: 'text' }, refs, (ref) => ref);
		const rows = await this.sql.all(`SELECT ${LINK_COLUMNS} FROM ${r.from} ${this.join} link l ON l.entity = ? AND l.system = r.system AND l.external_id = r.id ${LINK_GOLDEN}`, [
			r.param,
			entity,
		]);
		return rows.map((row) => linkFromRow(row));
	}

	/**
	 * Which golden record each of these external records is linked to, and the hash last written there:
	 * the link's identity without its base snapshot (not read, not parsed).
	 */
	async linkRefsByExternalId(
		entity: string,
		refs: Array<{ system: string; id: string }>,
	): Promise<Array<{ key: string; system: string; externalId: string; writtenHash: string | null }>> {
		if (!refs.length) return [];
		const r = this.batch({ system: 'text', id: 'text' }, refs, (ref) => ref);
		const rows = await this.sql.all(
			`SELECT l.key, l.system, l.external_id, l.written_hash FROM ${r.from} ${this.join} link l ON l.entity = ? AND l.system = r.system AND l.external_id = r.id`,
			[r.param, entity],
		);
		return rows.map((row) => ({ key: String(row.key), system: String(row.system), externalId: String(row.external_id), writtenHash: str(row.written_hash) }));
	}

	async linksByKey(entity: string, keys: string[]): Promise<Link[]> {
		if (!keys.length) return [];
		const r = this.keyBatch(keys);
		const rows = await this.sql.all(`SELECT ${LINK_COLUMNS} FROM ${r.from} ${this.join} link l ON l.entity = ? AND l.key = r.key ${LINK_GOLDEN} ORDER BY l.key, l.system`, [
			r.param,
			entity,
		]);
		let bases = this.linkBases.get(entity);
		if (bases === undefined) this.linkBases.set(entity, (bases = new Map()));
		for (const key of keys) bases.set(key, new Map());
		for (const row of rows) bases.get(String(row.key))?.set(String(row.system), String(row.base));
		return rows.map((row) => linkFromRow(row));
	}

	/** The links of these (key, system) pairs, where they exist (Commit: their base texts are kept, see JsonTexts). */
	async linksByRef(entity: string, refs: Array<{ key: string; system: string }>): Promise<Link[]> {
		if (!refs.length) return [];
		const r = this.batch({ key: 'text', system: 'text' }, refs, (ref) => ref);
		const rows = await this.sql.all(`SELECT ${LINK_COLUMNS} FROM ${r.from} ${this.join} link l ON l.entity = ? AND l.key = r.key AND l.system = r.system ${LINK_GOLDEN}`, [
			r.param,
			entity,
		]);
		return rows.map((row) => linkFromRow(row, this.texts));
	}

	async goldenByKey(entity: string, keys: string[]): Promise<GoldenRecord[]> {
		if (!keys.length) return [];
		const r = this.keyBatch(keys);
		const rows = await this.sql.all(`SELECT g.* FROM ${r.from} ${this.join} golden_record g ON g.entity = ? AND g.key = r.key`, [r.param, entity]);
		return rows.map((row) => {
			const record = goldenFromRow(row);
			this.setGoldenAt(entity, record.key, { text: String(row.data) });
			return record;
		});
	}

	/** Golden records (not deleted) whose match value equals one of `values`. */
	async matchValues(entity: string, values: Array<{ field: string; value: string }>): Promise<Array<{ field: string; value: string; key: string }>> {
		if (!values.length) return [];
		const r = this.batch({ field: 'text', value: 'text' }, values, (v) => v);
		const rows = await this.sql.all(
			`SELECT m.field, m.value, m.key FROM ${r.from} ${this.join} match_value m ON m.entity = ? AND m.field = r.field AND m.value = r.value`,
			[r.param, entity],
		);
		return rows.map((r) => ({ field: String(r.field), value: String(r.value), key: String(r.key) }));
	}

	/**
	 * Stores golden records, and makes their match values exactly `matchValues`. `fresh`: keys of records
	 * created in this transaction, which have no match values stored yet. `relinked`: the links (key and
	 * system) the caller saves or deletes next in this transaction (saveLinks, deleteLinks), whose bases
	 * are then written against the new data: not re-expressed first.
	 */
	async saveGolden(
		records: GoldenRecord[],
		matchValues: Array<{ key: string; field: string; value: string }>,
		fresh?: ReadonlySet<string>,
		relinked?: Iterable<{ key: string; system: string }>,
	): Promise<void> {
		if (!records.length) return;
		const entity = records[0].entity;
		const before = fresh?.size ? records.filter((g) => !fresh.has(g.key)) : records;
		const next = new Map<string, Set<string>>();
		for (const l of relinked ?? []) {
			const systems = next.get(l.key);
			if (systems) systems.add(l.system);
			else next.set(l.key, new Set([l.system]));
		}
		await this.rebaseLinks(entity, before, next);
		await this.ownCopies(entity, before);
		const r = this.batch(
			{ entity: 'text', key: 'text', data: 'json', fields: 'json', version: 'int', deleted: 'int', updated_at: 'text', sensitive_digest: 'text' },
			records,
			(g) => ({
				entity: g.entity,
				key: g.key,
				data: g.data,
				fields: packOrigins(g.data, g.fields),
				version: g.version,
				deleted: g.deleted ? 1 : 0,
				updated_at: g.updatedAt,
				sensitive_digest: digestText(g.sensitiveDigest),
			}),
		);
		await this.sql.run(
			`INSERT INTO golden_record (entity, key, data, fields, version, deleted, updated_at, sensitive_digest)
			SELECT r.entity, r.key, r.data, r.fields, r.version, r.deleted, r.updated_at, r.sensitive_digest
			FROM ${r.from}
			WHERE true
			ON CONFLICT (entity, key) DO UPDATE SET data = excluded.data, fields = excluded.fields,
				version = excluded.version, deleted = excluded.deleted, updated_at = excluded.updated_at,
				sensitive_digest = excluded.sensitive_digest`,
			[r.param],
		);
		for (const g of records) this.setGoldenAt(g.entity, g.key, { text: this.print(g.data), data: g.data });
		// The match values of these records become exactly `matchValues`. Most saves leave them as they
		// were (an update of other fields), so only the difference is written, not every row again.
		const known = fresh?.size ? records.filter((g) => !fresh.has(g.key)) : records;
		let stored: Array<{ field: string; value: string; key: string }> = [];
		if (known.length) {
			const keys = this.keyBatch(known.map((g) => g.key));
			// SQLite would take the primary key as a covering index on entity alone, scanning the whole entity per record.
			const byKey = this.sql.dialect === 'sqlite' ? 'match_value m INDEXED BY match_value_key' : 'match_value m';
			stored = await this.sql.all<{ field: string; value: string; key: string }>(
				`SELECT m.field, m.value, m.key FROM ${keys.from} ${this.join} ${byKey} ON m.entity = ? AND m.key = r.key`,
				[keys.param, entity],
			);
		}
		const id = (m: { field: string; value: string; key: string }) => `${m.key}\u0000${m.field}\u0000${m.value}`;
		let stale = stored;
		let missing = matchValues;
		if (stored.length) {
			const wanted = new Set(matchValues.map(id));
			const have = new Set(stored.map(id));
			stale = stored.filter((m) => !wanted.has(id(m)));
			missing = matchValues.filter((m) => !have.has(id(m)));
		}
		if (stale.length) {
			const m = this.batch({ field: 'text', value: 'text', key: 'text' }, stale, (v) => v);
			await this.sql.run(this.deleteMatching('match_value', 'm', m.from, 'm.entity = ? AND m.field = r.field AND m.value = r.value AND m.key = r.key'), [
				m.param,
				entity,
			]);
		}
		if (missing.length) {
			const m = this.batch({ field: 'text', value: 'text', key: 'text' }, missing, (v) => v);
			await this.sql.run(
				`INSERT INTO match_value (entity, field, value, key)
				SELECT ?, r.field, r.value, r.key FROM ${m.from}
				WHERE true ON CONFLICT DO NOTHING`,
				[entity, m.param],
			);
		}
	}

	/**
	 * Before golden records' data changes: the links whose base refers to it (encodeBase) are stored
	 * against the new data instead, so each still means the base it had.
	 */
	private async rebaseLinks(entity: string, records: GoldenRecord[], relinked: ReadonlyMap<string, ReadonlySet<string>>): Promise<void> {
		if (!records.length) return;
		const byKey = new Map(records.map((g) => [g.key, g]));
		// The links by reference of these records, with their golden record's data as stored: from what this
		// transaction read and wrote where it has all of a record's links and its data, from the store otherwise.
		const refs: Array<{ key: string; system: string; stored: string; oldText: string }> = [];
		const unread: string[] = [];
		for (const key of byKey.keys()) {
			const bases = this.basesOf(entity, key);
			const golden = this.goldenAt(entity, key);
			if (bases === undefined || golden === undefined) {
				unread.push(key);
				continue;
			}
			for (const [system, stored] of bases) if (byReference(stored)) refs.push({ key, system, stored, oldText: golden.text });
		}
		if (unread.length) {
			const keys = this.keyBatch(unread);
			// On Postgres each key's links through the index (as in ownCopies: statistics older than the rows
			// must not make it start from the link table with the base filter).
			const rows = await this.sql.all(
				this.sql.dialect === 'postgres'
					? `SELECT l.key, l.system, l.base, g.data AS golden_data FROM ${keys.from}
						CROSS JOIN LATERAL (SELECT l.key, l.system, l.base FROM link l WHERE l.entity = ? AND l.key = r.key AND (l.base = '' OR substr(l.base, 1, 1) = '[') OFFSET 0) l
						JOIN golden_record g ON g.entity = ? AND g.key = l.key`
					: `SELECT l.key, l.system, l.base, g.data AS golden_data FROM ${keys.from} ${this.join} link l ON l.entity = ? AND l.key = r.key
						JOIN golden_record g ON g.entity = l.entity AND g.key = l.key
						WHERE l.base = '' OR substr(l.base, 1, 1) = '['`,
				this.sql.dialect === 'postgres' ? [keys.param, entity, entity] : [keys.param, entity],
			);
			for (const row of rows) refs.push({ key: String(row.key), system: String(row.system), stored: String(row.base), oldText: String(row.golden_data) });
		}
		const moved: Array<{ key: string; system: string; base: string }> = [];
		for (const ref of refs) {
			if (relinked.get(ref.key)?.has(ref.system)) continue;
			const record = byKey.get(ref.key) as GoldenRecord;
			const newText = this.print(record.data);
			if (newText === ref.oldText) continue;
			const base = decodeBase(ref.stored, ref.oldText, () => `${entity}/${ref.key} in ${ref.system}`);
			// A base that is the old data has that data's text.
			const base2 = encodeBase(base, ref.stored === '' ? ref.oldText : JSON.stringify(base), record.data, newText);
			if (base2 !== ref.stored) moved.push({ key: ref.key, system: ref.system, base: base2 });
		}
		if (!moved.length) return;
		const u = this.batch({ key: 'text', system: 'text', base: 'text' }, moved, (m) => m);
		await this.sql.run(`UPDATE link SET base = r.base FROM ${u.from} WHERE link.entity = ? AND link.key = r.key AND link.system = r.system`, [u.param, entity]);
		for (const m of moved) this.basesOf(entity, m.key)?.set(m.system, m.base);
	}

	/**
	 * Before golden records' data changes: the audit entries whose `after` and the planned changes whose
	 * data refer to it (auditFromRow, plannedChanges) get the data itself. Only records whose data this save
	 * changes (or may: not read in this transaction).
	 */
	private async ownCopies(entity: string, records: GoldenRecord[]): Promise<void> {
		const changing = records.filter((g) => this.goldenAt(entity, g.key)?.text !== this.print(g.data));
		if (!changing.length) return;
		for (const [table, column] of [
			['audit', 'after'],
			['planned_change', 'data'],
		]) {
			const r = this.keyBatch(changing.map((g) => g.key));
			await this.sql.run(
				this.sql.dialect === 'sqlite'
					? `UPDATE ${table} SET ${column} = (SELECT g.data FROM golden_record g WHERE g.entity = ${table}.entity AND g.key = ${table}.key)
						WHERE rowid IN (SELECT t.rowid FROM ${r.from} CROSS JOIN ${table} t ON t.entity = ? AND t.key = r.key AND t.${column} = '')`
					: // Each key's rows found through its index (LATERAL … OFFSET 0 keeps the order), then by row id: the
						// plain join let Postgres start from the table when its statistics were older than the rows
						// (they said almost no row refers to its golden record), reading the key list again for
						// each row: 14 s for a page of 5,000 updates.
						`UPDATE ${table} t SET ${column} = s.data
						FROM (SELECT x.tid, g.data FROM ${r.from} JOIN golden_record g ON g.entity = ? AND g.key = r.key
							CROSS JOIN LATERAL (SELECT a.ctid AS tid FROM ${table} a WHERE a.entity = g.entity AND a.key = g.key AND a.${column} = '' OFFSET 0) x) s
						WHERE t.ctid = s.tid`,
				[r.param, entity],
			);
		}
	}

	/** The data of the golden records of these links as it is now, as text and parsed (absent: no record yet). */
	private async goldenOf(links: ReadonlyArray<{ entity: string; key: string | null }>): Promise<void> {
		const missing = new Map<string, { entity: string; key: string }>();
		for (const l of links) {
			if (l.key === null || this.goldenAt(l.entity, l.key) !== undefined) continue;
			missing.set(`${l.entity}\u0000${l.key}`, { entity: l.entity, key: l.key });
		}
		if (missing.size) {
			const r = this.batch({ entity: 'text', key: 'text' }, [...missing.values()], (m) => m);
			const rows = await this.sql.all(`SELECT g.entity, g.key, g.data FROM ${r.from} ${this.join} golden_record g ON g.entity = r.entity AND g.key = r.key`, [r.param]);
			for (const row of rows) this.setGoldenAt(String(row.entity), String(row.key), { text: String(row.data) });
		}
	}

	/** How a link's base is stored now: by reference to its golden record's data where it can be (encodeBase). */
	private storedBase(l: Link): string {
		const text = this.print(l.base);
		const g = this.goldenAt(l.entity, l.key);
		if (g === undefined) return text;
		if (text === g.text) return text === '{}' ? text : '';
		g.data ??= parse<CanonicalData>(g.text);
		return encodeBase(l.base, text, g.data, g.text);
	}

	async saveLinks(links: Link[]): Promise<void> {
		if (!links.length) return;
		await this.goldenOf(links);
		const stored = new Map<Link, string>();
		for (const l of links) {
			const base = this.storedBase(l);
			stored.set(l, base);
			this.basesOf(l.entity, l.key)?.set(l.system, base);
		}
		const r = this.batch(
			{
				entity: 'text',
				key: 'text',
				system: 'text',
				external_id: 'text',
				base: 'text',
				written_hash: 'text',
				written_at: 'text',
				source_at: 'text',
				fields_at: 'text',
				sensitive_digest: 'text',
			},
			links,
			(l) => ({
				entity: l.entity,
				key: l.key,
				system: l.system,
				external_id: l.externalId,
				base: stored.get(l) as string,
				written_hash: l.writtenHash,
				written_at: l.writtenAt,
				source_at: l.sourceAt,
				fields_at: l.partial ? JSON.stringify(l.partial) : null,
				sensitive_digest: digestText(l.sensitiveDigest),
			}),
		);
		await this.sql.run(
			`INSERT INTO link (entity, key, system, external_id, base, written_hash, written_at, source_at, fields_at, sensitive_digest, updated_at)
			SELECT r.entity, r.key, r.system, r.external_id, r.base, r.written_hash, r.written_at, r.source_at, r.fields_at, r.sensitive_digest, ?
			FROM ${r.from}
			WHERE true
			ON CONFLICT (entity, key, system) DO UPDATE SET external_id = excluded.external_id, base = excluded.base,
				written_hash = excluded.written_hash, written_at = excluded.written_at, source_at = excluded.source_at,
				fields_at = excluded.fields_at, sensitive_digest = excluded.sensitive_digest, updated_at = excluded.updated_at`,
			[this.now, r.param],
		);
	}

	async deleteLinks(entity: string, refs: Array<{ key: string; system: string }>): Promise<void> {
		if (!refs.length) return;
		const r = this.batch({ key: 'text', system: 'text' }, refs, (ref) => ref);
		await this.sql.run(this.deleteMatching('link', 'l', r.from, 'l.entity = ? AND l.key = r.key AND l.system = r.system'), [r.param, entity]);
		for (const ref of refs) this.basesOf(entity, ref.key)?.delete(ref.system);
	}

	async saveTombstones(list: LinkTombstone[]): Promise<void> {
		if (!list.length) return;
		// One row per record, the last one given (a delete delivered twice in one batch): Postgres refuses an
		// upsert that meets its own row twice.
		const tombstones = [...new Map(list.map((t) => [`${t.entity}\u0000${t.system}\u0000${t.externalId}`, t])).values()];
		const r = this.batch({ entity: 'text', system: 'text', external_id: 'text', key: 'text', deleted_at: 'text' }, tombstones, (t) => ({
			entity: t.entity,
			system: t.system,
			external_id: t.externalId,
			key: t.key,
			deleted_at: t.deletedAt,
		}));
		await this.sql.run(
			`INSERT INTO link_tombstone (entity, system, external_id, key, deleted_at, created_at)
			SELECT r.entity, r.system, r.external_id, r.key, r.deleted_at, ?
			FROM ${r.from}
			WHERE true
			ON CONFLICT (entity, system, external_id) DO UPDATE SET key = excluded.key, deleted_at = excluded.deleted_at`,
			[this.now, r.param],
		);
	}

	async tombstones(entity: string, refs: Array<{ system: string; id: string }>): Promise<LinkTombstone[]> {
		if (!refs.length) return [];
		const r = this.batch({ system: 'text', id: 'text' }, refs, (ref) => ref);
		const rows = await this.sql.all(
			`SELECT t.* FROM ${r.from} ${this.join} link_tombstone t ON t.entity = ? AND t.system = r.system AND t.external_id = r.id`,
			[r.param, entity],
		);
		return rows.map((r) => ({
			entity: String(r.entity),
			system: String(r.system),
			externalId: String(r.external_id),
			key: String(r.key),
			deletedAt: str(r.deleted_at),
		}));
	}

	async insertAudit(entries: AuditEntry[]): Promise<void> {
		if (!entries.length) return;
		await this.goldenOf(entries.filter((e) => e.after !== null && e.key !== null));
		const storedAfter = (e: AuditEntry): string | null => {
			if (e.after === null || e.after === undefined) return null;
			const text = this.print(e.after);
			return e.key !== null && text !== '{}' && this.goldenAt(e.entity, e.key)?.text === text ? '' : text;
		};
		const r = this.batch(
			{
				at: 'text',
				run_id: 'text',
				sync: 'text',
				entity: 'text',
				key: 'text',
				system: 'text',
				external_id: 'text',
				action: 'text',
				before: 'json',
				after: 'text',
				actor: 'text',
				outcome: 'text',
				error: 'text',
			},
			entries,
			(e) => ({
				at: e.at,
				run_id: e.runId,
				sync: e.sync,
				entity: e.entity,
				key: e.key,
				system: e.system,
				external_id: e.externalId,
				action: e.action,
				before: e.before,
				after: storedAfter(e),
				actor: e.actor,
				outcome: e.outcome,
				error: e.error,
			}),
		);
		await this.sql.run(
			`INSERT INTO audit (at, run_id, sync, entity, key, system, external_id, action, before, after, actor, outcome, error)
			SELECT r.at, r.run_id, r.sync, r.entity, r.key, r.system, r.external_id, r.action, r.before, r.after, r.actor,
				r.outcome, r.error
			FROM ${r.from}`,
			[r.param],
		);
	}

	async insertConflicts(conflicts: NewConflict[]): Promise<void> {
		if (!conflicts.length) return;
		const r = this.batch(
			{
				sync: 'text',
				run_id: 'text',
				entity: 'text',
				key: 'text',
				system: 'text',
				external_id: 'text',
				kind: 'text',
				status: 'text',
				fields: 'json',
				competing: 'json',
				item: 'json',
				resolved_at: 'text',
				resolution: 'json',
			},
			conflicts,
			(c) => ({
				sync: c.sync,
				run_id: c.runId,
				entity: c.entity,
				key: c.key,
				system: c.system,
				external_id: c.externalId,
				kind: c.kind,
				status: c.status,
				fields: c.fields,
				competing: c.competing,
				item: c.item,
				resolved_at: c.status === 'resolved' ? this.now : null,
				resolution: c.resolution ?? null,
			}),
		);
		await this.sql.run(
			`INSERT INTO conflict (sync, run_id, entity, key, system, external_id, kind, status, fields, competing, item,
				created_at, resolved_at, resolution)
			SELECT r.sync, r.run_id, r.entity, r.key, r.system, r.external_id, r.kind, r.status, r.fields, r.competing, r.item,
				?, r.resolved_at, r.resolution
			FROM ${r.from}`,
			[this.now, r.param],
		);
	}

	async openConflictsByKey(entity: string, keys: string[]): Promise<ConflictRecord[]> {
		if (!keys.length) return [];
		const r = this.keyBatch(keys);
		const rows = await this.sql.all(
			`SELECT c.* FROM ${r.from} ${this.join} conflict c ON c.entity = ? AND c.key = r.key AND c.status = 'open' ORDER BY c.id`,
			[r.param, entity],
		);
		return rows.map(conflictFromRow);
	}

	/** Open conflicts of golden record `from` now wait on golden record `to` (the two were merged). */
	async moveOpenConflicts(entity: string, from: string, to: string): Promise<void> {
		await this.sql.run(`UPDATE conflict SET key = ? WHERE entity = ? AND key = ? AND status = 'open'`, [to, entity, from]);
	}

	async conflictById(id: number): Promise<ConflictRecord | null> {
		const rows = await this.sql.all(`SELECT * FROM conflict WHERE id = ?`, [id]);
		return rows.length ? conflictFromRow(rows[0]) : null;
	}

	async markConflictResolved(id: number, resolution: unknown, competing: CompetingValue[]): Promise<void> {
		await this.sql.run(`UPDATE conflict SET status = 'resolved', resolved_at = ?, resolution = ?, competing = ? WHERE id = ?`, [
			this.now,
			json(resolution),
			json(competing),
			id,
		]);
	}

	/** Stores planned changes; a change's data is `''` where it is its golden record's data (see ownCopies). */
	async savePlanned(changes: PlannedChange[]): Promise<void> {
		if (!changes.length) return;
		await this.goldenOf(changes);
		const storedData = (c: PlannedChange): string => {
			const text = this.print(c.data);
			return text !== '{}' && this.goldenAt(c.entity, c.key)?.text === text ? '' : text;
		};
		const r = this.batch(
			{ run_id: 'text', entity: 'text', key: 'text', system: 'text', op: 'text', data: 'text', status: 'text', created_at: 'text', sensitive_digest: 'text', action: 'text' },
			changes,
			(c) => ({
				run_id: c.runId,
				entity: c.entity,
				key: c.key,
				system: c.system,
				op: c.op,
				data: storedData(c),
				status: c.status,
				created_at: c.createdAt,
				sensitive_digest: digestText(c.sensitiveDigest),
				action: c.action ?? null,
			}),
		);
		await this.sql.run(
			`INSERT INTO planned_change (run_id, entity, key, system, op, data, status, created_at, sensitive_digest, action)
			SELECT r.run_id, r.entity, r.key, r.system, r.op, r.data, r.status, r.created_at, r.sensitive_digest, r.action
			FROM ${r.from}
			WHERE true
			ON CONFLICT (run_id, entity, key, system) DO UPDATE SET op = excluded.op, data = excluded.data,
				status = excluded.status, created_at = excluded.created_at, sensitive_digest = excluded.sensitive_digest,
				action = excluded.action`,
			[r.param],
		);
	}

	async plannedChanges(runId: string, refs: Array<{ entity: string; key: string; system: string }>): Promise<PlannedChange[]> {
		if (!refs.length) return [];
		const r = this.batch({ entity: 'text', key: 'text', system: 'text' }, refs, (ref) => ref);
		const rows = await this.sql.all(
			`SELECT p.*, CASE WHEN p.data = '' THEN g.data END AS golden_data
			FROM ${r.from} ${this.join} planned_change p ON p.run_id = ? AND p.entity = r.entity AND p.key = r.key AND p.system = r.system
			LEFT JOIN golden_record g ON g.entity = p.entity AND g.key = p.key`,
			[r.param, runId],
		);
		// A record planned for several targets has the same text in each: read it once, share it (never changed).
		const parsed = new Map<unknown, CanonicalData>();
		const data = (text: unknown) => {
			let value = parsed.get(text);
			if (value === undefined) parsed.set(text, (value = parseJson<CanonicalData>(text, this.texts)));
			return value;
		};
		return rows.map((r) => ({
			runId: String(r.run_id),
			entity: String(r.entity),
			key: String(r.key),
			system: String(r.system),
			op: String(r.op) as PlannedChange['op'],
			data: data(r.data === '' ? (r.golden_data ?? missingGolden(r)) : r.data),
			status: String(r.status) as PlannedChange['status'],
			createdAt: String(r.created_at),
			sensitiveDigest: parseOrNull<SensitiveDigest>(r.sensitive_digest),
			action: r.action === 'rollback' ? 'rollback' : null,
		}));
	}

	/**
	 * The successful writes of a sync (Commit's `write` and `rollback` entries), oldest first: of one run, one
	 * golden record or one system record, and/or a time span (`since` inclusive, `until` exclusive).
	 */
	async auditWrites(query: { sync: string; runId?: string; entity?: string; key?: string; system?: string; externalId?: string; since?: string; until?: string; limit: number }): Promise<AuditEntry[]> {
		const { where, params } = auditFilter(query, [`sync = ?`, `action IN ('write', 'rollback')`, `outcome = 'ok'`], [query.sync]);
		params.push(query.limit);
		const rows = await this.sql.all(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`, params);
		return auditFromRows(this.sql, rows);
	}

	/**
	 * Per (key, system) of `entity`: the newest audit entry that says the record changed there or in the
	 * golden record (every action but echo skips, links and failed writes), with its id, run and action.
	 */
	async latestChanges(entity: string, refs: Array<{ key: string; system: string }>): Promise<Map<string, { id: number; runId: string | null; action: string; at: string }>> {
		const out = new Map<string, { id: number; runId: string | null; action: string; at: string }>();
		if (!refs.length) return out;
		const r = this.batch({ key: 'text', system: 'text' }, refs, (ref) => ref);
		const rows = await this.sql.all(
			`SELECT a.key, a.system, a.id, a.run_id, a.action, a.at FROM ${r.from} ${this.join} audit a
			ON a.entity = ? AND a.key = r.key AND a.system = r.system AND a.action NOT IN ('skip', 'link') AND a.outcome <> 'failed'
			ORDER BY a.id`,
			[r.param, entity],
		);
		for (const row of rows) out.set(`${String(row.key)}\u0000${String(row.system)}`, { id: Number(row.id), runId: str(row.run_id), action: String(row.action), at: String(row.at) });
		return out;
	}

	/** The stored match values of these golden records. */
	async storedMatchValues(entity: string, keys: string[]): Promise<Array<{ key: string; field: string; value: string }>> {
		if (!keys.length) return [];
		const r = this.keyBatch(keys);
		const byKey = this.sql.dialect === 'sqlite' ? 'match_value m INDEXED BY match_value_key' : 'match_value m';
		const rows = await this.sql.all<{ field: string; value: string; key: string }>(
			`SELECT m.field, m.value, m.key FROM ${r.from} ${this.join} ${byKey} ON m.entity = ? AND m.key = r.key`,
			[r.param, entity],
		);
		return rows.map((m) => ({ key: String(m.key), field: String(m.field), value: String(m.value) }));
	}

	/** The key of the sensitive values' digests (made by migration 7; see lib/engine/sensitive.ts). */
	async sensitiveSecret(): Promise<string> {
		const rows = await this.sql.all<{ value: string }>(`SELECT value FROM store_meta WHERE name = 'sensitive_digest_secret'`);
		if (!rows.length) throw new Error('The sync store has no sensitive_digest_secret in store_meta (migration 7 makes it): open it with this version of n8n-nodes-datasync');
		return String(rows[0].value);
	}

	async deletePlanned(runId: string, refs: Array<{ entity: string; key: string; system: string }>): Promise<void> {
		if (!refs.length) return;
		const r = this.batch({ entity: 'text', key: 'text', system: 'text' }, refs, (ref) => ref);
		await this.sql.run(
			this.deleteMatching('planned_change', 'p', r.from, 'p.run_id = ? AND p.entity = r.entity AND p.key = r.key AND p.system = r.system'),
			[r.param, runId],
		);
	}

	async markPlannedFailed(runId: string, refs: Array<{ entity: string; key: string; system: string }>): Promise<void> {
		if (!refs.length) return;
		const r = this.batch({ entity: 'text', key: 'text', system: 'text' }, refs, (ref) => ref);
		await this.sql.run(
			this.sql.dialect === 'sqlite'
				? `UPDATE planned_change SET status = 'failed' WHERE rowid IN (SELECT p.rowid FROM ${r.from}
					CROSS JOIN planned_change p ON p.run_id = ? AND p.entity = r.entity AND p.key = r.key AND p.system = r.system)`
				: `UPDATE planned_change p SET status = 'failed' FROM ${r.from}
					WHERE p.run_id = ? AND p.entity = r.entity AND p.key = r.key AND p.system = r.system`,
			[r.param, runId],
		);
	}

	/**
	 * `key\0system` of the changes other runs have planned for these golden records and not yet committed
	 * (nor failed) within the last minute: the writes in flight. A create planned while another run's
	 * create of the same record to the same system is in flight would make the record twice.
	 */
	async plannedInFlight(entity: string, keys: string[], runId: string): Promise<Set<string>> {
		if (!keys.length) return new Set();
		const r = this.keyBatch(keys);
		const since = new Date(Date.parse(this.now) - STUCK_MS).toISOString();
		const rows = await this.sql.all(
			`SELECT p.key, p.system FROM ${r.from} ${this.join} planned_change p ON p.entity = ? AND p.key = r.key
			WHERE p.run_id <> ? AND p.status = 'planned' AND p.created_at >= ?`,
			[r.param, entity, runId, since],
		);
		return new Set(rows.map((row) => `${row.key}\u0000${row.system}`));
	}

	async countPlanned(runId: string): Promise<number> {
		const rows = await this.sql.all(`SELECT count(*) AS n FROM planned_change WHERE run_id = ?`, [runId]);
		return Number(rows[0].n);
	}

	/** Remembers the furthest source position a run has read; Commit moves it to the cursor. */
	async saveRunCursors(runId: string, cursors: Array<{ sync: string; system: string; entity: string; cursor: SyncCursor }>): Promise<void> {
		if (!cursors.length) return;
		const existing = await this.runCursors(runId);
		// The furthest per (sync, system, entity); a page has one cursor per record, so each is ordered once.
		const merged = new Map<string, { c: { sync: string; system: string; entity: string; cursor: SyncCursor }; order: CursorOrder }>();
		const add = (c: { sync: string; system: string; entity: string; cursor: SyncCursor }) => {
			const k = `${c.sync}\u0000${c.system}\u0000${c.entity}`;
			const prior = merged.get(k);
			const order = orderOf(c.cursor);
			if (!prior || compareOrdered(order, prior.order) > 0) merged.set(k, { c, order });
		};
		for (const c of existing) add(c);
		for (const c of cursors) add(c);
		const r = this.batch({ sync: 'text', system: 'text', entity: 'text', ts: 'text', id: 'text' }, [...merged.values()].map((m) => m.c), (c) => ({
			sync: c.sync,
			system: c.system,
			entity: c.entity,
			ts: c.cursor.ts,
			id: c.cursor.id,
		}));
		await this.sql.run(
			`INSERT INTO run_cursor (run_id, sync, system, entity, ts, id)
			SELECT ?, r.sync, r.system, r.entity, r.ts, r.id FROM ${r.from}
			WHERE true
			ON CONFLICT (run_id, sync, system, entity) DO UPDATE SET ts = excluded.ts, id = excluded.id`,
			[runId, r.param],
		);
	}

	async runCursors(runId: string): Promise<Array<{ sync: string; system: string; entity: string; cursor: SyncCursor }>> {
		const rows = await this.sql.all(`SELECT * FROM run_cursor WHERE run_id = ?`, [runId]);
		return rows.map((r) => ({ sync: String(r.sync), system: String(r.system), entity: String(r.entity), cursor: { ts: String(r.ts), id: String(r.id) } }));
	}

	async deleteRunCursors(runId: string): Promise<void> {
		await this.sql.run(`DELETE FROM run_cursor WHERE run_id = ?`, [runId]);
	}

	async getCursor(sync: string, system: string, entity: string): Promise<SyncCursor | null> {
		const rows = await this.sql.all(`SELECT ts, id FROM sync_cursor WHERE sync = ? AND system = ? AND entity = ?`, [sync, system, entity]);
		return rows.length ? { ts: String(rows[0].ts), id: String(rows[0].id) } : null;
	}

	/** Moves a cursor forward; a position behind the stored one (an older page committed late) is ignored. */
	async advanceCursor(sync: string, system: string, entity: string, cursor: SyncCursor): Promise<boolean> {
		const current = await this.getCursor(sync, system, entity);
		if (current && compareCursors(cursor, current) <= 0) return false;
		await this.setCursor(sync, system, entity, cursor);
		return true;
	}

	async setCursor(sync: string, system: string, entity: string, cursor: SyncCursor | null): Promise<void> {
		if (cursor === null) {
			await this.sql.run(`DELETE FROM sync_cursor WHERE sync = ? AND system = ? AND entity = ?`, [sync, system, entity]);
			return;
		}
		await this.sql.run(
			`INSERT INTO sync_cursor (sync, system, entity, ts, id, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (sync, system, entity) DO UPDATE SET ts = excluded.ts, id = excluded.id, updated_at = excluded.updated_at`,
			[sync, system, entity, cursor.ts, cursor.id, this.now],
		);
	}

	async getRun(runId: string): Promise<RunRecord | null> {
		const rows = await this.sql.all(`SELECT * FROM run WHERE run_id = ?`, [runId]);
		return rows.length ? runFromRow(rows[0]) : null;
	}

	/** Adds `delta` to a run's metrics, creating the run on first sight. */
	async addRunMetrics(runId: string, sync: string, delta: Partial<RunMetrics>, finished: boolean): Promise<void> {
		const run = await this.getRun(runId);
		const metrics = { ...EMPTY_METRICS, ...(run?.metrics ?? {}) };
		for (const [k, v] of Object.entries(delta)) metrics[k as keyof RunMetrics] += v ?? 0;
		const errors = metrics.failed;
		await this.sql.run(
			`INSERT INTO run (run_id, sync, started_at, finished_at, metrics, errors) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at, metrics = excluded.metrics, errors = excluded.errors`,
			[runId, sync, run?.startedAt ?? this.now, finished ? this.now : (run?.finishedAt ?? null), json(metrics), errors],
		);
	}

	async recordWrites(
		rows: Array<{ sync: string; system: string; entity: string; runId: string; written: number; failed: number }>,
	): Promise<void> {
		if (!rows.length) return;
		const r = this.batch({ sync: 'text', system: 'text', entity: 'text', run_id: 'text', written: 'int', failed: 'int' }, rows, (w) => ({
			sync: w.sync,
			system: w.system,
			entity: w.entity,
			run_id: w.runId,
			written: w.written,
			failed: w.failed,
		}));
		await this.sql.run(
			`INSERT INTO sync_status (sync, system, entity, last_run_id, last_success_at, last_failure_at, written, failed)
			SELECT r.sync, r.system, r.entity, r.run_id,
				CASE WHEN r.written > 0 THEN ? END, CASE WHEN r.failed > 0 THEN ? END, r.written, r.failed
			FROM ${r.from}
			WHERE true
			ON CONFLICT (sync, system, entity) DO UPDATE SET last_run_id = excluded.last_run_id,
				last_success_at = COALESCE(excluded.last_success_at, sync_status.last_success_at),
				last_failure_at = COALESCE(excluded.last_failure_at, sync_status.last_failure_at),
				written = sync_status.written + excluded.written, failed = sync_status.failed + excluded.failed`,
			[this.now, this.now, r.param],
		);
	}

	/**
	 * Counts what happened to changes, per hour and per day (sync, system, entity, kind, reason): one upsert
	 * for the whole batch, whatever its size. Kinds: see VolumeKind.
	 */
	async countVolume(sync: string, counts: VolumeCount[]): Promise<void> {
		const totals = new Map<string, VolumeCount>();
		for (const c of counts) {
			if (!(c.count > 0)) continue;
			const k = `${c.system}\u0000${c.entity}\u0000${c.kind}\u0000${c.reason ?? ''}`;
			// One total per kind, added to in place (a page counts one per record: no copy per record).
			const prior = totals.get(k);
			if (prior) prior.count += c.count;
			else totals.set(k, { ...c, reason: c.reason ?? '' });
		}
		if (!totals.size) return;
		const hour = `${this.now.slice(0, 13)}:00:00.000Z`;
		const day = `${this.now.slice(0, 10)}T00:00:00.000Z`;
		const rows = [...totals.values()].flatMap((c) => [
			{ ...c, grain: 'hour', bucket: hour },
			{ ...c, grain: 'day', bucket: day },
		]);
		const r = this.batch(
			{ system: 'text', entity: 'text', kind: 'text', reason: 'text', grain: 'text', bucket: 'text', count: 'int' },
			rows,
			(v) => ({ system: v.system, entity: v.entity, kind: v.kind, reason: v.reason ?? '', grain: v.grain, bucket: v.bucket, count: v.count }),
		);
		await this.sql.run(
			`INSERT INTO volume (sync, system, entity, kind, reason, grain, bucket, count)
			SELECT ?, r.system, r.entity, r.kind, r.reason, r.grain, r.bucket, r.count FROM ${r.from}
			WHERE true
			ON CONFLICT (sync, grain, bucket, system, entity, kind, reason) DO UPDATE SET count = volume.count + excluded.count`,
			[sync, r.param],
		);
	}

	/** Adds `by` to a counter of the window starting at `windowStart`; returns the new counts in input order. */
	async bumpCounters(counters: Array<{ scope: string; name: string; windowStart: string; by: number }>): Promise<number[]> {
		if (!counters.length) return [];
		const totals = new Map<string, { scope: string; name: string; windowStart: string; by: number }>();
		for (const c of counters) {
			const k = `${c.scope}\u0000${c.name}\u0000${c.windowStart}`;
			const prior = totals.get(k);
			totals.set(k, prior ? { ...prior, by: prior.by + c.by } : { ...c });
		}
		const list = [...totals.values()];
		const bumps = this.batch({ scope: 'text', name: 'text', window_start: 'text', count: 'int' }, list, (c) => ({
			scope: c.scope,
			name: c.name,
			window_start: c.windowStart,
			count: c.by,
		}));
		await this.sql.run(
			`INSERT INTO counter (scope, name, window_start, count)
			SELECT r.scope, r.name, r.window_start, r.count FROM ${bumps.from}
			WHERE true
			ON CONFLICT (scope, name, window_start) DO UPDATE SET count = counter.count + excluded.count`,
			[bumps.param],
		);
		const names = this.batch({ scope: 'text', name: 'text', window_start: 'text' }, list, (c) => ({ scope: c.scope, name: c.name, window_start: c.windowStart }));
		const rows = await this.sql.all(
			`SELECT c.scope, c.name, c.window_start, c.count FROM ${names.from}
			${this.join} counter c ON c.scope = r.scope AND c.name = r.name AND c.window_start = r.window_start`,
			[names.param],
		);
		const now = new Map(rows.map((r) => [`${r.scope}\u0000${r.name}\u0000${r.window_start}`, Number(r.count)]));
		return counters.map((c) => now.get(`${c.scope}\u0000${c.name}\u0000${c.windowStart}`) ?? 0);
	}

	/**
	 * Records deliveries (for `runId`); returns the hashes already seen at or after `since` by a run that
	 * did not fail. A mark stops counting when its run had a write fail, deferred a create (another run had
	 * it in flight: the record is to be read again), left a planned change without Commit for over a minute
	 * (n8n died between the write and Commit), or never reached the Resolver within 30 seconds (it died
	 * before): a re-delivery of that change is then handled, not dropped. A delivery found to be a duplicate
	 * leaves the mark to the run that handles it: were it to take the mark over, re-deliveries coming
	 * more often than the window (a Refresh run again and again after n8n died) would keep each other
	 * blocked and the dead run's change would never be redone. The hashes whose mark belongs to a run
	 * that still has a change planned and not committed are added to `inFlight`.
	 */
	async seenDeliveries(hashes: string[], since: string, runId: string | null = null, inFlight?: Set<string>): Promise<Set<string>> {
		if (!hashes.length) return new Set();
		const list = this.batch({ hash: 'text' }, [...new Set(hashes)], (hash) => ({ hash }));
		const t = Date.parse(this.now);
		const stuck = new Date(t - STUCK_MS).toISOString();
		const fresh = new Date(t - 30_000).toISOString();
		// in_flight: the run that took the mark still has a change planned and not committed (see guard).
		const rows = await this.sql.all(
			`SELECT d.hash, CASE WHEN EXISTS (SELECT 1 FROM planned_change q WHERE q.run_id = d.run_id AND q.status = 'planned') THEN 1 ELSE 0 END AS in_flight
			FROM ${list.from} ${this.join} delivery d ON d.hash = r.hash AND d.seen_at >= ?
			WHERE d.run_id IS NULL OR (
				NOT EXISTS (SELECT 1 FROM planned_change p WHERE p.run_id = d.run_id AND (p.status IN ('failed', 'deferred') OR p.created_at < ?))
				AND (d.seen_at >= ? OR EXISTS (SELECT 1 FROM run x WHERE x.run_id = d.run_id)))`,
			[list.param, since, stuck, fresh],
		);
		const seen = new Set(rows.map((r) => String(r.hash)));
		if (inFlight) for (const r of rows) if (Number(r.in_flight) === 1) inFlight.add(String(r.hash));
		const handled = [...new Set(hashes)].filter((hash) => !seen.has(hash));
		if (handled.length) {
			const marks = this.batch({ hash: 'text' }, handled, (hash) => ({ hash }));
			await this.sql.run(
				`INSERT INTO delivery (hash, seen_at, run_id) SELECT r.hash, ?, ? FROM ${marks.from} WHERE true
				ON CONFLICT (hash) DO UPDATE SET seen_at = excluded.seen_at, run_id = excluded.run_id`,
				[this.now, runId, marks.param],
			);
		}
		return seen;
	}

	async countGolden(entity: string): Promise<number> {
		const rows = await this.sql.all(`SELECT count(*) AS n FROM golden_record WHERE entity = ? AND deleted = 0`, [entity]);
		return Number(rows[0].n);
	}
}

function runFromRow(r: Record<string, unknown>): RunRecord {
	const startedAt = String(r.started_at);
	const finishedAt = str(r.finished_at);
	return {
		runId: String(r.run_id),
		sync: String(r.sync),
		startedAt,
		finishedAt,
		durationMs: finishedAt ? Date.parse(finishedAt) - Date.parse(startedAt) : null,
		metrics: { ...EMPTY_METRICS, ...parse<Partial<RunMetrics>>(r.metrics) },
		errors: Number(r.errors),
	};
}

/** Digits of a timestamp's fraction beyond the millisecond (Date.parse drops them): "…12.345678Z" → "678000". */
function subMillisecond(ts: string): string {
	const fraction = /\.(\d+)/.exec(ts)?.[1] ?? '';
	return fraction.slice(3).padEnd(6, '0').slice(0, 6);
}

const INTEGER = /^-?\d+$/;

/**
 * Orders cursors by the source's timestamp, then by id, so equal timestamps are not skipped. Timestamps
 * compare at full precision (Postgres and MySQL keep microseconds); integer ids compare as numbers, as
 * the source orders them ("9" before "10"), other ids as text.
 */
export function compareCursors(a: SyncCursor, b: SyncCursor): number {
	return compareOrdered(orderOf(a), orderOf(b));
}

/** A cursor's parts in the order compareCursors weighs them, worked out once per cursor. */
interface CursorOrder {
	time: number;
	fraction: string;
	id: string;
	integer: boolean;
}

function orderOf(cursor: SyncCursor): CursorOrder {
	return { time: Date.parse(cursor.ts), fraction: subMillisecond(cursor.ts), id: cursor.id, integer: INTEGER.test(cursor.id) };
}

function compareOrdered(a: CursorOrder, b: CursorOrder): number {
	if (a.time !== b.time) return a.time < b.time ? -1 : 1;
	if (a.fraction !== b.fraction) return a.fraction < b.fraction ? -1 : 1;
	if (a.integer && b.integer) {
		const ia = BigInt(a.id);
		const ib = BigInt(b.id);
		return ia < ib ? -1 : ia > ib ? 1 : 0;
	}
	return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * What the volume table counts: `received` (changes read from a source, `system` = the source),
 * `created` / `updated` / `deleted` / `failed` (writes to a target, `system` = the target; failed = write
 * errors), and what did not sync: `invalid` (a Mapper refused it; reason = the rule), `blocked` (the Loop
 * Guard; reason = its reason), `skipped` (the Resolver; reason = why) and `conflicts` (reason = kind).
 */
export type VolumeKind = 'received' | 'created' | 'updated' | 'deleted' | 'failed' | 'invalid' | 'blocked' | 'skipped' | 'conflicts' | 'compressed';

export interface VolumeCount {
	system: string;
	entity: string;
	kind: VolumeKind;
	reason?: string;
	count: number;
}

export interface VolumeRow extends Required<VolumeCount> {
	grain: 'hour' | 'day';
	bucket: string;
}

export interface AuditQuery {
	entity?: string;
	key?: string;
	system?: string;
	/** The record's id in `system`. */
	externalId?: string;
	action?: string;
	runId?: string;
	since?: string;
	limit?: number;
}

export interface ConflictQuery {
	entity?: string;
	status?: 'open' | 'resolved';
	key?: string;
	limit?: number;
}

export interface PurgeResult {
	audit: number;
	counters: number;
	deliveries: number;
	plannedChanges: number;
	/** Webhook signatures past their replay window. */
	signatures: number;
	resolvedConflicts: number;
	runs: number;
	/** Hourly volume counts older than the retention (at least 7 days), daily ones older than it (at least 31 days). */
	volume: number;
}

/** Runs older than the audit retention go, with the cursors they never got to commit. */
async function purgeRuns(tx: StoreTx, before: string): Promise<number> {
	await tx.sql.run(`DELETE FROM run_cursor WHERE run_id IN (SELECT run_id FROM run WHERE started_at < ?)`, [before]);
	return tx.sql.run(`DELETE FROM run WHERE started_at < ?`, [before]);
}

/** One open store (one SQLite file or one Postgres pool), shared by every execution in the process. */
export class Store {
	constructor(
		readonly driver: Driver,
		readonly where: string,
		private readonly onClose: () => void,
		/** The clock for store bookkeeping (audit times, windows); never used for cursors. */
		readonly clock: () => Date = () => new Date(),
	) {}

	get backend(): 'sqlite' | 'postgres' {
		return this.driver.dialect;
	}

	/** Runs `work` as one transaction, serialised against every other writer of this store. */
	transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
		return this.driver.transaction((sql) => work(new StoreTx(sql, this.clock().toISOString())));
	}

	private read<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
		return work(new StoreTx(this.driver, this.clock().toISOString()));
	}

	/** The last committed position of `system`'s change feed for `entity` in `sync`; null before the first commit. */
	getCursor(sync: string, system: string, entity: string): Promise<SyncCursor | null> {
		return this.read((tx) => tx.getCursor(sync, system, entity));
	}

	/** Sets (or with null clears, for a full re-read) a cursor by hand. */
	setCursor(sync: string, system: string, entity: string, cursor: SyncCursor | null): Promise<void> {
		return this.transaction((tx) => tx.setCursor(sync, system, entity, cursor));
	}

	async getGolden(entity: string, key: string): Promise<GoldenRecord | null> {
		const [record] = await this.read((tx) => tx.goldenByKey(entity, [key]));
		return record ?? null;
	}

	getLinks(entity: string, key: string): Promise<Link[]> {
		return this.read((tx) => tx.linksByKey(entity, [key]));
	}

	/**
	 * External ids of the links of one system that were made by a create's match lookup and not read since
	 * (see isUnread in identity.ts), and of those known only through changes of some fields (see
	 * source-times.ts): Get Changes reads these records too, so their values are merged and the sync writes
	 * to them again without waiting for a change of their own.
	 */
	async unreadLinks(entity: string, system: string, limit = 500): Promise<string[]> {
		const rows = await this.read((tx) =>
			tx.sql.all(
				`SELECT external_id FROM link WHERE entity = ? AND system = ?
				AND ((source_at IS NULL AND written_at IS NULL AND base = '{}') OR fields_at IS NOT NULL) ORDER BY external_id LIMIT ?`,
				[entity, system, limit],
			),
		);
		return rows.map((r) => String(r.external_id));
	}

	async findLink(entity: string, system: string, externalId: string): Promise<Link | null> {
		const [link] = await this.read((tx) => tx.linksByExternalId(entity, [{ system, id: externalId }]));
		return link ?? null;
	}

	/** Every golden record of an entity, in key order, a page at a time (for reconcile and tests). */
	async listGolden(entity: string, options: { afterKey?: string; limit?: number; includeDeleted?: boolean } = {}): Promise<GoldenRecord[]> {
		const rows = await this.driver.all(
			`SELECT * FROM golden_record WHERE entity = ? AND key > ? ${options.includeDeleted ? '' : 'AND deleted = 0'}
			ORDER BY key LIMIT ?`,
			[entity, options.afterKey ?? '', options.limit ?? 1000],
		);
		return rows.map((row) => goldenFromRow(row));
	}

	async listLinks(entity: string, system?: string): Promise<Link[]> {
		const params: SqlValue[] = [entity];
		if (system) params.push(system);
		const rows = await this.driver.all(
			`SELECT ${LINK_COLUMNS} FROM link l ${LINK_GOLDEN} WHERE l.entity = ? ${system ? 'AND l.system = ?' : ''} ORDER BY l.key, l.system`,
			params,
		);
		return rows.map((row) => linkFromRow(row));
	}

	/**
	 * One system's links in external-id order after `afterId`, at most `limit`: the pages the paged Find
	 * Deletes checks against the system (the unique (entity, system, external id) index serves it).
	 */
	async listLinksPage(entity: string, system: string, afterId: string, limit: number): Promise<Link[]> {
		const rows = await this.driver.all(
			`SELECT ${LINK_COLUMNS} FROM link l ${LINK_GOLDEN} WHERE l.entity = ? AND l.system = ? AND l.external_id > ? ORDER BY l.external_id LIMIT ?`,
			[entity, system, afterId, limit],
		);
		return rows.map((row) => linkFromRow(row));
	}

	async audit(query: AuditQuery = {}): Promise<AuditEntry[]> {
		const { where, params } = auditFilter(query);
		params.push(query.limit ?? 1000);
		const rows = await this.driver.all(
			`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
			params,
		);
		return auditFromRows(this.driver, rows);
	}

	async listConflicts(query: ConflictQuery = {}): Promise<ConflictRecord[]> {
		const where: string[] = [];
		const params: SqlValue[] = [];
		if (query.entity !== undefined) {
			where.push('entity = ?');
			params.push(query.entity);
		}
		if (query.status !== undefined) {
			where.push('status = ?');
			params.push(query.status);
		}
		if (query.key !== undefined) {
			where.push('key = ?');
			params.push(query.key);
		}
		params.push(query.limit ?? 1000);
		const rows = await this.driver.all(
			`SELECT * FROM conflict ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`,
			params,
		);
		return rows.map(conflictFromRow);
	}

	getRun(runId: string): Promise<RunRecord | null> {
		return this.read((tx) => tx.getRun(runId));
	}

	async listRuns(sync: string, limit = 50): Promise<RunRecord[]> {
		const rows = await this.driver.all(`SELECT * FROM run WHERE sync = ? ORDER BY started_at DESC LIMIT ?`, [sync, limit]);
		return rows.map(runFromRow);
	}

	async listCursors(sync: string): Promise<Array<{ system: string; entity: string; cursor: SyncCursor; updatedAt: string }>> {
		const rows = await this.driver.all(`SELECT * FROM sync_cursor WHERE sync = ? ORDER BY entity, system`, [sync]);
		return rows.map((r) => ({ system: String(r.system), entity: String(r.entity), cursor: { ts: String(r.ts), id: String(r.id) }, updatedAt: String(r.updated_at) }));
	}

	async countConflicts(status: 'open' | 'resolved', entity?: string): Promise<number> {
		const rows = await this.driver.all(
			`SELECT count(*) AS n FROM conflict WHERE status = ? ${entity === undefined ? '' : 'AND entity = ?'}`,
			entity === undefined ? [status] : [status, entity],
		);
		return Number(rows[0].n);
	}

	/** The volume counts of one sync at one grain since `since` (an ISO time), oldest first. */
	async volume(sync: string, grain: 'hour' | 'day', since: string): Promise<VolumeRow[]> {
		const rows = await this.driver.all(
			`SELECT system, entity, kind, reason, grain, bucket, count FROM volume WHERE sync = ? AND grain = ? AND bucket >= ? ORDER BY bucket, system, entity, kind, reason`,
			[sync, grain, since],
		);
		return rows.map((r) => ({
			system: String(r.system),
			entity: String(r.entity),
			kind: String(r.kind) as VolumeKind,
			reason: String(r.reason),
			grain: String(r.grain) as 'hour' | 'day',
			bucket: String(r.bucket),
			count: Number(r.count),
		}));
	}

	/** The latest audit entries of a sync whose outcome is `failed` (a Mapper refused the record, or a write failed). */
	async failedRecords(sync: string, limit = 50): Promise<AuditEntry[]> {
		const rows = await this.driver.all(`SELECT * FROM audit WHERE sync = ? AND outcome = 'failed' ORDER BY id DESC LIMIT ?`, [sync, limit]);
		return auditFromRows(this.driver, rows);
	}

	/** How many audit entries of each of these runs failed. */
	async failedPerRun(runIds: string[]): Promise<Map<string, number>> {
		if (!runIds.length) return new Map();
		const r = this.read(async (tx) => {
			const list = tx.runIdBatch(runIds);
			return tx.sql.all(`SELECT a.run_id, count(*) AS n FROM ${list.from} ${tx.joinKeyword} audit a ON a.run_id = r.run_id WHERE a.outcome = 'failed' GROUP BY a.run_id`, [list.param]);
		});
		return new Map((await r).map((row) => [String(row.run_id), Number(row.n)]));
	}

	/** The entities a sync has counted, written or read. */
	async entitiesOf(sync: string): Promise<string[]> {
		const rows = await this.driver.all(
			`SELECT DISTINCT entity FROM sync_status WHERE sync = ? UNION SELECT DISTINCT entity FROM sync_cursor WHERE sync = ?
			UNION SELECT DISTINCT entity FROM volume WHERE sync = ? AND grain = 'day'`,
			[sync, sync, sync],
		);
		return rows.map((r) => String(r.entity)).sort();
	}

	/** Open conflicts per system and entity (of this sync, or recorded without a sync). */
	async openConflictCounts(sync: string): Promise<Array<{ system: string; entity: string; count: number }>> {
		const rows = await this.driver.all(
			`SELECT system, entity, count(*) AS n FROM conflict WHERE status = 'open' AND (sync = ? OR sync IS NULL) GROUP BY system, entity ORDER BY entity, system`,
			[sync],
		);
		return rows.map((r) => ({ system: String(r.system), entity: String(r.entity), count: Number(r.n) }));
	}

	/** The golden records (entity, key) a system's record is or was linked to. */
	async keysOfExternal(system: string, externalId: string): Promise<Array<{ entity: string; key: string }>> {
		const rows = await this.driver.all(
			`SELECT entity, key FROM link WHERE system = ? AND external_id = ?
			UNION SELECT entity, key FROM link_tombstone WHERE system = ? AND external_id = ? AND key <> ''`,
			[system, externalId, system, externalId],
		);
		return rows.map((r) => ({ entity: String(r.entity), key: String(r.key) }));
	}

	async syncStatus(sync: string): Promise<SyncStatus[]> {
		const rows = await this.driver.all(`SELECT * FROM sync_status WHERE sync = ? ORDER BY entity, system`, [sync]);
		return rows.map((r) => ({
			sync: String(r.sync),
			system: String(r.system),
			entity: String(r.entity),
			lastRunId: str(r.last_run_id),
			lastSuccessAt: str(r.last_success_at),
			lastFailureAt: str(r.last_failure_at),
			written: Number(r.written),
			failed: Number(r.failed),
		}));
	}

	/**
	 * Deletes what has outlived its use: audit entries older than `auditDays` (30 by default), resolved
	 * conflicts as old, counters and delivery marks of past windows, planned changes of abandoned runs.
	 */
	purge(options: { auditDays?: number; windowHours?: number } = {}): Promise<PurgeResult> {
		const auditDays = options.auditDays ?? 30;
		const windowHours = options.windowHours ?? 24;
		if (!(auditDays >= 0) || !(windowHours >= 0)) throw new Error('purge: auditDays and windowHours must be numbers >= 0');
		return this.transaction(async (tx) => {
			const now = Date.parse(tx.now);
			const auditBefore = new Date(now - auditDays * 86_400_000).toISOString();
			const windowBefore = new Date(now - windowHours * 3_600_000).toISOString();
			return {
				audit: await tx.sql.run(`DELETE FROM audit WHERE at < ?`, [auditBefore]),
				resolvedConflicts: await tx.sql.run(`DELETE FROM conflict WHERE status = 'resolved' AND resolved_at < ?`, [auditBefore]),
				counters: await tx.sql.run(`DELETE FROM counter WHERE window_start < ?`, [windowBefore]),
				deliveries: await tx.sql.run(`DELETE FROM delivery WHERE seen_at < ?`, [windowBefore]),
				signatures: await tx.sql.run(`DELETE FROM webhook_signature WHERE expires_at <= ?`, [tx.now]),
				plannedChanges: await tx.sql.run(`DELETE FROM planned_change WHERE created_at < ?`, [auditBefore]),
				runs: await purgeRuns(tx, auditBefore),
				// Hourly counts feed the 48-hour chart; daily ones the 30-day chart and Prometheus (kept as the audit).
				volume:
					(await tx.sql.run(`DELETE FROM volume WHERE grain = 'hour' AND bucket < ?`, [new Date(now - Math.max(auditDays, 7) * 86_400_000).toISOString()])) +
					(await tx.sql.run(`DELETE FROM volume WHERE grain = 'day' AND bucket < ?`, [new Date(now - Math.max(auditDays, 31) * 86_400_000).toISOString()])),
			};
		});
	}

	/**
	 * Records a webhook signature as accepted until `until` (ISO time); false when it is already recorded
	 * and has not expired: a replay, whichever webhook process received the first one. One statement, so
	 * two processes racing with the same signature cannot both be told true.
	 */
	async acceptSignature(signature: string, until: string): Promise<boolean> {
		const now = this.clock().toISOString();
		const accepted = await this.driver.run(
			`INSERT INTO webhook_signature (signature, expires_at) VALUES (?, ?)
			ON CONFLICT (signature) DO UPDATE SET expires_at = excluded.expires_at WHERE webhook_signature.expires_at <= ?`,
			[signature, until, now],
		);
		// Expired signatures are swept now and then by whoever records one (and by purge()).
		if (++this.signaturesRecorded % 1000 === 0) await this.driver.run(`DELETE FROM webhook_signature WHERE expires_at <= ?`, [now]);
		return accepted > 0;
	}

	private signaturesRecorded = 0;

	/** Closes this store's handle for the whole process (other holders of the same config too). */
	async close(): Promise<void> {
		this.onClose();
		await this.driver.close();
	}
}

export type { CanonicalData };

/** The WHERE clauses of an audit query: each filter given, after the `where` / `params` it starts from. */
function auditFilter(
	query: { entity?: string; key?: string; system?: string; externalId?: string; action?: string; runId?: string; since?: string; until?: string },
	where: string[] = [],
	params: SqlValue[] = [],
): { where: string[]; params: SqlValue[] } {
	const add = (clause: string, value: SqlValue | undefined) => {
		if (value === undefined) return;
		where.push(clause);
		params.push(value);
	};
	add('entity = ?', query.entity);
	add('key = ?', query.key);
	add('system = ?', query.system);
	add('external_id = ?', query.externalId);
	add('action = ?', query.action);
	add('run_id = ?', query.runId);
	add('at >= ?', query.since);
	add('at < ?', query.until);
	return { where, params };
}
