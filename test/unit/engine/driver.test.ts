/**
 * Batches of rows as statement parameters (RowBatch): SQLite binds them as `VALUES` rows, a few hundred
 * a statement; Postgres takes them as one JSON text. Both must give each statement every row, with the
 * values and types that the JSON text gave SQLite before (`->>` of `encodeRows`).
 */
import fc from 'fast-check';
import { DatabaseSync } from 'node:sqlite';
import { encodeRows, PgDriver, RowBatch, SqliteDriver, type ColumnType, type Driver } from '../../../lib/engine/store/driver';
import { BACKENDS, postgresBackend } from './backends';

const COLUMNS: Record<string, ColumnType> = { name: 'text', n: 'int', doc: 'json', extra: 'text' };

describe.each(BACKENDS.map((make) => [make().name, make] as const))('batches of rows on %s', (_name, make) => {
	const backend = make();
	let driver: Driver;
	beforeAll(async () => {
		await backend.setup();
		const config = backend.config();
		if (config.backend === 'sqlite') driver = new SqliteDriver(config.path);
		else {
			driver = new PgDriver(config);
			await driver.run(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`);
		}
		await driver.run('CREATE TABLE t (pos INTEGER NOT NULL PRIMARY KEY, name TEXT, n INTEGER, doc TEXT)');
	});
	afterAll(async () => {
		await driver.close();
		await backend.teardown();
	});

	const rowsOf = (count: number, from = 0) =>
		Array.from({ length: count }, (_, i) => ({ pos: from + i, name: `row ${from + i} "quoted" \\ é`, n: (from + i) * 3, doc: { a: [from + i, 'x'], b: { c: null } } }));

	it.each([0, 1, 2, 255, 256, 257, 300, 511, 700, 1024])('writes and reads %i rows, in order', async (count) => {
		await driver.run('DELETE FROM t');
		const list = rowsOf(count);
		const batch = RowBatch.of({ pos: 'int', name: 'text', n: 'int', doc: 'json' }, list, (r) => r);
		const from = driver.rows({ pos: 'int', name: 'text', n: 'int', doc: 'json' }, 'r');
		// Parameters before and after the batch keep their places.
		const inserted = await driver.run(`INSERT INTO t (pos, name, n, doc) SELECT r.pos + ?, r.name, r.n, r.doc FROM ${from} WHERE r.n >= ?`, [0, batch, 0]);
		expect(inserted).toBe(count);
		const stored = await driver.all<{ pos: unknown; name: string; n: unknown; doc: string }>('SELECT * FROM t ORDER BY pos');
		expect(stored.map((r) => ({ pos: Number(r.pos), name: r.name, n: Number(r.n), doc: JSON.parse(r.doc) }))).toEqual(list);
		const keys = RowBatch.of({ pos: 'int' }, list, (r) => ({ pos: r.pos }));
		const joined = await driver.all<{ name: string }>(`SELECT t.name FROM ${driver.rows({ pos: 'int' }, 'r')} JOIN t ON t.pos = r.pos AND t.n >= ?`, [keys, 0]);
		expect(joined.map((r) => r.name)).toEqual(list.map((r) => r.name));
		expect(await driver.run(`DELETE FROM t WHERE pos IN (SELECT r.pos FROM ${driver.rows({ pos: 'int' }, 'r')})`, [keys])).toBe(count);
	});

	it('takes at most one batch per statement', async () => {
		const a = RowBatch.of({ pos: 'int' }, [{ pos: 1 }], (r) => r);
		const b = RowBatch.of({ pos: 'int' }, [{ pos: 2 }], (r) => r);
		const rows = (alias: string) => driver.rows({ pos: 'int' }, alias);
		await expect(driver.all(`SELECT a.pos FROM ${rows('a')} JOIN ${rows('b')} ON a.pos = b.pos`, [a, b])).rejects.toThrow(/at most one batch/);
	});
});

describe('SQLite batch values', () => {
	const db = new DatabaseSync(':memory:');
	const names = Object.keys(COLUMNS);
	// quote(): the value as SQL text, exact for every type (a big INTEGER is no JS number).
	const viaJson = db.prepare(`SELECT ${names.map((c, i) => `quote(value ->> ${i}) AS ${c}, typeof(value ->> ${i}) AS ${c}_type`).join(', ')} FROM jsonb_each(?)`);
	let driver: SqliteDriver;
	beforeAll(() => {
		driver = new SqliteDriver(':memory:');
	});
	afterAll(() => driver.close());

	const value = fc.oneof(
		fc.string(),
		fc.string({ unit: 'grapheme' }),
		fc.integer(),
		fc.double(),
		fc.constantFrom(0, -0, 2 ** 53, -(2 ** 60), 1e21, 1.5, NaN, Infinity, true, false, null, undefined, '', '007', '1.50'),
		fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxKeys: 3 }),
	);
	const row = fc.record({ name: value, n: fc.oneof(fc.integer(), fc.constantFrom(null, undefined, 0, 2 ** 40)), doc: value, extra: value });

	it('gives each column the value and type that the JSON text of the batch gave', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(row, { maxLength: 20 }), async (list) => {
				const reference = viaJson.all(encodeRows(COLUMNS, list, (r) => r));
				const bound = await driver.all(
					`SELECT ${names.map((c) => `quote(r.${c}) AS ${c}, typeof(r.${c}) AS ${c}_type`).join(', ')} FROM ${driver.rows(COLUMNS, 'r')}`,
					[RowBatch.of(COLUMNS, list, (r) => r)],
				);
				expect(bound).toEqual(reference);
			}),
			{ numRuns: 500 },
		);
	});
});

describe('Postgres statistics while a store fills', () => {
	const backend = postgresBackend();
	let driver: PgDriver;
	beforeAll(async () => {
		await backend.setup();
		const config = backend.config();
		if (config.backend !== 'postgres') throw new Error('a Postgres backend was expected');
		driver = new PgDriver(config);
		await driver.run(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`);
		// Postgres's autovacuum kept out of it: only the store's own ANALYZE can refresh this table's statistics.
		await driver.run('CREATE TABLE grows (pos INTEGER NOT NULL PRIMARY KEY, name TEXT) WITH (autovacuum_enabled = false)');
	});
	afterAll(async () => {
		await driver.close();
		await backend.teardown();
	});

	const analysed = async () => (await driver.all<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'grows' AND last_analyze IS NOT NULL`))[0].n === '1';
	const fill = (from: number, count: number) =>
		driver.transaction(async (sql) => {
			const batch = RowBatch.of({ pos: 'int', name: 'text' }, Array.from({ length: count }, (_, i) => ({ pos: from + i, name: `row ${from + i}` })), (r) => r);
			await sql.run(`INSERT INTO grows (pos, name) SELECT r.pos, r.name FROM ${sql.rows({ pos: 'int', name: 'text' }, 'r')}`, [batch]);
		});

	it('analyses a table that grew by half since it was last analysed, after transactions that changed 2,000 rows', async () => {
		await fill(0, 1500);
		expect(await analysed()).toBe(false); // 1,500 rows changed: not looked at yet
		// The server counts a transaction's rows a moment after its commit: fill until it has counted them.
		let next = 1500;
		for (let i = 0; i < 20 && !(await analysed()); i++) {
			await fill(next, 1000);
			next += 1000;
			await new Promise((r) => setTimeout(r, 250));
		}
		expect(await analysed()).toBe(true);
		// Not Postgres's autovacuum: its own counter of analyses is still 0.
		const [row] = await driver.all<{ auto: string }>(`SELECT autoanalyze_count AS auto FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'grows'`);
		expect(row.auto).toBe('0');
	}, 30_000);
});
