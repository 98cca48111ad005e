/**
 * An edit of only a Conflict Resolver Sensitive Fields field (values never stored) is not lost: a keyed
 * digest per link and per golden record tells a real edit from an echo, on both store backends.
 */
import { commit, type WriteResult } from '../../../lib/engine/commit';
import { guard } from '../../../lib/engine/guard';
import { canonicalHash } from '../../../lib/engine/hash';
import { resolve, type ResolveOptions, type ResolveResult } from '../../../lib/engine/resolve';
import { closeAllStores, openStore, type Store } from '../../../lib/engine/store';
import { migrate } from '../../../lib/engine/store/migrations';
import { PgDriver, SqliteDriver } from '../../../lib/engine/store/driver';
import type { SyncItem } from '../../../lib/item';
import { BACKENDS } from './backends';
import { change, options } from './fixtures';

const SYSTEMS = ['crm', 'erp'];
const CANARY = 'CANARY-SSN-7731';

function opts(extra: Partial<ResolveOptions> = {}): ResolveOptions {
	return options({ systems: SYSTEMS, policy: { kind: 'priority', priority: SYSTEMS }, sensitiveFields: ['ssn'], ...extra });
}

function written(item: SyncItem, id?: string): WriteResult {
	return { entity: item.entity, system: item.system, key: item.key as string, op: item.op, id: item.id ?? id ?? `${item.system}-${item.key}`, data: item.data };
}

/** Every text of every table of the store, for the canary scan. */
async function storeText(store: Store): Promise<string> {
	const tables =
		store.driver.dialect === 'sqlite'
			? await store.driver.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
			: await store.driver.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`);
	const out: string[] = [];
	for (const { name } of tables) out.push(JSON.stringify(await store.driver.all(`SELECT * FROM ${name}`)));
	return out.join('\n');
}

describe.each(BACKENDS.map((make) => [make().name, make] as const))('sensitive-only edits on %s', (_name, make) => {
	const backend = make();
	let store: Store;
	beforeAll(() => backend.setup());
	beforeEach(async () => {
		store = await openStore(backend.config());
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	/** Resolves, writes every planned change as planned, commits; the run's result. */
	async function run(items: SyncItem[], extra: Partial<ResolveOptions> = {}): Promise<ResolveResult & { writes: WriteResult[] }> {
		const o = opts(extra);
		const r = await resolve(store, o, items);
		const writes = r.changes.map((c) => written(c.item));
		if (writes.length) await commit(store, { sync: o.sync, runId: o.runId }, writes);
		return { ...r, writes };
	}

	/** A contact made in crm (ssn `S-1…`) and created in erp; the erp id. */
	async function linked(email: string): Promise<string> {
		const r = await run([change('crm', `c-${email}`, { email, name: 'Ann', ssn: `${CANARY}-1` })]);
		expect(r.changes.map((c) => [c.item.system, c.item.data.ssn])).toEqual([['erp', `${CANARY}-1`]]);
		return r.writes[0].id as string;
	}

	it('plans the write of a change of only a sensitive field, takes its echo as an echo, and an unchanged re-read as nothing', async () => {
		const erpId = await linked('a@x.io');
		const edit = change('crm', 'c-a@x.io', { email: 'a@x.io', name: 'Ann', ssn: `${CANARY}-2` });
		// The Loop Guard lets the edit through: its hash covers the sensitive value.
		const g = await guard(store, { sync: 'contacts' }, [edit]);
		expect(g.blocked).toEqual([]);
		const r = await run([edit]);
		expect(r.changes.map((c) => [c.item.system, c.item.id, c.item.data])).toEqual([['erp', erpId, { email: 'a@x.io', name: 'Ann', ssn: `${CANARY}-2` }]]);
		expect(r.skipped).toEqual([]);

		// The echo from erp: the Loop Guard blocks the exact echo (written hash); reformatted or with the
		// written-hash check off, the Resolver takes it as an echo: nothing goes back to crm.
		const echo = change('erp', erpId, { email: 'a@x.io', name: 'Ann', ssn: `${CANARY}-2` }, { trace: { runId: 'x', origin: 'crm', hops: 1 } });
		const ge = await guard(store, { sync: 'contacts', duplicateWindowSeconds: 0 }, [echo]);
		expect(ge.blocked.map((b) => b.reason)).toEqual(['written-hash']);
		const re = await run([echo]);
		expect(re.changes).toEqual([]);
		expect(re.skipped.map((s) => s.reason)).toEqual(['echo']);

		// An unchanged re-read of crm plans nothing.
		const again = await run([change('crm', 'c-a@x.io', { email: 'a@x.io', name: 'Ann', ssn: `${CANARY}-2` })]);
		expect(again.changes).toEqual([]);
		expect(again.skipped.map((s) => s.reason)).toEqual(['echo']);

		// An edit of the sensitive field in erp goes to crm, and its echo from crm stops there.
		const back = await run([change('erp', erpId, { email: 'a@x.io', name: 'Ann', ssn: `${CANARY}-3` })]);
		expect(back.changes.map((c) => [c.item.system, c.item.data.ssn])).toEqual([['crm', `${CANARY}-3`]]);
		const crmEcho = await run([change('crm', 'c-a@x.io', { email: 'a@x.io', name: 'Ann', ssn: `${CANARY}-3` })]);
		expect(crmEcho.changes).toEqual([]);

		// The values are nowhere in the store, only keyed digests.
		const text = await storeText(store);
		expect(text).not.toContain(CANARY);
		const [link] = await store.driver.all<{ sensitive_digest: string; written_hash: string }>(`SELECT sensitive_digest, written_hash FROM link WHERE system = 'erp' AND external_id = ?`, [erpId]);
		expect(JSON.parse(link.sensitive_digest)).toEqual({ salt: expect.stringMatching(/^[0-9a-f]{32}$/), fields: { ssn: expect.stringMatching(/^[0-9a-f]{64}$/) } });
		// The written hash (and the delivery marks) are keyed too: no plain hash of data holding the value.
		expect(link.written_hash).toMatch(/^[0-9a-f]{64}$/);
		expect(link.written_hash).not.toBe(canonicalHash({ email: 'a@x.io', name: 'Ann', ssn: `${CANARY}-2` }));
		const marks = (await store.driver.all<{ hash: string }>(`SELECT hash FROM delivery`)).map((d) => d.hash);
		expect(marks.length).toBeGreaterThan(0);
		expect(marks).not.toContain(canonicalHash({ entity: 'contact', system: 'crm', id: 'c-a@x.io', op: 'upsert', data: canonicalHash(edit.data) }));
	});

	it('a sensitive edit together with a stored field, and a sensitive field removed (null), both reach the other system', async () => {
		const erpId = await linked('b@x.io');
		const both = await run([change('crm', 'c-b@x.io', { email: 'b@x.io', name: 'Bo', ssn: `${CANARY}-2` })]);
		expect(both.changes.map((c) => [c.item.system, c.item.data])).toEqual([['erp', { email: 'b@x.io', name: 'Bo', ssn: `${CANARY}-2` }]]);
		const cleared = await run([change('crm', 'c-b@x.io', { email: 'b@x.io', name: 'Bo', ssn: null })]);
		expect(cleared.changes.map((c) => [c.item.system, c.item.id, c.item.data.ssn])).toEqual([['erp', erpId, null]]);
		expect((await run([change('erp', erpId, { email: 'b@x.io', name: 'Bo', ssn: null })])).changes).toEqual([]);
	});

	it('a failed write of a sensitive-only edit is planned again at the next read of the source', async () => {
		await linked('c@x.io');
		const o = opts();
		const r = await resolve(store, o, [change('crm', 'c-c@x.io', { email: 'c@x.io', name: 'Ann', ssn: `${CANARY}-2` })]);
		expect(r.changes).toHaveLength(1);
		await commit(store, { sync: o.sync, runId: o.runId }, [{ ...written(r.changes[0].item), error: 'connection refused' }]);
		// The poll reads the same (unchanged) crm record again: erp still lacks the value, so it is planned.
		const again = await run([change('crm', 'c-c@x.io', { email: 'c@x.io', name: 'Ann', ssn: `${CANARY}-2` })]);
		expect(again.changes.map((c) => [c.item.system, c.item.data.ssn])).toEqual([['erp', `${CANARY}-2`]]);
		expect((await run([change('crm', 'c-c@x.io', { email: 'c@x.io', name: 'Ann', ssn: `${CANARY}-2` })])).changes).toEqual([]);
	});

	it('a stale sensitive value of a lagging system never overwrites the newer one', async () => {
		const erpId = await linked('d@x.io');
		const o = opts();
		const r = await resolve(store, o, [change('crm', 'c-d@x.io', { email: 'd@x.io', name: 'Ann', ssn: `${CANARY}-2` })]);
		await commit(store, { sync: o.sync, runId: o.runId }, [{ ...written(r.changes[0].item), error: 'connection refused' }]);
		// erp, still holding the old value, changes a stored field: its old ssn does not go to crm.
		const fromErp = await run([change('erp', erpId, { email: 'd@x.io', name: 'Ann B', ssn: `${CANARY}-1` })]);
		expect(fromErp.changes.map((c) => [c.item.system, c.item.data])).toEqual([['crm', { email: 'd@x.io', name: 'Ann B' }]]);
		// The next read of crm brings erp the newer value.
		const fromCrm = await run([change('crm', 'c-d@x.io', { email: 'd@x.io', name: 'Ann B', ssn: `${CANARY}-2` })]);
		expect(fromCrm.changes.map((c) => [c.item.system, c.item.data.ssn])).toEqual([['erp', `${CANARY}-2`]]);
	});

	it('a dry run plans a sensitive-only edit and stores nothing', async () => {
		await linked('e@x.io');
		const before = await storeText(store);
		const dry = await resolve(store, opts({ dryRun: true }), [change('crm', 'c-e@x.io', { email: 'e@x.io', name: 'Ann', ssn: `${CANARY}-2` })]);
		expect(dry.changes.map((c) => [c.item.system, c.item.data.ssn])).toEqual([['erp', `${CANARY}-2`]]);
		expect(await storeText(store)).toBe(before);
	});

	it('a store written before sensitive digests: the first read learns them without writing, every later edit is planned', async () => {
		const config = backend.config();
		const driver = config.backend === 'sqlite' ? new SqliteDriver(config.path) : new PgDriver(config);
		expect(await migrate(driver, 'test', 6)).toBe(6);
		// What version 6 held for a contact linked in crm and erp (no digest anywhere).
		const now = '2031-01-01T00:00:00.000Z';
		const data = JSON.stringify({ email: 'old@x.io', name: 'Ann' });
		await driver.run(`INSERT INTO golden_record (entity, key, data, fields, version, deleted, updated_at) VALUES ('contact', 'k-old', ?, '{}', 1, 0, ?)`, [data, now]);
		await driver.run(`INSERT INTO match_value (entity, field, value, key) VALUES ('contact', 'email', 'old@x.io', 'k-old')`);
		for (const [system, id] of [['crm', 'c-old'], ['erp', 'e-old']]) {
			await driver.run(`INSERT INTO link (entity, key, system, external_id, base, written_hash, written_at, updated_at, source_at) VALUES ('contact', 'k-old', ?, ?, ?, NULL, NULL, ?, NULL)`, [system, id, data, now]);
		}
		await driver.close();
		store = await openStore(config);
		const [meta] = await store.driver.all<{ value: string }>(`SELECT value FROM store_meta WHERE name = 'sensitive_digest_secret'`);
		expect(meta.value).toMatch(/^[0-9a-f]{64}$/);
		// First reads after the upgrade: no write (the values were exchanged before, unseen), digests learnt.
		expect((await run([change('crm', 'c-old', { email: 'old@x.io', name: 'Ann', ssn: `${CANARY}-1` })])).changes).toEqual([]);
		expect((await run([change('erp', 'e-old', { email: 'old@x.io', name: 'Ann', ssn: `${CANARY}-1` })])).changes).toEqual([]);
		// From then on an edit of only the sensitive field is planned, its echo is not.
		const edit = await run([change('crm', 'c-old', { email: 'old@x.io', name: 'Ann', ssn: `${CANARY}-2` })]);
		expect(edit.changes.map((c) => [c.item.system, c.item.id, c.item.data.ssn])).toEqual([['erp', 'e-old', `${CANARY}-2`]]);
		expect((await run([change('erp', 'e-old', { email: 'old@x.io', name: 'Ann', ssn: `${CANARY}-2` })])).changes).toEqual([]);
		expect(await storeText(store)).not.toContain(CANARY);
	});

	it('digests are keyed per store and salted per record: the same value gives different digests', async () => {
		await linked('f@x.io');
		await linked('g@x.io');
		const rows = await store.driver.all<{ sensitive_digest: string }>(`SELECT sensitive_digest FROM link WHERE system = 'crm' ORDER BY external_id`);
		const digests = rows.map((r) => JSON.parse(r.sensitive_digest).fields.ssn);
		expect(digests).toHaveLength(2);
		expect(new Set(digests).size).toBe(2);
	});
});
