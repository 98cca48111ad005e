/**
 * Reliability, crashes in queue mode (issue 13, item 1): stock n8n as a main process and two workers,
 * Redis, n8n's own data in Postgres, the sync store in Postgres; the shipped bidirectional-contacts
 * template; A = a CRM in real Postgres, B = an ERP in real MariaDB.
 *
 * A stream of signed webhook changes (batches of new contacts from A) is posted while worker 0 is killed
 * with SIGKILL (its process group, task runner included) at a moment it has executions running. Main and
 * worker 1 go on with the rest of the stream; once the queue is worked off, 60 contacts are edited in A and
 * sent again (20 of them ones the dead worker had in hand, whose rows in B it may have written). Then the
 * recovery an analyst has: the backup poll, run until B is complete. Checks: every record of A in B with
 * its current values, no duplicate row, each golden record linked once per system, cursors never ahead of
 * what was written, each record's write to B (or its link to the row a dead execution wrote) audited once;
 * and what n8n did with the dead worker's executions is reported.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { closeAllStores, openStore, type Store, type StoreConfig } from '../../lib/engine';
import { createMariaDbDatabase, createPgDatabase, type MariaDbTestDatabase, type PgTestDatabase } from '../helpers/services';
import { N8nInstance, queueModeEnv, uniqueId, type Execution } from './harness';
import { auditOfWritesToB, convergence, converged, count, cursorsAhead, seedA, tally } from './reliability-crash-support';
import { runIdsOfExecution } from './run-ids';
import { eventually, failure, importBidirectional, runFromTrigger, signedPost, systemCredentials } from './templates-support';
import { CrmSystem, ErpSystem } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const TOTAL = 600;
const BATCH = 20;
const EDITS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Execution ids a worker's log says it started, and those it says it finished. */
function workerLog(n8n: N8nInstance, index: number): { started: string[]; finished: string[]; running: string[] } {
	let text = '';
	try {
		text = readFileSync(join(n8n.userFolder, `worker-${index}.log`), 'utf8');
	} catch {
		// not written yet
	}
	const started = [...text.matchAll(/Worker started execution (\d+)/g)].map((m) => m[1]);
	const finished = [...text.matchAll(/Worker finished execution (\d+)/g)].map((m) => m[1]);
	return { started, finished, running: started.filter((id) => !finished.includes(id)) };
}

describe('queue mode: a worker killed with SIGKILL mid-execution while main and the other worker go on', () => {
	let n8n: N8nInstance;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let n8nDb: PgTestDatabase;
	let storeDb: PgTestDatabase;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let wf: string;
	const id = uniqueId('rel-queue');
	const paths = { crm: `relq-${id}/crm/contact`, erp: `relq-${id}/erp/contact` };

	beforeAll(async () => {
		[pg, maria, n8nDb, storeDb] = await Promise.all([
			createPgDatabase('ds_relq_a'),
			createMariaDbDatabase('ds_relq_b'),
			createPgDatabase('ds_relq_n8n'),
			createPgDatabase('ds_relq_store'),
		]);
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_queue'), ErpSystem.open(maria, 'erp_queue')]);
		const storeConfig = { backend: 'postgres', ...storeDb.config, schema: 'datasync', ssl: 'disable' } as StoreConfig;
		store = await openStore(storeConfig);
		n8n = await N8nInstance.start({ env: queueModeEnv(n8nDb.config, `datasync-${uniqueId('bull')}`), workers: 2 });
		const credentials = await systemCredentials(n8n, { ...storeConfig, password: storeDb.config.password ?? '' } as unknown as Record<string, unknown>, pg, maria, { a: SECRET_A, b: SECRET_B });
		wf = await importBidirectional(n8n, credentials, { crm: crm.table, erp: erp.table }, paths);
	}, 300_000);

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await pg?.drop();
		await maria?.drop();
		await n8nDb?.drop();
		await storeDb?.drop();
	});

	it('the poll recovers what the dead worker had in hand: every contact in B once, current, linked once', async () => {
		await seedA(crm, TOTAL);
		const rows = await crm.rows();
		const batches: Array<Array<Record<string, unknown>>> = [];
		for (let i = 0; i < rows.length; i += BATCH) batches.push(rows.slice(i, i + BATCH));

		// The stream: four senders at once, one signed batch of new contacts per call.
		const answers: number[] = [];
		let next = 0;
		let killed: { at: number; running: string[]; batchesSent: number; inB: number } | undefined;
		const sender = async () => {
			while (next < batches.length) {
				const batch = batches[next++];
				answers.push((await signedPost(n8n, paths.crm, SECRET_A, batch.map((r) => CrmSystem.notice(r)))).status);
			}
		};
		const watcher = async () => {
			// Kill worker 0 once one of its running executions has planned its writes (its Resolver is done: the
			// golden records are stored, the writes to B are on their way or done, Commit is not).
			await eventually(
				'an execution of worker 0 has planned its writes',
				async () => {
					const running = workerLog(n8n, 0).running;
					if (!running.length) return false;
					const { rows: planned } = await storeReader.query(`SELECT count(*)::int AS n FROM datasync.planned_change WHERE split_part(run_id, '-', 1) = ANY($1) AND status = 'planned'`, [running]);
					return planned[0].n > 0;
				},
				120_000,
			);
			const running = workerLog(n8n, 0).running;
			n8n.killWorker(0);
			killed = { at: Date.now(), running, batchesSent: next, inB: await count(erp) };
		};
		const storeReader = new Client({ ...storeDb.config } as ClientConfig);
		await storeReader.connect();
		try {
			await Promise.all([sender(), sender(), sender(), sender(), watcher()]);
		} finally {
			await storeReader.end();
		}
		expect(killed).toBeDefined();
		const dead = workerLog(n8n, 0); // what worker 0 had started and never finished
		console.log(`queue: worker 0 killed after ${killed!.batchesSent} of ${batches.length} batches were sent, B held ${killed!.inB} rows; its unfinished executions: ${dead.running.join(', ')}`);
		expect(dead.running.length).toBeGreaterThan(0);
		// Main kept answering: every call of the stream was taken (no 5xx).
		expect(answers).toEqual(batches.map(() => 200));

		// Worker 1 works off the queue: every execution but the dead worker's ends.
		const settled = await eventually(
			'every execution but the dead worker\'s has finished',
			async () => {
				const list = await n8n.executions(wf);
				const open = list.filter((e) => ['running', 'new', 'waiting'].includes(e.status) && !dead.running.includes(e.id));
				return list.length >= batches.length && open.length === 0 ? list : undefined;
			},
			240_000,
		);
		const worker1 = workerLog(n8n, 1);
		// The dead worker's executions: those its log says it started and never finished, and the jobs it
		// had taken from the queue but not yet started (n8n fails a stalled job: it never retries it).
		const ended = await Promise.all(settled.filter((e) => e.status !== 'success').map((e) => n8n.execution(e.id)));
		const stalled = ended.filter((e) => /failed to be processed too many times/.test(e.data?.resultData.error?.message ?? '')).map((e) => e.id);
		const lost = new Set([...dead.running, ...stalled]);
		const failedOthers = ended.filter((e) => !lost.has(e.id)).map((e) => `${e.id} ${e.status}: ${failure(e)}`);
		expect(failedOthers).toEqual([]);
		const fates = Object.fromEntries(await Promise.all([...lost].map(async (e) => [e, (await n8n.execution(e)).status] as const)));
		console.log(`queue: the dead worker's executions and their status in n8n once the queue was worked off: ${JSON.stringify(fates)} (started per its log: ${dead.running.join(', ')}; failed as stalled: ${stalled.join(', ') || 'none'})`);
		// Edits in A once the queue is worked off, sent by webhook (main and worker 1 carry them): 20 of the
		// contacts the dead worker had in hand (no link to B yet) and 40 that went through.
		const erpKeys = new Set((await store.listLinks('contact', 'erp')).map((l) => l.key));
		const crmLinks = await store.listLinks('contact', 'crm');
		const inHand = crmLinks.filter((l) => !erpKeys.has(l.key)).map((l) => Number(l.externalId));
		const through = crmLinks.filter((l) => erpKeys.has(l.key)).map((l) => Number(l.externalId));
		const unseen = rows.filter((r) => !crmLinks.some((l) => Number(l.externalId) === r.id)).length;
		const editIds = [...inHand.sort((x, y) => x - y).slice(0, EDITS / 3), ...through.sort((x, y) => x - y).slice(0, EDITS - Math.min(inHand.length, EDITS / 3))];
		console.log(`queue: after the queue was worked off, ${inHand.length} contacts of A have a golden record but no link to B, ${unseen} none at all; editing ${Math.min(inHand.length, EDITS / 3)} of the first and ${editIds.length - Math.min(inHand.length, EDITS / 3)} that went through`);
		expect(inHand.length).toBeGreaterThan(0);
		const edited: Array<Record<string, unknown>> = [];
		for (const rid of editIds) edited.push(await crm.update(rid, { firstName: `Edited ${rid}` }));
		const editAnswers = await Promise.all(
			Array.from({ length: Math.ceil(edited.length / BATCH) }, (_, i) => signedPost(n8n, paths.crm, SECRET_A, edited.slice(i * BATCH, (i + 1) * BATCH).map((r) => CrmSystem.notice(r)))),
		);
		expect(editAnswers.map((a) => a.status)).toEqual(editAnswers.map(() => 200));
		await eventually('the edits\' executions have finished', async () => {
			const list = await n8n.executions(wf);
			return list.length >= settled.length + editAnswers.length && list.every((e) => !['running', 'new', 'waiting'].includes(e.status) || lost.has(e.id));
		}, 120_000);
		const editRuns = (await n8n.executions(wf)).filter((e) => !settled.some((x) => x.id === e.id));
		const editFailures = (await Promise.all(editRuns.filter((e) => e.status !== 'success').map((e) => n8n.execution(e.id)))).map((e) => `${e.id} ${e.status}: ${failure(e)}`);
		expect(editFailures).toEqual([]);

		const before = await convergence(crm, erp, store);
		console.log(`queue: before recovery B holds ${before.b} of ${TOTAL}, ${before.missingInB.length} missing, ${before.wrongValues.length}+ not current; worker 1 finished ${worker1.finished.length} executions`);
		expect(before.duplicatesInB).toEqual([]);

		// Recovery as an analyst has it: the backup poll, run until B is complete.
		const polls: Array<{ id: string; at: number; inB: number }> = [];
		let state = before;
		while (!converged(state, TOTAL)) {
			if (Date.now() - killed!.at > 300_000) break;
			if (polls.length) await sleep(5000);
			const poll: Execution = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)', 180_000);
			expect({ id: poll.id, status: poll.status, failure: failure(poll) }).toEqual({ id: poll.id, status: 'success', failure: undefined });
			polls.push({ id: poll.id, at: Date.now() - killed!.at, inB: await count(erp) });
			state = await convergence(crm, erp, store);
			expect(state.duplicatesInB).toEqual([]);
			expect(state.rowsLinkedTwice).toEqual([]);
		}
		console.log(`queue recovery: converged ${Date.now() - killed!.at} ms after the kill; polls: ${JSON.stringify(polls)}`);
		expect(state).toEqual({ a: TOTAL, b: TOTAL, duplicatesInB: [], missingInB: [], wrongValues: [], keys: TOTAL, keysNotLinkedOncePerSystem: [], rowsLinkedTwice: [], unlinkedA: 0, unlinkedB: 0, unreadLinks: 0 });
		expect(await cursorsAhead(store, 'contacts', crm, erp)).toEqual([]);

		// The audit: each record's creation in B is recorded once (a write, or the link to the row a dead
		// execution wrote before it died), across the dead worker's runs and every other.
		const lostRuns = (await Promise.all([...lost].map(async (e) => await runIdsOfExecution(store, e)))).flat();
		const { deadWrites, perKey } = await auditOfWritesToB(store, new Set(lostRuns));
		const kinds = tally(perKey);
		const deadRuns = await Promise.all(lostRuns.map(async (run) => ({ run, finished: (await store.getRun(run))?.finishedAt ?? null })));
		console.log(`queue audit of B: ${JSON.stringify(kinds)}; ${deadWrites} entries recorded by the dead worker's runs ${JSON.stringify(deadRuns)}`);
		expect(perKey.size).toBe(TOTAL);
		const once = [...perKey].filter(([, k]) => k.filter((x) => x === 'create' || x === 'link').length !== 1 || k.filter((x) => x === 'update').length > 1 || k.includes('delete'));
		expect(once.slice(0, 5)).toEqual([]);

		// What n8n made of the dead worker's executions, after the recovery.
		const later = Object.fromEntries(await Promise.all([...lost].map(async (e) => [e, (await n8n.execution(e)).status] as const)));
		console.log(`queue: status in n8n of the dead worker's executions at the end: ${JSON.stringify(later)}`);
	}, 600_000);
});
