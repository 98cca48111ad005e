/**
 * Get Alerts on both backends: one alert per cause with its count, nothing twice, repeats within the
 * group window counted into the next alert, breaker trips recorded by the Loop Guard, a target failing
 * for longer than the option, two checks at once sending once, and the Purge that keeps 30 days.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { checkAlerts, purgeWithAlerts, reasonPattern, retentionOf, scrubReason, type Alert } from '../../../lib/engine/alerts';
import { commit, type WriteResult } from '../../../lib/engine/commit';
import { guard } from '../../../lib/engine/guard';
import { resolve } from '../../../lib/engine/resolve';
import { closeAllStores, openStore, Store, type StoreConfig } from '../../../lib/engine/store';
import { BACKENDS } from './backends';
import { change, options, round } from './fixtures';

const ROOT = join(__dirname, '..', '..', '..');

/** Runs one Get Alerts in its own process (support/alert-check-worker.ts); resolves with its alerts. */
function runWorker(args: object): Promise<string[]> {
	return new Promise((done, fail) => {
		const child = spawn(process.execPath, ['-r', join(ROOT, 'scripts', 'register-ts.js'), join(__dirname, 'support', 'alert-check-worker.ts'), JSON.stringify(args)], {
			cwd: ROOT,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let out = '';
		let err = '';
		child.stdout.on('data', (c: Buffer) => (out += c.toString()));
		child.stderr.on('data', (c: Buffer) => (err += c.toString()));
		child.on('error', fail);
		child.on('exit', (code) => (code === 0 ? done(JSON.parse(out) as string[]) : fail(new Error(`worker exited with ${code}: ${err}`))));
	});
}

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const min = (n: number) => n * 60_000;

describe.each(BACKENDS.map((make) => [make().name, make] as const))('alerts on %s', (_name, make) => {
	const backend = make();
	let config: StoreConfig;
	let base: Store;
	let now = T0;
	/** The store with the test's clock: audit times, conflict times and the checks' "now". */
	let store: Store;
	const at = (t: number) => {
		now = t;
	};
	beforeAll(() => backend.setup());
	beforeEach(async () => {
		config = backend.config();
		base = await openStore(config);
		now = T0;
		store = new Store(base.driver, base.where, () => undefined, () => new Date(now));
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	/** Creates `n` contacts from the CRM whose writes to the ERP all fail (the shop's succeed). */
	async function failingCreates(n: number, from: number, sync = 'contacts'): Promise<void> {
		const opts = options({ sync });
		const items = Array.from({ length: n }, (_, i) => change('crm', `c${from + i}`, { email: `person${from + i}@example.com`, name: `Person ${from + i}` }));
		const result = await resolve(store, opts, items);
		const writes: WriteResult[] = result.changes.map(({ item }, i) => ({
			entity: item.entity,
			system: item.system,
			key: item.key as string,
			op: item.op,
			id: item.system === 'erp' ? null : `${item.system}-${from + i}`,
			data: item.data,
			...(item.system === 'erp' ? { error: `ERP refused contact ${from + i}: duplicate key "person${from + i}@example.com" in column "email"` } : {}),
		}));
		await commit(store, { sync, runId: opts.runId }, writes);
	}

	const kinds = (alerts: Alert[]) => alerts.map((a) => `${a.kind}:${a.system}:${a.count}`).sort();

	it('sends one alert per cause with its count, nothing twice, and the repeats of the window in the next one', async () => {
		await failingCreates(100, 1);
		// A field conflict under manual review: both systems changed the name.
		const manual = { policy: { kind: 'manual' as const } };
		const r = await round(store, [change('crm', 'k1', { email: 'kim@example.com', name: 'Kim' })], manual);
		const key = r.changes[0].item.key as string;
		await resolve(store, options(manual), [change('crm', 'k1', { email: 'kim@example.com', name: 'Kimberly' })]);
		await resolve(store, options(manual), [change('shop', `shop-${key}`, { email: 'kim@example.com', name: 'Kimmy' })]);

		at(T0 + min(1));
		const first = await checkAlerts(store, { sync: 'contacts', dashboardUrl: 'http://127.0.0.1:5678/webhook/datasync/status' });
		expect(kinds(first.alerts)).toEqual(['conflict:shop:1', 'write-error:erp:100']);
		const failed = first.alerts.find((a) => a.kind === 'write-error')!;
		expect(failed.subject).toBe('[DataSync] contacts: 100 writes to erp failed (contact)');
		expect(failed.severity).toBe('error');
		expect(failed.records).toHaveLength(20);
		expect(failed.moreRecords).toBe(80);
		expect(failed.cause).toBe('ERP refused contact #: duplicate key "…" in column "email"');
		expect(failed.text).toMatch(/^100 writes of contact records to erp failed in sync "contacts", at 2026-03-02T09:00:00.000Z \(100 records\)\./);
		expect(failed.text).toContain('- and 80 more records');
		expect(failed.text).toContain('Dashboard: http://127.0.0.1:5678/webhook/datasync/status');
		expect(failed.html).toContain('<a href="http://127.0.0.1:5678/webhook/datasync/status">');
		const conflict = first.alerts.find((a) => a.kind === 'conflict')!;
		expect(conflict.subject).toBe('[DataSync] contacts: 1 new field conflict in contact from shop');
		expect(conflict.fields).toEqual(['name']);
		expect(conflict.records[0]).toMatchObject({ key, system: 'shop', fields: ['name'] });
		// No record value in an alert: the e-mail addresses in the error reasons are taken out.
		expect(JSON.stringify(first.alerts)).not.toMatch(/person\d+@example\.com/);
		// Field names and keys, never the competing values.
		expect(JSON.stringify(conflict)).not.toMatch(/Kimberly|Kimmy/);

		// Nothing new: nothing sent (the rows are younger than the settle time: remembered, not re-sent).
		expect((await checkAlerts(store, { sync: 'contacts' })).alerts).toEqual([]);
		at(T0 + min(5));
		expect((await checkAlerts(store, { sync: 'contacts' })).alerts).toEqual([]);

		// The same cause again within the window: held, then sent with its count once the window has passed.
		at(T0 + min(10));
		await failingCreates(5, 200);
		at(T0 + min(11));
		const heldBack = await checkAlerts(store, { sync: 'contacts' });
		expect(heldBack).toEqual({ alerts: [], held: 1 });
		// The ERP took one write at T0 (Kim's create), then only failures from T0 + 10 min: failing 62 min at T0 + 72.
		at(T0 + min(72));
		const later = await checkAlerts(store, { sync: 'contacts' });
		expect(kinds(later.alerts)).toEqual(['stale:erp:1', 'write-error:erp:5']);
		const repeat = later.alerts.find((a) => a.kind === 'write-error')!;
		expect(repeat.first).toBe(new Date(T0 + min(10)).toISOString());
		expect(repeat.records.map((x) => x.reason)).toContain('ERP refused contact 200: duplicate key "…" in column "email"');
		const stale = later.alerts.find((a) => a.kind === 'stale')!;
		expect(stale.subject).toBe('[DataSync] contacts: no successful write to erp for 60+ min (contact)');
		expect(stale.severity).toBe('critical');
		expect(stale.text).toContain(`have failed since ${new Date(T0 + min(10)).toISOString()}, with no success since ${new Date(T0).toISOString()}`);
		// The failing streak is sent once, not at every check while it lasts.
		at(T0 + min(130));
		expect((await checkAlerts(store, { sync: 'contacts' })).alerts).toEqual([]);
		// Another sync's check has its own watermark and sees only its own sync.
		expect((await checkAlerts(store, { sync: 'orders' })).alerts).toEqual([]);
	});

	it('records a breaker trip of the Loop Guard and alerts it once', async () => {
		const items = ['b1', 'b2', 'b3'].map((id) => change('crm', id, { email: `${id}@example.com` }));
		const result = await guard(store, { sync: 'contacts', runId: 'run-breaker', breaker: { maxRecords: 2 } }, items);
		expect(result.breakerTripped).toBe(true);
		at(T0 + min(1));
		const { alerts } = await checkAlerts(store, { sync: 'contacts', kinds: ['breaker'] });
		expect(alerts).toHaveLength(1);
		expect(alerts[0]).toMatchObject({
			kind: 'breaker',
			severity: 'critical',
			system: 'crm',
			entity: 'contact',
			count: 1,
			runIds: ['run-breaker'],
			reasons: ['3 changes in one run, more than 2 (3 changes held back)'],
			subject: '[DataSync] contacts: Loop Guard breaker stopped 1 run (contact from crm)',
		});
		expect((await checkAlerts(store, { sync: 'contacts', kinds: ['breaker'] })).alerts).toEqual([]);
	});

	it('sends once when two processes check at the same moment', async () => {
		// Real time here: the workers use their own clocks.
		store = base;
		await failingCreates(30, 1);
		const startAt = Date.now() + 1500;
		const results = await Promise.all([0, 1].map(() => runWorker({ config, startAt })));
		expect(results.flat()).toEqual(['write-error:erp:30']);
	}, 30_000);

	it('a first check looks back one window only; bad options are refused by name', async () => {
		await failingCreates(3, 1);
		at(T0 + min(90));
		expect((await checkAlerts(store, { sync: 'contacts', staleMinutes: 0 })).alerts).toEqual([]);
		await expect(checkAlerts(store, { sync: 'contacts', groupWindowMinutes: -1 })).rejects.toThrow('Get Alerts: "groupWindowMinutes" must be a number >= 0, got -1');
		await expect(checkAlerts(store, { sync: 'contacts', dashboardUrl: 'javascript:alert(1)' })).rejects.toThrow(/"dashboardUrl" must be an http\(s\) address/);
		await expect(checkAlerts(store, { sync: ' ' })).rejects.toThrow('Get Alerts: "sync" must be a non-empty text');
	});

	it('Purge keeps 30 days of audit, breaker trips and alert groups, and tells the dashboard', async () => {
		await failingCreates(4, 1);
		await guard(store, { sync: 'contacts', runId: 'old-trip', breaker: { maxRecords: 0 } }, [change('crm', 'x1', { email: 'x1@example.com' })]);
		await checkAlerts(store, { sync: 'contacts' });
		at(T0 + min(60 * 24 * 20));
		await failingCreates(2, 100);
		at(T0 + min(60 * 24 * 35));
		const purged = await purgeWithAlerts(store, { auditDays: 30 });
		expect(purged.audit).toBeGreaterThan(0);
		expect(purged.breakerTrips).toBe(1);
		expect(purged.alertGroups).toBe(2);
		const left = await store.audit();
		expect(left.length).toBeGreaterThan(0);
		expect(left.every((e) => e.at === new Date(T0 + min(60 * 24 * 20)).toISOString())).toBe(true);
		expect(await retentionOf(store)).toEqual({
			retentionDays: 30,
			lastPurgeAt: new Date(T0 + min(60 * 24 * 35)).toISOString(),
			oldestAuditAt: new Date(T0 + min(60 * 24 * 20)).toISOString(),
		});
	});

	it('groups reasons without their record-specific parts, and shows none of their values', () => {
		expect(reasonPattern(`ERP refused contact 17: duplicate key 'ada@example.com' for key 'email'`)).toBe('ERP refused contact #: duplicate key … for key …');
		expect(reasonPattern('HTTP 503 from POST /contacts/9f1c2e4a-1b2c-4d5e-8f90-a1b2c3d4e5f6')).toBe('HTTP # from POST /contacts/#');
		expect(scrubReason('duplicate key value violates unique constraint "crm_email_key": Key (email)=(ada@example.com) already exists.')).toBe(
			'duplicate key value violates unique constraint "crm_email_key": Key (email)=(…) already exists.',
		);
		expect(scrubReason("Duplicate entry 'Ada Lovelace' for key 'name' in `erp`.`contacts`")).toBe('Duplicate entry … for key … in `erp`.`contacts`');
	});
});
