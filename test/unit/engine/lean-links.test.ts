/**
 * Links, audit entries and planned changes by reference to their golden record (store migration 13): a
 * link's stored forms (encodeBase / decodeBase), and a store written by the package at schema version 12
 * (test/fixtures/store-v12.json, whole copies everywhere) migrated in place and synced on, on both backends.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commit, type WriteResult } from '../../../lib/engine/commit';
import { resolve } from '../../../lib/engine/resolve';
import { closeAllStores, openStore, SCHEMA_VERSION, type Store } from '../../../lib/engine/store';
import { PgDriver, SqliteDriver, type Driver } from '../../../lib/engine/store/driver';
import { migrate } from '../../../lib/engine/store/migrations';
import { decodeBase, encodeBase } from '../../../lib/engine/store/store';
import type { SyncItem } from '../../../lib/item';
import { prng } from '../../helpers/prng';
import { BACKENDS } from './backends';
import { change, options } from './fixtures';

type Row = Record<string, string | number | null>;
const FIXTURE = JSON.parse(readFileSync(join(__dirname, '../../fixtures/store-v12.json'), 'utf8')) as { tables: Record<string, Row[]> };
const T = (m: number) => new Date(Date.UTC(2031, 0, 1, 10, m)).toISOString();

describe('a link base as stored', () => {
	const roundTrip = (base: Record<string, unknown>, golden: Record<string, unknown>) => {
		const stored = encodeBase(base, JSON.stringify(base), golden, JSON.stringify(golden));
		return { stored, back: stored.startsWith('{') ? JSON.parse(stored) : decodeBase(stored, JSON.stringify(golden), () => 'x') };
	};

	it('is a reference where it is the golden data, a field diff where that is shorter, itself otherwise', () => {
		const golden = { email: 'a@x.io', name: 'Ann', phone: '1', address: { city: 'Oslo', street: 'Main' } };
		expect(roundTrip({ ...golden }, golden)).toEqual({ stored: '', back: golden });
		// Same values in another key order: still a reference.
		expect(roundTrip({ phone: '1', name: 'Ann', email: 'a@x.io', address: { city: 'Oslo', street: 'Main' } }, golden).stored).toBe('');
		const older = { ...golden, phone: '0', address: { city: 'Bergen', street: 'Main' } };
		const diff = roundTrip(older, golden);
		expect(JSON.parse(diff.stored)).toEqual([{ phone: '0', address: { city: 'Bergen', street: 'Main' } }, []]);
		expect(diff.back).toEqual(older);
		const { phone: _dropped, ...fewer } = golden;
		expect(roundTrip(fewer, golden)).toEqual({ stored: JSON.stringify([{}, ['phone']]), back: fewer });
		// A base that shares nothing is kept whole; an empty base (a link made by a match) stays '{}'.
		expect(roundTrip({ sku: 'X' }, golden).stored).toBe('{"sku":"X"}');
		expect(roundTrip({}, {}).stored).toBe('{}');
	});

	it('gives back every base it was given (1,000 random pairs, own __proto__ fields too)', () => {
		const random = prng(13);
		const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
		const value = () => pick<unknown>(['a', 'b', 1, 2, null, true, { x: 1 }, { x: 2 }, [1], []]);
		const record = () => {
			const out: Record<string, unknown> = {};
			for (const k of ['email', 'name', 'phone', 'tags', 'address', '__proto__', 'constructor']) {
				if (random() < 0.7) Object.defineProperty(out, k, { value: value(), enumerable: true, writable: true, configurable: true });
			}
			return out;
		};
		for (let i = 0; i < 1000; i++) {
			const golden = record();
			const base = random() < 0.3 ? { ...golden } : record();
			const { back } = roundTrip(base, golden);
			expect(JSON.stringify(Object.keys(back).sort())).toBe(JSON.stringify(Object.keys(base).sort()));
			for (const k of Object.keys(base)) expect(JSON.stringify(back[k])).toBe(JSON.stringify(base[k]));
		}
	});

	it('names the link when its golden record is missing', () => {
		expect(() => decodeBase('', null, () => 'contact/k1 in crm (c-1)')).toThrow(/link contact\/k1 in crm \(c-1\).*missing/);
	});
});

describe.each(BACKENDS.map((make) => [make().name, make] as const))('a schema 12 store migrated and synced on, on %s', (_name, make) => {
	const backend = make();
	let store: Store;
	const rawLinks = async () =>
		Object.fromEntries(
			(await store.driver.all<{ system: string; external_id: string; base: string }>(`SELECT system, external_id, base FROM link`)).map((r) => [r.external_id, r.base]),
		);
	const baseOf = async (externalId: string) => (await store.listLinks('contact')).find((l) => l.externalId === externalId)!.base;
	const written = (item: SyncItem, at: string): WriteResult => ({ entity: item.entity, system: item.system, key: item.key as string, op: item.op, id: item.id, data: item.data, changedAt: at });
	/** The fixture's audit entries as the store reads them now (inserted in order: the same ids), and how many are stored by reference. */
	const fixtureAudit = async () => {
		const entries = (await store.audit({ limit: 1000 })).reverse().slice(0, FIXTURE.tables.audit.length);
		const [{ n }] = await store.driver.all<{ n: number }>(`SELECT count(*) AS n FROM audit WHERE after = ''`);
		return { entries: entries.map((e) => [e.action, e.system, e.before, e.after]), byReference: Number(n) };
	};
	const FIXTURE_AUDIT = FIXTURE.tables.audit.map((a) => [a.action, a.system, a.before === null ? null : JSON.parse(String(a.before)), a.after === null ? null : JSON.parse(String(a.after))]);
	const o = (runId: string) => ({ ...options({ systems: ['crm', 'erp', 'shop'], policy: { kind: 'priority' as const, priority: ['crm', 'erp', 'shop'] } }), runId });

	beforeAll(async () => {
		await backend.setup();
		const config = backend.config();
		const driver: Driver = config.backend === 'sqlite' ? new SqliteDriver(config.path) : new PgDriver(config);
		expect(await migrate(driver, 'test', 12)).toBe(12);
		await driver.transaction(async (sql) => {
			for (const [table, rows] of Object.entries(FIXTURE.tables)) {
				for (const row of rows) {
					if (table === 'store_meta') {
						if (row.name !== 'schema_version') await sql.run(`UPDATE store_meta SET value = ? WHERE name = ?`, [row.value, row.name]);
						continue;
					}
					const columns = Object.keys(row).filter((c) => c !== 'id');
					await sql.run(`INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, columns.map((c) => row[c]));
				}
			}
		});
		await driver.close();
		store = await openStore(config);
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	it('keeps every link base a reference where it was the golden data, and reads each back as it was', async () => {
		const [{ value }] = await store.driver.all<{ value: string }>(`SELECT value FROM store_meta WHERE name = 'schema_version'`);
		expect(Number(value)).toBe(SCHEMA_VERSION);
		const fixtureLinks = FIXTURE.tables.link;
		expect(fixtureLinks).toHaveLength(9);
		const raw = await rawLinks();
		// shop's bob missed the phone edit: its base is not the golden record's, it stays whole.
		expect(Object.entries(raw).filter(([, base]) => base !== '').map(([id]) => id)).toEqual(['shop-bob']);
		const links = await store.listLinks('contact');
		expect(links).toHaveLength(9);
		for (const old of fixtureLinks) {
			const link = links.find((l) => l.externalId === old.external_id)!;
			expect(link.base).toEqual(JSON.parse(String(old.base)));
			expect(link.key).toBe(old.key);
		}
		expect(await store.unreadLinks('contact', 'shop')).toEqual(['shop-cy']);
		// The change shop's failed write left planned reads back as it was (stored by reference now).
		const [old] = FIXTURE.tables.planned_change;
		const [planned] = await store.transaction((tx) => tx.plannedChanges(String(old.run_id), [{ entity: 'contact', key: String(old.key), system: String(old.system) }]));
		expect(planned).toMatchObject({ status: old.status, data: JSON.parse(String(old.data)) });
		expect((await store.driver.all<{ data: string }>(`SELECT data FROM planned_change`)).map((p) => p.data)).toEqual(['']);
		const audit = await fixtureAudit();
		expect(audit.entries).toEqual(FIXTURE_AUDIT);
		// The creates and the writes of the records' data as it still is: ada's and dee's four, cy's create.
		expect(audit.byReference).toBeGreaterThanOrEqual(5);
	});

	it('syncs on: the write shop missed is made, an edit keeps the other links\' older bases until they are written', async () => {
		const bob = JSON.parse(String(FIXTURE.tables.link.find((l) => l.external_id === 'shop-bob')!.base)) as Record<string, unknown>;
		// shop is read again (its bob unchanged): the golden phone is planned for shop, and written.
		let r = await resolve(store, o('run-5'), [change('shop', 'shop-bob', bob, { changedAt: T(20) })]);
		expect(r.changes.map((c) => [c.item.system, c.item.id, c.item.data.phone])).toEqual([['shop', 'shop-bob', '+47 99999999']]);
		await commit(store, { sync: 'contacts', runId: 'run-5' }, r.changes.map((c) => written(c.item, T(21))));
		expect((await rawLinks())['shop-bob']).toBe('');
		expect(await baseOf('shop-bob')).toMatchObject({ phone: '+47 99999999' });

		// crm renames ada: erp's and shop's bases still hold the old name (a field diff), crm's is the new record.
		const ada = (await store.listLinks('contact')).find((l) => l.externalId === 'c-ada')!;
		r = await resolve(store, o('run-6'), [change('crm', 'c-ada', { ...ada.base, name: 'Ada Lovelace' }, { changedAt: T(30) })]);
		expect(r.changes.map((c) => c.item.system).sort()).toEqual(['erp', 'shop']);
		let raw = await rawLinks();
		expect(raw['c-ada']).toBe('');
		expect(JSON.parse(raw['erp-ada'])).toEqual([{ name: 'ADA' }, []]);
		expect(await baseOf('erp-ada')).toEqual(ada.base);
		expect(await baseOf('c-ada')).toEqual({ ...ada.base, name: 'Ada Lovelace' });
		// erp's write is made, shop's fails: erp's base is the golden record again, shop's keeps the old name.
		const [erp, shop] = ['erp', 'shop'].map((s) => r.changes.find((c) => c.item.system === s)!.item);
		await commit(store, { sync: 'contacts', runId: 'run-6' }, [written(erp, T(31)), { ...written(shop, T(31)), error: 'shop unavailable' }]);
		raw = await rawLinks();
		expect(raw['erp-ada']).toBe('');
		expect(await baseOf('shop-ada')).toEqual(ada.base);
		// Another crm edit of ada moves the golden record again: shop's base is re-expressed, still the old name.
		const planned = () => store.transaction((tx) => tx.plannedChanges('run-6', [{ entity: 'contact', key: ada.key, system: 'shop' }]));
		expect((await planned()).map((c) => [c.status, c.data])).toEqual([['failed', { ...ada.base, name: 'Ada Lovelace' }]]);
		expect((await store.driver.all<{ data: string }>(`SELECT data FROM planned_change WHERE run_id = 'run-6'`)).map((p) => p.data)).toEqual(['']);
		r = await resolve(store, o('run-7'), [change('crm', 'c-ada', { ...ada.base, name: 'Ada Lovelace', phone: '+47 12345678' }, { changedAt: T(40) })]);
		// The failed change of run 6 keeps the data it was planned with, now its own copy.
		expect((await planned()).map((c) => [c.status, c.data])).toEqual([['failed', { ...ada.base, name: 'Ada Lovelace' }]]);
		expect(JSON.parse((await rawLinks())['shop-ada'])).toEqual([{ name: 'ADA', phone: '+47 10000000' }, []]);
		expect(await baseOf('shop-ada')).toEqual(ada.base);
		await commit(store, { sync: 'contacts', runId: 'run-7' }, r.changes.map((c) => written(c.item, T(41))));
		expect(Object.values(await rawLinks()).filter((b) => b !== '')).toEqual([]);
		expect(await store.getGolden('contact', ada.key)).toMatchObject({ data: { ...ada.base, name: 'Ada Lovelace', phone: '+47 12345678' } });
		// Every audit entry still says what it said, though the golden records they referred to moved on.
		expect((await fixtureAudit()).entries).toEqual(FIXTURE_AUDIT);
		const adaLog = await store.audit({ key: ada.key, action: 'write', limit: 100 });
		expect(adaLog.map((e) => [e.system, e.outcome, e.after?.name, e.after?.phone]).reverse()).toEqual([
			['erp', 'ok', 'ADA', '+47 10000000'],
			['shop', 'ok', 'ADA', '+47 10000000'],
			['erp', 'ok', 'Ada Lovelace', '+47 10000000'],
			['shop', 'failed', undefined, undefined],
			['erp', 'ok', 'Ada Lovelace', '+47 12345678'],
			['shop', 'ok', 'Ada Lovelace', '+47 12345678'],
		]);
	});
});
