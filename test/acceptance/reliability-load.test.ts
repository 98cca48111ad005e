/**
 * Load in queue mode through the shipped bidirectional template (issue 13, item 5): stock n8n as a main
 * process (production webhooks switched off on it, N8N_DISABLE_PRODUCTION_MAIN_PROCESS=true, as n8n's
 * docs set it up when webhook processes take the traffic), one `n8n webhook` process, two workers,
 * Redis, n8n's own data in Postgres, the sync store in Postgres. System A = a CRM in real Postgres,
 * System B = an ERP in real MariaDB; policy "A wins" (priority crm, erp).
 *
 * 150 contacts are seeded (100 made in A, 50 in B) and linked by a first Refresh. Then 1,000 signed
 * webhooks go to the webhook process, at most IN_FLIGHT at a time, in a shuffled order:
 * - 400 changes: 200 creates (150 in A, 50 in B), 100 updates (50 in A, 50 in B) and 100 conflicting
 *   edits of the same 50 contacts (A edits the last name; B edits the last name too and the phone);
 * - 400 duplicates: each change again, re-signed one second earlier (a different signature, so the
 *   trigger takes it: the sync must not apply it twice or let its older data win);
 * - 200 exact replays (the same bytes and headers as one of the changes): the trigger answers 401.
 * Checked afterwards from the tables, the store's links, golden records, conflicts and a final poll:
 * no 5xx, one row per contact on each side, each linked once, A and B equal on every mapped field, every
 * edit in both systems (or, for the losing half of a conflicting edit, kept in the conflict record) and
 * a backup poll that finds nothing left to write.
 */
import { performance } from 'node:perf_hooks';

import { signWebhook } from '../../lib/connectors/webhook/signature';
import { closeAllStores, openStore, type Store, type StoreConfig } from '../../lib/engine';
import { prng } from '../helpers/prng';
import { createMariaDbDatabase, createPgDatabase, type MariaDbTestDatabase, type PgTestDatabase } from '../helpers/services';
import { N8nInstance, queueModeEnv, summary, uniqueId } from './harness';
import { failure, importBidirectional, outputOf, runFromTrigger, systemCredentials } from './templates-support';
import { ADA_CRM, CrmSystem, ErpSystem, GRACE_ERP, type Notification } from './templates-systems';

const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const IN_FLIGHT = 50;
const SEED_A = 100;
const SEED_B = 50;
const CONFLICTING = 50;

type Json = Record<string, unknown>;

interface Call {
	kind: 'change' | 'duplicate' | 'replay';
	/** Index of the change this call carries (into `changes`). */
	change: number;
}

interface Request {
	path: string;
	raw: string;
	headers: Record<string, string>;
}

interface Answer {
	call: Call;
	req: Request;
	status: number;
	text: string;
	ms: number;
}

const fold = (email: unknown) => String(email).trim().toLowerCase();

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function signed(path: string, secret: string, body: unknown, ts: number): Request {
	const raw = JSON.stringify(body);
	return {
		path,
		raw,
		headers: { 'content-type': 'application/json', 'x-datasync-timestamp': String(ts), 'x-datasync-signature': `sha256=${signWebhook(secret, String(ts), raw)}` },
	};
}

describe('load in queue mode: 1,000 webhooks through the bidirectional template (main, a webhook process, two workers, Postgres store)', () => {
	let n8n: N8nInstance;
	let n8nDb: PgTestDatabase;
	let storeDb: PgTestDatabase;
	let pg: PgTestDatabase;
	let maria: MariaDbTestDatabase;
	let crm: CrmSystem;
	let erp: ErpSystem;
	let store: Store;
	let wf: string;
	const id = uniqueId('load');
	const paths = { crm: `load-${id}/crm/contact`, erp: `load-${id}/erp/contact` };

	beforeAll(async () => {
		[n8nDb, storeDb, pg, maria] = await Promise.all([
			createPgDatabase('ds_load_n8n'),
			createPgDatabase('ds_load_store'),
			createPgDatabase('ds_load_a'),
			createMariaDbDatabase('ds_load_b'),
		]);
		[crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
		const storeConfig = { backend: 'postgres', ...storeDb.config, schema: 'datasync', ssl: 'disable' } as StoreConfig;
		store = await openStore(storeConfig);
		n8n = await N8nInstance.start({
			env: {
				...queueModeEnv(n8nDb.config, `datasync-${uniqueId('bull')}`),
				N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
				// n8n checks its own database every 2 s with a ping that must get a pooled connection within
				// 5 s; with its default pool of 2 connections and 64 webhooks in flight on a busy machine the
				// ping timed out, and the webhook process then answered every call 503 "Database is not
				// ready!" until a ping passed (measured: 788 of 1,000 calls; with a pool of 10, 246). A larger
				// pool and a ping timeout above the queueing it meets keep it answering.
				DB_POSTGRESDB_POOL_SIZE: '10',
				DB_PING_TIMEOUT_MS: '30000',
			},
			workers: 2,
			webhookProcesses: 1,
		});
		const credentials = await systemCredentials(n8n, storeConfig as unknown as Json, pg, maria, { a: SECRET_A, b: SECRET_B });
		wf = await importBidirectional(n8n, credentials, { crm: crm.table, erp: erp.table }, paths);
	}, 300_000);

	afterAll(async () => {
		await n8n?.stop();
		await closeAllStores();
		await crm?.close();
		await erp?.close();
		await Promise.all([n8nDb?.drop(), storeDb?.drop(), pg?.drop(), maria?.drop()]);
	});

	it('no 5xx, replays refused, every edit in A and B (or in the conflict record), no duplicate row or link', async () => {
		// Seed: 100 contacts made in A, 50 in B, linked by a first Refresh (run on a worker).
		const seedA: Json[] = [];
		const seedB: Json[] = [];
		for (let i = 0; i < SEED_A; i++) {
			seedA.push(await crm.insert({ ...ADA_CRM, email: `seed${i}@example.com`, firstName: `Seed${i}`, lastName: `Last${i}`, phone: `+44 20 7946 ${1000 + i}` }));
		}
		for (let i = 0; i < SEED_B; i++) {
			seedB.push(await erp.insert({ ...GRACE_ERP, email: `bseed${i}@example.com`, first_name: `BSeed${i}`, last_name: `BLast${i}`, phone_number: `+1 212 555 ${1000 + i}` }));
		}
		const refresh = await runFromTrigger(n8n, wf, 'Refresh (manual)', 180_000);
		expect({ status: refresh.status, failure: failure(refresh) }).toEqual({ status: 'success', failure: undefined });
		expect([(await crm.rows()).length, (await erp.rows()).length]).toEqual([SEED_A + SEED_B, SEED_A + SEED_B]);

		// The main process takes no production webhook; the webhook process does (an unsigned call: 401, nothing runs).
		const onMain = await fetch(`${n8n.baseUrl}/webhook/${paths.crm}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		await onMain.text();
		expect(onMain.status).toBe(404);
		const port = n8n.webhookPorts[0];
		const registered = Date.now() + 30_000;
		for (;;) {
			const probe = await fetch(`http://127.0.0.1:${port}/webhook/${paths.crm}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
			await probe.text();
			if (probe.status === 401) break;
			if (Date.now() > registered) throw new Error(`webhook process: ${probe.status} instead of 401 for an unsigned call`);
			await new Promise((r) => setTimeout(r, 200));
		}

		// The 400 changes, made in the systems' tables first (as their users would), then announced.
		const bSeedRow = async (i: number) => (await erp.byEmail(`seed${i}@example.com`))!;
		const changes: Array<{ system: 'crm' | 'erp'; notice: Notification; what: string }> = [];
		for (let i = 0; i < CONFLICTING; i++) {
			const a = await crm.update(seedA[i].id as number, { lastName: `A-wins-${i}` });
			const bRow = await bSeedRow(i);
			const b = await erp.update(bRow.contact_id as number, { last_name: `B-loses-${i}`, phone_number: `+1 212 555 ${3000 + i}` });
			changes.push({ system: 'crm', notice: CrmSystem.notice(a), what: `conflict ${i} (A)` }, { system: 'erp', notice: ErpSystem.notice(b), what: `conflict ${i} (B)` });
		}
		for (let i = CONFLICTING; i < SEED_A; i++) {
			changes.push({ system: 'crm', notice: CrmSystem.notice(await crm.update(seedA[i].id as number, { firstName: `A-edit-${i}` })), what: `update ${i} in A` });
		}
		for (let i = 0; i < SEED_B; i++) {
			changes.push({ system: 'erp', notice: ErpSystem.notice(await erp.update(seedB[i].contact_id as number, { first_name: `B-edit-${i}` })), what: `update ${i} in B` });
		}
		for (let i = 0; i < 150; i++) {
			const row = await crm.insert({ ...ADA_CRM, email: `new.a${i}@example.com`, firstName: `NewA${i}`, lastName: `Made-in-A`, phone: `+44 20 7946 ${5000 + i}` });
			changes.push({ system: 'crm', notice: CrmSystem.notice(row), what: `create ${i} in A` });
		}
		for (let i = 0; i < 50; i++) {
			const row = await erp.insert({ ...GRACE_ERP, email: `new.b${i}@example.com`, first_name: `NewB${i}`, last_name: 'Made-in-B', phone_number: `+1 212 555 ${6000 + i}` });
			changes.push({ system: 'erp', notice: ErpSystem.notice(row), what: `create ${i} in B` });
		}
		expect(changes).toHaveLength(400);

		// Each change is signed when the first of its calls goes out (a call waiting its turn must not age
		// out of the trigger's 5-minute replay window); its replay is those very bytes and headers again,
		// its duplicate the same body signed one second before it.
		const calls: Call[] = [];
		changes.forEach((_, n) => {
			calls.push({ kind: 'change', change: n }, { kind: 'duplicate', change: n });
			if (n % 2 === 0) calls.push({ kind: 'replay', change: n });
		});
		expect(calls).toHaveLength(1000);
		const random = prng(13);
		for (let i = calls.length - 1; i > 0; i--) {
			const j = Math.floor(random() * (i + 1));
			[calls[i], calls[j]] = [calls[j], calls[i]];
		}
		const originals = new Map<number, Request>();
		const request = (call: Call): Request => {
			const c = changes[call.change];
			const path = c.system === 'crm' ? paths.crm : paths.erp;
			const secret = c.system === 'crm' ? SECRET_A : SECRET_B;
			if (!originals.has(call.change)) originals.set(call.change, signed(path, secret, c.notice, Math.floor(Date.now() / 1000)));
			const original = originals.get(call.change)!;
			return call.kind === 'duplicate' ? signed(path, secret, c.notice, Number(original.headers['x-datasync-timestamp']) - 1) : original;
		};

		const answers: Answer[] = [];
		const loadFrom = new Date().toISOString();
		const started = performance.now();
		let next = 0;
		await Promise.all(
			Array.from({ length: IN_FLIGHT }, async () => {
				while (next < calls.length) {
					const call = calls[next++];
					const req = request(call);
					const t0 = performance.now();
					try {
						const res = await fetch(`http://127.0.0.1:${port}/webhook/${req.path}`, { method: 'POST', headers: req.headers, body: req.raw });
						answers.push({ call, req, status: res.status, text: await res.text(), ms: performance.now() - t0 });
					} catch (error) {
						answers.push({ call, req, status: 0, text: (error as Error).message, ms: performance.now() - t0 });
					}
				}
			}),
		);
		const sentMs = performance.now() - started;

		// No 5xx, no refused connection; each change and each duplicate taken, exactly one of each replay pair refused.
		const wrong = answers.filter((a) => a.status !== 200 && a.status !== 401);
		expect({ wrong: wrong.length, first: wrong.slice(0, 3).map((a) => `${a.call.kind} ${changes[a.call.change].what}: ${a.status} ${a.text.slice(0, 200)}`) }).toEqual({ wrong: 0, first: [] });
		const signatureStatuses = new Map<string, Answer[]>();
		for (const a of answers) {
			const sig = a.req.headers['x-datasync-signature'];
			signatureStatuses.set(sig, [...(signatureStatuses.get(sig) ?? []), a]);
		}
		const bad = [...signatureStatuses.values()].filter((list) => !['200', '200,401'].includes(list.map((a) => a.status).sort().join()));
		expect({ bad: bad.length, first: bad.slice(0, 3).map((list) => list.map((a) => `${a.call.kind} ${changes[a.call.change].what}: ${a.status} ${a.text.slice(0, 120)}`)) }).toEqual({ bad: 0, first: [] });
		const refused = answers.filter((a) => a.status === 401);
		expect(refused).toHaveLength(200);
		expect(refused.every((a) => a.text.includes('replay'))).toBe(true);
		const accepted = answers.filter((a) => a.status === 200).length;
		expect(accepted).toBe(800);

		// Every accepted call ran to the end, on the workers.
		const deadline = Date.now() + 15 * 60_000;
		let done: Awaited<ReturnType<N8nInstance['executions']>> = [];
		for (;;) {
			// The Refresh's pages run as sub-workflow executions of their own (mode integrated): not deliveries.
			done = (await n8n.executions(wf)).filter((e) => e.mode !== 'integrated' && !['running', 'new', 'waiting'].includes(e.status));
			if (done.length >= accepted + 1) break;
			if (Date.now() > deadline) throw new Error(`${done.length} of ${accepted + 1} executions finished\n${n8n.logTail()}`);
			await new Promise((r) => setTimeout(r, 1000));
		}
		const drainedMs = performance.now() - started;
		const notOk = done.filter((e) => e.status !== 'success');
		const why = await Promise.all(notOk.slice(0, 5).map(async (e) => `${e.id} ${e.status}: ${failure(await n8n.execution(e.id))}`));
		expect(why).toEqual([]);
		expect(done).toHaveLength(accepted + 1);

		// One row per contact on each side, every row linked once, one golden record per contact.
		const [rowsA, rowsB] = [await crm.rows(), await erp.rows()];
		const total = SEED_A + SEED_B + 200;
		const counts = (rows: Json[]) => {
			const seen = new Map<string, number>();
			for (const r of rows) seen.set(fold(r.email), (seen.get(fold(r.email)) ?? 0) + 1);
			return [...seen].filter(([, n]) => n > 1).map(([e]) => e);
		};
		expect({ a: rowsA.length, b: rowsB.length, dupesA: counts(rowsA), dupesB: counts(rowsB) }).toEqual({ a: total, b: total, dupesA: [], dupesB: [] });
		const [linksA, linksB] = [await store.listLinks('contact', 'crm'), await store.listLinks('contact', 'erp')];
		expect(linksA.map((l) => l.externalId).sort()).toEqual(rowsA.map((r) => String(r.id)).sort());
		expect(linksB.map((l) => l.externalId).sort()).toEqual(rowsB.map((r) => String(r.contact_id)).sort());
		const keysA = new Set(linksA.map((l) => l.key));
		expect({ keysA: keysA.size, keysB: new Set(linksB.map((l) => l.key)).size, bothSides: linksB.filter((l) => keysA.has(l.key)).length }).toEqual({ keysA: total, keysB: total, bothSides: total });
		const golden = await store.listGolden('contact', { limit: 10_000 });
		expect(golden.length).toBe(total);

		// Converged: A's and B's rows of each contact are equal on every mapped field shown here.
		const byEmailB = new Map(rowsB.map((r) => [fold(r.email), r]));
		const differ = rowsA
			.map((a) => ({ a, b: byEmailB.get(fold(a.email)) }))
			.filter(({ a, b }) => !b || a.firstName !== b.first_name || a.lastName !== b.last_name || a.phone !== b.phone_number)
			.map(({ a, b }) => `${a.email as string}: A ${a.firstName as string} ${a.lastName as string} ${a.phone as string} / B ${b ? `${b.first_name as string} ${b.last_name as string} ${b.phone_number as string}` : 'missing'}`);
		expect(differ).toEqual([]);

		// Every edit accounted for: in both systems, or (the losing last names) in the conflict record.
		const byEmailA = new Map(rowsA.map((r) => [fold(r.email), r]));
		const conflicts = await store.listConflicts({ limit: 10_000 });
		expect(conflicts.filter((c) => c.status === 'open').map((c) => `${c.kind} ${c.key} ${c.fields.join()}`)).toEqual([]);
		const missing: string[] = [];
		for (let i = 0; i < CONFLICTING; i++) {
			const a = byEmailA.get(`seed${i}@example.com`)!;
			if (a.lastName !== `A-wins-${i}`) missing.push(`conflict ${i}: A's last name ${String(a.lastName)}`);
			if (a.phone !== `+1 212 555 ${3000 + i}`) missing.push(`conflict ${i}: B's phone not merged (${String(a.phone)})`);
			const key = linksA.find((l) => l.externalId === String(a.id))!.key;
			const kept = conflicts.filter((c) => c.key === key && c.fields.includes('lastName')).flatMap((c) => c.competing.map((v) => v.value));
			if (!kept.includes(`B-loses-${i}`)) missing.push(`conflict ${i}: B's losing last name is in no conflict record (${JSON.stringify(kept)})`);
		}
		for (let i = CONFLICTING; i < SEED_A; i++) if (byEmailB.get(`seed${i}@example.com`)?.first_name !== `A-edit-${i}`) missing.push(`update ${i} in A`);
		for (let i = 0; i < SEED_B; i++) if (byEmailA.get(`bseed${i}@example.com`)?.firstName !== `B-edit-${i}`) missing.push(`update ${i} in B`);
		for (let i = 0; i < 150; i++) {
			const b = byEmailB.get(`new.a${i}@example.com`);
			if (b?.first_name !== `NewA${i}` || b?.phone_number !== `+44 20 7946 ${5000 + i}`) missing.push(`create ${i} in A`);
		}
		for (let i = 0; i < 50; i++) {
			const a = byEmailA.get(`new.b${i}@example.com`);
			if (a?.firstName !== `NewB${i}` || a?.phone !== `+1 212 555 ${6000 + i}`) missing.push(`create ${i} in B`);
		}
		expect(missing).toEqual([]);
		// Failed writes in the audit (a write that failed and was not redone would show here as a gap above).
		const writes = (await store.audit({ limit: 100_000 })).filter((e) => e.action === 'write');
		const failedWrites = writes.filter((e) => e.outcome === 'failed' && !String(e.error ?? '').includes('stale'));
		expect(failedWrites.map((e) => `${e.system} ${e.externalId}: ${e.error}`)).toEqual([]);

		// Nothing left to do: the backup poll reads every row of A and B and writes nothing.
		const poll = await runFromTrigger(n8n, wf, 'Every 5 minutes (backup poll)', 180_000);
		expect({ status: poll.status, failure: failure(poll) }).toEqual({ status: 'success', failure: undefined });
		expect({ toA: outputOf(poll, 'Write to A').length, toB: outputOf(poll, 'Write to B').length, summary: summary(poll)['Conflict Resolver'] }).toMatchObject({ toA: 0, toB: 0 });

		const latencies = answers.map((a) => a.ms).sort((x, y) => x - y);
		const result = {
			webhooks: answers.length,
			accepted,
			refusedReplays: refused.length,
			sendMs: Math.round(sentMs),
			drainMs: Math.round(drainedMs),
			requestsPerSecond: Math.round((answers.length / sentMs) * 1000),
			executionsPerSecond: Number(((accepted / drainedMs) * 1000).toFixed(1)),
			p50Ms: Math.round(percentile(latencies, 50)),
			p95Ms: Math.round(percentile(latencies, 95)),
			maxMs: Math.round(latencies[latencies.length - 1]),
			writesDuringLoad: writes.filter((e) => e.outcome === 'ok' && e.at >= loadFrom).length,
			staleWrites: writes.filter((e) => e.outcome === 'failed').length,
			conflictsResolved: conflicts.length,
		};
		console.log(`load: ${JSON.stringify(result)}`);
	}, 30 * 60_000);
});
