/**
 * Reliability, crashes (issue 13, item 1): stock n8n killed with SIGKILL (its whole process tree) while a
 * shipped template is half-way through writing to B, a NEW n8n started on the SAME sync store, and the
 * job run again as an analyst would. A = a CRM in real Postgres, B = an ERP in real MariaDB.
 *
 * 1. bidirectional-contacts, manual Refresh of 2,000 contacts (store in Postgres, its own database): killed
 *    once B holds some of the rows but not all (Write to B at 50 rows a transaction, so B fills in steps).
 * 2. nightly-batch, one sub-workflow execution per page of 100 rows (store: a SQLite file, kept across the
 *    crash): killed between pages of A, once some pages are in B but not all.
 *
 * After recovery, each scenario checks: every record of A in B with its mapped values, no duplicate row,
 * each golden record linked once per system (and every row of both sides linked), the cursors of the sync
 * never ahead of what was written, and the audit showing the killed run's missing writes and the redone
 * ones (each record's write to B, or its link to the row the dead run wrote, exactly once). "Between a
 * write and Commit" is covered by templates-crash.test.ts.
 *
 * The new n8n has a fresh user folder and database, so its execution ids start at 1 again: its runs get
 * the dead instance's execution ids (the Refresh is execution 1 in both, and its first page, A's, the
 * sub-workflow execution that writes B, execution 2). The store tells runs apart by
 * run id, `<execution id>-<execution start>` (nodes/shared/run-id.ts), so the dead runs stay the dead
 * runs': their planned creates count as in flight (not planned again at once), their saved cursors and
 * pending changes are not the new runs', their audit and run record stay theirs. Before the run ids had
 * the start time, a new execution 1 took the dead execution 1's planned changes for its own.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { closeAllStores, openStore, type Store, type StoreConfig } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, createTempDir, type MariaDbTestDatabase, type PgTestDatabase, type TempDir } from '../helpers/services';
import { N8nInstance, uniqueId, type Execution } from './harness';
import { auditOfWritesToB, convergence, converged, count, cursorsAhead, seedA, tally } from './reliability-crash-support';
import { runIdOfExecution, runIdsOfExecution } from './run-ids';
import { failure, importTemplate, nodeNamed, pagesOf, readTemplate, runFromTrigger, systemCredentials } from './templates-support';
import { CrmSystem, ErpSystem } from './templates-systems';

type Json = Record<string, unknown>;
const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pg: PgTestDatabase;
let maria: MariaDbTestDatabase;
let dir: TempDir;
const live = new Set<N8nInstance>();
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
	[pg, maria] = await Promise.all([createPgDatabase('ds_rel_crash'), createMariaDbDatabase('ds_rel_crash')]);
	dir = createTempDir('ds-rel-crash');
});

afterAll(async () => {
	for (const n of live) await n.stop();
	await closeAllStores();
	for (const o of opened) await o.close();
	await pg?.drop();
	await maria?.drop();
	dir?.remove();
});

async function startN8n(): Promise<N8nInstance> {
	const n8n = await N8nInstance.start();
	live.add(n8n);
	return n8n;
}

/** SIGKILL of n8n's whole process tree; returns the highest execution id its own database had recorded. */
async function kill(n8n: N8nInstance): Promise<{ maxExecutionId: number; running: Array<{ id: number; status: string }> }> {
	n8n.killNow();
	live.delete(n8n);
	// What n8n had recorded when it died (its SQLite database, read before the folder goes).
	const db = new DatabaseSync(join(n8n.userFolder, '.n8n', 'database.sqlite'), { readOnly: true });
	try {
		const max = db.prepare('SELECT max(id) AS n FROM execution_entity').get() as { n: number };
		const running = db.prepare(`SELECT id, status FROM execution_entity WHERE status NOT IN ('success', 'error') ORDER BY id`).all() as Array<{ id: number; status: string }>;
		return { maxExecutionId: Number(max.n ?? 0), running };
	} finally {
		db.close();
		await n8n.stop(); // only removes its folder now
	}
}

/** The highest execution id of a running n8n (read from its own SQLite database; sub-workflow pages included). */
function maxExecutionId(n8n: N8nInstance): number {
	const db = new DatabaseSync(join(n8n.userFolder, '.n8n', 'database.sqlite'), { readOnly: true });
	try {
		return Number((db.prepare('SELECT max(id) AS n FROM execution_entity').get() as { n: number | null }).n ?? 0);
	} finally {
		db.close();
	}
}

describe('SIGKILL mid manual Refresh of "bidirectional-contacts" (2,000 contacts, Postgres store)', () => {
	const TOTAL = 2000;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let storeDb: PgTestDatabase;
	let store: Store;
	let storeConfig: StoreConfig;
	const id = uniqueId('rel-refresh');
	const paths = { crm: `rel-${id}/crm/contact`, erp: `rel-${id}/erp/contact` };

	async function importInto(n8n: N8nInstance): Promise<string> {
		const credentials = await systemCredentials(n8n, { ...storeConfig, password: storeDb.config.password ?? '' } as unknown as Json, pg, maria, { a: SECRET_A, b: SECRET_B });
		return await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': paths.crm, 'datasync/erp/contact': paths.erp },
			// The analyst's own batch size: B is written 50 rows a transaction, so a kill finds it part-filled.
			parameters: { 'Write to B': { options: { ...(nodeNamed(readTemplate('bidirectional-contacts'), 'Write to B').parameters.options as Json), batchSize: 50 } } },
		});
	}

	beforeAll(async () => {
		storeDb = await createPgDatabase('ds_rel_crash_store');
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_refresh'), ErpSystem.open(maria, 'erp_refresh')]);
		opened.push(crm, erp);
		storeConfig = { backend: 'postgres', ...storeDb.config, schema: 'datasync', ssl: 'disable' } as StoreConfig;
		store = await openStore(storeConfig);
	});

	afterAll(async () => {
		await closeAllStores();
		await storeDb?.drop();
	});

	it('a new n8n on the same store and the Refresh again: every contact in B once, mapped, linked once; the audit shows the redone work', async () => {
		await seedA(crm, TOTAL);
		let n8n = await startN8n();
		let wf = await importInto(n8n);

		const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/rest/workflows/${wf}/run`, { triggerToStartFrom: { name: 'Refresh (manual)' } });
		const deadRun = String(started.data.executionId);
		// The Refresh runs a sub-workflow execution per page; A's first page (the execution after the Refresh's
		// own) is the run that writes B.
		const deadPage = String(Number(deadRun) + 1);
		const refreshStarted = Date.now();
		// Poll B's row count; the Refresh must still be running when B holds rows (fail at once otherwise).
		let seen = 0;
		for (const deadline = Date.now() + 240_000; seen === 0; ) {
			seen = await count(erp);
			if (seen > 0) break;
			const run = await n8n.execution(deadRun).catch(() => undefined);
			if (run && !['running', 'new'].includes(run.status)) throw new Error(`the Refresh ended before B held a row: ${run.status} ${failure(run)}`);
			if (Date.now() > deadline) throw new Error(`B held no row 240 s after the Refresh started\n${n8n.logTail()}`);
			await sleep(20);
		}
		const dead = await kill(n8n);
		const killedAt = Date.now();
		const inBAtKill = await count(erp);
		console.log(`Refresh: killed ${killedAt - refreshStarted} ms after it started; B held ${seen} rows when seen, ${inBAtKill} after the kill; n8n's record of the dead execution: ${JSON.stringify(dead.running)}`);
		expect(inBAtKill).toBeGreaterThan(0);
		expect(inBAtKill).toBeLessThan(TOTAL);
		// Nothing committed: no B row linked, no cursor moved.
		expect((await store.listLinks('contact', 'erp')).length).toBe(0);
		expect(await store.listCursors('contacts')).toEqual([]);
		// The dead run as the store knows it (its Resolver planned the creates): one run id, unfinished.
		const deadRunId = await runIdOfExecution(store, deadPage);
		expect(deadRunId).toMatch(new RegExp(`^${deadPage}-[0-9a-z]+$`));
		expect((await store.getRun(deadRunId))?.finishedAt ?? null).toBeNull();

		// A fresh n8n (new user folder and database) on the same store: its execution ids start at 1 again.
		n8n = await startN8n();
		wf = await importInto(n8n);
		const restartedAt = Date.now();
		// As an analyst would: Refresh until it is all there (each run waits for the one before).
		const refreshes: Array<{ id: string; pages: string[]; at: number; status: string; written: number }> = [];
		let state = await convergence(crm, erp, store);
		while (!converged(state, TOTAL)) {
			if (Date.now() - killedAt > 240_000) break;
			if (refreshes.length) await sleep(5000);
			const run: Execution = await runFromTrigger(n8n, wf, 'Refresh (manual)', 180_000);
			expect({ id: run.id, status: run.status, failure: failure(run) }).toEqual({ id: run.id, status: 'success', failure: undefined });
			const pages = await pagesOf(n8n, wf, run);
			for (const p of pages) expect({ id: p.id, status: p.status, failure: failure(p) }).toEqual({ id: p.id, status: 'success', failure: undefined });
			refreshes.push({ id: run.id, pages: pages.map((p) => p.id), at: Date.now() - killedAt, status: run.status, written: (await count(erp)) });
			state = await convergence(crm, erp, store);
			// Never a duplicate on the way.
			expect(state.duplicatesInB).toEqual([]);
			expect(state.rowsLinkedTwice).toEqual([]);
		}
		const recoveredAt = Date.now();
		console.log(`Refresh recovery: converged ${recoveredAt - killedAt} ms after the kill (${recoveredAt - restartedAt} ms after the new n8n was ready), refreshes: ${JSON.stringify(refreshes)}`);
		expect(state).toEqual({ a: TOTAL, b: TOTAL, duplicatesInB: [], missingInB: [], wrongValues: [], keys: TOTAL, keysNotLinkedOncePerSystem: [], rowsLinkedTwice: [], unlinkedA: 0, unlinkedB: 0, unreadLinks: 0 });
		expect(await cursorsAhead(store, 'contacts', crm, erp)).toEqual([]);

		// The audit: the dead run created the golden records and wrote nothing it could record; after the
		// restart each record has one write to B or one link to the row the dead run had written.
		const deadAudit = await store.audit({ runId: deadRunId, limit: 1_000_000 });
		expect(deadAudit.filter((e) => e.action === 'create').length).toBe(TOTAL);
		const { deadWrites, perKey } = await auditOfWritesToB(store, new Set([deadRunId]));
		const kinds = tally(perKey);
		console.log(`Refresh audit of B after recovery: ${JSON.stringify(kinds)} (rows the dead run left in B: ${inBAtKill})`);
		expect(deadWrites).toBe(0);
		expect(perKey.size).toBe(TOTAL);
		expect(kinds).toEqual({ create: TOTAL - inBAtKill, link: inBAtKill });
		expect((await store.listConflicts({ status: 'open' })).filter((c) => c.kind === 'duplicate-link' || c.kind === 'ambiguous-match')).toEqual([]);
		// The new n8n gave the dead executions' ids again (its first Refresh and that one's first page), and
		// that page was another run: the dead one's record is still unfinished (its audit has no write: deadWrites above).
		expect(refreshes.map((r) => r.id)).toContain(deadRun);
		expect(refreshes.flatMap((r) => r.pages)).toContain(deadPage);
		expect((await store.getRun(deadRunId))?.finishedAt ?? null).toBeNull();
	}, 600_000);
});

describe('SIGKILL mid "nightly-batch" (1,000 contacts, pages of 100, SQLite store file kept)', () => {
	const TOTAL = 1000;
	const PAGE = 100;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	const storeFile = () => dir.file('night.sqlite');

	async function importInto(n8n: N8nInstance): Promise<string> {
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: storeFile() }, pg, maria, { a: SECRET_A, b: SECRET_B });
		return await importTemplate(n8n, 'nightly-batch', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			parameters: { 'Get page from A': { pageSize: PAGE }, 'Get page from B': { pageSize: PAGE } },
			patch: (w) => {
				for (const name of ['More pages of A?', 'More pages of B?']) {
					const conditions = nodeNamed(w, name).parameters.conditions as { conditions: Array<{ rightValue: unknown }> };
					conditions.conditions[0].rightValue = PAGE;
				}
			},
		});
	}

	beforeAll(async () => {
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_night'), ErpSystem.open(maria, 'erp_night')]);
		opened.push(crm, erp);
		store = await openStore({ backend: 'sqlite', path: storeFile() });
	});

	it('killed between pages of A, a new n8n runs the night again: every contact in B once, mapped, linked once', async () => {
		await seedA(crm, TOTAL);
		let n8n = await startN8n();
		let wf = await importInto(n8n);

		const started = await n8n.rest<{ data: { executionId?: string } }>('POST', `/rest/workflows/${wf}/run`, { triggerToStartFrom: { name: 'Nightly at 02:00' } });
		const night = String(started.data.executionId);
		const nightStarted = Date.now();
		// Two pages of A are in B (each page commits on its own): kill while the night goes on.
		let seen = 0;
		for (const deadline = Date.now() + 240_000; ; ) {
			seen = await count(erp);
			if (seen >= 2 * PAGE) break;
			const run = await n8n.execution(night).catch(() => undefined);
			if (run && !['running', 'new'].includes(run.status)) throw new Error(`the night ended before the kill: ${run.status} ${failure(run)}`);
			if (Date.now() > deadline) throw new Error(`B held ${seen} rows 240 s after the night started\n${n8n.logTail()}`);
			await sleep(20);
		}
		const dead = await kill(n8n);
		const killedAt = Date.now();
		const inBAtKill = await count(erp);
		console.log(`night: killed ${killedAt - nightStarted} ms after it started; B held ${seen} rows when seen, ${inBAtKill} after the kill; n8n's record of its unfinished executions: ${JSON.stringify(dead.running)}`);
		expect(inBAtKill).toBeLessThan(TOTAL);
		expect(await store.listCursors('contacts-nightly')).toEqual([]);
		// The unfinished executions' runs as the store knows them, before a new n8n gives their ids again.
		const deadRuns = new Set((await Promise.all(dead.running.map(async (r) => await runIdsOfExecution(store, r.id)))).flat());
		expect(deadRuns.size).toBeGreaterThan(0);
		const deadRecords = async () => await Promise.all([...deadRuns].map(async (run) => ({ run, record: await store.getRun(run) })));
		const deadAtKill = await deadRecords();
		const linkedAtKill = (await store.listLinks('contact', 'erp')).length;

		// A fresh n8n (new user folder and database) on the same store: its execution ids start at 1 again.
		n8n = await startN8n();
		wf = await importInto(n8n);
		const restartedAt = Date.now();
		const nights: Array<{ id: string; at: number; inB: number }> = [];
		let state = await convergence(crm, erp, store);
		while (!converged(state, TOTAL)) {
			if (Date.now() - killedAt > 240_000) break;
			if (nights.length) await sleep(5000);
			const run = await runFromTrigger(n8n, wf, 'Nightly at 02:00', 240_000);
			expect({ id: run.id, status: run.status, failure: failure(run) }).toEqual({ id: run.id, status: 'success', failure: undefined });
			nights.push({ id: run.id, at: Date.now() - killedAt, inB: await count(erp) });
			state = await convergence(crm, erp, store);
			expect(state.duplicatesInB).toEqual([]);
			expect(state.rowsLinkedTwice).toEqual([]);
		}
		const recoveredAt = Date.now();
		console.log(`night recovery: converged ${recoveredAt - killedAt} ms after the kill (${recoveredAt - restartedAt} ms after the new n8n was ready); nights: ${JSON.stringify(nights)}`);
		expect(state).toEqual({ a: TOTAL, b: TOTAL, duplicatesInB: [], missingInB: [], wrongValues: [], keys: TOTAL, keysNotLinkedOncePerSystem: [], rowsLinkedTwice: [], unlinkedA: 0, unlinkedB: 0, unreadLinks: 0 });
		expect(await cursorsAhead(store, 'contacts-nightly', crm, erp)).toEqual([]);

		const { deadWrites, perKey } = await auditOfWritesToB(store, deadRuns);
		const kinds = tally(perKey);
		console.log(`night audit of B: ${JSON.stringify(kinds)}; pages committed before the kill: ${linkedAtKill} links; entries of the unfinished runs: ${deadWrites}`);
		expect(perKey.size).toBe(TOTAL);
		// The pages committed before the kill are not written again; the rest is written or linked once.
		expect([...perKey].filter(([, k]) => k.length !== 1).slice(0, 5)).toEqual([]);
		expect((kinds.create ?? 0) + (kinds.link ?? 0)).toBe(TOTAL);
		expect(kinds.link ?? 0).toBe(inBAtKill - linkedAtKill);
		expect((await store.listConflicts({ status: 'open' })).filter((c) => c.kind === 'duplicate-link' || c.kind === 'ambiguous-match')).toEqual([]);
		// The new n8n's executions reached every id of the dead instance's again.
		expect(maxExecutionId(n8n)).toBeGreaterThanOrEqual(dead.maxExecutionId);
		// ... and left the dead runs' records as they were.
		expect(await deadRecords()).toEqual(deadAtKill);
	}, 600_000);
});
