/**
 * The manual Refresh of "bidirectional-contacts" page by page, in stock n8n: CRM (Postgres) ↔ ERP (MariaDB).
 *
 * The same template twice, each on its own tables and store, the same changes in both: once with pages of 3
 * rows (each table is several pages: creates in both systems, edits, a conflict and deletes that sit on
 * different pages), once with pages of 5,000 (each system read whole in one execution, as the one-execution
 * Refresh did). Both must end the same, row for row, link for link, audit and dashboard counts alike; the
 * small pages' Refresh must be one sub-workflow execution per page, and find every delete.
 */
import { closeAllStores, openStore, status, type Store } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { N8nInstance, uniqueId, type Execution } from './harness';
import { WRITE_ACTIONS, failure, importTemplate, outputOf, pagesOf, runFromTrigger, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP } from './templates-systems';

type Json = Record<string, unknown>;

const READERS = ['Get page from A', 'Find deletes in A', 'Get page from B', 'Find deletes in B'];

interface Pair {
	crm: CrmSystem;
	erp: ErpSystem;
	store: Store;
	wf: string;
}

describe('template "bidirectional-contacts": the manual Refresh page by page', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let dir: TempDir;
	const pairs: Record<'paged' | 'whole', Pair> = {} as never;
	const id = uniqueId('rp');

	async function open(name: 'paged' | 'whole', pageSize: number): Promise<Pair> {
		const [crm, erp] = await Promise.all([CrmSystem.open(pg, `crm_${name}`), ErpSystem.open(maria, `erp_${name}`)]);
		const storePath = dir.file(`${name}.sqlite`);
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: storePath }, pg, maria, { a: `${name}-secret-a-0123456789`, b: `${name}-secret-b-0123456789` });
		const wf = await importTemplate(n8n, 'bidirectional-contacts', {
			name: `Refresh ${name}`,
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': `${id}-${name}/crm/contact`, 'datasync/erp/contact': `${id}-${name}/erp/contact` },
			parameters: Object.fromEntries(READERS.map((node) => [node, { pageSize }])),
		});
		return { crm, erp, store: await openStore({ backend: 'sqlite', path: storePath }), wf };
	}

	/** Runs the Refresh of a pair; returns it with its page executions (each must have succeeded). */
	async function refresh(pair: Pair): Promise<{ run: Execution; pages: Execution[] }> {
		const run = await runFromTrigger(n8n, pair.wf, 'Refresh (manual)', 180_000);
		expect({ status: run.status, failure: failure(run) }).toEqual({ status: 'success', failure: undefined });
		const pages = await pagesOf(n8n, pair.wf, run);
		for (const p of pages) expect({ id: p.id, status: p.status, failure: failure(p) }).toEqual({ id: p.id, status: 'success', failure: undefined });
		return { run, pages };
	}

	/** What a reader or summary node put out over the pages, page by page. */
	const perPage = (pages: Execution[], node: string) => pages.map((p) => outputOf(p, node)).filter((out) => out.length > 0);
	const counts = (pages: Execution[], node: string) => perPage(pages, node).map((out) => out[0].count);

	/** Both tables, by e-mail, without what differs between two tables of the same records (ids, times). */
	async function endState(pair: Pair): Promise<{ a: Json[]; b: Json[] }> {
		const strip = (row: Json, keys: string[]) => Object.fromEntries(Object.entries(row).filter(([k]) => !keys.includes(k)));
		const byEmail = (x: Json, y: Json) => String(x.email).localeCompare(String(y.email));
		return {
			a: (await pair.crm.rows()).map((r) => strip(r, ['id', 'updatedAt'])).sort(byEmail),
			b: (await pair.erp.rows()).map((r) => strip(r, ['contact_id', 'changed_at'])).sort(byEmail),
		};
	}

	/** Every row linked once, and each golden record linked in both systems: the keys of A = the keys of B. */
	async function expectLinkedOnce(pair: Pair): Promise<void> {
		const [a, b] = [await pair.crm.rows(), await pair.erp.rows()];
		const [la, lb] = [await pair.store.listLinks('contact', 'crm'), await pair.store.listLinks('contact', 'erp')];
		expect(la.map((l) => l.externalId).sort()).toEqual(a.map((r) => String(r.id)).sort());
		expect(lb.map((l) => l.externalId).sort()).toEqual(b.map((r) => String(r.contact_id)).sort());
		expect(new Set(la.map((l) => l.key)).size).toBe(la.length);
		expect(la.map((l) => l.key).sort()).toEqual(lb.map((l) => l.key).sort());
	}

	/** The counts the audit and the dashboard show for a store: writes by system and outcome, per system's written / failed. */
	async function tallies(pair: Pair): Promise<Json> {
		const audit = await pair.store.audit({ limit: 10_000 });
		const writes: Record<string, number> = {};
		for (const e of audit.filter((x) => WRITE_ACTIONS.includes(x.action))) {
			const kind = `${e.system} ${e.after === null ? 'delete' : 'write'} ${e.outcome}`;
			writes[kind] = (writes[kind] ?? 0) + 1;
		}
		const overview = await status(pair.store, 'contacts');
		const conflicts = (await pair.store.listConflicts({ status: 'resolved', limit: 1000 })).map((c) => `${c.kind} ${c.fields.join(',')}`).sort();
		return { writes, systems: overview.systems.map((s) => ({ system: s.system, written: s.written, failed: s.failed })), conflicts, open: (await pair.store.listConflicts({ status: 'open' })).length };
	}

	beforeAll(async () => {
		[pg, maria] = await Promise.all([createPgDatabase('ds_tpl_rp'), createMariaDbDatabase('ds_tpl_rp')]);
		dir = createTempDir('ds-tpl-rp');
		n8n = await N8nInstance.start();
		pairs.paged = await open('paged', 3);
		pairs.whole = await open('whole', 5000);
	});

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		for (const p of Object.values(pairs)) {
			await p.crm.close();
			await p.erp.close();
		}
		await pg?.drop();
		await maria?.drop();
		dir?.remove();
	});

	it('a first Refresh links 7 contacts of A and 4 of B both ways, page by page as in one go', async () => {
		for (const name of ['paged', 'whole'] as const) {
			const { crm, erp } = pairs[name];
			for (let i = 1; i <= 7; i++) await crm.insert({ ...ADA_CRM, email: `a${i}@example.com`, firstName: `A${i}` }, 'seed');
			for (let i = 1; i <= 4; i++) await erp.insert({ ...GRACE_ERP, email: `b${i}@example.com`, first_name: `B${i}` }, 'seed');
		}
		const paged = await refresh(pairs.paged);
		const whole = await refresh(pairs.whole);
		// Pages of 3: A's 7 rows in 3 pages; B's 4 + A's 7 written there in 4; no links yet to lose, then 11 to check.
		expect(counts(paged.pages, 'Page summary A')).toEqual([3, 3, 1]);
		expect(counts(paged.pages, 'Page summary B')).toEqual([3, 3, 3, 2]);
		expect(counts(whole.pages, 'Page summary A')).toEqual([7]);
		expect(counts(whole.pages, 'Page summary B')).toEqual([11]);
		for (const pair of [pairs.paged, pairs.whole]) {
			expect((await pair.crm.rows()).map((r) => r.email).sort()).toEqual([...['1', '2', '3', '4', '5', '6', '7'].map((i) => `a${i}@example.com`), ...['1', '2', '3', '4'].map((i) => `b${i}@example.com`)].sort());
			expect(await pair.erp.rows()).toHaveLength(11);
			await expectLinkedOnce(pair);
		}
		expect(await endState(pairs.paged)).toEqual(await endState(pairs.whole));
		expect(await tallies(pairs.paged)).toEqual(await tallies(pairs.whole));
	});

	it('then creates in both, edits, a conflict and deletes on different pages: every page one sub-workflow execution, every delete found, the same end state as in one go', async () => {
		const deleted: Record<string, { a: string[]; b: string[] }> = {};
		for (const name of ['paged', 'whole'] as const) {
			const { crm, erp } = pairs[name];
			const inB = async (email: string) => (await erp.byEmail(email))!.contact_id as number;
			const inA = async (email: string) => (await crm.byEmail(email))!.id as number;
			await crm.insert({ ...ADA_CRM, email: 'a8@example.com', firstName: 'A8' });
			await crm.insert({ ...ADA_CRM, email: 'a9@example.com', firstName: 'A9' });
			await erp.insert({ ...GRACE_ERP, email: 'b5@example.com', first_name: 'B5' });
			await crm.update(await inA('a2@example.com'), { city: 'Cambridge' });
			await erp.update(await inB('b3@example.com'), { city: 'Boston' });
			await erp.update(await inB('a5@example.com'), { city: 'Paris' });
			// Both changed a4's phone: "System A wins".
			await crm.update(await inA('a4@example.com'), { phone: '+44 1111' });
			await erp.update(await inB('a4@example.com'), { phone_number: '+1 2222' });
			// Hard deletes, no webhook: a1 (A's first page) and a6 (its second); in B, b2 (its first page) and a7's row (a later one).
			const gone = { a: [await inA('a1@example.com'), await inA('a6@example.com')], b: [await inB('b2@example.com'), await inB('a7@example.com')] };
			for (const x of gone.a) await crm.remove(x);
			for (const x of gone.b) await erp.remove(x);
			deleted[name] = { a: gone.a.map(String), b: gone.b.map(String) };
		}
		const paged = await refresh(pairs.paged);
		const whole = await refresh(pairs.whole);

		// One sub-workflow execution per page: A's 11 rows in 4 pages, its 2 deletes in 1; B's 10 in 4, its 2 deletes in 1.
		expect(counts(paged.pages, 'Page summary A')).toEqual([3, 3, 3, 2]);
		expect(counts(paged.pages, 'Deletes summary A')).toEqual([2]);
		expect(counts(paged.pages, 'Page summary B')).toEqual([3, 3, 3, 1]);
		expect(counts(paged.pages, 'Deletes summary B')).toEqual([2]);
		expect(paged.pages).toHaveLength(10);
		expect(paged.pages.map((p) => READERS.filter((node) => p.data?.resultData.runData[node] !== undefined))).toEqual([
			...Array(4).fill(['Get page from A']),
			['Find deletes in A'],
			...Array(4).fill(['Get page from B']),
			['Find deletes in B'],
		]);
		// In one go: one execution per step.
		expect(whole.pages).toHaveLength(4);
		// The pages read every row once, and every delete was found, wherever it sat.
		for (const [name, r] of [['paged', paged], ['whole', whole]] as const) {
			const read = (node: string) => perPage(r.pages, node).flat().map((i) => i.id);
			expect(new Set(read('Get page from A')).size).toBe(read('Get page from A').length);
			expect(read('Find deletes in A').sort()).toEqual([...deleted[name].a].sort());
			expect(read('Find deletes in B').sort()).toEqual([...deleted[name].b].sort());
		}

		const expected = ['a2', 'a3', 'a4', 'a5', 'a8', 'a9', 'b1', 'b3', 'b4', 'b5'].map((e) => `${e}@example.com`);
		for (const pair of [pairs.paged, pairs.whole]) {
			expect((await pair.crm.rows()).map((r) => r.email).sort()).toEqual(expected);
			expect((await pair.erp.rows()).map((r) => r.email).sort()).toEqual(expected);
			expect(await pair.erp.byEmail('a2@example.com')).toMatchObject({ city: 'Cambridge' });
			expect(await pair.crm.byEmail('b3@example.com')).toMatchObject({ city: 'Boston' });
			expect(await pair.crm.byEmail('a5@example.com')).toMatchObject({ city: 'Paris' });
			expect(await pair.crm.byEmail('a4@example.com')).toMatchObject({ phone: '+44 1111' });
			expect(await pair.erp.byEmail('a4@example.com')).toMatchObject({ phone_number: '+44 1111' });
			expect(await pair.crm.byEmail('b5@example.com')).toMatchObject({ firstName: 'B5', modifiedBy: 'datasync' });
			expect(await pair.erp.byEmail('a9@example.com')).toMatchObject({ first_name: 'A9', modified_by: 'datasync' });
			await expectLinkedOnce(pair);
			// The losing phone is kept in the conflict record.
			const phone = (await pair.store.listConflicts({ status: 'resolved', limit: 100 })).filter((c) => c.fields.includes('phone'));
			expect(phone.flatMap((c) => c.competing.map((v) => v.value))).toEqual(expect.arrayContaining(['+44 1111', '+1 2222']));
		}
		expect(await endState(pairs.paged)).toEqual(await endState(pairs.whole));
		expect(await tallies(pairs.paged)).toEqual(await tallies(pairs.whole));

		// In step: another Refresh writes nothing, in pages as in one go.
		for (const pair of [pairs.paged, pairs.whole]) {
			const before = await tallies(pair);
			const again = await refresh(pair);
			expect(again.pages.flatMap((p) => [...outputOf(p, 'Write to A'), ...outputOf(p, 'Write to B')])).toEqual([]);
			expect(await tallies(pair)).toEqual(before);
		}
	});
});
