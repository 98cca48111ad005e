/**
 * What the crash tests of issue 13 share (reliability-crash, reliability-queue-crash): seeding A, the
 * convergence check after a recovery (every record of A in B with its mapped values, no duplicate row,
 * each golden record linked once per system, no link left unread), the cursor check (never ahead of what was written) and the
 * audit of the redone work.
 */
import type { Store } from '../../lib/engine';
import { WRITE_ACTIONS } from './templates-support';
import { ADA_CRM, type CrmSystem, type ErpSystem } from './templates-systems';

type Json = Record<string, unknown>;
const fold = (email: unknown) => String(email).trim().toLowerCase();

export async function count(erp: ErpSystem): Promise<number> {
	const [rows] = await erp.conn.query(`SELECT count(*) AS n FROM \`${erp.table}\``);
	return Number((rows as Array<{ n: number }>)[0].n);
}

/** 'dd/MM/yyyy' of an ISO date (B's format). */
export const erpDate = (iso: string) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;

/** `total` contacts in A in one statement, each with its own name, birth date and city. */
export async function seedA(crm: CrmSystem, total: number): Promise<void> {
	await crm.client.query(
		`INSERT INTO "${crm.table}" (email, "firstName", "lastName", phone, "birthDate", "lifecycleStage", "marketingOptIn", street, city, "postalCode", "countryCode", "modifiedBy")
		SELECT 'crash' || i || '@example.com', 'First' || i, 'Last' || i, $1, DATE '1950-01-01' + i, 'customer', true, $2, 'City ' || (i % 97), $3, 'GB', 'seed'
		FROM generate_series(1, $4::int) AS i`,
		[ADA_CRM.phone, ADA_CRM.street, ADA_CRM.postalCode, total],
	);
}

export interface Convergence {
	a: number;
	b: number;
	duplicatesInB: string[];
	missingInB: string[];
	wrongValues: string[];
	keys: number;
	keysNotLinkedOncePerSystem: string[];
	rowsLinkedTwice: string[];
	unlinkedA: number;
	unlinkedB: number;
	/** Links a create made by match key and never read since: no change is planned for them until read. */
	unreadLinks: number;
}

/** Every record of A in B (mapped), no duplicate, each golden record linked once per system. */
export async function convergence(crm: CrmSystem, erp: ErpSystem, store: Store): Promise<Convergence> {
	const [a, b] = [await crm.rows(), await erp.rows()];
	const byEmail = new Map<string, Json[]>();
	for (const r of b) byEmail.set(fold(r.email), [...(byEmail.get(fold(r.email)) ?? []), r]);
	const wrongValues: string[] = [];
	const missingInB: string[] = [];
	for (const r of a) {
		const inB = byEmail.get(fold(r.email));
		if (!inB) {
			missingInB.push(String(r.email));
			continue;
		}
		const want = { first_name: r.firstName, last_name: r.lastName, birth_date: erpDate(String(r.birthDate)), city: r.city, phone_number: r.phone };
		const got = { first_name: inB[0].first_name, last_name: inB[0].last_name, birth_date: inB[0].birth_date, city: inB[0].city, phone_number: inB[0].phone_number };
		if (JSON.stringify(want) !== JSON.stringify(got)) wrongValues.push(`${String(r.email)}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
	}
	const links = await store.listLinks('contact');
	const perKey = new Map<string, string[]>();
	const perRow = new Map<string, number>();
	for (const l of links) {
		perKey.set(l.key, [...(perKey.get(l.key) ?? []), l.system]);
		perRow.set(`${l.system} ${l.externalId}`, (perRow.get(`${l.system} ${l.externalId}`) ?? 0) + 1);
	}
	return {
		a: a.length,
		b: b.length,
		duplicatesInB: [...byEmail].filter(([, rows]) => rows.length > 1).map(([e]) => e),
		missingInB,
		wrongValues: wrongValues.slice(0, 5),
		keys: perKey.size,
		keysNotLinkedOncePerSystem: [...perKey].filter(([, s]) => s.sort().join(',') !== 'crm,erp').map(([k, s]) => `${k}: ${s.join(',')}`).slice(0, 5),
		rowsLinkedTwice: [...perRow].filter(([, n]) => n > 1).map(([r]) => r),
		unlinkedA: a.filter((r) => !perRow.has(`crm ${String(r.id)}`)).length,
		unlinkedB: b.filter((r) => !perRow.has(`erp ${String(r.contact_id)}`)).length,
		unreadLinks: (await store.unreadLinks('contact', 'erp', 100_000)).length + (await store.unreadLinks('contact', 'crm', 100_000)).length,
	};
}

export function converged(c: Convergence, total: number): boolean {
	return (
		c.a === total &&
		c.b === total &&
		c.duplicatesInB.length === 0 &&
		c.missingInB.length === 0 &&
		c.wrongValues.length === 0 &&
		c.keys === total &&
		c.keysNotLinkedOncePerSystem.length === 0 &&
		c.rowsLinkedTwice.length === 0 &&
		c.unlinkedA === 0 &&
		c.unlinkedB === 0 &&
		c.unreadLinks === 0
	);
}

/**
 * The sync's cursors are never ahead of what was written: every row of a system at or before its cursor
 * (updated-at, id) has its counterpart (by e-mail) in the other system. Returns the rows that break it.
 */
export async function cursorsAhead(store: Store, sync: string, crm: CrmSystem, erp: ErpSystem): Promise<string[]> {
	const [a, b] = [await crm.rows(), await erp.rows()];
	const emails = { crm: new Set(a.map((r) => fold(r.email))), erp: new Set(b.map((r) => fold(r.email))) };
	const rows = {
		crm: a.map((r) => ({ at: Date.parse(String(r.updatedAt)), id: Number(r.id), email: fold(r.email) })),
		erp: b.map((r) => ({ at: Date.parse(String(r.changed_at)), id: Number(r.contact_id), email: fold(r.email) })),
	};
	const bad: string[] = [];
	for (const c of await store.listCursors(sync)) {
		const system = c.system as 'crm' | 'erp';
		const other = system === 'crm' ? emails.erp : emails.crm;
		const at = Date.parse(c.cursor.ts);
		for (const r of rows[system]) {
			const before = r.at < at || (r.at === at && r.id <= Number(c.cursor.id));
			if (before && !other.has(r.email)) bad.push(`${system} cursor ${c.cursor.ts}/${c.cursor.id} is past ${system} row ${r.id}, which is not in the other system`);
		}
	}
	return bad.slice(0, 5);
}

/**
 * The audit of the writes to B (system `erp`) that Commit recorded, per golden record: `create` (a write
 * with nothing before it), `update`, `delete`, or `link` (a create that found the row a dead run had
 * written, or a row of B read and linked); `deadWrites` counts those recorded by the dead runs (their run
 * ids, as the store has them: see run-ids.ts).
 */
export async function auditOfWritesToB(store: Store, deadRuns: Set<string>): Promise<{ deadWrites: number; perKey: Map<string, string[]> }> {
	const entries = (await store.audit({ system: 'erp', limit: 1_000_000 })).filter((e) => e.outcome === 'ok' && (WRITE_ACTIONS.includes(e.action) || e.action === 'link'));
	const perKey = new Map<string, string[]>();
	let deadWrites = 0;
	for (const e of entries) {
		if (e.runId !== null && deadRuns.has(e.runId)) deadWrites++;
		const kind = e.action === 'link' ? 'link' : e.after === null ? 'delete' : e.before === null ? 'create' : 'update';
		perKey.set(String(e.key), [...(perKey.get(String(e.key)) ?? []), kind]);
	}
	return { deadWrites, perKey };
}

/** How many records have each list of audit kinds, e.g. { "create": 1500, "link": 500 }. */
export function tally(perKey: Map<string, string[]>): Record<string, number> {
	const out: Record<string, number> = {};
	for (const kinds of perKey.values()) {
		const k = [...kinds].sort().join('+');
		out[k] = (out[k] ?? 0) + 1;
	}
	return out;
}
