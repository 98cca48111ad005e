/**
 * workflows/bidirectional-contacts.json in stock n8n, imported from the file as shipped (only its
 * credentials, tables and webhook paths swapped, as a user edits them) and published:
 * System A = a CRM in real Postgres (camelCase, ISO dates), System B = an ERP in real MariaDB (snake_case,
 * dd/MM/yyyy), the store in an SQLite file.
 *
 * Proves, counting every record each write node wrote across all executions: creates both ways with the
 * seed's mapping (firstName → first_name, 2024-01-01 → 01/01/2024); our own writes coming back are not
 * written again (no echo loop); updates both ways; a conflict under "System A wins"; the backup poll picking
 * up a change whose webhook was lost; a delete propagating; the manual refresh reconciling what no webhook
 * told; and one audit entry per write.
 */
import { closeAllStores, openStore, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { N8nInstance, summary, uniqueId, type Execution } from './harness';
import { WRITE_ACTIONS, eventually, failure, importBidirectional, outputOf, pagesOf, runFromTrigger, signedPost, written, systemCredentials } from './templates-support';
import { auditOfExecution } from './run-ids';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const WRITERS = ['Write to A', 'Write to B'];

describe('template "bidirectional-contacts" in stock n8n: CRM (Postgres) ↔ ERP (MariaDB)', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let storePath: string;
	let wf: string;
	const id = uniqueId('bi');
	const paths = { crm: `bi-${id}/crm/contact`, erp: `bi-${id}/erp/contact` };
	/** Ids of the records the tests follow. */
	const ids: Record<string, { crm?: string | number; erp?: string | number }> = {};

	async function runs(): Promise<Execution[]> {
		const list = await n8n.executions(wf);
		return await Promise.all(list.map((e) => n8n.execution(e.id)));
	}

	/** Executions that fail on purpose (System A offline). */
	const failedOnPurpose = new Set<string>();

	/** Waits until the workflow has `count` finished executions; each one must have succeeded. */
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

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_tpl_bi'), createMariaDbDatabase('ds_tpl_bi')]);
		dir = createTempDir('ds-tpl-bi');
		storePath = dir.file('store.sqlite');
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		n8n = await N8nInstance.start();
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: storePath }, pg, maria, { a: SECRET_A, b: SECRET_B });
		wf = await importBidirectional(n8n, credentials, { crm: crm.table, erp: erp.table }, paths);
		store = await openStore({ backend: 'sqlite', path: storePath });
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	it('a contact created in A is created in B, mapped (firstName → first_name, 2024-01-01 → 01/01/2024)', async () => {
		const row = await crm.insert(ADA_CRM);
		ids.ada = { crm: row.id as number };
		const res = await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(row));
		expect(res.status).toBe(200);
		const [run] = await settle(1);
		expect(summary(run)).toMatchObject({ 'Write to B': { items: [1] }, Commit: { items: [1, 0] } });
		const rows = await erp.rows();
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({
			email: 'ada@example.com',
			first_name: 'Ada',
			last_name: 'Lovelace',
			birth_date: '01/01/2024',
			status_code: 'A',
			marketing_opt_in: 'Y',
			country_code: 'gb',
			postal_code: 'SW1Y 4JH',
			modified_by: 'datasync',
		});
		ids.ada.erp = rows[0].contact_id as number;
	});

	it('a contact created in B is created in A, mapped back (09/12/1906 → 1906-12-09, us → US)', async () => {
		const row = await erp.insert(GRACE_ERP);
		ids.grace = { erp: row.contact_id as number };
		expect((await signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice(row))).status).toBe(200);
		await settle(2);
		const grace = await crm.byEmail('grace@example.com');
		expect(grace).toMatchObject({ firstName: 'Grace', lastName: 'Hopper', birthDate: '1906-12-09', lifecycleStage: 'customer', marketingOptIn: false, countryCode: 'US', modifiedBy: 'datasync' });
		ids.grace.crm = grace!.id as number;
		expect((await writes()).map((w) => w.node)).toEqual(['Write to B', 'Write to A']);
	});

	it('our own writes coming back (by actor, and without one by content) are not written again: no echo loop', async () => {
		const adaInErp = (await erp.row(ids.ada.erp!))!;
		const graceInCrm = (await crm.row(ids.grace.crm!))!;
		expect((await signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice(adaInErp))).status).toBe(200);
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(graceInCrm, 'upsert', null))).status).toBe(200);
		const all = await settle(4);
		const [byActor, byContent] = all.slice(2);
		expect(outputOf(byActor, 'Loop Guard', 1).map((i) => (i.blocked as { reason: string }).reason)).toEqual(['own-actor']);
		// Without an actor the row read back from A is not byte for byte what was written (A adds its id and
		// times), so the Loop Guard lets it through and the Resolver finds it equal to A's base snapshot.
		const stopped = {
			guard: outputOf(byContent, 'Loop Guard', 1).map((i) => (i.blocked as { reason: string }).reason),
			resolver: outputOf(byContent, 'Conflict Resolver', 2).map((i) => (i.skipped as { reason: string }).reason),
		};
		expect(stopped).toEqual({ guard: [], resolver: ['echo'] });
		// The echo does not bounce on: neither run wrote anything (write nodes, the store's audit), and both
		// tables hold exactly what they held (an echo bounces only through a write, which would notify again).
		expect(written([byActor, byContent], WRITERS)).toEqual([]);
		for (const run of [byActor, byContent]) {
			expect((await auditOfExecution(store, run.id, { limit: 100 })).filter((e) => WRITE_ACTIONS.includes(e.action))).toEqual([]);
		}
		expect(await writes()).toHaveLength(2);
		expect(await n8n.executions(wf)).toHaveLength(4);
		expect(await crm.rows()).toHaveLength(2);
		expect(await erp.rows()).toHaveLength(2);
		expect(await crm.row(ids.grace.crm!)).toEqual(graceInCrm);
		expect(await erp.row(ids.ada.erp!)).toEqual(adaInErp);
	});

	it('an update in B reaches A, once', async () => {
		const row = await erp.update(ids.ada.erp!, { phone_number: '+44 20 1111 2222' });
		expect((await signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice(row))).status).toBe(200);
		await settle(5);
		expect(await crm.row(ids.ada.crm!)).toMatchObject({ phone: '+44 20 1111 2222', modifiedBy: 'datasync' });
		expect((await writes()).map((w) => w.node)).toEqual(['Write to B', 'Write to A', 'Write to A']);
	});

	it('"System A wins": both changed the phone; A\'s value ends up in both, B\'s value stays in the conflict record', async () => {
		// B's change is handled while A is offline (its write fails, so A keeps its own edit); then A's change
		// arrives: both changed the phone since the last sync, a conflict, settled by priority (crm first).
		const inCrm = await crm.update(ids.ada.crm!, { phone: '+44 20 3333 3333' });
		const inErp = await erp.update(ids.ada.erp!, { phone_number: '+44 20 4444 4444' });
		await crm.client.query(`ALTER TABLE "${crm.table}" RENAME TO "${crm.table}_offline"`);
		try {
			expect((await signedPost(n8n, paths.erp, SECRET_B, ErpSystem.notice(inErp))).status).toBe(200);
			const all = await n8n.waitForExecutions(wf, 6, 30_000);
			const offline = all[5];
			failedOnPurpose.add(offline.id);
			expect({ status: offline.status, node: offline.data?.resultData.lastNodeExecuted }).toEqual({ status: 'error', node: 'Write to A' });
		} finally {
			await crm.client.query(`ALTER TABLE "${crm.table}_offline" RENAME TO "${crm.table}"`);
		}
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(inCrm))).status).toBe(200);
		const [, , , , , , run] = await settle(7);
		const key = (await store.findLink('contact', 'crm', String(ids.ada.crm)))!.key;
		const state = {
			crm: (await crm.row(ids.ada.crm!))!.phone,
			erp: (await erp.row(ids.ada.erp!))!.phone_number,
			golden: (await store.getGolden('contact', key))!.data.phone,
			run: summary(run),
		};
		expect(state).toMatchObject({ crm: '+44 20 3333 3333', erp: '+44 20 3333 3333', golden: '+44 20 3333 3333' });
		const conflicts = [...(await store.listConflicts({ key, status: 'resolved' })), ...(await store.listConflicts({ key, status: 'open' }))];
		const phone = conflicts.find((c) => c.fields.includes('phone'));
		expect(phone).toBeDefined();
		expect(phone!.competing.map((v) => v.value)).toEqual(expect.arrayContaining(['+44 20 3333 3333', '+44 20 4444 4444']));
	});

	it('the 5-minute poll picks up a change whose webhook was lost, and writes only that', async () => {
		const before = (await writes()).length;
		await crm.update(ids.ada.crm!, { lastName: 'King' }); // no webhook: it was lost
		const poll = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)');
		expect({ status: poll.status, failure: failure(poll), nodes: summary(poll) }).toMatchObject({ status: 'success', failure: undefined });
		expect(outputOf(poll, 'Get changes from A').length).toBeGreaterThanOrEqual(1);
		expect(await erp.row(ids.ada.erp!)).toMatchObject({ last_name: 'King', first_name: 'Ada', modified_by: 'datasync' });
		const after = await writes();
		expect(after.slice(before).map((w) => [w.node, w.id])).toEqual([['Write to B', String(ids.ada.erp)]]);
		// The next poll finds nothing new: the cursors moved past every change it read.
		const again = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)');
		expect(again.status).toBe('success');
		expect(written([again], WRITERS)).toHaveLength(0);
	});

	it('a delete in A deletes the record in B', async () => {
		const before = (await writes()).length;
		const grace = (await crm.row(ids.grace.crm!))!;
		await crm.remove(ids.grace.crm!);
		expect((await signedPost(n8n, paths.crm, SECRET_A, CrmSystem.notice(grace, 'delete', 'alice'))).status).toBe(200);
		await eventually('the ERP row of Grace is gone', async () => (await erp.row(ids.grace.erp!)) === undefined);
		await eventually('the delete is written once', async () => (await writes()).length === before + 1);
		expect((await writes()).slice(before).map((w) => [w.node, w.op, w.id])).toEqual([['Write to B', 'delete', String(ids.grace.erp)]]);
	});

	it('the manual refresh reconciles what no webhook told, both ways, and writes nothing else', async () => {
		const before = (await writes()).length;
		await crm.update(ids.ada.crm!, { city: 'Cambridge' });
		const linus = await erp.insert({ ...GRACE_ERP, email: 'linus@example.com', first_name: 'Linus', last_name: 'Torvalds', birth_date: '28/12/1969', country_code: 'fi' });
		const refresh = await runFromTrigger(n8n, wf, 'Refresh (manual)');
		expect({ status: refresh.status, failure: failure(refresh) }).toEqual({ status: 'success', failure: undefined });
		expect(await erp.row(ids.ada.erp!)).toMatchObject({ city: 'Cambridge' });
		expect(await crm.byEmail('linus@example.com')).toMatchObject({ firstName: 'Linus', birthDate: '1969-12-28', countryCode: 'FI' });
		const added = (await writes()).slice(before).map((w) => `${w.node}:${w.id === String(ids.ada.erp) ? 'ada' : (w.data as { email?: string }).email}`);
		expect(added.sort()).toEqual(['Write to A:linus@example.com', 'Write to B:ada']);
		expect(linus.contact_id).toBeDefined();
		// Everything is in step: a second refresh writes nothing.
		const again = await runFromTrigger(n8n, wf, 'Refresh (manual)');
		expect(again.status).toBe('success');
		expect(written([again], WRITERS)).toHaveLength(0);
	});

	it('the manual refresh finds a hard delete no webhook told of (Find Deletes) and deletes the record in A', async () => {
		const before = (await writes()).length;
		const linus = (await crm.byEmail('linus@example.com'))!;
		const linusErp = (await erp.byEmail('linus@example.com'))!;
		await erp.remove(linusErp.contact_id as number); // deleted in the ERP, no webhook
		const refresh = await runFromTrigger(n8n, wf, 'Refresh (manual)');
		expect({ status: refresh.status, failure: failure(refresh) }).toEqual({ status: 'success', failure: undefined });
		// Found in the Refresh's page of deletes in B (a sub-workflow execution of its own).
		const pages = await pagesOf(n8n, wf, refresh);
		expect(pages.flatMap((p) => outputOf(p, 'Find deletes in B')).map((i) => [i.op, i.id])).toEqual([['delete', String(linusErp.contact_id)]]);
		expect(await crm.byEmail('linus@example.com')).toBeUndefined();
		expect((await writes()).slice(before).map((w) => [w.node, w.op, w.id])).toEqual([['Write to A', 'delete', String(linus.id)]]);
	});

	it('every write has exactly one audit entry (create / update / delete, by run, record and system)', async () => {
		const all = await writes();
		expect(all.length).toBe(9);
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
	});
});
