/**
 * Hostile settings and values at the DataSync Database node (Postgres, MariaDB, SQLite) and hostile answers
 * at the DataSync HTTP API node (a REST system of this test's own on 127.0.0.1), each run through n8n-core's
 * WorkflowExecute with real databases. Every case says what it expects (a clear error naming the setting,
 * the record and the field, or correct handling) and checks what was written: the row count of every
 * table of the database (and a "victim" table an injected statement would drop), the server's records
 * and the requests it received, before and after.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSyncRestApi } from '../../credentials/DataSyncRestApi.credentials';
import { DataSyncSqlApi } from '../../credentials/DataSyncSqlApi.credentials';
import { closeSharedTransports, type SqlDialect } from '../../lib/connectors/sql';
import { DataSyncDatabase } from '../../nodes/DataSyncDatabase/DataSyncDatabase.node';
import { DataSyncHttpApi } from '../../nodes/DataSyncHttpApi/DataSyncHttpApi.node';
import { runNode, type RunNodeResult } from '../helpers/run-node';
import { openFixture, type DialectFixture } from '../unit/connectors/fixtures';
import { startPrivateMariaDb, type PrivateServer } from '../helpers/private-servers';
import mysql from 'mysql2/promise';

jest.setTimeout(60_000);

/** Cases tried, by category: printed at the end so the report's figures are the ones measured. */
const tally = new Map<string, number>();
function counted(category: string): void {
	tally.set(category, (tally.get(category) ?? 0) + 1);
}
afterAll(() => {
	const total = [...tally.values()].reduce((a, b) => a + b, 0);
	process.stdout.write(`hostile-connectors cases: ${total} ${JSON.stringify(Object.fromEntries(tally))}\n`);
});

const DIALECTS: SqlDialect[] = ['postgres', 'mysql', 'sqlite'];

/** Table and column names that need quoting and carry SQL of their own; every one is legal in all three dialects. */
const LEGAL_NAMES: Array<[string, string]> = [
	['double quote and a DROP', 'x"; DROP TABLE victim; --'],
	['single quote and a DROP', "x'; DROP TABLE victim; --"],
	['backtick and a DROP', 'x`; DROP TABLE victim; --'],
	['block comment', 'c /* no */ d'],
	['line comment', 'l -- e'],
	['backslashes', 'back\\slash \\" \\\''],
	['a dot', 'dotted.name'],
	['placeholders of the drivers', 'what? ?? $1 @x'],
];

/** Names no dialect can hold as written: refused with the setting named, before any statement. */
const REFUSED_NAMES: Array<[string, string, RegExp]> = [
	['a NUL byte', 'nul\u0000"; DROP TABLE victim; --', /contains a control character/],
	['64 bytes', `${'n'.repeat(40)}"; DROP TABLE victim; --`.padEnd(64, 'z'), /is longer than 63 bytes/],
	['a newline', 'line\n; DROP TABLE victim; --', /contains a control character/],
	['a tab inside', 'victim\tx', /contains a control character/],
];

interface Fixture extends DialectFixture {
	creds: Record<string, unknown>;
}

/** Every table of the database (all schemas of this test) with its row count, keyed "schema / table". */
async function counts(f: DialectFixture): Promise<Record<string, number>> {
	const rows =
		f.dialect === 'postgres'
			? await f.query(`SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`)
			: f.dialect === 'mysql'
				? await f.query(`SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`)
				: await f.query(`SELECT 'main' AS s, name AS t FROM sqlite_master WHERE type = 'table'`);
	const out: Record<string, number> = {};
	for (const { s, t } of rows as Array<{ s: string; t: string }>) {
		const n = await f.query(`SELECT COUNT(*) AS n FROM ${f.dialect === 'sqlite' ? '' : `${f.q(s)}.`}${f.q(t)}`);
		out[`${s} / ${t}`] = Number(n[0].n);
	}
	return out;
}

function change(id: string | null, data: Record<string, unknown>, op: 'upsert' | 'delete' = 'upsert', system = 'erp', entity = 'thing'): Record<string, unknown> {
	return { entity, system, id, op, shape: 'system', data, trace: { runId: 'r', origin: 'crm', hops: 1 } };
}

function runDb(f: Fixture, parameters: Record<string, unknown>, input?: Array<Record<string, unknown>>, continueOnFail = false): Promise<RunNodeResult> {
	return runNode(DataSyncDatabase, {
		parameters: { entity: 'thing', system: 'erp', ...parameters } as never,
		input: input as never,
		credentials: { dataSyncSqlApi: f.creds } as never,
		credentialTypes: [DataSyncSqlApi],
		continueOnFail,
		executionId: 'hostile',
	});
}

function ok(result: RunNodeResult): Array<Record<string, unknown>> {
	if (result.error) throw result.error;
	return result.outputs[0].map((o) => o.json as Record<string, unknown>);
}

describe.each(DIALECTS)('DataSync Database on %s', (dialect) => {
	let f: Fixture;
	const otherSchema = `dsconn_hostile_${process.pid}_${dialect}`;

	beforeAll(async () => {
		const fixture = await openFixture(dialect);
		f = Object.assign(fixture, { creds: { ...fixture.config } as Record<string, unknown> });
		await f.query(`CREATE TABLE victim (id integer PRIMARY KEY, note text)`);
		await f.query(`INSERT INTO victim (id, note) VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
		const ts = dialect === 'postgres' ? 'timestamptz(6)' : dialect === 'mysql' ? 'datetime(6)' : 'text';
		const auto = dialect === 'postgres' ? 'serial PRIMARY KEY' : dialect === 'mysql' ? 'int AUTO_INCREMENT PRIMARY KEY' : 'integer PRIMARY KEY AUTOINCREMENT';
		await f.query(
			`CREATE TABLE limits (id ${auto}, updated_at ${ts}, name varchar(10), n integer, amount numeric(5,2), born ${dialect === 'sqlite' ? 'timestamp' : ts}, note text)`,
		);
		await f.query(`INSERT INTO limits (updated_at, name, n, amount, born, note) VALUES ('2024-01-01T00:00:00.000Z', 'seed', 1, 1.5, '2024-01-01T00:00:00.000Z', 'seed')`.replace(/T00:00:00.000Z/g, dialect === 'mysql' ? ' 00:00:00' : 'T00:00:00.000Z'));
	}, 60_000);

	afterAll(async () => {
		await closeSharedTransports();
		if (dialect === 'postgres') await f.query(`DROP SCHEMA IF EXISTS ${f.q(otherSchema)} CASCADE`);
		await f.drop();
	});

	describe.each(LEGAL_NAMES)('table, schema and every column named with %s', (_what, name) => {
		const t = name;
		const col = { id: `${name}#id`, at: `${name}#at`, gone: `${name}#gone`, by: `${name}#by`, email: `${name}#email` };

		test('every operation works on them and nothing else is touched', async () => {
			counted('identifier quoting (every operation, legal hostile names)');
			const q = f.q;
			const ts = dialect === 'postgres' ? 'timestamptz(6)' : dialect === 'mysql' ? 'datetime(6)' : 'text';
			const auto = dialect === 'postgres' ? 'serial PRIMARY KEY' : dialect === 'mysql' ? 'int AUTO_INCREMENT PRIMARY KEY' : 'integer PRIMARY KEY AUTOINCREMENT';
			const bool = dialect === 'sqlite' ? 'integer NOT NULL DEFAULT 0' : 'boolean NOT NULL DEFAULT false';
			// Postgres: the table sits in a schema named like it; MySQL: in the test's database (its schema).
			const schema = dialect === 'postgres' ? otherSchema + name.slice(0, 20) : '';
			if (schema) await f.query(`CREATE SCHEMA ${q(schema)}`);
			const full = schema ? `${q(schema)}.${q(t)}` : q(t);
			await f.query(`CREATE TABLE ${full} (${q(col.id)} ${auto}, ${q(col.at)} ${ts}, ${q(col.gone)} ${bool}, ${q(col.by)} text, ${q(col.email)} text)`);
			const stamp = (s: number) => {
				const iso = new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();
				return dialect === 'mysql' ? iso.slice(0, 19).replace('T', ' ') : iso;
			};
			// Literal values: mysql2 would read a "?" inside a quoted name as a placeholder.
			for (let i = 1; i <= 3; i++) await f.query(`INSERT INTO ${full} (${q(col.at)}, ${q(col.email)}) VALUES ('${stamp(i)}', 'p${i}@x.io')`);
			const before = await counts(f);
			const settings = {
				schema,
				table: t,
				idColumn: col.id,
				updatedAtColumn: col.at,
				softDeleteColumn: col.gone,
				softDeleteKind: 'boolean',
				actorColumn: col.by,
			};
			try {
				const changes = ok(await runDb(f, { ...settings, operation: 'getChanges', sync: 's', cursorSource: 'explicit', pageSize: 10, start: { ts: '2024-01-01T00:00:01Z', id: '1' } }));
				expect(changes.map((c) => c.id)).toEqual(['2', '3']);
				expect((changes[0].data as Record<string, unknown>)[col.email]).toBe('p2@x.io');
				expect(ok(await runDb(f, { ...settings, operation: 'getMany', returnAll: true, pageSize: 2 })).map((c) => c.id)).toEqual(['1', '2', '3']);
				expect(ok(await runDb(f, { ...settings, operation: 'getByIds', ids: '1,3' })).map((c) => c.id).sort()).toEqual(['1', '3']);
				const written = ok(
					await runDb(f, { ...settings, operation: 'upsert', deleteMode: 'soft', options: { matchColumns: col.email } }, [
						change('2', { [col.email]: 'two@x.io' }),
						change(null, { [col.email]: ' P1@X.IO ' }),
						change(null, { [col.email]: 'new@x.io' }),
						change('3', {}, 'delete'),
					]),
				);
				expect(written.map((w) => [w.id, w.outcome])).toEqual([
					['2', 'written'],
					['1', 'matched'],
					['4', 'written'],
					['3', 'written'],
				]);
				ok(await runDb(f, { ...settings, operation: 'delete', deleteMode: 'hard' }, [change('1', {})]));
				const rows = await f.query(`SELECT ${q(col.id)} AS id, ${q(col.email)} AS email, ${q(col.gone)} AS gone, ${q(col.by)} AS by_ FROM ${full} ORDER BY ${q(col.id)}`);
				expect(rows.map((r) => [Number(r.id), r.email, Boolean(Number(r.gone) || r.gone === true), r.by_])).toEqual([
					[2, 'two@x.io', false, 'datasync'],
					[3, 'p3@x.io', true, 'datasync'],
					[4, 'new@x.io', false, 'datasync'],
				]);
				// One row created, one deleted: every table, the victim too, holds as many rows as before.
				const after = await counts(f);
				expect(after).toEqual(before);
				expect(Object.entries(after).filter(([k]) => k.endsWith(' / victim'))).toEqual([[expect.any(String), 3]]);
			} finally {
				await f.query(`DROP TABLE ${full}`);
				if (schema) await f.query(`DROP SCHEMA ${q(schema)}`);
			}
		});
	});

	const settingsOf = { table: 'limits', idColumn: 'id', updatedAtColumn: 'updated_at' };

	test.each([
		['Get by IDs', { operation: 'getByIds', ids: "1; DROP TABLE victim; --,1' OR '1'='1,1) OR (1=1" }, []],
		['Get by IDs (a quote and a comment)', { operation: 'getByIds', ids: '"1" --, 1/*' }, []],
		['Delete', { operation: 'delete', deleteMode: 'hard' }, [change("1' OR '1'='1", {}), change('1; DELETE FROM limits', {})]],
		['Upsert (update of ids holding SQL)', { operation: 'upsert', options: { conditional: false } }, [change("1' OR 1=1 --", { name: 'x' })]],
	])('ids holding SQL are values, never SQL: %s touches no row', async (_what, parameters, input) => {
		counted('ids and cursors holding SQL');
		const before = await counts(f);
		const seed = await f.query(`SELECT * FROM limits ORDER BY id`);
		const result = await runDb(f, { ...settingsOf, ...parameters }, input.length ? input : [{}]);
		if (parameters.operation === 'getByIds') expect(ok(result)).toEqual([]);
		else if (parameters.operation === 'delete') expect(ok(result).map((o) => o.outcome)).toEqual(['written', 'written']);
		else expect(ok(result).map((o) => o.outcome)).toEqual(['target-deleted']);
		expect(await counts(f)).toEqual(before);
		expect(await f.query(`SELECT * FROM limits ORDER BY id`)).toEqual(seed);
	});

	test('a start cursor holding SQL is refused as no date-time, naming the setting', async () => {
		counted('ids and cursors holding SQL');
		const before = await counts(f);
		const result = await runDb(f, { ...settingsOf, operation: 'getChanges', sync: 's', cursorSource: 'explicit', pageSize: 5, start: { ts: "2024-01-01'; DROP TABLE victim; --", id: '1' } });
		expect(result.error?.message).toBe(`Start Cursor: "After Timestamp" must be an ISO 8601 date-time, got "2024-01-01'; DROP TABLE victim; --"`);
		expect(await counts(f)).toEqual(before);
	});


	describe.each(REFUSED_NAMES)('a name with %s', (_what, name, reason) => {
		const cases: Array<[string, Record<string, unknown>, string]> = [
			['Schema', { schema: name }, 'Schema'],
			['Table', { table: name }, 'Table'],
			['ID Column', { idColumn: name }, 'ID column'],
			['Updated-At Column', { updatedAtColumn: name }, 'Updated-at column'],
			['Soft-Delete Column', { softDeleteColumn: name, softDeleteKind: 'timestamp' }, 'Soft-delete column'],
			['Actor Column', { actorColumn: name }, 'Actor column'],
		];
		test.each(cases)('in setting "%s" is refused by name for reads and writes, nothing written', async (_setting, override, label) => {
			counted('identifier refused (setting × read and write)');
			const before = await counts(f);
			for (const parameters of [
				{ operation: 'getMany', returnAll: true, pageSize: 10 },
				{ operation: 'upsert', deleteMode: 'hard' },
			]) {
				const result = await runDb(f, { ...settingsOf, ...parameters, ...override }, [change(null, { name: 'x' })]);
				expect(result.error?.message).toMatch(new RegExp(`^${label} .*${reason.source}`));
			}
			expect(await counts(f)).toEqual(before);
		});

		test('as a match column is refused by name, nothing written', async () => {
			counted('identifier refused (setting × read and write)');
			const before = await counts(f);
			const result = await runDb(f, { ...settingsOf, operation: 'upsert', deleteMode: 'hard', options: { matchColumns: name } }, [change(null, { name: 'x' })]);
			expect(result.error?.message).toMatch(reason);
			expect(result.error?.message).toMatch(/match column/i);
			expect(await counts(f)).toEqual(before);
		});
	});

	test.each([
		['table', { table: 'victim" WHERE 1=0; DROP TABLE victim; --' }, /^table "victim" WHERE 1=0; DROP TABLE victim; --" does not exist$/],
		['ID column', { idColumn: 'id" FROM victim; DROP TABLE victim; --' }, /^ID column "id" FROM victim; DROP TABLE victim; --" is not a column of table "limits"$/],
		['updated-at column', { updatedAtColumn: "updated_at'); DELETE FROM victim; --" }, /^Updated-at column "updated_at'\); DELETE FROM victim; --" is not a column of table "limits"$/],
	])('a %s setting that names SQL, not a column, is refused as unknown; the victim survives', async (_what, override, message) => {
		counted('identifier naming SQL that is not there');
		const before = await counts(f);
		for (const operation of ['getChanges', 'getMany', 'getByIds', 'upsert', 'delete']) {
			const result = await runDb(f, { ...settingsOf, ...override, operation, sync: 's', cursorSource: 'explicit', pageSize: 5, ids: '1', deleteMode: 'hard' }, [change('1', { name: 'x' })]);
			expect(result.error?.message).toMatch(message);
		}
		expect(await counts(f)).toEqual(before);
	});

	test.each([
		['a quote and a DROP', 'name"; DROP TABLE victim; --'],
		['a comment', 'name /* x */'],
		['a placeholder', 'name = ?, n'],
	])('a record field named with %s is refused with the record and the field; with Ignore Unknown Fields it is left out', async (_what, field) => {
		counted('field names holding SQL');
		const before = await counts(f);
		const refused = await runDb(f, { ...settingsOf, operation: 'upsert' }, [change('1', { name: 'ok' }), change('1', { [field]: 'x' })]);
		expect(refused.error?.message).toBe(`item 1 (thing / erp / 1): field "${field}" is not a column of table "limits"`);
		expect(await counts(f)).toEqual(before);
		const ignored = ok(await runDb(f, { ...settingsOf, operation: 'upsert', options: { ignoreUnknownFields: true } }, [change('1', { name: 'kept', [field]: 'x' })]));
		expect(ignored[0]).toMatchObject({ id: '1', outcome: 'written' });
		expect((await f.query(`SELECT name FROM limits WHERE id = 1`))[0].name).toBe('kept');
		expect(await counts(f)).toEqual(before);
	});

	/**
	 * A value the column cannot hold: Postgres and MariaDB refuse it, SQLite stores what it is given (it has
	 * no length or range limits), except impossible dates and text that is no Unicode, which no dialect
	 * may store as a guess.
	 */
	const strict = dialect !== 'sqlite';
	const decimal = dialect === 'mysql' ? 'decimal\\(5,2\\)' : 'numeric\\(5,2\\)';
	const VALUES: Array<[string, string, unknown, RegExp | null, unknown?]> = [
		['varchar(10) overflow', 'name', 'elevenchars', strict ? /field "name" is 11 characters long; column "name" holds at most 10/ : null],
		['varchar(10) overflow in multibyte characters', 'name', 'é'.repeat(11), strict ? /field "name" is 11 characters long; column "name" holds at most 10/ : null],
		['integer above 2^31-1', 'n', 2147483648, strict ? /field "n" is 2147483648, out of range for column "n" \(-2147483648 to 2147483647\)/ : null],
		['integer below -2^31', 'n', -2147483649, strict ? /field "n" is -2147483649, out of range for column "n"/ : null],
		['integer given as a huge numeric string', 'n', '99999999999999999999', strict ? /field "n" is 99999999999999999999, out of range for column "n"/ : null, 1e20],
		['a fraction in an integer column', 'n', 1.5, strict ? /field "n" is 1.5, not a whole number \(column "n" is an integer\)/ : null],
		['text in an integer column', 'n', '12abc', strict ? /field "n" is "12abc", not a whole number \(column "n" is an integer\)/ : null],
		['numeric(5,2) overflow', 'amount', 1000, strict ? new RegExp(`field "amount" is 1000, more than 3 digits before the point \\(column "amount" is ${decimal}\\)`) : null],
		['numeric(5,2) overflow once rounded', 'amount', 999.995, strict ? new RegExp(`field "amount" is 999.995, more than 3 digits before the point \\(column "amount" is ${decimal}\\)`) : null],
		['numeric(5,2) overflow as a string', 'amount', '-12345.6', strict ? /field "amount" is -12345.6, more than 3 digits before the point/ : null, -12345.6],
		['not a number in a numeric column', 'amount', 'NaN-ish', strict ? new RegExp(`field "amount" is "NaN-ish", not a number \\(column "amount" is ${decimal}\\)`) : null],
		['29 February of a common year', 'born', '2023-02-29T10:00:00Z', /field "born" is "2023-02-29T10:00:00Z", not a date-time that exists/],
		['31 April', 'born', '2024-04-31', /field "born" is "2024-04-31", not a date-time that exists/],
		['24:00', 'born', '2024-01-01T24:00:00Z', /field "born" is "2024-01-01T24:00:00Z", not a date-time that exists/],
		['year 0', 'born', '0000-06-01T00:00:00Z', /field "born" is "0000-06-01T00:00:00Z", not a date-time that exists/],
		['a five-digit year', 'born', '10000-01-01T00:00:00Z', /field "born" is "10000-01-01T00:00:00Z", not a date-time/],
		['an impossible updated-at', 'updated_at', '2023-02-29T00:00:00Z', /field "updated_at" is "2023-02-29T00:00:00Z", not a date-time that exists/],
		['a lone surrogate', 'note', 'ab\uD800cd', /field "note" holds text that is not valid Unicode \(a lone surrogate at character 2\)/],
		['a lone low surrogate', 'name', '\uDC00', /field "name" holds text that is not valid Unicode \(a lone surrogate at character 0\)/],
		['a NUL character', 'note', 'a\u0000b', dialect === 'postgres' ? /field "note" contains a NUL character, which Postgres cannot store/ : null],
	];

	// SQLite's type affinity turns numeric text into a number in INTEGER and NUMERIC columns: `stored` is that.
	describe.each(VALUES)('a value at the column limit: %s', (_what, field, value, refused, stored) => {
		test(refused ? 'is refused with the record and the field; nothing of the batch is written' : 'is stored as given', async () => {
			counted('values at column limits');
			const before = await counts(f);
			const seed = await f.query(`SELECT * FROM limits ORDER BY id`);
			const batch = [change(null, { name: 'good one' }), change('1', { [field]: value }), change(null, { name: 'good two' })];
			const result = await runDb(f, { ...settingsOf, operation: 'upsert' }, batch);
			if (refused) {
				expect(result.error?.message).toMatch(/^item 1 \(thing \/ erp \/ 1\): /);
				expect(result.error?.message).toMatch(refused);
				expect(await counts(f)).toEqual(before);
				expect(await f.query(`SELECT * FROM limits ORDER BY id`)).toEqual(seed);
				// With Continue On Fail the refused record is an error item and the rest of the batch is written.
				const kept = await runDb(f, { ...settingsOf, operation: 'upsert' }, batch, true);
				const out = ok(kept);
				expect(out[1].error).toMatch(refused);
				expect(out[1]).toMatchObject({ id: '1', entity: 'thing', system: 'erp' });
				expect([out[0].outcome, out[2].outcome]).toEqual(['written', 'written']);
				const rows = await f.query(`SELECT id, name FROM limits WHERE id IN (${[out[0].id, out[2].id].join(', ')}) ORDER BY id`);
				expect(rows.map((r) => r.name)).toEqual(['good one', 'good two']);
				await f.query(`DELETE FROM limits WHERE id IN (${[out[0].id, out[2].id].join(', ')})`);
				expect(await f.query(`SELECT * FROM limits ORDER BY id`)).toEqual(seed);
			} else {
				const out = ok(result);
				expect(out.map((o) => o.outcome)).toEqual(['written', 'written', 'written']);
				const row = (await f.query(`SELECT ${f.q(field)} AS v FROM limits WHERE id = 1`))[0];
				expect(row.v).toEqual(stored ?? value);
				await f.query(`DELETE FROM limits WHERE id IN (${[out[0].id, out[2].id].join(', ')})`);
				await f.query(`UPDATE limits SET ${f.q(field)} = ${dialect === 'postgres' ? '$1' : '?'} WHERE id = 1`, [seed[0][field]]);
			}
		});
	});

	test.each([
		['exactly 10 characters, multibyte', 'name', '€'.repeat(9) + '😀', '€'.repeat(9) + '😀'],
		['the largest integer', 'n', 2147483647, 2147483647],
		['the smallest integer', 'n', -2147483648, -2147483648],
		['a whole number given as a string', 'n', '42', 42],
		['the largest numeric(5,2)', 'amount', 999.99, 999.99],
		['29 February of a leap year', 'born', '2024-02-29T23:59:59Z', '2024-02-29T23:59:59'],
	])('a value just inside the column limit is written: %s', async (_what, field, value, expected) => {
		counted('values at column limits');
		const before = await counts(f);
		const seed = await f.query(`SELECT * FROM limits WHERE id = 1`);
		ok(await runDb(f, { ...settingsOf, operation: 'upsert' }, [change('1', { [field]: value })]));
		const v = (await f.query(`SELECT ${f.q(field)} AS v FROM limits WHERE id = 1`))[0].v;
		if (typeof expected === 'number') expect(Number(v)).toBe(expected);
		else if (field === 'born') expect((v instanceof Date ? v.toISOString() : String(v)).replace(' ', 'T').slice(0, 19)).toBe(expected);
		else expect(v).toBe(expected);
		expect(await counts(f)).toEqual(before);
		await f.query(`UPDATE limits SET ${f.q(field)} = ${dialect === 'postgres' ? '$1' : '?'} WHERE id = 1`, [seed[0][field]]);
	});
});

/**
 * A MariaDB server of this test's own whose sql_mode is lax, as many production servers are: not strict
 * (values too long are cut, with a warning) and NO_BACKSLASH_ESCAPES (the driver escapes a quote as \').
 * The transport sets its sessions strict and with backslash escapes, whatever the server says.
 */
describe('DataSync Database on a MariaDB server with a lax sql_mode', () => {
	let server: PrivateServer;
	let admin: mysql.Connection;
	let f: Fixture;

	beforeAll(async () => {
		server = await startPrivateMariaDb('lax');
		admin = await mysql.createConnection({ ...server.config, dateStrings: true });
		await admin.query(`SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES'`);
		await admin.end();
		admin = await mysql.createConnection({ ...server.config, dateStrings: true });
		await admin.query('CREATE TABLE victim (id integer PRIMARY KEY, note text)');
		await admin.query(`INSERT INTO victim VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
		await admin.query('CREATE TABLE notes (id int AUTO_INCREMENT PRIMARY KEY, updated_at datetime(6), note text, tiny tinytext)');
		await admin.query(`INSERT INTO notes (updated_at, note) VALUES ('2024-01-01 00:00:00', 'seed')`);
		const query = async (sql: string) => (await admin.query(sql))[0] as Array<Record<string, unknown>>;
		f = { dialect: 'mysql', config: { dialect: 'mysql', ...server.config }, creds: { dialect: 'mysql', ...server.config }, query, q: (n) => `\`${n}\``, drop: async () => undefined };
	}, 240_000);

	afterAll(async () => {
		await closeSharedTransports();
		await admin?.end();
		await server?.destroy();
	});

	const settings = { table: 'notes', idColumn: 'id', updatedAtColumn: 'updated_at' };

	test("the server really is lax: a plain mysql2 session cuts a value too long, and its escaping of a quote breaks", async () => {
		counted('MariaDB with a lax sql_mode');
		const mode = String((await f.query('SELECT @@SESSION.sql_mode AS m'))[0].m);
		expect(mode.split(',')).toContain('NO_BACKSLASH_ESCAPES');
		expect(mode).not.toMatch(/STRICT/);
		await admin.query('INSERT INTO notes (id, tiny) VALUES (99, ?)', ['x'.repeat(300)]);
		expect(String((await f.query('SELECT tiny FROM notes WHERE id = 99'))[0].tiny)).toHaveLength(255);
		await admin.query('DELETE FROM notes WHERE id = 99');
		await expect(admin.query('INSERT INTO notes (id, note) VALUES (98, ?)', ["it's"])).rejects.toThrow(/You have an error in your SQL syntax/);
	});

	test.each([
		['a backslash before a quote', "it\\'s' OR 1=1; DROP TABLE victim; -- \\"],
		['backslash escapes', '\\0 \\n \\Z \\\\ \\%'],
		['a NUL and a quote', "a\u0000'b"],
	])('a value with %s is written as given and the victim survives', async (_what, value) => {
		counted('MariaDB with a lax sql_mode');
		const before = await counts(f);
		ok(await runDb(f, { ...settings, operation: 'upsert' }, [change('1', { note: value })]));
		expect((await f.query('SELECT note FROM notes WHERE id = 1'))[0].note).toBe(value);
		expect(await counts(f)).toEqual(before);
	});

	test('a value too long for a TEXT column (no length the sync checks) is refused by the strict session, not cut; nothing of the batch is written', async () => {
		counted('MariaDB with a lax sql_mode');
		const before = await counts(f);
		const seed = await f.query('SELECT * FROM notes ORDER BY id');
		const result = await runDb(f, { ...settings, operation: 'upsert' }, [change(null, { note: 'fine' }), change('1', { tiny: 'x'.repeat(300) })]);
		expect(result.error?.message).toBe(`item 1 (thing / erp / 1): field "tiny": Data too long for column 'tiny'`);
		expect(await counts(f)).toEqual(before);
		expect(await f.query('SELECT * FROM notes ORDER BY id')).toEqual(seed);
	});

	test('with Continue On Fail the record MariaDB refused (named by its row) is set aside and the rest of its batch is written', async () => {
		counted('MariaDB with a lax sql_mode');
		const batch = [change(null, { note: 'one' }), change(null, { note: 'two', tiny: 'y'.repeat(256) }), change(null, { note: 'three' })];
		const out = ok(await runDb(f, { ...settings, operation: 'upsert' }, batch, true));
		expect(out[1].error).toBe(`item 1 (thing / erp / new): field "tiny": Data too long for column 'tiny'`);
		expect([out[0].outcome, out[2].outcome]).toEqual(['written', 'written']);
		const rows = await f.query(`SELECT note FROM notes WHERE id IN (${out[0].id}, ${out[2].id}) ORDER BY id`);
		expect(rows.map((r) => r.note)).toEqual(['one', 'three']);
		expect((await f.query(`SELECT COUNT(*) AS n FROM notes WHERE note = 'two'`))[0].n).toBe(0);
		await f.query(`DELETE FROM notes WHERE id IN (${out[0].id}, ${out[2].id})`);
	});
});

/**
 * A REST system that answers as the test scripts it: each test sets `handler`. It keeps the records it
 * created (so a create that landed twice shows as two), and every request it received with its headers.
 */
interface HostileServer {
	url: string;
	port: number;
	records: Map<string, Record<string, unknown>>;
	log: Array<{ method: string; path: string; headers: IncomingMessage['headers']; body: string }>;
	handler: (req: IncomingMessage, res: ServerResponse, body: string) => unknown;
	/** Connections still open (a drip answer the client gave up on must be closed by the client). */
	open(): number;
	close(): Promise<void>;
}

async function startHostile(): Promise<HostileServer> {
	const sockets = new Set<import('node:net').Socket>();
	const state = {
		records: new Map<string, Record<string, unknown>>(),
		log: [] as HostileServer['log'],
		handler: ((_req, res) => {
			res.writeHead(404).end();
		}) as HostileServer['handler'],
	};
	const server: Server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			state.log.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
			Promise.resolve(state.handler(req, res, body)).catch((error: Error) => res.destroy(error));
		});
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as AddressInfo).port;
	return Object.assign(state, {
		url: `http://127.0.0.1:${port}`,
		port,
		open: () => [...sockets].filter((s) => !s.destroyed).length,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	});
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
	res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Creates the record a POST carries, the way an API would, and returns it. */
function create(server: HostileServer, body: string): Record<string, unknown> {
	const id = String(server.records.size + 1);
	const record = { ...(JSON.parse(body) as object), id, updated_at: new Date().toISOString() };
	server.records.set(id, record);
	return record;
}

const SECRET = 'hostile-test-secret-4711';

describe('DataSync HTTP API against hostile answers', () => {
	let api: HostileServer;
	let elsewhere: HostileServer;

	beforeAll(async () => {
		api = await startHostile();
		elsewhere = await startHostile();
		elsewhere.handler = (_req, res) => json(res, 200, { data: [{ id: 'stolen' }] });
	});

	afterAll(async () => {
		await api.close();
		await elsewhere.close();
	});

	beforeEach(() => {
		for (const s of [api, elsewhere]) {
			s.records.clear();
			s.log.length = 0;
		}
	});

	function runHttp(parameters: Record<string, unknown>, input?: Array<Record<string, unknown>>, continueOnFail = false, baseUrl = api.url): Promise<RunNodeResult> {
		return runNode(DataSyncHttpApi, {
			parameters: { entity: 'contact', system: 'crm', collectionPath: '/contacts', idField: 'id', updatedAtField: 'updated_at', ...parameters } as never,
			input: input as never,
			credentials: { dataSyncRestApi: { baseUrl, authType: 'header', headerName: 'X-API-Key', headerSecret: SECRET } },
			credentialTypes: [DataSyncRestApi],
			continueOnFail,
			executionId: 'hostile-http',
		});
	}

	const list = { operation: 'list', cursorSource: 'none', itemsPath: 'data', pagination: 'none', pageSize: 100, requestOptions: { retries: 2, timeout: 3000 } };
	const contact = (id: string | null, data: Record<string, unknown>, op: 'upsert' | 'delete' = 'upsert') => change(id, data, op, 'crm', 'contact');

	/** The error of a run; the API's records are checked unchanged by each test. */
	function failed(result: RunNodeResult): string {
		expect(result.error).toBeDefined();
		return result.error!.message;
	}

	describe('answers that are not a list of records', () => {
		test.each([
			['HTML with 200', 'text/html; charset=utf-8', '<!doctype html><html><body>Login required</body></html>', /answered 200 with a body that is not a JSON object or list \(text\/html; charset=utf-8\): <!doctype html><html><body>Login required/],
			['an empty body', 'application/json', '', /answered 200 with an empty body, not a list of records at "data"/],
			['truncated JSON', 'application/json', '{"data":[{"id":"1","email":"a@x.io"},{"id":"2"', /answered 200 with a body that is not a JSON object or list \(application\/json\): \{"data":\[\{"id":"1"/],
			['XML', 'application/xml', '<data><id>1</id></data>', /answered 200 with a body that is not a JSON object or list \(application\/xml\): <data><id>1<\/id><\/data>/],
			['JSON without the list', 'application/json', '{"items":[{"id":"1"}]}', /answered without a list of records at "data"/],
			['a JSON string', 'application/json', '"data"', /answered 200 with a body that is not a JSON object or list \(application\/json\): data/],
			['records without an id', 'application/json', '{"data":[{"id":"1"},{"email":"no-id@x.io"}]}', /A record of \/contacts has no id at "id"/],
			['an id that is an object', 'application/json', '{"data":[{"id":{"$oid":"1"}}]}', /A record of \/contacts has no id at "id"/],
		])('%s is a clear error, read once, not retried', async (_what, type, body, message) => {
			counted('HTTP: answers that are not records');
			api.handler = (_req, res) => res.writeHead(200, { 'content-type': type }).end(body);
			expect(failed(await runHttp(list))).toMatch(message);
			expect(api.log).toHaveLength(1);
		});

		test('JSON with the wrong content type is read as JSON: the body decides, not the label', async () => {
			counted('HTTP: answers that are not records');
			api.handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('{"data":[{"id":"1"},{"id":"2"}]}');
			const result = await runHttp(list);
			expect(ok(result).map((i) => i.id)).toEqual(['1', '2']);
		});

		test('a huge answer (10,000 records, about 30 MB) is read whole, one item per record', async () => {
			counted('HTTP: answers that are not records');
			const padding = 'x'.repeat(3000);
			const page = JSON.stringify({ data: Array.from({ length: 10_000 }, (_, i) => ({ id: String(i), note: padding })) });
			api.handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(page);
			const started = Date.now();
			const out = ok(await runHttp({ ...list, pageSize: 10_000 }));
			process.stdout.write(`huge answer: ${(page.length / 1e6).toFixed(1)} MB, ${out.length} items in ${Date.now() - started} ms\n`);
			expect(out).toHaveLength(10_000);
			expect(new Set(out.map((i) => i.id)).size).toBe(10_000);
		});
	});

	describe('redirects', () => {
		test('a 301 loop stops with a clear error after a few hops', async () => {
			counted('HTTP: redirects');
			api.handler = (_req, res) => res.writeHead(301, { location: '/contacts' }).end();
			expect(failed(await runHttp(list))).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/contacts answered 301 \(redirect to http:\/\/127\.0\.0\.1:\d+\/contacts\): more than 5 redirects/);
			expect(api.log.length).toBeLessThanOrEqual(6);
		});

		test('a 302 ping-pong between two paths stops too', async () => {
			counted('HTTP: redirects');
			api.handler = (req, res) => res.writeHead(302, { location: req.url?.startsWith('/a') ? '/b' : '/a' }).end();
			expect(failed(await runHttp(list))).toMatch(/answered 302 \(redirect to .*\): more than 5 redirects/);
			expect(api.log.length).toBeLessThanOrEqual(6);
		});

		test('a read redirected on the same host and port is followed (a moved collection)', async () => {
			counted('HTTP: redirects');
			api.handler = (req, res) => (req.url?.startsWith('/contacts') ? res.writeHead(301, { location: '/v2/contacts' }).end() : json(res, 200, { data: [{ id: '7' }] }));
			expect(ok(await runHttp(list)).map((i) => i.id)).toEqual(['7']);
			expect(api.log.map((l) => l.path)).toEqual(['/contacts?limit=100', '/v2/contacts']);
			expect(api.log[1].headers['x-api-key']).toBe(SECRET);
		});

		test.each([301, 302, 303, 307, 308])('a read redirected to another port (%i) is not followed: the credential stays home', async (status) => {
			counted('HTTP: redirects');
			api.handler = (_req, res) => res.writeHead(status, { location: `${elsewhere.url}/contacts` }).end();
			const message = failed(await runHttp(list));
			expect(message).toMatch(new RegExp(`answered ${status} \\(redirect to http://127\\.0\\.0\\.1:${elsewhere.port}/contacts\\): redirects to another host or port are not followed`));
			expect(message).not.toContain(SECRET);
			expect(elsewhere.log).toEqual([]);
		});

		test('a Link header whose next page is on another port is not followed', async () => {
			counted('HTTP: redirects');
			api.handler = (_req, res) => json(res, 200, { data: [{ id: '1' }] }, { link: `<${elsewhere.url}/contacts?page=2>; rel="next"` });
			expect(failed(await runHttp({ ...list, pagination: 'link' }))).toMatch(/list page 1: the next page link http:\/\/127\.0\.0\.1:\d+\/contacts\?page=2 is on another host or port; not followed/);
			expect(elsewhere.log).toEqual([]);
		});

		test.each([
			['a create', 'create', contact(null, { email: 'a@x.io' }), 307],
			['an update', 'update', contact('1', { email: 'a@x.io' }), 308],
			['a delete', 'delete', contact('1', {}, 'delete'), 301],
		])('%s redirected even on the same host is not followed (its method and body would change), nothing written', async (_what, operation, item, status) => {
			counted('HTTP: redirects');
			api.handler = (req, res) => (req.url?.startsWith('/moved') ? json(res, 200, create(api, '{}')) : res.writeHead(status, { location: '/moved/contacts' }).end());
			const message = failed(await runHttp({ operation, conditional: false, requestOptions: { retries: 2 } }, [item]));
			expect(message).toMatch(new RegExp(`^item 0 \\(contact / crm / (new|1)\\): (POST|PATCH|DELETE) http://127\\.0\\.0\\.1:\\d+/contacts(/1)? answered ${status} \\(redirect to http://127\\.0\\.0\\.1:\\d+/moved/contacts\\): a write is never redirected`));
			expect(api.log).toHaveLength(1);
			expect(api.records.size).toBe(0);
		});
	});

	describe('slow answers', () => {
		test('a drip answer (headers, then a byte a second) is stopped by the timeout with a clear error', async () => {
			counted('HTTP: slow answers');
			const timers = new Set<NodeJS.Timeout>();
			api.handler = (_req, res) => {
				res.writeHead(200, { 'content-type': 'application/json' });
				res.write('{"data":[');
				const timer = setInterval(() => res.write(' '), 1000);
				timers.add(timer);
				res.on('close', () => clearInterval(timer));
			};
			const started = Date.now();
			const message = failed(await runHttp({ ...list, requestOptions: { retries: 1, timeout: 1500 } }));
			const took = Date.now() - started;
			for (const t of timers) clearInterval(t);
			process.stdout.write(`drip answer: stopped after ${took} ms (timeout 1500 ms, 2 attempts)\n`);
			expect(message).toMatch(/list page 1: GET http:\/\/127\.0\.0\.1:\d+\/contacts failed after 2 attempts: .*timed out after 1500 ms/);
			expect(api.log).toHaveLength(2);
			expect(took).toBeLessThan(10_000);
			// The client closed both connections it gave up on.
			const deadline = Date.now() + 5000;
			while (api.open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
			expect(api.open()).toBe(0);
		});

		test('an answer that sends no headers at all is stopped by the timeout too', async () => {
			counted('HTTP: slow answers');
			api.handler = () => undefined;
			const message = failed(await runHttp({ ...list, requestOptions: { retries: 0, timeout: 800 } }));
			expect(message).toMatch(/list page 1: GET http:\/\/127\.0\.0\.1:\d+\/contacts failed after 1 attempts: .*timed out after 800 ms/);
		});
	});

	describe('429 and 5xx', () => {
		test('429 with Retry-After in seconds is waited out, then read', async () => {
			counted('HTTP: 429 and 5xx');
			let n = 0;
			api.handler = (_req, res) => (n++ === 0 ? json(res, 429, { error: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, { data: [{ id: '1' }] }));
			const started = Date.now();
			expect(ok(await runHttp(list)).map((i) => i.id)).toEqual(['1']);
			expect(Date.now() - started).toBeGreaterThanOrEqual(950);
			expect(api.log).toHaveLength(2);
		});

		test('429 with Retry-After as an HTTP date is waited out', async () => {
			counted('HTTP: 429 and 5xx');
			let n = 0;
			api.handler = (_req, res) =>
				n++ === 0 ? json(res, 429, {}, { 'retry-after': new Date(Date.now() + 2000).toUTCString() }) : json(res, 200, { data: [{ id: '1' }] });
			const started = Date.now();
			expect(ok(await runHttp(list)).map((i) => i.id)).toEqual(['1']);
			expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		});

		test('429 asking for an hour fails at once instead of stalling the execution', async () => {
			counted('HTTP: 429 and 5xx');
			api.handler = (_req, res) => json(res, 429, {}, { 'retry-after': '3600' });
			const started = Date.now();
			expect(failed(await runHttp(list))).toMatch(/answered 429 and asks to wait 3600 s, more than the 60 s allowed/);
			expect(Date.now() - started).toBeLessThan(3000);
			expect(api.log).toHaveLength(1);
		});

		test.each([500, 502, 503, 504])('%i on every attempt fails after the retries, naming the status and the attempts', async (status) => {
			counted('HTTP: 429 and 5xx');
			api.handler = (_req, res) => res.writeHead(status, { 'content-type': 'text/html' }).end(`<html>${'upstream down '.repeat(100)}</html>`);
			const message = failed(await runHttp({ ...list, requestOptions: { retries: 1, timeout: 3000 } }));
			expect(message).toMatch(new RegExp(`list page 1: GET http://127\\.0\\.0\\.1:\\d+/contacts answered ${status} after 2 attempts: <html>upstream down`));
			expect(message.length).toBeLessThan(600);
			expect(api.log).toHaveLength(2);
		});
	});

	describe('ids in record URLs', () => {
		test.each([
			['../admin', '/contacts/..%2Fadmin'],
			['a/b?c=1#d', '/contacts/a%2Fb%3Fc%3D1%23d'],
			['%2e%2e', '/contacts/%252e%252e'],
			['x y\u00e9', '/contacts/x%20y%C3%A9'],
		])('id %j is one escaped path segment for get, update and delete', async (id, path) => {
			counted('HTTP: ids in record URLs');
			api.handler = (req, res) => (req.method === 'DELETE' ? res.writeHead(204).end() : json(res, 200, { id, email: 'e@x.io' }));
			ok(await runHttp({ operation: 'get', id }, [{}]));
			ok(await runHttp({ operation: 'update', conditional: false }, [contact(id, { email: 'f@x.io' })]));
			ok(await runHttp({ operation: 'delete', conditional: false }, [contact(id, {}, 'delete')]));
			expect(api.log.map((l) => `${l.method} ${l.path}`)).toEqual([`GET ${path}`, `PATCH ${path}`, `DELETE ${path}`]);
		});

		test.each(['.', '..'])('id %j (a dot segment, which URL parsers remove) is refused by record, nothing sent', async (id) => {
			counted('HTTP: ids in record URLs');
			const why = `the id ${JSON.stringify(id)} cannot be sent in a URL path (it would address the collection or its parent)`;
			expect(failed(await runHttp({ operation: 'get', id }, [{}]))).toBe(`item 0: parameter "ID": ${why}`);
			expect(failed(await runHttp({ operation: 'update', conditional: false }, [contact(id, { email: 'f@x.io' })]))).toBe(`item 0 (contact / crm / ${id}): ${why}`);
			expect(failed(await runHttp({ operation: 'delete', conditional: false }, [contact(id, {}, 'delete')]))).toBe(`item 0 (contact / crm / ${id}): ${why}`);
			expect(api.log).toEqual([]);
		});
	});

	describe('writes that may have landed', () => {
		test.each([
			['answers 500 after creating', (res: ServerResponse) => json(res, 500, { error: 'oops' })],
			['answers 502 after creating', (res: ServerResponse) => json(res, 502, { error: 'bad gateway' })],
			['drops the connection after creating', (res: ServerResponse) => res.socket?.destroy()],
			['answers after the timeout', (res: ServerResponse) => setTimeout(() => json(res, 201, { id: 'late' }), 1500)],
		])('a create whose API %s is not sent again: one record, and an error that says it may exist', async (_what, answer) => {
			counted('HTTP: writes that may have landed');
			api.handler = (req, res, body) => {
				if (req.method === 'POST') create(api, body);
				answer(res);
			};
			const result = await runHttp({ operation: 'create', requestOptions: { retries: 3, timeout: 800 } }, [contact(null, { email: 'once@x.io' }), contact(null, { email: 'twice@x.io' })], true);
			const out = ok(result);
			for (const [i, item] of out.entries()) {
				expect(item.error).toMatch(new RegExp(`^item ${i} \\(contact / crm / new\\): POST http://127\\.0\\.0\\.1:\\d+/contacts .*; not sent again, since the API may have written it already`));
			}
			expect(api.log.filter((l) => l.method === 'POST')).toHaveLength(2);
			expect([...api.records.values()].map((r) => r.email).sort()).toEqual(['once@x.io', 'twice@x.io']);
		});

		test('a batch create whose API answers 504 after writing is not sent again', async () => {
			counted('HTTP: writes that may have landed');
			api.handler = (_req, res, body) => {
				for (const r of (JSON.parse(body) as { records: unknown[] }).records) create(api, JSON.stringify(r));
				json(res, 504, {});
			};
			const input = [contact(null, { email: 'a@x.io' }), contact(null, { email: 'b@x.io' }), contact(null, { email: 'c@x.io' })];
			const out = ok(await runHttp({ operation: 'create', batchPath: '/contacts/batch', batch: { size: 10 }, requestOptions: { retries: 3 } }, input, true));
			expect(out.map((o) => o.error)).toEqual(Array(3).fill(expect.stringMatching(/batch of 3 contact records .* answered 504; not sent again, since the API may have written it already/)));
			expect(api.log).toHaveLength(1);
			expect(api.records.size).toBe(3);
		});

		test.each([
			[429, { 'retry-after': '0' }],
			[503, {}],
		])('a create refused with %i (not handled, RFC 9110) is sent again: one record', async (status, headers) => {
			counted('HTTP: writes that may have landed');
			let n = 0;
			api.handler = (_req, res, body) => (n++ === 0 ? json(res, status, {}, headers) : json(res, 201, create(api, body)));
			const out = ok(await runHttp({ operation: 'create', requestOptions: { retries: 2 } }, [contact(null, { email: 'a@x.io' })]));
			expect(out[0]).toMatchObject({ id: '1', outcome: 'written' });
			expect(api.log).toHaveLength(2);
			expect(api.records.size).toBe(1);
		});

		test('a create that could not connect at all (connection refused) is tried again, and fails clearly', async () => {
			counted('HTTP: writes that may have landed');
			const closed = await startHostile();
			const url = closed.url;
			await closed.close();
			const message = failed(await runHttp({ operation: 'create', requestOptions: { retries: 1 } }, [contact(null, { email: 'a@x.io' })], false, url));
			expect(message).toMatch(/^item 0 \(contact \/ crm \/ new\): POST http:\/\/127\.0\.0\.1:\d+\/contacts failed after 2 attempts: The service refused the connection/);
		});

		test('an update whose API answers 500 after writing is sent again (the same update twice is one): one record, the new value', async () => {
			counted('HTTP: writes that may have landed');
			api.records.set('1', { id: '1', email: 'old@x.io' });
			let n = 0;
			api.handler = (_req, res, body) => {
				Object.assign(api.records.get('1')!, JSON.parse(body));
				if (n++ === 0) json(res, 500, {});
				else json(res, 200, api.records.get('1'));
			};
			const out = ok(await runHttp({ operation: 'update', conditional: false, requestOptions: { retries: 2 } }, [contact('1', { email: 'new@x.io' })]));
			expect(out[0]).toMatchObject({ id: '1', outcome: 'written' });
			expect(api.log.map((l) => l.method)).toEqual(['PATCH', 'PATCH']);
			expect([...api.records.values()]).toEqual([{ id: '1', email: 'new@x.io' }]);
		});

		test.each([
			['HTML', 'text/html', '<html>Created!</html>'],
			['an empty body', 'application/json', ''],
			['JSON without the id', 'application/json', '{"ok":true}'],
		])('a create answered 201 with %s is an error naming the record, and not sent again', async (_what, type, body) => {
			counted('HTTP: writes that may have landed');
			api.handler = (_req, res, text) => {
				create(api, text);
				res.writeHead(201, { 'content-type': type }).end(body);
			};
			const message = failed(await runHttp({ operation: 'create', requestOptions: { retries: 2 } }, [contact(null, { email: 'a@x.io' })]));
			expect(message).toBe('item 0 (contact / crm / new): the API created the record but its answer has no id at "id"');
			expect(api.log).toHaveLength(1);
			expect(api.records.size).toBe(1);
		});
	});
});
