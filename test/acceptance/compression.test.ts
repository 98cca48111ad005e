/**
 * Change compression in stock n8n: the shipped bidirectional template with the Loop Guard's Change
 * Compression on (window 1.5 s, max delay 10 s), System A = a CRM in real Postgres, System B = an ERP in
 * real MariaDB, an SQLite store. A MariaDB trigger logs every UPDATE of B's table, so the test counts the
 * writes B really took.
 *
 * - 20 edits of one contact in A within 3 s, each a real UPDATE of A's row and a signed webhook carrying
 *   only the key fields and the field it changed (one execution each): B takes one write, and B's row
 *   holds the last value of every field any of the 20 edits changed (nothing lost).
 * - Two contacts edited in bursts one after the other: the first one's write reaches B first.
 * - The 19 carried changes leave on the Loop Guard's Blocked output as `compressed`, and the dashboard's
 *   volume counts them.
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { N8nInstance, uniqueId } from './harness';
import { eventually, importTemplate, outputOf, signedPost, systemCredentials } from './templates-support';
import { ADA_CRM, afterPartialEdits, CrmSystem, ErpSystem, partialEdit, partialNotice } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Loop Guard Change Compression in stock n8n (bidirectional template)', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let wf: string;
	const id = uniqueId('cmp');
	const paths = { crm: `cmp-${id}/crm/contact`, erp: `cmp-${id}/erp/contact` };

	/** The UPDATEs B's table took, per contact id, in order. */
	async function writesToB(): Promise<Array<{ contact_id: number; n: number }>> {
		const [rows] = await erp.conn.query(`SELECT contact_id, seq AS n FROM erp_write_log ORDER BY seq`);
		return rows as Array<{ contact_id: number; n: number }>;
	}

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_cmp'), createMariaDbDatabase('ds_cmp')]);
		dir = createTempDir('ds-cmp');
		const storePath = dir.file('store.sqlite');
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		await erp.conn.query(`CREATE TABLE erp_write_log (seq INT AUTO_INCREMENT PRIMARY KEY, contact_id INT NOT NULL, at DATETIME(6) NOT NULL)`);
		await erp.conn.query(`CREATE TRIGGER erp_customers_written AFTER UPDATE ON erp_customers FOR EACH ROW INSERT INTO erp_write_log (contact_id, at) VALUES (NEW.contact_id, NOW(6))`);
		n8n = await N8nInstance.start();
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: storePath }, pg, maria, { a: SECRET_A, b: SECRET_B });
		wf = await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
			parameters: { 'Loop Guard': { compression: { windowMs: 1500, maxDelayMs: 10_000 } } },
		});
		store = await openStore({ backend: 'sqlite', path: storePath });
	}, 240_000);

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	/** A new contact in A, synced to B; its ids. */
	async function contact(email: string): Promise<{ a: number; b: number }> {
		const row = await crm.insert({ ...ADA_CRM, email });
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row))).status).toBe(200);
		const inB = await eventually(`${email} is in B`, async () => erp.byEmail(email), 30_000);
		return { a: row.id as number, b: inB.contact_id as number };
	}

	/** Edit `n` of a burst: a real UPDATE of one field in A, and its webhook with the key fields and that field only. */
	async function edit(aId: number, n: number, tag: string): Promise<void> {
		const { field, value } = partialEdit(n, tag);
		const row = await crm.update(aId, { [field]: value });
		expect((await signedPost(n8n, paths.crm, SECRET_A, partialNotice(row, field))).status).toBe(200);
	}

	it('20 edits of one contact within 3 s, each carrying only the field it changed: one write to B with the last value of every field', async () => {
		const x = await contact('burst@example.com');
		const before = (await writesToB()).length;
		const executionsBefore = new Set((await n8n.executions(wf)).map((e) => e.id));
		for (let n = 0; n < 20; n++) {
			await edit(x.a, n, 'x');
			await sleep(150);
		}
		const lastSent = Date.now();
		const want = afterPartialEdits(20, 'x');
		const row = await eventually('B holds every field of the burst', async () => {
			const r = await erp.row(x.b);
			return r && Object.entries(want).every(([k, v]) => r[k] === v) ? r : undefined;
		}, 30_000);
		const visibleAfter = Date.now() - lastSent;
		expect(row).toMatchObject(want);
		// Every execution of the burst ended; no more writes come.
		await eventually('the 20 executions ended', async () => {
			const mine = (await n8n.executions(wf)).filter((e) => !executionsBefore.has(e.id));
			return mine.length === 20 && mine.every((e) => e.status !== 'running' && e.status !== 'new' && e.status !== 'waiting');
		}, 60_000);
		await sleep(2_000);
		const writes = (await writesToB()).slice(before).filter((w) => w.contact_id === x.b);
		expect(writes).toHaveLength(1);
		// A's row and B's agree field for field (A = the source of all 20 edits).
		const a = (await crm.row(x.a))!;
		expect({ phone: a.phone, city: a.city, lastName: a.lastName, firstName: a.firstName, street: a.street }).toEqual({
			phone: want.phone_number,
			city: want.city,
			lastName: want.last_name,
			firstName: want.first_name,
			street: want.street,
		});
		// The 19 carried changes are on the Loop Guard's Blocked output, as `compressed`.
		const executions = (await n8n.executions(wf)).filter((e) => !executionsBefore.has(e.id));
		const details = await Promise.all(executions.map((e) => n8n.execution(e.id)));
		const compressed = details.flatMap((e) => outputOf(e, 'Loop Guard', 1)).filter((j) => (j.blocked as { reason?: string } | undefined)?.reason === 'compressed');
		expect(compressed).toHaveLength(19);
		expect(details.filter((e) => e.status !== 'success').map((e) => e.id)).toEqual([]);
		const volume = await store.driver.all<{ count: number }>(`SELECT count FROM volume WHERE kind = 'compressed' AND grain = 'day'`);
		expect(volume.reduce((n, v) => n + Number(v.count), 0)).toBe(19);
		expect(await store.driver.all(`SELECT * FROM burst`)).toEqual([]);
		console.log(`20 edits in ${(20 * 150) / 1000} s → ${writes.length} write to B; visible in B ${visibleAfter} ms after the last webhook (window 1500 ms)`);
	}, 180_000);

	it('two contacts edited in bursts one after the other: the first one is written to B first, each once', async () => {
		const x = await contact('first@example.com');
		const y = await contact('second@example.com');
		const before = (await writesToB()).length;
		for (let n = 0; n < 5; n++) {
			await edit(x.a, n, 'f');
			await sleep(100);
		}
		await sleep(300);
		for (let n = 0; n < 5; n++) {
			await edit(y.a, n, 's');
			await sleep(100);
		}
		const [wantX, wantY] = [afterPartialEdits(5, 'f'), afterPartialEdits(5, 's')];
		await eventually('both contacts are in B with every field', async () => {
			const [rx, ry] = [await erp.row(x.b), await erp.row(y.b)];
			return rx && ry && Object.entries(wantX).every(([k, v]) => rx[k] === v) && Object.entries(wantY).every(([k, v]) => ry[k] === v);
		}, 30_000);
		await sleep(2_000);
		const writes = (await writesToB()).slice(before);
		expect(writes.map((w) => w.contact_id)).toEqual([x.b, y.b]);
	}, 120_000);
});
