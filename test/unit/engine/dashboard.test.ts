/**
 * The status the dashboard and Prometheus show, on both store backends: per system the records synced,
 * every change that did not sync with its reason (Mapper-invalid, Loop Guard blocks, write errors,
 * skips), the health rule, volume per hour and day, a run's log, a record's history; and the pages'
 * escaping of record values.
 */
import { renderDashboard, renderPrometheus, renderRecordHistory, renderRunLog } from '../../../lib/dashboard';
import { commit } from '../../../lib/engine/commit';
import { guard } from '../../../lib/engine/guard';
import { resolve } from '../../../lib/engine/resolve';
import { recordHistory, recordInvalid, runLog, status } from '../../../lib/engine/status';
import { closeAllStores, openStore, Store, type Store as StoreType } from '../../../lib/engine/store';
import { BACKENDS } from './backends';
import { change, options } from './fixtures';

const XSS = '<script>alert("x")</script>';

function invalidItem(id: string, birthDate: string) {
	return {
		...change('crm', id, { email: `${id}@x.io`, birthDate }, { shape: 'system', actor: 'alice' }),
		errors: [{ entity: 'contact', system: 'crm', id, field: 'birthDate', rule: 'date', message: `"${birthDate}" is not a date (yyyy-MM-dd)` }],
	};
}

describe.each(BACKENDS.map((make) => [make().name, make] as const))('dashboard status on %s', (_name, make) => {
	const backend = make();
	let store: StoreType;
	const sync = 'dash';
	beforeAll(async () => {
		await backend.setup();
		store = await openStore(backend.config());
	});
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	it('counts what synced and what did not, with reasons, per system; health, volume, run log, history and Prometheus agree', async () => {
		// Run 1: two creates from crm, written to erp (both ok) and shop (one fails).
		const o1 = options({ sync });
		const r1 = await resolve(store, o1, [change('crm', 'c1', { email: 'c1@x.io', name: XSS }, { actor: 'bob' }), change('crm', 'c2', { email: 'c2@x.io', name: 'Cy' })]);
		expect(r1.changes).toHaveLength(4);
		const writes = r1.changes.map(({ item }, i) => ({
			entity: item.entity,
			system: item.system,
			key: item.key as string,
			op: item.op,
			id: `${item.system}-${i}`,
			data: item.data,
			...(item.system === 'shop' && item.data.email === 'c2@x.io' ? { error: 'shop answered 503' } : {}),
		}));
		const c1 = await commit(store, { sync, runId: o1.runId }, writes);
		expect({ committed: c1.committed, failed: c1.failed }).toEqual({ committed: 3, failed: 1 });

		// Run 2: five webhook changes a Mapper refused (bad date), one our own echo the Loop Guard blocks, one
		// update of c1 written to erp.
		const o2 = options({ sync });
		const invalid = ['i1', 'i2', 'i3', 'i4', 'i5'].map((id) => invalidItem(id, id === 'i1' ? XSS : '31/02/2024'));
		expect((await recordInvalid(store, { sync, runId: o2.runId }, invalid)).recorded).toBe(5);
		const g = await guard(store, { sync, runId: o2.runId, ownActor: 'datasync' }, [change('erp', 'erp-0', { email: 'c1@x.io' }, { actor: 'datasync' })]);
		expect(g.blocked.map((b) => b.reason)).toEqual(['own-actor']);
		const r2 = await resolve(store, o2, [change('crm', 'c1', { email: 'c1@x.io', name: 'Cee' }, { actor: 'bob' })]);
		const key = r2.changes[0].item.key as string;
		await commit(
			store,
			{ sync, runId: o2.runId },
			r2.changes.map(({ item }) => ({ entity: item.entity, system: item.system, key: item.key as string, op: item.op, id: item.id, data: item.data })),
		);
		// The same change again: nothing to do (skipped).
		const o3 = options({ sync });
		const r3 = await resolve(store, o3, [change('crm', 'c1', { email: 'c1@x.io', name: 'Cee' })]);
		expect(r3.skipped).toHaveLength(1);

		const overview = await status(store, sync);
		const bySystem = Object.fromEntries(overview.targets.map((t) => [t.system, t]));
		expect(Object.keys(bySystem).sort()).toEqual(['crm', 'erp', 'shop']);
		// crm: 3 changes resolved + 1 skipped-run change + 5 refused on the way in.
		expect(bySystem.crm).toMatchObject({ received: 9, invalid: 5, skipped: 1, created: 0, failed: 0 });
		expect(bySystem.erp).toMatchObject({ created: 2, updated: 1, failed: 0, blocked: 1, writtenTotal: 3, health: 'ok' });
		expect(bySystem.shop).toMatchObject({ created: 1, updated: 1, failed: 1, health: 'ok' });
		expect(bySystem.shop.why).toMatch(/last success/);
		const reasons = overview.notSynced.map((n) => `${n.kind}/${n.reason}/${n.system}=${n.last24h}/${n.last30d}`).sort();
		expect(reasons).toEqual(['blocked/own-actor/erp=1/1', 'failed/write-error/shop=1/1', 'invalid/date/crm=5/5', expect.stringMatching(/^skipped\/.+\/crm=1\/1$/)]);
		expect(overview.recentFailures).toHaveLength(6);
		expect(overview.recentFailures.filter((e) => e.action === 'invalid').map((e) => e.externalId).sort()).toEqual(['i1', 'i2', 'i3', 'i4', 'i5']);
		const hourly = overview.hourly.reduce((t, b) => ({ received: t.received + b.received, written: t.written + b.written, errors: t.errors + b.errors }), { received: 0, written: 0, errors: 0 });
		expect(hourly).toEqual({ received: 9, written: 5, errors: 6 });
		expect(overview.hourly).toHaveLength(48);
		expect(overview.daily).toHaveLength(30);
		expect(overview.daily[29]).toMatchObject({ received: 9, written: 5, errors: 6, blocked: 1 });
		const runs = Object.fromEntries(overview.runs.map((r) => [r.runId, r]));
		expect(runs[o1.runId]).toMatchObject({ notSynced: 1 });
		expect(runs[o2.runId]).toMatchObject({ notSynced: 5 });
		expect(runs[o2.runId].metrics.received).toBe(6);

		// The latest write to shop failing makes it failing; a later success makes it ok again (above).
		const o4 = options({ sync });
		const r4 = await resolve(store, o4, [change('crm', 'c2', { email: 'c2@x.io', name: 'Cyd' })]);
		await commit(
			store,
			{ sync, runId: o4.runId },
			r4.changes.map(({ item }) => ({ entity: item.entity, system: item.system, key: item.key as string, op: item.op, id: item.id ?? 'x', data: item.data, ...(item.system === 'shop' ? { error: 'shop timed out' } : {}) })),
		);
		const failing = await status(store, sync);
		expect(failing.targets.find((t) => t.system === 'shop')).toMatchObject({ health: 'failing', why: expect.stringMatching(/latest write to shop failed/) });
		expect(failing.health).toBe('failing');
		// Stale: seen two hours later with a 30-minute threshold.
		const later = new Store(store.driver, store.where, () => undefined, () => new Date(Date.now() + 2 * 3_600_000));
		const stale = await status(later, sync, { health: { staleMinutes: 30 } });
		expect(stale.targets.find((t) => t.system === 'erp')).toMatchObject({ health: 'stale', why: expect.stringMatching(/more than 30$/) });
		expect(stale.rule).toMatch(/30 min \(set in the Store node\)/);
		await expect(status(store, sync, { health: { failingRuns: 0 } })).rejects.toThrow(/failingRuns/);

		// A run's log and a record's history.
		const log = await runLog(store, sync, o1.runId);
		expect(log.entries.filter((e) => e.action === 'write').map((e) => `${e.system}:${e.outcome}`).sort()).toEqual(['erp:ok', 'erp:ok', 'shop:failed', 'shop:ok']);
		const history = await recordHistory(store, sync, { key });
		expect(history.records[0].golden?.data.name).toBe('Cee');
		const nameChanges = history.changes.filter((c) => c.field === 'name' && c.action === 'write' && c.system === 'erp');
		expect(nameChanges.map((c) => [c.before, c.after])).toEqual([
			[XSS, 'Cee'],
			[undefined, XSS],
		]);
		const bySystemId = await recordHistory(store, sync, { system: 'crm', id: 'i3' });
		expect(bySystemId.records).toEqual([]);
		expect(bySystemId.entries.map((e) => e.action)).toEqual(['invalid']);
		expect(bySystemId.entries[0].error).toMatch(/birthDate: "31\/02\/2024" is not a date/);
		expect((await recordHistory(store, sync, { system: 'erp', id: 'erp-0' })).records[0].golden?.key).toBe(key);

		// The pages: numbers as in the store, values escaped, links through the same webhook.
		const html = renderDashboard(overview);
		expect(html).not.toMatch(/<script/i);
		expect(html).toContain('&lt;script&gt;');
		expect(html).toContain('7 changes did not sync in the last 24 hours');
		expect(html).toContain(`href="?run=${encodeURIComponent(o1.runId)}"`);
		expect(html).toMatch(/data-tile="notSynced24h"><div class="value">7</);
		for (const page of [renderRunLog(log, overview.generatedAt), renderRecordHistory(history, overview.generatedAt), renderRecordHistory(await recordHistory(store, sync, { system: 'crm', id: 'i1' }), overview.generatedAt)]) {
			expect(page).not.toMatch(/<script/i);
			expect(page).toContain('&lt;script&gt;');
		}
		const prom = renderPrometheus(failing);
		expect(prom).toContain('datasync_records_not_synced_total{sync="dash",system="crm",entity="contact",kind="invalid",reason="date"} 5');
		expect(prom).toContain('datasync_records_written_total{sync="dash",system="erp",entity="contact",operation="updated"} 2');
		expect(prom).toContain('datasync_health{sync="dash",system="shop",entity="contact",state="failing"} 1');
		expect(prom).toContain('datasync_write_errors_total{sync="dash",system="shop",entity="contact"} 2');
		for (const line of prom.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) datasync_\w+ .+|datasync_\w+\{[^}]*\} -?\d+(\.\d+)?(e[-+]?\d+)?)$/);
	});

	it('refuses items that are not a Mapper\'s Invalid output, naming the item and field, and writes nothing', async () => {
		const before = (await store.audit({ action: 'invalid' })).length;
		await expect(recordInvalid(store, { sync, runId: 'bad' }, [invalidItem('ok1', 'x'), change('crm', 'n1', {})])).rejects.toThrow(/item 1 \(contact \/ crm \/ n1\): field "errors"/);
		expect((await store.audit({ action: 'invalid' })).length).toBe(before);
	});
});
