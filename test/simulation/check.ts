/**
 * What must hold once the simulated world is quiet: every system equals its golden records, no
 * duplicates, no value silently dropped, every automatic decision the one the policy predicts.
 */
import { sameValue } from '../../lib/engine/hash';
import type { GoldenRecord } from '../../lib/engine/store/types';
import { SYSTEMS, type World } from './world';

const ENTITY = 'contact';

export interface CheckReport {
	problems: string[];
	/** User edits overwritten in their own system by a sync write before the sync could read them. */
	overwrittenBeforeRead: number;
	conflicts: number;
}

function rank(priority: string[], system: string): number {
	const i = priority.indexOf(system);
	return i === -1 ? priority.length : i;
}

export async function checkWorld(world: World): Promise<CheckReport> {
	const store = world.store;
	const problems: string[] = [];
	const golden: GoldenRecord[] = [];
	for (let page = await store.listGolden(ENTITY, { includeDeleted: true }); page.length; ) {
		golden.push(...page);
		page = await store.listGolden(ENTITY, { includeDeleted: true, afterKey: page[page.length - 1].key });
	}
	const links = await store.listLinks(ENTITY);
	const live = golden.filter((g) => !g.deleted);
	const linked = new Set<string>();

	for (const g of live) {
		for (const system of SYSTEMS) {
			const link = links.find((l) => l.key === g.key && l.system === system);
			if (!link) {
				problems.push(`golden record ${g.key} (${g.data.email}) has no link to ${system}`);
				continue;
			}
			linked.add(`${system}|${link.externalId}`);
			const record = world.systems.get(system)!.records.get(link.externalId);
			if (!record || record.deleted) problems.push(`${system}/${link.externalId} of golden record ${g.key} is missing`);
			else if (!sameValue(record.data, g.data)) {
				problems.push(`${system}/${link.externalId} differs from golden record ${g.key}: ${JSON.stringify(record.data)} vs ${JSON.stringify(g.data)}`);
			}
		}
	}
	for (const g of golden.filter((r) => r.deleted)) {
		for (const l of links.filter((x) => x.key === g.key)) problems.push(`deleted golden record ${g.key} still linked to ${l.system}/${l.externalId}`);
	}
	for (const [name, system] of world.systems) {
		for (const r of system.live()) if (!linked.has(`${name}|${r.id}`)) problems.push(`${name}/${r.id} (${r.data.email}) is not linked to a live golden record`);
	}
	const emails = live.map((g) => String(g.data.email));
	const duplicate = emails.filter((e, i) => emails.indexOf(e) !== i);
	if (duplicate.length) problems.push(`several live golden records for ${[...new Set(duplicate)].join(', ')}`);

	const conflicts = await store.listConflicts({ limit: 100000 });
	const open = conflicts.filter((c) => c.status === 'open');
	if (open.length) problems.push(`${open.length} conflicts still open after review`);

	// Nothing lost: the last edit of every field is the golden value, or it competed in a conflict record.
	let overwrittenBeforeRead = 0;
	const last = new Map<string, { value: string; at: number }>();
	for (const e of world.edits) {
		const k = `${e.email}|${e.field}`;
		if ((last.get(k)?.at ?? -1) < e.at) last.set(k, { value: e.value, at: e.at });
	}
	for (const [k, edit] of last) {
		const [email, field] = k.split('|');
		if (world.deletedEmails.has(email)) continue;
		const g = live.find((r) => r.data.email === email);
		if (!g) {
			problems.push(`${email} was never deleted but has no live golden record`);
			continue;
		}
		if (g.data[field] === edit.value) continue;
		const competed = conflicts.some((c) => c.key === g.key && c.competing.some((v) => v.value === edit.value));
		if (competed) continue;
		if (world.overwrittenUnread.has(`${email}|${field}|${edit.value}`)) {
			overwrittenBeforeRead++;
			continue;
		}
		problems.push(`${email}.${field}: the last edit ${edit.value} was dropped (golden has ${String(g.data[field])}) without a conflict record`);
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
	return { problems, overwrittenBeforeRead, conflicts: conflicts.length };
}
