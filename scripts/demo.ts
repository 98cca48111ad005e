/**
 * `npm run demo`: stock n8n with this package on 127.0.0.1, three sample systems and two templates at work.
 *
 * - System A, a CRM, and System B, an ERP: two SQLite files on this machine, read and written by the
 *   DataSync Database node (SQLite dialect);
 * - System C, a shop: a REST server on 127.0.0.1 (test/support/shop-server.ts) that sends signed webhooks;
 * - all three seeded with sample contacts, orders, inventory and users;
 * - workflows/bidirectional-contacts.json (A ↔ B) and workflows/tri-directional-contacts.json
 *   (A ↔ B ↔ C) imported with the demo's credentials, tables and paths, and published.
 *
 * It reconciles the seed, makes a few changes, prints what synced where, and prints the editor URL and login.
 * `npm run demo -- --once` does the same, stops, and exits 0 (everything synced as expected) or 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { freePort, N8nInstance, OWNER, prepare } from '../test/acceptance/harness';
import { importTemplate, readTemplate, runFromTrigger, signedPost, type TemplateWorkflow } from '../test/acceptance/templates-support';
import { CrmSystem, ErpSystem } from '../test/acceptance/templates-systems';
import { ShopServer } from '../test/support/shop-server';
import { templateContactMapping } from './template-mapping';

type Row = Record<string, unknown>;

const SECRETS = { crm: 'demo-crm-signing-secret-0123', erp: 'demo-erp-signing-secret-0123' };
const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

/** n8n's usual port when nothing answers there, else a free one. */
async function demoPort(preferred = 5678): Promise<number> {
	try {
		await fetch(`http://127.0.0.1:${preferred}/`);
		return await freePort();
	} catch {
		return preferred;
	}
}

/** A system kept in an SQLite file: the demo's stand-in for a CRM or an ERP database. */
class SqliteSystem {
	readonly db: DatabaseSync;

	constructor(
		readonly file: string,
		private readonly idColumn: string,
		private readonly updatedAt: string,
		private readonly actor: string,
	) {
		this.db = new DatabaseSync(file);
		this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
	}

	insert(table: string, values: Row, actor: string): Row {
		const cols = Object.keys(values);
		const row = this.db
			.prepare(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}, "${this.actor}", "${this.updatedAt}") VALUES (${cols.map(() => '?').join(', ')}, ?, ${NOW}) RETURNING *`)
			.get(...(Object.values(values) as Array<string | number | null>), actor);
		return { ...row } as Row;
	}

	update(table: string, id: number, values: Row, actor: string): Row {
		const cols = Object.keys(values);
		const row = this.db
			.prepare(`UPDATE "${table}" SET ${cols.map((c) => `"${c}" = ?`).join(', ')}, "${this.actor}" = ?, "${this.updatedAt}" = ${NOW} WHERE "${this.idColumn}" = ? RETURNING *`)
			.get(...(Object.values(values) as Array<string | number | null>), actor, id);
		return { ...row } as Row;
	}

	rows(table: string): Row[] {
		return this.db.prepare(`SELECT * FROM "${table}" ORDER BY "${this.idColumn}"`).all().map((r) => ({ ...r }));
	}

	byEmail(table: string, email: string): Row | undefined {
		const row = this.db.prepare(`SELECT * FROM "${table}" WHERE email = ?`).get(email);
		return row ? ({ ...row } as Row) : undefined;
	}
}

function crmContacts(table: string): string {
	return `CREATE TABLE "${table}" (id INTEGER PRIMARY KEY, email TEXT NOT NULL, "firstName" TEXT, "lastName" TEXT, phone TEXT, "birthDate" TEXT,
		"lifecycleStage" TEXT, "marketingOptIn" INTEGER, street TEXT, city TEXT, "postalCode" TEXT, "countryCode" TEXT,
		"updatedAt" TEXT NOT NULL, "modifiedBy" TEXT, "deletedAt" TEXT);`;
}

function erpContacts(table: string): string {
	return `CREATE TABLE "${table}" (contact_id INTEGER PRIMARY KEY, email TEXT NOT NULL, first_name TEXT, last_name TEXT, phone_number TEXT,
		birth_date TEXT, status_code TEXT, marketing_opt_in TEXT, street TEXT, city TEXT, postal_code TEXT, country_code TEXT,
		changed_at TEXT NOT NULL, modified_by TEXT, deleted_at TEXT);`;
}

const PEOPLE = [
	{ email: 'ada@example.com', first: 'Ada', last: 'Lovelace', birth: '1815-12-10', country: 'GB', city: 'London' },
	{ email: 'alan@example.com', first: 'Alan', last: 'Turing', birth: '1912-06-23', country: 'GB', city: 'Manchester' },
	{ email: 'grace@example.com', first: 'Grace', last: 'Hopper', birth: '1906-12-09', country: 'US', city: 'Arlington' },
	{ email: 'linus@example.com', first: 'Linus', last: 'Torvalds', birth: '1969-12-28', country: 'FI', city: 'Helsinki' },
	{ email: 'margaret@example.com', first: 'Margaret', last: 'Hamilton', birth: '1936-08-17', country: 'US', city: 'Boston' },
	{ email: 'tim@example.com', first: 'Tim', last: 'Berners-Lee', birth: '1955-06-08', country: 'GB', city: 'Oxford' },
];
type Person = (typeof PEOPLE)[number];

const toCrm = (p: Person): Row => ({ email: p.email, firstName: p.first, lastName: p.last, birthDate: p.birth, lifecycleStage: 'customer', marketingOptIn: 1, city: p.city, countryCode: p.country });
const dmy = (iso: string) => iso.split('-').reverse().join('/');
const mdy = (iso: string) => { const [y, m, d] = iso.split('-'); return `${m}/${d}/${y}`; };
const toErp = (p: Person): Row => ({ email: p.email, first_name: p.first, last_name: p.last, birth_date: dmy(p.birth), status_code: 'A', marketing_opt_in: 'Y', city: p.city, country_code: p.country.toLowerCase() });
const toShop = (p: Person): Row => ({ email: p.email, name: { first: p.first, last: p.last }, birthday: mdy(p.birth), state: 'ACTIVE', accepts_marketing: 1, address: { city: p.city, country: p.country } });

/** Sample orders, inventory and users in every system (the shipped mappings' shapes), for flows of your own. */
function seedOtherEntities(a: SqliteSystem, b: SqliteSystem, shop: ShopServer): Promise<unknown> {
	a.db.exec(`CREATE TABLE crm_orders (id INTEGER PRIMARY KEY, "orderNumber" TEXT, "customerEmail" TEXT, stage TEXT, currency TEXT, amount REAL, "orderedAt" TEXT, "updatedAt" TEXT, "modifiedBy" TEXT);
		CREATE TABLE crm_inventory (id INTEGER PRIMARY KEY, sku TEXT, name TEXT, "stockLevel" INTEGER, currency TEXT, price REAL, "updatedAt" TEXT, "modifiedBy" TEXT);
		CREATE TABLE crm_users (id INTEGER PRIMARY KEY, username TEXT, email TEXT, "firstName" TEXT, "lastName" TEXT, role TEXT, "isActive" INTEGER, "updatedAt" TEXT, "modifiedBy" TEXT);`);
	b.db.exec(`CREATE TABLE erp_orders (order_id INTEGER PRIMARY KEY, order_no TEXT, customer_email TEXT, status_code TEXT, currency_code TEXT, total_amount TEXT, order_date TEXT, changed_at TEXT, modified_by TEXT);
		CREATE TABLE erp_inventory (item_id INTEGER PRIMARY KEY, item_no TEXT, description TEXT, qty_on_hand INTEGER, currency_code TEXT, unit_price TEXT, changed_at TEXT, modified_by TEXT);
		CREATE TABLE erp_users (user_id INTEGER PRIMARY KEY, login TEXT, email TEXT, full_name TEXT, role_code TEXT, enabled TEXT, changed_at TEXT, modified_by TEXT);`);
	a.insert('crm_orders', { orderNumber: 'SO-1001', customerEmail: 'ada@example.com', stage: 'paid', currency: 'EUR', amount: 129.9, orderedAt: '2024-05-01T10:00:00.000Z' }, 'seed');
	b.insert('erp_orders', { order_no: 'SO-1002', customer_email: 'alan@example.com', status_code: 'P', currency_code: 'GBP', total_amount: '45.00', order_date: '02/05/2024 09:30:00' }, 'seed');
	a.insert('crm_inventory', { sku: 'WIDGET-1', name: 'Widget', stockLevel: 40, currency: 'EUR', price: 9.99 }, 'seed');
	b.insert('erp_inventory', { item_no: 'GADGET-2', description: 'Gadget', qty_on_hand: 12, currency_code: 'EUR', unit_price: '24.50' }, 'seed');
	a.insert('crm_users', { username: 'ada.l', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', role: 'admin', isActive: 1 }, 'seed');
	b.insert('erp_users', { login: 'alan.t', email: 'alan@example.com', full_name: 'Alan Turing', role_code: 'E', enabled: 'Y' }, 'seed');
	return Promise.all([
		shop.change('order', { data: { number: 'SO-1003', customer: { email: 'grace@example.com' }, financial_status: 'paid', currency: 'usd', total: 4999, shipping: { amount: 500 }, created_at: 1714557600 }, notify: false }),
		shop.change('inventory', { data: { title: 'Doohickey', currency: 'usd', status: 'active', variants: [{ sku: 'DOO-3', inventory_quantity: 7, price: 1250, weight: 0.4 }] }, notify: false }),
		shop.change('user', { data: { handle: 'grace.h', contact: { email: 'grace@example.com' }, name: { first: 'Grace', last: 'Hopper' }, role: 'editor', active: true }, notify: false }),
	]);
}

/** The template with the demo's SQLite systems: their booleans are stored as 1 / 0, so the CRM mapping says so. */
function sqliteMapping(template: TemplateWorkflow): void {
	const mapping = templateContactMapping();
	const row = mapping.systems.crm.fields.find((f) => f.canonical === 'marketingOptIn')!;
	row.options = { true: 1, false: 0 };
	for (const node of template.nodes) if (node.type.endsWith('.dataSyncMapper')) node.parameters.mappingJson = JSON.stringify(mapping, null, 2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (check()) return true;
		await sleep(100);
	}
	console.log(`  ✗ timed out: ${what}`);
	return false;
}

async function main(): Promise<number> {
	const once = process.argv.includes('--once');
	const started = Date.now();
	const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
	console.log('Preparing: stock n8n (installed once into the cache), this package built and packed...');
	await prepare();
	const dir = mkdtempSync(join(tmpdir(), 'datasync-demo-'));
	const a = new SqliteSystem(join(dir, 'system-a-crm.sqlite'), 'id', 'updatedAt', 'modifiedBy');
	const b = new SqliteSystem(join(dir, 'system-b-erp.sqlite'), 'contact_id', 'changed_at', 'modified_by');
	a.db.exec(crmContacts('crm_contacts') + crmContacts('crm_customers'));
	b.db.exec(erpContacts('erp_contacts') + erpContacts('erp_customers'));
	const shop = await ShopServer.start();
	shop.quietActors.add('datasync');
	await seedOtherEntities(a, b, shop);
	// Bidirectional (A ↔ B, tables *_contacts): Ada and Alan in A, Grace and Linus in B.
	for (const p of PEOPLE.slice(0, 2)) a.insert('crm_contacts', toCrm(p), 'seed');
	for (const p of PEOPLE.slice(2, 4)) b.insert('erp_contacts', toErp(p), 'seed');
	// Tri-directional (A ↔ B ↔ C, tables *_customers and the shop's contacts): two people in each.
	for (const p of PEOPLE.slice(0, 2)) a.insert('crm_customers', toCrm(p), 'seed');
	for (const p of PEOPLE.slice(2, 4)) b.insert('erp_customers', toErp(p), 'seed');
	for (const p of PEOPLE.slice(4, 6)) await shop.change('contact', { data: toShop(p), notify: false });

	const n8n = await N8nInstance.start({ port: await demoPort() });
	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		await n8n.stop();
		await shop.close();
		a.db.close();
		b.db.close();
		rmSync(dir, { recursive: true, force: true });
	};
	process.on('SIGINT', () => void stop().then(() => process.exit(0)));
	process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
	console.log(`n8n started (${elapsed()}): ${n8n.baseUrl}`);

	const cred = async (type: string, name: string, data: Row) => await n8n.createCredential(type, name, data);
	const common = {
		'System A (CRM database)': await cred('dataSyncSqlApi', 'System A (CRM database)', { dialect: 'sqlite', file: a.file }),
		'System B (ERP database)': await cred('dataSyncSqlApi', 'System B (ERP database)', { dialect: 'sqlite', file: b.file }),
		'Webhook secret: System A': await cred('dataSyncWebhookApi', 'Webhook secret: System A', { secret: SECRETS.crm }),
		'Webhook secret: System B': await cred('dataSyncWebhookApi', 'Webhook secret: System B', { secret: SECRETS.erp }),
	};
	const biWf = await importTemplate(n8n, 'bidirectional-contacts', {
		credentials: { ...common, 'DataSync store': await cred('dataSyncStoreApi', 'DataSync store (A ↔ B)', { backend: 'sqlite', path: join(dir, 'store-bidirectional.sqlite') }) },
		paths: { 'datasync/crm/contact': 'demo-ab/crm/contact', 'datasync/erp/contact': 'demo-ab/erp/contact' },
		patch: sqliteMapping,
	});
	const triWf = await importTemplate(n8n, 'tri-directional-contacts', {
		credentials: {
			...common,
			'DataSync store': await cred('dataSyncStoreApi', 'DataSync store (A ↔ B ↔ C)', { backend: 'sqlite', path: join(dir, 'store-tri-directional.sqlite') }),
			'System C (shop API)': await cred('dataSyncRestApi', 'System C (shop API)', { baseUrl: shop.url, authType: 'bearer', token: 'shop-sync-token', testPath: '/' }),
			'Webhook secret: System C': await cred('dataSyncWebhookApi', 'Webhook secret: System C', { secret: shop.secret }),
		},
		tables: { crm_contacts: 'crm_customers', erp_contacts: 'erp_customers' },
		paths: { 'datasync/crm/contact': 'demo-abc/crm/contact', 'datasync/erp/contact': 'demo-abc/erp/contact', 'datasync/shop/contact': 'demo-abc/shop/contact' },
		patch: sqliteMapping,
	});
	shop.webhookUrls.set('contact', `${n8n.baseUrl}/webhook/demo-abc/shop/contact`);
	console.log(`Imported and published: "${readTemplate('bidirectional-contacts').name}" and "${readTemplate('tri-directional-contacts').name}" (${elapsed()})`);

	const checks: Array<[string, boolean]> = [];
	const check = (what: string, ok: boolean) => {
		checks.push([what, ok]);
		console.log(`  ${ok ? '✓' : '✗'} ${what}`);
	};
	const names = (rows: Row[], first: string) => rows.map((r) => r[first]).join(', ');

	console.log('\n1. Manual refresh of both templates (reconcile the seed)');
	const r1 = await runFromTrigger(n8n, biWf, 'Refresh (manual)');
	const r2 = await runFromTrigger(n8n, triWf, 'Refresh (manual)');
	check(`A ↔ B: A has ${names(a.rows('crm_contacts'), 'firstName')}; B has ${names(b.rows('erp_contacts'), 'first_name')}`, r1.status === 'success' && a.rows('crm_contacts').length === 4 && b.rows('erp_contacts').length === 4);
	check(
		`A ↔ B ↔ C: A has ${a.rows('crm_customers').length}, B has ${b.rows('erp_customers').length}, C has ${shop.list('contact').length} contacts`,
		r2.status === 'success' && a.rows('crm_customers').length === 6 && b.rows('erp_customers').length === 6 && shop.list('contact').length === 6,
	);

	console.log('\n2. A ↔ B: Margaret is created in A (the CRM notifies by signed webhook)');
	const margaret = a.insert('crm_contacts', { ...toCrm(PEOPLE[4]), birthDate: '2024-01-01' }, 'alice');
	await signedPost(n8n, 'demo-ab/crm/contact', SECRETS.crm, CrmSystem.notice(margaret));
	let ok = await until('Margaret in B', () => b.byEmail('erp_contacts', 'margaret@example.com') !== undefined);
	const mB = b.byEmail('erp_contacts', 'margaret@example.com');
	check(`B: first_name=${mB?.first_name}, birth_date=${mB?.birth_date} (A: firstName=Margaret, birthDate=2024-01-01)`, ok && mB?.first_name === 'Margaret' && mB?.birth_date === '01/01/2024');

	console.log('\n3. A ↔ B: her phone is changed in B');
	const changed = b.update('erp_contacts', mB!.contact_id as number, { phone_number: '+1 617 555 0142' }, 'bob');
	await signedPost(n8n, 'demo-ab/erp/contact', SECRETS.erp, ErpSystem.notice(changed));
	ok = await until('the phone in A', () => a.byEmail('crm_contacts', 'margaret@example.com')?.phone === '+1 617 555 0142');
	check(`A: phone=${a.byEmail('crm_contacts', 'margaret@example.com')?.phone}`, ok);

	console.log('\n4. A ↔ B ↔ C: a new customer signs up in the shop (the shop sends a signed webhook)');
	await shop.change('contact', { data: { email: 'katherine@example.com', name: { first: 'Katherine', last: 'Johnson' }, birthday: '08/26/1918', state: 'ACTIVE', accepts_marketing: 0, address: { line1: '1 NASA Dr', city: 'Hampton', zip: '23666', country: 'US' } } });
	ok = await until('Katherine in A and B', () => a.byEmail('crm_customers', 'katherine@example.com') !== undefined && b.byEmail('erp_customers', 'katherine@example.com') !== undefined);
	const kA = a.byEmail('crm_customers', 'katherine@example.com');
	const kB = b.byEmail('erp_customers', 'katherine@example.com');
	check(`A: ${kA?.firstName} ${kA?.lastName}, birthDate=${kA?.birthDate}, city=${kA?.city}; B: ${kB?.first_name} ${kB?.last_name}, birth_date=${kB?.birth_date}, country_code=${kB?.country_code}`, ok && kA?.birthDate === '1918-08-26' && kB?.birth_date === '26/08/1918');

	console.log('\n5. A ↔ B ↔ C: she moves; the CRM records it');
	const moved = a.update('crm_customers', kA!.id as number, { city: 'Newport News', postalCode: '23601' }, 'alice');
	await signedPost(n8n, 'demo-abc/crm/contact', SECRETS.crm, CrmSystem.notice(moved));
	ok = await until('the move in B and C', () => b.byEmail('erp_customers', 'katherine@example.com')?.city === 'Newport News' && (shop.list('contact').find((c) => c.email === 'katherine@example.com')?.address as Row | undefined)?.city === 'Newport News');
	const kC = shop.list('contact').find((c) => c.email === 'katherine@example.com');
	check(`B: city=${b.byEmail('erp_customers', 'katherine@example.com')?.city}; C: address=${JSON.stringify(kC?.address)}`, ok);

	const echoes = shop.deliveries.length;
	await sleep(1000);
	check(`no echo loop: ${(await n8n.executions(biWf)).length + (await n8n.executions(triWf)).length} executions in all, the shop sent ${echoes} webhook(s), nothing bounced since`, shop.deliveries.length === echoes);

	const failed = checks.filter(([, passed]) => !passed).length;
	console.log(`\n${failed === 0 ? 'Everything synced as expected' : `${failed} check(s) failed`} (${elapsed()}).`);
	console.log(`\nn8n editor: ${n8n.baseUrl}/home/workflows`);
	console.log(`Log in as ${OWNER.email} / ${OWNER.password}`);
	console.log(`Systems: A ${a.file}, B ${b.file}, C ${shop.url} (token shop-admin-token)`);
	if (once) {
		await stop();
		return failed === 0 ? 0 : 1;
	}
	console.log('Press Ctrl+C to stop n8n.');
	await new Promise(() => {});
	return 0;
}

main().then(
	(code) => process.exit(code),
	(error) => {
		console.error(error instanceof Error ? error.stack ?? error.message : error);
		process.exit(1);
	},
);
