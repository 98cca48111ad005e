/**
 * What must hold once the simulated world is quiet, for every seed, with no excuse:
 * - no edit is lost: for every e-mail no user ever deleted, each field's last user edit (in true time)
 *   is the golden value (and so, by the next rule, in every system), or it competed in a conflict
 *   record (settled by the policy or by review), or the audit holds it as a value skipped from the
 *   system it was made in (a stale delivery);
 * - nothing exists twice: no two live records with one e-mail (normalised) in a system, no two live
 *   golden records with one e-mail;
 * - every live record of every system is linked, once, to a live golden record, and every live golden
 *   record to one live record of every system, which equals it; nothing stays linked to a deleted one;
 * - no conflict is left open, and every conflict the policy settled went the way the policy says.
 */
import { sameValue } from '../../lib/engine/hash';
import type { AuditEntry, ConflictRecord, GoldenRecord } from '../../lib/engine/store/types';
import { ENTITY, normEmail, SYSTEMS, type World } from './world';

export interface CheckReport {
	problems: string[];
	/** Last edits found nowhere (not golden, not in a conflict, not in the audit): must be 0. */
	lostEdits: number;
	/** Records twice in a system, golden records twice: must be 0. */
	duplicates: number;
	conflicts: number;
	/** Last edits that are not golden but competed in a conflict record (lost to the policy or a review). */
	lostByPolicy: number;
	/** Last edits that are not golden but are in the audit as a skipped value of their system. */
	skippedInAudit: number;
}

function rank(priority: string[], system: string): number {
	const i = priority.indexOf(system);
	return i === -1 ? priority.length : i;
}

function holds(value: unknown, field: string, wanted: string): boolean {
	if (value === wanted) return true;
	return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[field] === wanted;
}

export async function checkWorld(world: World): Promise<CheckReport> {
	const store = world.store;
	const problems: string[] = [];
	let lostEdits = 0;
	let duplicates = 0;
	let lostByPolicy = 0;
	let skippedInAudit = 0;

	const golden: GoldenRecord[] = [];
	for (let page = await store.listGolden(ENTITY, { includeDeleted: true }); page.length; ) {
		golden.push(...page);
		page = await store.listGolden(ENTITY, { includeDeleted: true, afterKey: page[page.length - 1].key });
	}
	const byKey = new Map(golden.map((g) => [g.key, g]));
	const links = await store.listLinks(ENTITY);
	const live = golden.filter((g) => !g.deleted);

	// Nothing twice.
	for (const [name, system] of world.systems) {
		const seen = new Map<string, string>();
		for (const r of system.live()) {
			const email = normEmail(r.data.email);
			const other = seen.get(email);
			if (other !== undefined) {
				duplicates++;
				problems.push(`duplicate: ${name} holds ${email} twice (${other} and ${r.id})`);
			} else seen.set(email, r.id);
		}
	}
	const goldenByEmail = new Map<string, GoldenRecord[]>();
	for (const g of live) {
		const email = normEmail(g.data.email);
		goldenByEmail.set(email, [...(goldenByEmail.get(email) ?? []), g]);
	}
	for (const [email, list] of goldenByEmail) {
		if (list.length > 1) {
			duplicates++;
			problems.push(`duplicate: ${list.length} live golden records for ${email} (${list.map((g) => g.key).join(', ')})`);
		}
	}

	// Linked once, equal everywhere.
	const linkOf = new Map<string, string>();
	for (const l of links) {
		const g = byKey.get(l.key);
		if (!g) problems.push(`link ${l.system}/${l.externalId} points at golden record ${l.key}, which does not exist`);
		else if (g.deleted) problems.push(`deleted golden record ${l.key} still linked to ${l.system}/${l.externalId}`);
		const ref = `${l.system}|${l.externalId}`;
		if (linkOf.has(ref)) problems.push(`${ref} is linked twice (golden records ${linkOf.get(ref)} and ${l.key})`);
		linkOf.set(ref, l.key);
	}
	for (const g of live) {
		for (const system of SYSTEMS) {
			const mine = links.filter((l) => l.key === g.key && l.system === system);
			if (mine.length !== 1) {
				problems.push(`golden record ${g.key} (${g.data.email}) has ${mine.length} links to ${system}`);
				continue;
			}
			const record = world.systems.get(system)!.records.get(mine[0].externalId);
			if (!record || record.deleted) problems.push(`${system}/${mine[0].externalId} of golden record ${g.key} (${g.data.email}) is missing there`);
			else if (!sameValue(record.data, g.data)) {
				problems.push(`${system}/${record.id} differs from golden record ${g.key}: ${JSON.stringify(record.data)} vs ${JSON.stringify(g.data)}`);
			}
		}
	}
	for (const [name, system] of world.systems) {
		for (const r of system.live()) {
			const key = linkOf.get(`${name}|${r.id}`);
			if (key === undefined || byKey.get(key)?.deleted !== false) problems.push(`${name}/${r.id} (${r.data.email}) is not linked to a live golden record`);
		}
	}

	const conflicts = await store.listConflicts({ limit: 1_000_000 });
	const open = conflicts.filter((c) => c.status === 'open');
	if (open.length) problems.push(`${open.length} conflicts still open after review: ${open.slice(0, 10).map((c) => `${c.id} ${c.kind}`).join(', ')}${open.length > 10 ? ', …' : ''}`);
	const conflictsByKey = new Map<string, ConflictRecord[]>();
	for (const c of conflicts) if (c.key) conflictsByKey.set(c.key, [...(conflictsByKey.get(c.key) ?? []), c]);

	// No edit lost.
	const last = new Map<string, (typeof world.edits)[number]>();
	for (const e of world.edits) {
		const k = `${e.email}|${e.field}`;
		const prev = last.get(k);
		if (!prev || prev.at <= e.at) last.set(k, e);
	}
	const auditOf = new Map<string, AuditEntry[]>();
	const audit = async (key: string) => {
		let list = auditOf.get(key);
		if (!list) auditOf.set(key, (list = await store.audit({ entity: ENTITY, key, limit: 1_000_000 })));
		return list;
	};
	const missingEmails = new Set<string>();
	for (const edit of last.values()) {
		if (world.deletedEmails.has(edit.email)) continue;
		const candidates = goldenByEmail.get(edit.email) ?? [];
		if (!candidates.length) {
			lostEdits++;
			if (!missingEmails.has(edit.email)) problems.push(`lost: ${edit.email} was never deleted but has no live golden record`);
			missingEmails.add(edit.email);
			continue;
		}
		if (candidates.some((g) => g.data[edit.field] === edit.value)) continue;
		const competed = candidates.some((g) =>
			(conflictsByKey.get(g.key) ?? []).some((c) => c.competing.some((v) => v.role !== 'base' && (v.field === undefined || v.field === edit.field) && holds(v.value, edit.field, edit.value))),
		);
		if (competed) {
			lostByPolicy++;
			continue;
		}
		let skipped = false;
		for (const g of candidates) {
			if ((await audit(g.key)).some((a) => a.outcome === 'skipped' && a.system === edit.system && a.after !== null && a.after[edit.field] === edit.value)) skipped = true;
		}
		if (skipped) {
			skippedInAudit++;
			continue;
		}
		lostEdits++;
		problems.push(
			`lost: ${edit.email}.${edit.field}: the last edit ${JSON.stringify(edit.value)} (made in ${edit.system} at t=${edit.at}) is dropped ` +
				`(golden ${candidates.map((g) => `${g.key} has ${JSON.stringify(g.data[edit.field])}`).join(', ')}) with no conflict record and no audit of it`,
		);
	}

	// Every automatic decision is the one the policy predicts.
	const policy = world.scenario.policy;
	for (const c of conflicts) {
		const resolution = c.resolution as { by?: string; winner?: string } | null;
		if (c.kind !== 'field' || resolution?.by !== 'policy') continue;
		const incoming = c.competing.find((v) => v.role === 'incoming')!;
		const ours = c.competing.find((v) => v.role === 'golden')!;
		const [winner, loser] = resolution.winner === 'incoming' ? [incoming, ours] : [ours, incoming];
		const field = c.fields[0];
		let expected = true;
		if (policy.kind === 'priority') expected = rank(policy.priority, winner.system) <= rank(policy.priority, loser.system);
		if (policy.kind === 'lastWriteWins' && winner.at && loser.at && winner.at !== loser.at) expected = Date.parse(winner.at) > Date.parse(loser.at);
		if (policy.kind === 'ownership' && [winner.system, loser.system].includes(policy.owners[field])) expected = winner.system === policy.owners[field];
		if (policy.kind === 'manual') expected = false;
		if (!expected) problems.push(`conflict ${c.id} on ${field}: ${winner.system} won over ${loser.system}, not what ${policy.kind} predicts`);
	}
	return { problems, lostEdits, duplicates, conflicts: conflicts.length, lostByPolicy, skippedInAudit };
}
