/**
 * The Database Trigger's Postgres side on a real server: the trigger function SQL (quoted identifiers,
 * a safe channel), installed twice on a table with a hostile name, the notifications it sends for insert,
 * update, delete and an id change, and the listening connection coming back after its backend was killed.
 */
import { Client } from 'pg';
import { channelOf, installNotify, notifyInstalled, notifySql, parseNotice, PgListener } from '../../../lib/connectors/sql/notify';
import type { SqlConnectionConfig, TableSpec } from '../../../lib/connectors/sql';
import { createPgDatabase, type PgTestDatabase } from '../../helpers/services';

const HOSTILE: TableSpec = { schema: 'Sales "EU"', table: 'Contacts; DROP TABLE x; --"', idColumn: 'Contact "Id"', updatedAtColumn: 'Updated At' };

describe('Postgres notify SQL', () => {
	it('quotes every identifier and derives a channel of [a-z0-9_] only, under 63 bytes', () => {
		const sql = notifySql(HOSTILE);
		expect(sql.channel).toMatch(/^datasync_[a-z0-9_]+$/);
		expect(Buffer.byteLength(sql.channel)).toBeLessThanOrEqual(63);
		expect(sql.functionName).toMatch(/^"Sales ""EU"""\."datasync_notify_[a-z0-9_]+"$/);
		expect(sql.install).toContain('ON "Sales ""EU"""."Contacts; DROP TABLE x; --"""');
		expect(sql.install).toContain('OLD."Contact ""Id"""::text');
		expect(sql.install).toContain(`pg_notify('${sql.channel}'`);
		expect(sql.install).toMatch(/^BEGIN;\nCREATE OR REPLACE FUNCTION/);
		expect(sql.install).toMatch(/DROP TRIGGER IF EXISTS "datasync_notify" ON .*\nCREATE TRIGGER "datasync_notify" AFTER INSERT OR UPDATE OR DELETE/);
		expect(sql.remove).toContain('DROP FUNCTION IF EXISTS');
	});

	it('gives two tables whose names differ only in case or punctuation two channels', () => {
		const a = channelOf({ table: 'Contacts', idColumn: 'id', updatedAtColumn: 'u' });
		const b = channelOf({ table: 'contacts', idColumn: 'id', updatedAtColumn: 'u' });
		const c = channelOf({ table: 'contacts!', idColumn: 'id', updatedAtColumn: 'u' });
		const d = channelOf({ schema: 'other', table: 'contacts', idColumn: 'id', updatedAtColumn: 'u' });
		expect(new Set([a, b, c, d]).size).toBe(4);
		expect(channelOf({ table: 'ü'.repeat(31), idColumn: 'id', updatedAtColumn: 'u' })).toMatch(/^datasync_[0-9a-f]{12}$/);
	});

	it('refuses a name no dialect takes, naming it', () => {
		expect(() => notifySql({ ...HOSTILE, idColumn: 'a\u0001' })).toThrow(/ID column "a\\u0001" contains a control character/);
		expect(() => notifySql({ ...HOSTILE, table: 'x'.repeat(64) })).toThrow(/Table "x+" is longer than 63 bytes/);
	});

	it('reads a delete with its id; anything else is "rows changed"', () => {
		expect(parseNotice('{"op":"delete","id":"7","at":"2026-01-01T00:00:00.000001Z"}')).toEqual({ op: 'delete', id: '7', at: '2026-01-01T00:00:00.000001Z' });
		expect(parseNotice('{"op":"delete","id":null}')).toEqual({ op: 'delete', id: null, at: undefined });
		expect(parseNotice('{"op":"upsert"}')).toEqual({ op: 'upsert' });
		expect(parseNotice('not json')).toEqual({ op: 'upsert' });
		expect(parseNotice(undefined)).toEqual({ op: 'upsert' });
	});

	it('backs off doubling, with jitter, up to the maximum', () => {
		const half = () => 0.5;
		expect([0, 1, 2, 3, 10].map((n) => PgListener.delay(n, 250, 30_000, half))).toEqual([188, 375, 750, 1500, 22500]);
		expect(PgListener.delay(30, 250, 30_000, () => 1)).toBe(30_000);
		expect(PgListener.delay(0, 250, 30_000, () => 0)).toBe(125);
	});
});

describe('Postgres notify on a real server', () => {
	let pg: PgTestDatabase;
	let config: SqlConnectionConfig;
	let admin: Client;
	const target = `"Sales ""EU"""."Contacts; DROP TABLE x; --"""`;

	beforeAll(async () => {
		pg = await createPgDatabase('ds_notify');
		config = { dialect: 'postgres', ...pg.config, ssl: 'disable' };
		admin = new Client(pg.config);
		await admin.connect();
		await admin.query('CREATE SCHEMA "Sales ""EU"""');
		await admin.query(`CREATE TABLE ${target} ("Contact ""Id""" TEXT PRIMARY KEY, name TEXT, "Updated At" TIMESTAMPTZ NOT NULL DEFAULT now())`);
	});

	afterAll(async () => {
		await admin?.end();
		await pg?.drop();
	});

	it('installs idempotently and notifies insert, update, delete and an id change (the old id as a delete)', async () => {
		expect(await notifyInstalled(config, HOSTILE)).toBe(false);
		await installNotify(config, HOSTILE);
		await installNotify(config, HOSTILE);
		expect(await notifyInstalled(config, HOSTILE)).toBe(true);
		const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal`, [target]);
		expect(rows[0].n).toBe(1);

		const got: string[] = [];
		const ready: boolean[] = [];
		const listener = new PgListener(config, channelOf(HOSTILE), { ready: (r) => ready.push(r), notification: (p) => got.push(p ?? ''), lost: () => undefined }, { applicationName: 'datasync-test-notify' });
		await listener.start();
		try {
			await admin.query(`INSERT INTO ${target} ("Contact ""Id""", name) VALUES ('a''1', 'A'), ('b', 'B')`);
			await admin.query(`UPDATE ${target} SET name = 'A2' WHERE "Contact ""Id""" = 'a''1'`);
			await admin.query(`UPDATE ${target} SET "Contact ""Id""" = 'c' WHERE "Contact ""Id""" = 'b'`);
			await admin.query(`DELETE FROM ${target} WHERE "Contact ""Id""" = 'a''1'`);
			await waitFor(() => got.length >= 5);
			const notices = got.map(parseNotice);
			// The two-row insert is one notification: Postgres folds equal payloads of one transaction.
			expect(notices.map((n) => (n.op === 'delete' ? `delete ${n.id}` : n.op))).toEqual(['upsert', 'upsert', 'delete b', 'upsert', 'delete a\'1']);
			const at = (notices[4] as { at: string }).at;
			expect(Math.abs(Date.parse(at) - Date.now())).toBeLessThan(60_000);
			expect(ready).toEqual([false]);
		} finally {
			await listener.stop();
		}
	});

	it('listens again after its backend is killed, says so, and receives what comes after', async () => {
		const got: string[] = [];
		const ready: boolean[] = [];
		const lost: string[] = [];
		const listener = new PgListener(
			config,
			channelOf(HOSTILE),
			{ ready: (r) => ready.push(r), notification: (p) => got.push(p ?? ''), lost: (e) => lost.push(e.message) },
			{ applicationName: 'datasync-test-kill', firstRetryMs: 50 },
		);
		await listener.start();
		try {
			const killed = await admin.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'datasync-test-kill' AND datname = current_database()`);
			expect(killed.rows).toEqual([{ ok: true }]);
			await waitFor(() => ready.length === 2);
			expect(ready).toEqual([false, true]);
			expect(lost.length).toBeGreaterThanOrEqual(1);
			expect(listener.connected).toBe(true);
			await admin.query(`DELETE FROM ${target} WHERE "Contact ""Id""" = 'c'`);
			await waitFor(() => got.length === 1);
			expect(parseNotice(got[0])).toMatchObject({ op: 'delete', id: 'c' });
		} finally {
			await listener.stop();
		}
		const left = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'datasync-test-kill'`);
		expect(left.rows[0].n).toBe(0);
	});
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('timed out');
		await new Promise((r) => setTimeout(r, 20));
	}
}
