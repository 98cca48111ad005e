/**
 * The DataSync Database Trigger in stock n8n, as the bidirectional template ships it (its two disabled
 * database triggers enabled, the webhooks unused): System A = a CRM in a Postgres database of the test's
 * own, with the trigger function installed by the node (LISTEN/NOTIFY); System B = an ERP in MariaDB,
 * read every 2 s; the store in an SQLite file.
 *
 * Proves: inserts, updates and hard deletes in A reach B within seconds, with no webhook; the trigger's
 * listening connection killed again and again (pg_terminate_backend by application_name, never the
 * server) while rows change: after the reconnect every change is in B (0 lost) and every row version
 * was emitted once (0 duplicates); a hard delete made while no one listened reaches B through the manual
 * refresh (Find Deletes); a row changed in MariaDB reaches A within the poll interval.
 */
import { Client } from 'pg';
import { closeAllStores } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { N8nInstance, uniqueId, type Execution } from './harness';
import { eventually, failure, importTemplate, nodeNamed, outputOf, runFromTrigger, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';

const A_TRIGGER = 'A changed (database)';
const B_TRIGGER = 'B changed (database)';
const POLL_SECONDS = 2;

describe('DataSync Database Trigger in stock n8n: CRM (Postgres, LISTEN/NOTIFY) ↔ ERP (MariaDB, polled)', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let admin: Client;
	let wf: string;
	const id = uniqueId('dbt');

	async function runs(): Promise<Execution[]> {
		const list = await n8n.executions(wf);
		return await Promise.all(list.filter((e) => e.status !== 'running' && e.status !== 'new').map((e) => n8n.execution(e.id)));
	}

	/** The backends of the trigger's listening connection in A's database. */
	async function listeners(): Promise<number[]> {
		const { rows } = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'datasync-db-trigger %' AND datname = $1`, [pg.config.database]);
		return rows.map((r) => r.pid);
	}

	/** B's rows by e-mail (each e-mail must be there once). */
	async function erpByEmail(): Promise<Map<string, Record<string, unknown>>> {
		const rows = await erp.rows();
		const map = new Map(rows.map((r) => [String(r.email), r]));
		expect(map.size).toBe(rows.length);
		return map;
	}

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_dbt'), createMariaDbDatabase('ds_dbt')]);
		dir = createTempDir('ds-dbt');
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		admin = new Client(pg.config);
		await admin.connect();
		n8n = await N8nInstance.start();
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: dir.file('store.sqlite') }, pg, maria, { a: 'unused-secret-a-0123456789', b: 'unused-secret-b-0123456789' });
		wf = await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': `dbt-${id}/crm/contact`, 'datasync/erp/contact': `dbt-${id}/erp/contact` },
			// No safety read: what arrives after the kill is the reconnect's catch-up read, nothing else.
			parameters: { [A_TRIGGER]: { installTrigger: true, safetySeconds: 0 }, [B_TRIGGER]: { pollSeconds: POLL_SECONDS } },
			patch: (w) => {
				for (const name of [A_TRIGGER, B_TRIGGER]) delete (nodeNamed(w, name) as { disabled?: boolean }).disabled;
			},
		});
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await admin?.end();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	it('installs its trigger function on publish and listens', async () => {
		// n8n activates the published workflow's triggers just after the API call returns.
		await eventually('the trigger listening', async () => (await listeners()).length === 1, 15_000);
		const { rows } = await admin.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal`, [`"${crm.table}"`]);
		expect(rows).toEqual([{ tgname: 'datasync_notify' }]);
	});

	it('inserts, updates and a hard delete in A reach B within seconds, with no webhook', async () => {
		const started = Date.now();
		const ada = await crm.insert(ADA_CRM);
		await eventually('Ada in B', async () => (await erp.byEmail('ada@example.com'))?.first_name === 'Ada', 15_000);
		const created = Date.now() - started;
		await crm.update(ada.id as number, { lastName: 'King' });
		await eventually('Ada updated in B', async () => (await erp.byEmail('ada@example.com'))?.last_name === 'King', 15_000);
		const doomed = await crm.insert({ ...ADA_CRM, email: 'doomed@example.com', firstName: 'Doomed' });
		await eventually('Doomed in B', async () => (await erp.byEmail('doomed@example.com')) !== undefined, 15_000);
		await crm.remove(doomed.id as number);
		await eventually('Doomed deleted in B', async () => (await erp.byEmail('doomed@example.com')) === undefined, 15_000);
		process.stdout.write(`database trigger: a row inserted in A was in B after ${created} ms\n`);
		for (const e of await runs()) expect({ id: e.id, failure: failure(e) }).toEqual({ id: e.id, failure: undefined });
	});

	it('its connection killed again and again while rows change: after the reconnect every change is in B, each emitted once', async () => {
		const before = await listeners();
		expect(before).toHaveLength(1);
		const changed: string[] = [];
		let kills = 0;
		let killing = true;
		// Kill every listening backend as soon as it is back, for 2 s, changing rows in between.
		const killer = (async () => {
			while (killing) {
				const { rowCount } = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'datasync-db-trigger %' AND datname = $1`, [pg.config.database]);
				kills += rowCount ?? 0;
				await new Promise((r) => setTimeout(r, 15));
			}
		})();
		const ada = (await crm.byEmail('ada@example.com'))!;
		for (let i = 0; i < 10; i++) {
			const email = `down${i}@example.com`;
			await crm.insert({ ...ADA_CRM, email, firstName: `Down${i}` });
			changed.push(email);
			await crm.update(ada.id as number, { city: `City ${i}` });
			await new Promise((r) => setTimeout(r, 150));
		}
		killing = false;
		await killer;
		await eventually('the trigger listening again', async () => (await listeners()).length === 1, 30_000);
		// The last kill, then changes at once: the reconnect waits at least 125 ms, so no one hears these
		// notifications and only the read after the reconnect can bring them.
		const last = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'datasync-db-trigger %' AND datname = $1`, [pg.config.database]);
		kills += last.rowCount ?? 0;
		const gone = await crm.insert({ ...ADA_CRM, email: 'gone@example.com', firstName: 'Gone' });
		await crm.update(ada.id as number, { city: 'Final City' });
		expect(last.rowCount).toBe(1);
		expect(await listeners()).toEqual([]);
		expect(kills).toBeGreaterThanOrEqual(2);
		const reconnectStart = Date.now();
		await eventually('the trigger listening again', async () => (await listeners()).length === 1, 30_000);
		await eventually(
			'every change made while the connection was down in B',
			async () => {
				const b = await erpByEmail();
				return changed.every((e) => b.has(e)) && b.has('gone@example.com') && b.get('ada@example.com')?.city === 'Final City';
			},
			30_000,
		);
		process.stdout.write(`database trigger: ${kills} listening connections killed; everything in B ${Date.now() - reconnectStart} ms after the last kill\n`);
		expect((await listeners())[0]).not.toBe(before[0]);

		// 0 duplicates: one row per contact in B, and no row version of A emitted twice by the trigger.
		const b = await erpByEmail();
		expect([...b.keys()].sort()).toEqual(['ada@example.com', ...changed, 'gone@example.com'].sort());
		const all = await runs();
		for (const e of all) expect({ id: e.id, failure: failure(e) }).toEqual({ id: e.id, failure: undefined });
		const emitted = all.flatMap((e) => outputOf(e, A_TRIGGER)).filter((i) => i.op === 'upsert').map((i) => `${String(i.id)}@${String(i.changedAt)}`);
		expect(emitted.length).toBeGreaterThan(0);
		expect(emitted.filter((v, i) => emitted.indexOf(v) !== i)).toEqual([]);

		// A hard delete while no one listens leaves no row to read: the manual refresh (Find Deletes) finds it.
		killing = true;
		await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'datasync-db-trigger %' AND datname = $1`, [pg.config.database]);
		await crm.remove(gone.id as number);
		killing = false;
		await eventually('the trigger listening again', async () => (await listeners()).length === 1, 30_000);
		const refresh = await runFromTrigger(n8n, wf, 'Refresh (manual)');
		expect(failure(refresh)).toBeUndefined();
		await eventually('Gone deleted in B', async () => (await erp.byEmail('gone@example.com')) === undefined, 15_000);
	});

	it(`a row changed in MariaDB reaches A within the poll interval (${POLL_SECONDS} s)`, async () => {
		const started = Date.now();
		await erp.insert(GRACE_ERP);
		await eventually('Grace in A', async () => (await crm.byEmail('grace@example.com'))?.firstName === 'Grace', 15_000);
		const took = Date.now() - started;
		process.stdout.write(`database trigger (MariaDB, polled every ${POLL_SECONDS} s): a row inserted in B was in A after ${took} ms\n`);
		// The poll interval, plus one execution of the flow.
		expect(took).toBeLessThan(POLL_SECONDS * 1000 + 5_000);
	});
});
