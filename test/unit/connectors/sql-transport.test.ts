/**
 * The SQL transports against real Postgres, MariaDB and an SQLite file: one suite, run per dialect.
 */
import { closeSharedTransports, openTransport, SqlConfigError, type SqlTransport, type TableSpec, type UpsertRecord, type WriteOptions } from '../../../lib/connectors/sql';
import { MISSING_COLUMN_RECHECK_MS } from '../../../lib/connectors/sql/common';
import { SyncItemError, type SyncCursor } from '../../../lib/item';
import { contactTableDdl, openFixture, type DialectFixture } from './fixtures';

const TABLE = `Kontakt "Liste" 'x`;
const spec: TableSpec = {
	table: TABLE,
	idColumn: 'ID',
	updatedAtColumn: 'Updated At',
	softDelete: { column: 'deleted at', kind: 'timestamp' },
	actorColumn: 'who',
};
const NOW = '2030-01-01T00:00:00.000Z';
const plain: WriteOptions = { touchUpdatedAt: false, now: NOW };

/** Groups of 7 rows share one timestamp (with microseconds), so page boundaries fall inside groups. */
function tsOf(i: number): string {
	const seconds = Math.floor(i / 7);
	return `${new Date(Date.UTC(2024, 0, 1) + seconds * 1000).toISOString().slice(0, 19)}.123456Z`;
}

function records(n: number, from = 0): UpsertRecord[] {
	return Array.from({ length: n }, (_, k) => ({
		id: null,
		values: { 'Updated At': tsOf(from + k), 'e-mail': `c${from + k}@example.com`, 'note "q"': `note ${from + k}`, active: (from + k) % 2 === 0 },
		label: `item ${k}`,
		index: k,
	}));
}

describe.each(['postgres', 'mysql', 'sqlite'] as const)('SQL transport: %s', (dialect) => {
	let f: DialectFixture;
	let t: SqlTransport;
	let ids: string[];
	const ROWS = 3000;

	beforeAll(async () => {
		f = await openFixture(dialect);
		for (const sql of contactTableDdl(f, TABLE)) await f.query(sql);
		t = openTransport(f.config);
		ids = [];
		for (let start = 0; start < ROWS; start += 1000) ids.push(...(await t.upsert(spec, records(1000, start), plain)));
	}, 60_000);

	afterAll(async () => {
		await t?.close();
		await closeSharedTransports();
		await f?.drop();
	});

	test('creates return every new id, in the order given', async () => {
		expect(ids).toHaveLength(ROWS);
		expect(new Set(ids).size).toBe(ROWS);
		const rows = await t.readByIds(spec, [ids[0], ids[1234], ids[ROWS - 1]]);
		const byId = new Map(rows.map((r) => [r.id, r]));
		expect(byId.get(ids[1234])?.row['e-mail']).toBe('c1234@example.com');
		expect(byId.get(ids[ROWS - 1])?.row['note "q"']).toBe(`note ${ROWS - 1}`);
	});

	test('Get Changes pages through equal timestamps without skipping or repeating a row', async () => {
		const seen: string[] = [];
		let cursor: SyncCursor | null = null;
		let pages = 0;
		for (;;) {
			const page = await t.readChanges(spec, cursor, 100);
			if (page.length === 0) break;
			pages++;
			for (const r of page) seen.push(r.id);
			const last = page[page.length - 1];
			cursor = { ts: last.updatedAt!, id: last.id };
		}
		expect(pages).toBe(ROWS / 100);
		expect(seen).toHaveLength(ROWS);
		expect(new Set(seen).size).toBe(ROWS);
		expect(new Set(seen)).toEqual(new Set(ids));
	});

	test('timestamps come back as ISO 8601 UTC, microseconds kept where the column holds them', async () => {
		const [r] = await t.readByIds(spec, [ids[8]]);
		const expected = dialect === 'sqlite' ? tsOf(8).replace('.123456Z', '.123Z') : tsOf(8);
		expect(r.updatedAt).toBe(expected);
		expect(r.row['Updated At']).toBe(expected);
	});

	test('a cursor with an empty id reads what changed strictly after its time', async () => {
		const page = await t.readChanges(spec, { ts: tsOf(6), id: '' }, 10);
		expect(page[0].id).toBe(ids[7]);
	});

	test('Get Many pages through the whole table by id', async () => {
		const seen: string[] = [];
		let after: string | null = null;
		for (;;) {
			const page = await t.readSnapshot(spec, after, 700);
			seen.push(...page.map((r) => r.id));
			if (page.length < 700) break;
			after = page[page.length - 1].id;
		}
		expect(seen).toHaveLength(ROWS);
		expect(new Set(seen).size).toBe(ROWS);
	});

	// Each dialect proves its own batching: a network dialect counts round trips, SQLite (in-process, no
	// round trips) counts transactions.
	if (dialect === 'sqlite') {
		test('SQLite: Get Changes reads a page without a transaction; a batch of 1,000 updates is one transaction', async () => {
			const db = (t as unknown as { db: { exec: (sql: string) => void } }).db;
			const execs: string[] = [];
			const exec = db.exec.bind(db);
			const spy = jest.spyOn(db, 'exec').mockImplementation((sql: string) => {
				execs.push(sql);
				return exec(sql);
			});
			try {
				expect(await t.readChanges(spec, null, 500)).toHaveLength(500);
				expect(execs).toEqual([]);
				const updates = ids.slice(0, 1000).map((id, k) => ({ id, values: { 'note "q"': `note ${k}` }, label: `item ${k}`, index: k }));
				expect(await t.upsert(spec, updates, plain)).toHaveLength(1000);
				expect(execs).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
			} finally {
				spy.mockRestore();
			}
		});
	}

	if (dialect !== 'sqlite') {
		test(`${dialect}: Get Changes takes one query per page and a batch of 1,000 updates one statement`, async () => {
			const pool = (t as unknown as { pool: { query: (...args: unknown[]) => unknown; connect?: unknown; getConnection?: unknown } }).pool;
			const sent: string[] = [];
			const query = pool.query.bind(pool);
			const spy = jest.spyOn(pool, 'query').mockImplementation((...args: unknown[]) => {
				sent.push(String(args[0]).slice(0, 6));
				return query(...args) as never;
			});
			const connect = jest.spyOn(pool as never, (dialect === 'postgres' ? 'connect' : 'getConnection') as never);
			try {
				await t.readChanges(spec, null, 500);
				const updates = ids.slice(0, 1000).map((id, k) => ({ id, values: { 'note "q"': `note ${k}` }, label: `item ${k}`, index: k }));
				await t.upsert(spec, updates, plain);
				expect(sent).toEqual(['SELECT', 'INSERT']);
				// pg's pool.query checks a client out itself; a transaction would check out one more.
				expect(connect).toHaveBeenCalledTimes(dialect === 'postgres' ? 2 : 0);
			} finally {
				spy.mockRestore();
				connect.mockRestore();
			}
		});
	}

	test('updates and creates in one batch; the same id twice is written once, the later values winning', async () => {
		const batch: UpsertRecord[] = [
			{ id: ids[0], values: { 'e-mail': 'first@example.com' }, label: 'item 0', index: 0 },
			{ id: null, values: { 'e-mail': 'new@example.com' }, label: 'item 1', index: 1 },
			{ id: ids[0], values: { 'e-mail': 'second@example.com', 'note "q"': 'x' }, label: 'item 2', index: 2 },
		];
		const out = await t.upsert(spec, batch, { touchUpdatedAt: true, now: NOW, actor: 'datasync' });
		expect(out[0]).toBe(ids[0]);
		expect(out[2]).toBe(ids[0]);
		expect(ids).not.toContain(out[1]);
		const rows = await t.readByIds(spec, [ids[0], out[1]]);
		const byId = new Map(rows.map((r) => [r.id, r.row]));
		expect(byId.get(ids[0])).toMatchObject({ 'e-mail': 'second@example.com', 'note "q"': 'x', who: 'datasync' });
		expect(byId.get(out[1])).toMatchObject({ 'e-mail': 'new@example.com', who: 'datasync' });
		expect(Date.parse(rows.find((r) => r.id === ids[0])!.updatedAt!)).toBe(Date.parse(NOW));
	});

	test('hostile values are stored as given: quotes, unicode, JSON, a 1 MB string', async () => {
		const huge = 'ä'.repeat(1024 * 1024);
		const values = {
			'e-mail': `o'brien"; DROP TABLE x; --@example.com`,
			'note "q"': `𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ 🚀 \\ \` ' " ${huge}`,
			payload: { nested: { list: [1, 'two', null] } },
		};
		const [id] = await t.upsert(spec, [{ id: null, values, label: 'item 0', index: 0 }], plain);
		const [r] = await t.readByIds(spec, [id]);
		expect(r.row['e-mail']).toBe(values['e-mail']);
		expect(r.row['note "q"']).toBe(values['note "q"']);
		const payload = typeof r.row.payload === 'string' ? JSON.parse(r.row.payload) : r.row.payload;
		expect(payload).toEqual(values.payload);
	});

	test('arrays: a JSON column stores them as JSON', async () => {
		const list = [1, 'two', { three: null }];
		const [id] = await t.upsert(spec, [{ id: null, values: { payload: list }, label: 'item 0', index: 0 }], plain);
		const [r] = await t.readByIds(spec, [id]);
		expect(typeof r.row.payload === 'string' ? JSON.parse(r.row.payload) : r.row.payload).toEqual(list);
	});

	if (dialect === 'postgres') {
		test('postgres: a text[] column keeps an array as an array, quotes and empty strings included', async () => {
			await f.query(`CREATE TABLE tagged (id serial PRIMARY KEY, tags text[], changed timestamptz)`);
			const tagged: TableSpec = { table: 'tagged', idColumn: 'id', updatedAtColumn: 'changed' };
			const tags = ['a "quoted", tag', 'ünï', ''];
			const [created] = await t.upsert(tagged, [{ id: null, values: { tags }, label: 'item 0', index: 0 }], { touchUpdatedAt: true, now: NOW });
			await t.upsert(tagged, [{ id: created, values: { tags: [...tags, 'more'] }, label: 'item 0', index: 0 }], plain);
			expect((await t.readByIds(tagged, [created]))[0].row.tags).toEqual([...tags, 'more']);
		});
	}

	test('NUL characters: stored where the dialect can, refused with the record and field by Postgres', async () => {
		const value = 'before\u0000after';
		const write = () => t.upsert(spec, [{ id: null, values: { 'note "q"': value }, label: 'item 4 (contact / crm / new)', index: 4 }], plain);
		if (dialect === 'postgres') {
			const error = await write().catch((e: unknown) => e);
			expect(error).toBeInstanceOf(SyncItemError);
			expect((error as SyncItemError).message).toContain('item 4 (contact / crm / new): field "note "q""');
			expect((error as SyncItemError).itemIndex).toBe(4);
		} else {
			const [id] = await write();
			const [r] = await t.readByIds(spec, [id]);
			expect(r.row['note "q"']).toBe(value);
		}
	});

	test('a batch with one bad record writes nothing, and the error names the record and the field', async () => {
		const before = await f.query(`SELECT COUNT(*) AS n FROM ${f.q(TABLE)}`);
		const batch: UpsertRecord[] = [
			{ id: null, values: { 'e-mail': 'fine@example.com' }, label: 'item 0', index: 0 },
			{ id: null, values: { 'e-mail': 'fine2@example.com', 'no such column': 1 }, label: 'item 1 (contact / crm / new)', index: 1 },
		];
		await expect(t.upsert(spec, batch, plain)).rejects.toThrow('item 1 (contact / crm / new): field "no such column" is not a column');
		// A failure inside the database (a CHECK constraint) rolls back the rows already sent.
		const rolled: UpsertRecord[] = [
			{ id: ids[5], values: { 'e-mail': 'changed@example.com' }, label: 'item 0', index: 0 },
			{ id: null, values: { 'e-mail': `${'x'.repeat(400)}@example.com` }, label: 'item 1', index: 1 },
		];
		await expect(t.upsert(spec, rolled, plain)).rejects.toThrow(`Upsert of 2 records in table "${TABLE}" failed, nothing was written`);
		const after = await f.query(`SELECT COUNT(*) AS n FROM ${f.q(TABLE)}`);
		expect(Number(after[0].n)).toBe(Number(before[0].n));
		const [r] = await t.readByIds(spec, [ids[5]]);
		expect(r.row['e-mail']).toBe('c5@example.com');
	});

	test('soft delete marks the row, bumps updated-at and reads back through Get Changes', async () => {
		await t.delete(spec, [ids[10], ids[11], 'no-such-id-999999'].filter((x) => dialect !== 'postgres' || /^\d+$/.test(x)), 'soft', {
			touchUpdatedAt: true,
			now: '2031-01-01T00:00:00.000Z',
			actor: 'datasync',
		});
		const page = await t.readChanges(spec, { ts: '2030-06-01T00:00:00Z', id: '' }, 10);
		expect(page.map((r) => r.id).sort()).toEqual([ids[10], ids[11]].sort());
		expect(page[0].row['deleted at']).toMatch(/^2031-01-01T00:00:00/);
		expect(page[0].row.who).toBe('datasync');
	});

	test('hard delete removes the rows in one transaction; absent ids are no error', async () => {
		await t.delete(spec, [ids[20], ids[21], '999999999'], 'hard', plain);
		expect(await t.readByIds(spec, [ids[20], ids[21], ids[22]])).toHaveLength(1);
	});

	if (dialect === 'sqlite') {
		test('sqlite: a schema setting is checked as a name and otherwise not used (the file is the database)', async () => {
			const inSchema: TableSpec = { ...spec, schema: 'Sales Ü' };
			const page = await t.readChanges(inSchema, null, 3);
			expect(page.map((r) => r.id)).toEqual((await t.readChanges(spec, null, 3)).map((r) => r.id));
			expect(page).toHaveLength(3);
			await expect(t.readChanges({ ...spec, schema: 'bad\u0001schema' }, null, 1)).rejects.toThrow(SqlConfigError);
		});
	}

	if (dialect !== 'sqlite') {
		test(`${dialect}: a table in a named schema (Postgres schema, MySQL database)`, async () => {
			const schema = dialect === 'postgres' ? 'Sales Ü' : (f.config.database as string);
			if (dialect === 'postgres') await f.query(`CREATE SCHEMA ${f.q(schema)}`);
			await f.query(`CREATE TABLE ${f.q(schema)}.${f.q('orders')} (${f.q('id')} int PRIMARY KEY, ${f.q('u')} ${dialect === 'postgres' ? 'timestamptz' : 'datetime(3)'})`);
			const orders: TableSpec = { schema, table: 'orders', idColumn: 'id', updatedAtColumn: 'u' };
			expect(await t.upsert(orders, [{ id: '1', values: {}, label: 'item 0', index: 0 }], { touchUpdatedAt: true, now: NOW })).toEqual(['1']);
			expect((await t.readChanges(orders, null, 10)).map((r) => [r.id, Date.parse(r.updatedAt!)])).toEqual([['1', Date.parse(NOW)]]);
		});
	}

	test('names that no dialect accepts are refused, and missing columns are named', async () => {
		await expect(t.readChanges({ ...spec, table: 'bad\u0001name' }, null, 1)).rejects.toThrow(SqlConfigError);
		await expect(t.readChanges({ ...spec, updatedAtColumn: 'changed' }, null, 1)).rejects.toThrow('Updated-at column "changed" is not a column');
		await expect(t.readChanges({ ...spec, table: 'missing table' }, null, 1)).rejects.toThrow('table "missing table" does not exist');
	});

	test('a column added to the table after its first use is written, not refused or dropped', async () => {
		const record = (values: Record<string, unknown>): UpsertRecord[] => [{ id: ids[30], values, label: 'item 0', index: 0 }];
		const alter = (column: string) => f.query(`ALTER TABLE ${f.q(TABLE)} ADD COLUMN ${f.q(column)} ${dialect === 'mysql' ? 'varchar(64)' : 'text'}`);
		await expect(t.upsert(spec, record({ 'fax №': '1' }), plain)).rejects.toThrow('field "fax №" is not a column');
		await alter('fax №');
		// A field found missing a moment ago is looked up again only after a while (no query per batch)…
		await expect(t.upsert(spec, record({ 'fax №': '2' }), plain)).rejects.toThrow('field "fax №" is not a column');
		const spy = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + MISSING_COLUMN_RECHECK_MS + 1);
		try {
			await t.upsert(spec, record({ 'fax №': '3' }), plain);
		} finally {
			spy.mockRestore();
		}
		expect((await t.readByIds(spec, [ids[30]]))[0].row['fax №']).toBe('3');
		// …while a field never seen missing is looked up at once, also when unknown fields would be ignored.
		await alter('phone');
		await t.upsert(spec, record({ phone: '+49 30 1' }), { ...plain, ignoreUnknownFields: true });
		expect((await t.readByIds(spec, [ids[30]]))[0].row.phone).toBe('+49 30 1');
		// Reads that ran before the column was added (their statements may be kept) return it too.
		const [row] = await t.readSnapshot(spec, ids[29], 1);
		expect(row.id).toBe(ids[30]);
		expect(row.row).toMatchObject({ phone: '+49 30 1', 'fax №': '3' });
	});

	test('times written in any zone are stored in UTC; the same time for a whole batch is converted once and right', async () => {
		const at = ['2024-05-01T12:00:00.5+02:00', '2024-05-01 10:00:00.5', '2024-05-01T10:00:00.500Z', '2024-05-01T05:30:00.5-04:30'];
		const batch: UpsertRecord[] = ids.slice(40, 44).map((id, k) => ({ id, values: { 'Updated At': at[k] }, label: `item ${k}`, index: k }));
		batch.push(...ids.slice(44, 48).map((id, k) => ({ id, values: { 'e-mail': `same${k}@example.com` }, label: `item ${k + 4}`, index: k + 4 })));
		await t.upsert(spec, batch, { touchUpdatedAt: true, now: '2030-05-01T00:00:00.250Z' });
		const rows = new Map((await t.readByIds(spec, ids.slice(40, 48))).map((r) => [r.id, r.updatedAt]));
		for (const id of ids.slice(40, 44)) expect(Date.parse(rows.get(id)!)).toBe(Date.parse('2024-05-01T10:00:00.5Z'));
		for (const id of ids.slice(44, 48)) expect(rows.get(id)).toMatch(/^2030-05-01T00:00:00\.25/);
	});
});
