/**
 * workflows/tri-directional-contacts.json in stock n8n, imported from the file as shipped and published:
 * A = CRM in real Postgres, B = ERP in real MariaDB, C = the shop, a real REST server on 127.0.0.1
 * (test/support/shop-server.ts) that sends signed webhooks for every change and, as asked, none for the
 * changes the sync's own API user makes.
 *
 * Proves: a create in any system reaches the two others in their shapes (nested name and address, US
 * dates, 1/0 flags in the shop); updates and deletes fan out; the shop's lost webhook is picked up by the
 * poll (List changes from C, updated-since the store's cursor); a conflict between B and C is settled by
 * priority (crm, erp, shop); our own writes never come back as writes (counted in every write node and in
 * the shop's request log); one audit entry per write.
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { ShopServer } from '../support/shop-server';
import { N8nInstance, summary, uniqueId, type Execution } from './harness';
import { WRITE_ACTIONS, eventually, failure, importTemplate, outputOf, pagesOf, runFromTrigger, signedPost, written, systemCredentials } from './templates-support';
import { auditOfExecution } from './run-ids';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const WRITERS = ['Write to A', 'Write to B', 'Write to C'];

describe('template "tri-directional-contacts" in stock n8n: CRM (Postgres) ↔ ERP (MariaDB) ↔ shop (REST)', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let shop: ShopServer;
	let store: Store;
	let wf: string;
	const id = uniqueId('tri');
	const paths = { crm: `tri-${id}/crm/contact`, erp: `tri-${id}/erp/contact`, shop: `tri-${id}/shop/contact` };
	const failedOnPurpose = new Set<string>();
	const ids: Record<string, { crm?: number; erp?: number; shop?: number }> = {};

	async function runs(): Promise<Execution[]> {
		const list = await n8n.executions(wf);
		return await Promise.all(list.map((e) => n8n.execution(e.id)));
	}

	/** Executions expected so far (webhook runs and the runs started on demand). */
	let seen = 0;

	/** Waits for the next `n` executions; returns them. Every one must have succeeded unless failed on purpose. */
	async function next(n = 1): Promise<Execution[]> {
		seen += n;
		return (await settle(seen)).slice(-n);
	}

	async function settle(count: number): Promise<Execution[]> {
		const all = await n8n.waitForExecutions(wf, count, 30_000);
		for (const e of all.filter((x) => !failedOnPurpose.has(x.id))) {
			expect({ id: e.id, status: e.status, failure: failure(e) }).toEqual({ id: e.id, status: 'success', failure: undefined });
		}
		return all;
	}

	async function writes(): Promise<ReturnType<typeof written>> {
		return written(await runs(), WRITERS);
	}

	/** The shop's requests that changed something, made by the sync's API user. */
	const shopWrites = () => shop.requests.filter((r) => r.actor === 'datasync' && r.method !== 'GET');

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_tpl_tri'), createMariaDbDatabase('ds_tpl_tri')]);
		dir = createTempDir('ds-tpl-tri');
		const storePath = dir.file('store.sqlite');
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		shop = await ShopServer.start();
		n8n = await N8nInstance.start();
		const credentials = {
			...(await systemCredentials(n8n, { backend: 'sqlite', path: storePath }, pg, maria, { a: SECRET_A, b: SECRET_B })),
			'System C (shop API)': await n8n.createCredential('dataSyncRestApi', 'Test shop', { baseUrl: shop.url, authType: 'bearer', token: 'shop-sync-token', testPath: '/' }),
			'Webhook secret: System C': await n8n.createCredential('dataSyncWebhookApi', 'Test shop secret', { secret: shop.secret }),
		};
		wf = await importTemplate(n8n, 'tri-directional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp, 'datasync/shop/contact': paths.shop },
			// The manual Refresh in pages of 2 (the shop: 1 page of 2 records a call), so every table is several pages.
			parameters: {
				'Get page from A': { pageSize: 2 },
				'Find deletes in A': { pageSize: 2 },
				'Get page from B': { pageSize: 2 },
				'Find deletes in B': { pageSize: 2 },
				'Get page from C': { pageSize: 2, maxPages: 1 },
			},
		});
		shop.webhookUrls.set('contact', `${n8n.baseUrl}/webhook/${paths.shop}`);
		// As a real shop lets you: no notifications for the changes the sync's own API user makes.
		shop.quietActors.add('datasync');
		store = await openStore({ backend: 'sqlite', path: storePath });
	});

	afterAll(async () => {
		await n8n?.stop();
		await shop?.close();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	it('a contact created in A reaches B and C, each in its own shape', async () => {
		const row = await crm.insert(ADA_CRM);
		ids.ada = { crm: row.id as number };
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row))).status).toBe(200);
		const [run] = await next();
		expect(summary(run)).toMatchObject({ 'Write to B': { items: [1] }, 'Write to C': { items: [1] } });
		const inErp = await erp.byEmail('ada@example.com');
		expect(inErp).toMatchObject({ first_name: 'Ada', birth_date: '01/01/2024', status_code: 'A', country_code: 'gb', modified_by: 'datasync' });
		const inShop = shop.list('contact');
		expect(inShop).toHaveLength(1);
		expect(inShop[0]).toMatchObject({
			email: 'ada@example.com',
			name: { first: 'Ada', last: 'Lovelace' },
			birthday: '01/01/2024',
			state: 'ACTIVE',
			accepts_marketing: 1,
			address: { line1: "12 St James's Square", city: 'London', zip: 'SW1Y 4JH', country: 'GB' },
			updated_by: 'datasync',
		});
		ids.ada.erp = inErp!.contact_id as number;
		ids.ada.shop = inShop[0].id;
		// The shop was asked not to notify the sync's own writes.
		expect(shop.deliveries).toHaveLength(0);
	});

	it('a contact created in the shop (signed webhook) reaches A and B', async () => {
		const created = await shop.change('contact', {
			data: { email: 'grace@example.com', name: { first: 'Grace', last: 'Hopper' }, phone: '+1 212 555 0100', birthday: '12/09/1906', state: 'PROSPECT', accepts_marketing: 0, address: { line1: '1 Navy Way', city: 'Arlington', zip: '22202', country: 'US' } },
		});
		ids.grace = { shop: created!.id };
		expect(shop.deliveries.map((d) => d.status)).toEqual([200]);
		await next();
		expect(await crm.byEmail('grace@example.com')).toMatchObject({ firstName: 'Grace', lastName: 'Hopper', birthDate: '1906-12-09', lifecycleStage: 'lead', marketingOptIn: false, countryCode: 'US', city: 'Arlington' });
		expect(await erp.byEmail('grace@example.com')).toMatchObject({ first_name: 'Grace', birth_date: '09/12/1906', status_code: 'L', marketing_opt_in: 'N', country_code: 'us' });
		ids.grace.crm = (await crm.byEmail('grace@example.com'))!.id as number;
		ids.grace.erp = (await erp.byEmail('grace@example.com'))!.contact_id as number;
	});

	it('an update in B reaches A and C; our writes coming back from A and B are stopped (no echo loop)', async () => {
		const row = await erp.update(ids.ada.erp!, { city: 'Cambridge', postal_code: 'CB2 1TN' });
		expect((await signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice(row))).status).toBe(200);
		await next();
		expect(await crm.row(ids.ada.crm!)).toMatchObject({ city: 'Cambridge', postalCode: 'CB2 1TN' });
		expect(shop.get('contact', ids.ada.shop!)).toMatchObject({ address: { line1: "12 St James's Square", city: 'Cambridge', zip: 'CB2 1TN', country: 'GB' } });
		const before = (await writes()).length;
		const rowsBefore = { crm: await crm.rows(), erp: await erp.rows() };
		// The CRM and the ERP notify the writes the sync made there.
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice((await crm.row(ids.ada.crm!))!))).status).toBe(200);
		expect((await signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice((await erp.row(ids.grace.erp!))!))).status).toBe(200);
		const echoes = await next(2);
		for (const echo of echoes) expect(outputOf(echo, 'Loop Guard', 1).map((i) => (i.blocked as { reason: string }).reason)).toEqual(['own-actor']);
		// The echoes do not bounce on: they wrote nothing (write nodes, the store's audit, the systems), and an
		// echo bounces only through a write, which would notify again.
		expect(written(echoes, WRITERS)).toEqual([]);
		for (const echo of echoes) {
			expect((await auditOfExecution(store, echo.id, { limit: 100 })).filter((e) => WRITE_ACTIONS.includes(e.action))).toEqual([]);
		}
		expect(await n8n.executions(wf)).toHaveLength(seen);
		expect((await writes()).length).toBe(before);
		expect({ crm: await crm.rows(), erp: await erp.rows() }).toEqual(rowsBefore);
		expect(shopWrites()).toHaveLength(2); // POST Ada, PATCH Ada
		expect(shop.deliveries).toHaveLength(1);
	});

	it("the shop's lost webhook is picked up by the 5-minute poll, and only that change is written", async () => {
		const before = (await writes()).length;
		shop.dropNextWebhooks = 1;
		await shop.change('contact', { id: ids.grace.shop!, data: { phone: '+1 212 555 0199' } });
		expect(shop.deliveries.at(-1)).toMatchObject({ status: 0, error: 'dropped on purpose' });
		const poll = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)');
		seen++;
		expect({ status: poll.status, failure: failure(poll) }).toEqual({ status: 'success', failure: undefined });
		expect(await crm.row(ids.grace.crm!)).toMatchObject({ phone: '+1 212 555 0199' });
		expect(await erp.row(ids.grace.erp!)).toMatchObject({ phone_number: '+1 212 555 0199' });
		const added = (await writes()).slice(before).map((w) => `${w.node} ${w.id}`);
		expect(added.sort()).toEqual([`Write to A ${ids.grace.crm}`, `Write to B ${ids.grace.erp}`]);
	});

	it('a conflict between B and C is settled by priority (crm, erp, shop): B wins over C', async () => {
		const inErp = await erp.update(ids.grace.erp!, { last_name: 'Hopper (ERP)' });
		// The shop's change is handled while the ERP is offline, so the ERP keeps its own edit; then the
		// ERP's change arrives: both changed lastName since the last sync.
		await erp.conn.query(`RENAME TABLE \`${erp.table}\` TO \`${erp.table}_offline\``);
		try {
			await shop.change('contact', { id: ids.grace.shop!, data: { name: { first: 'Grace', last: 'Hopper (shop)' } } });
			seen++;
			const offline = (await n8n.waitForExecutions(wf, seen, 30_000)).at(-1)!;
			failedOnPurpose.add(offline.id);
			expect({ status: offline.status, node: offline.data?.resultData.lastNodeExecuted }).toEqual({ status: 'error', node: 'Write to B' });
		} finally {
			await erp.conn.query(`RENAME TABLE \`${erp.table}_offline\` TO \`${erp.table}\``);
		}
		expect((await signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice(inErp))).status).toBe(200);
		const [run] = await next();
		const key = (await store.findLink('contact', 'shop', String(ids.grace.shop)))!.key;
		expect({
			crm: (await crm.row(ids.grace.crm!))!.lastName,
			erp: (await erp.row(ids.grace.erp!))!.last_name,
			shop: (shop.get('contact', ids.grace.shop!)!.name as { last: string }).last,
			golden: (await store.getGolden('contact', key))!.data.lastName,
		}).toEqual({ crm: 'Hopper (ERP)', erp: 'Hopper (ERP)', shop: 'Hopper (ERP)', golden: 'Hopper (ERP)' });
		expect(run.status).toBe('success');
		const conflict = [...(await store.listConflicts({ key, status: 'resolved' })), ...(await store.listConflicts({ key, status: 'open' }))].find((c) => c.fields.includes('lastName'));
		expect(conflict?.competing.map((v) => v.value)).toEqual(expect.arrayContaining(['Hopper (ERP)', 'Hopper (shop)']));
	});

	it('a delete in the shop deletes the record in A and B', async () => {
		await shop.change('contact', { id: ids.grace.shop!, delete: true });
		await eventually('Grace is gone from A and B', async () => (await crm.row(ids.grace.crm!)) === undefined && (await erp.row(ids.grace.erp!)) === undefined);
		await next();
	});

	it('every write has exactly one audit entry, and every shop write was made once', async () => {
		const all = await writes();
		for (const w of all) {
			const entries = (await auditOfExecution(store, String(w.execution), { key: w.key as string, system: w.system as string, limit: 100 })).filter((e) =>
				WRITE_ACTIONS.includes(e.action),
			);
			const label = `${w.node} ${w.op} ${w.id}`;
			expect({ label, entries: entries.map((e) => `${e.action}/${e.outcome}`) }).toEqual({
				label,
				entries: [expect.stringMatching(w.op === 'delete' ? /^(write|delete)\/ok$/ : /^(write|create|update)\/ok$/)],
			});
		}
		expect(shopWrites().length).toBe(all.filter((w) => w.node === 'Write to C').length);
	});
	// Last: the Refresh's page executions would throw off the execution counts the tests above wait for.
	it('the manual Refresh, page by page (A, B, then C), reconciles what no webhook told and finds a hard delete in B', async () => {
		// Three new contacts in each system, none announced: every table is several pages of 2.
		for (let i = 1; i <= 3; i++) {
			await crm.insert({ ...ADA_CRM, email: `quiet.a${i}@example.com`, firstName: `QuietA${i}` });
			await erp.insert({ ...GRACE_ERP, email: `quiet.b${i}@example.com`, first_name: `QuietB${i}` });
			await shop.change('contact', { data: { email: `quiet.c${i}@example.com`, name: { first: `QuietC${i}`, last: 'Shop' }, state: 'PROSPECT', accepts_marketing: 0 }, notify: false });
		}
		await erp.remove(ids.ada.erp!); // Ada deleted in B, no webhook
		const rowsOfA = (await crm.rows()).length;
		const run = await runFromTrigger(n8n, wf, 'Refresh (manual)', 120_000);
		expect({ status: run.status, failure: failure(run) }).toEqual({ status: 'success', failure: undefined });
		const pages = await pagesOf(n8n, wf, run);
		for (const p of pages) expect({ id: p.id, failure: failure(p) }).toEqual({ id: p.id, failure: undefined });
		const counts = (node: string) => pages.flatMap((p) => outputOf(p, node)).map((sum) => sum.count as number);
		// One execution per page of 2; A read whole, once.
		expect(counts('Page summary A').reduce((a, b) => a + b, 0)).toBe(rowsOfA);
		expect(counts('Page summary A').length).toBeGreaterThanOrEqual(2);
		for (const node of ['Page summary A', 'Page summary B', 'Page summary C']) expect(counts(node).every((n) => n <= 2)).toBe(true);
		expect(counts('Page summary C').length).toBeGreaterThanOrEqual(2);
		expect(pages.flatMap((p) => outputOf(p, 'Find deletes in B')).map((i) => [i.op, i.id])).toEqual([['delete', String(ids.ada.erp)]]);

		const inShop = (email: string) => shop.list('contact').find((r) => r.email === email);
		for (let i = 1; i <= 3; i++) {
			expect(await erp.byEmail(`quiet.a${i}@example.com`)).toMatchObject({ first_name: `QuietA${i}` });
			expect(inShop(`quiet.a${i}@example.com`)).toMatchObject({ name: { first: `QuietA${i}` } });
			expect(await crm.byEmail(`quiet.b${i}@example.com`)).toMatchObject({ firstName: `QuietB${i}` });
			expect(inShop(`quiet.b${i}@example.com`)).toMatchObject({ name: { first: `QuietB${i}` } });
			expect(await crm.byEmail(`quiet.c${i}@example.com`)).toMatchObject({ firstName: `QuietC${i}` });
			expect(await erp.byEmail(`quiet.c${i}@example.com`)).toMatchObject({ first_name: `QuietC${i}` });
		}
		// Ada's delete in B reached A and the shop.
		expect(await crm.row(ids.ada.crm!)).toBeUndefined();
		expect(shop.get('contact', ids.ada.shop!)).toBeUndefined();
		// Each record once in every system.
		for (const emails of [(await crm.rows()).map((r) => r.email), (await erp.rows()).map((r) => r.email), shop.list('contact').map((r) => r.email)]) expect(new Set(emails).size).toBe(emails.length);

		// In step: another Refresh writes nothing.
		const again = await runFromTrigger(n8n, wf, 'Refresh (manual)', 120_000);
		expect(again.status).toBe('success');
		expect(written(await pagesOf(n8n, wf, again), WRITERS)).toEqual([]);
	});
});
