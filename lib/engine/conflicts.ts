/**
 * The review queue: settling an open conflict by hand. The choice is applied to the golden record in
 * one transaction and the changes it causes are planned exactly as the Resolver plans them (write them,
 * then Commit with the same run id).
 */
import { sameValue } from './hash';
import { isNewer } from './source-times';
import { Batch, type ResolveOptions, type ResolvedChange } from './resolve';
import type { Store } from './store/store';
import type { ConflictRecord, GoldenRecord } from './store/types';

/**
 * - `values`: a field conflict; the value each conflicting field gets (any value, not only a competitor's);
 * - `link` / `create`: an ambiguous match; link the record to this golden record, or make a new one;
 * - `apply`: the incoming change wins (the delete is done, or the edit brings the deleted record back);
 * - `dismiss`: the golden record stays as it is; the system that sent the change gets the golden record back.
 */
export type ConflictChoice =
	| { values: Record<string, unknown> }
	| { action: 'link'; key: string }
	| { action: 'create' }
	| { action: 'apply' }
	| { action: 'dismiss' };

export type ReviewOptions = Omit<ResolveOptions, 'entity' | 'sync' | 'dryRun'> & { sync?: string };

export interface ReviewResult {
	conflict: ConflictRecord;
	changes: ResolvedChange[];
}

const ALLOWED: Record<ConflictRecord['kind'], string[]> = {
	field: ['values', 'dismiss'],
	'ambiguous-match': ['link', 'create', 'dismiss'],
	'duplicate-link': ['dismiss'],
	'edit-delete': ['apply', 'dismiss'],
	'delete-approval': ['apply', 'dismiss'],
};

function choiceName(choice: ConflictChoice): string {
	return 'values' in choice ? 'values' : choice.action;
}

export async function resolveConflict(store: Store, id: number, choice: ConflictChoice, options: ReviewOptions): Promise<ReviewResult> {
	if (!Number.isInteger(id) || id < 1) throw new Error(`Conflict id must be a whole number, got ${JSON.stringify(id)}`);
	if (typeof choice !== 'object' || choice === null || (!('values' in choice) && !('action' in choice))) {
		throw new Error(`Conflict ${id}: the choice must be { values } or { action }`);
	}
	return store.transaction(async (tx) => {
		const conflict = await tx.conflictById(id);
		if (!conflict) throw new Error(`Conflict ${id} does not exist`);
		if (conflict.status !== 'open') throw new Error(`Conflict ${id} is already resolved`);
		const name = choiceName(choice);
		if (!ALLOWED[conflict.kind].includes(name)) {
			throw new Error(`Conflict ${id} (${conflict.kind}) can be settled with ${ALLOWED[conflict.kind].join(' or ')}, not "${name}"`);
		}
		const batch = new Batch(tx, { ...options, entity: conflict.entity, sync: options.sync ?? conflict.sync ?? 'default' });
		const item = conflict.item;
		await batch.load([item], conflict.key ? [conflict.key] : []);
		// This conflict is being settled: it no longer holds back the plan for its system.
		if (conflict.key) batch.openConflicts.set(conflict.key, (batch.openConflicts.get(conflict.key) ?? []).filter((c) => c.id !== id));
		const key = conflict.key;
		const golden = key ? batch.golden.get(key) : undefined;
		const competing = [...conflict.competing];
		if (key && !golden) throw new Error(`Conflict ${id}: golden record ${key} no longer exists`);

		if ('values' in choice) {
			const record = golden as GoldenRecord;
			for (const field of conflict.fields) {
				if (!Object.prototype.hasOwnProperty.call(choice.values, field)) {
					throw new Error(`Conflict ${id} (golden record ${key}): field "${field}" needs a chosen value`);
				}
			}
			const data = { ...record.data };
			const fields = { ...record.fields };
			for (const field of conflict.fields) {
				// The golden value may have moved on since the conflict opened: what the choice replaces is
				// kept with the other competitors, so no value leaves without a trace.
				const now = record.data[field];
				if (!competing.some((c) => c.field === field && sameValue(c.value, now))) {
					competing.push({ role: 'golden', system: record.fields[field]?.system ?? '(golden record)', field, value: now, at: record.fields[field]?.at });
				}
				data[field] = choice.values[field];
				fields[field] = { system: 'review', at: tx.now };
			}
			batch.setGolden({ ...record, data, fields, version: record.version + 1, updatedAt: tx.now }, record.data);
			// The system's own value was held back from its base; now it is known to hold it.
			const link = batch.links.get(record.key)?.get(item.system);
			if (link) {
				const held = Object.fromEntries(conflict.fields.filter((f) => f in item.data).map((f) => [f, item.data[f]]));
				batch.saveLink({ ...link, base: { ...link.base, ...held } });
			}
			batch.auditEntry(item, { key, action: 'resolve', outcome: 'ok', before: record.data, after: data });
			batch.touch(record.key, item, 0, {});
		} else if (choice.action === 'link') {
			if (!batch.golden.has(choice.key)) {
				const [target] = await tx.goldenByKey(conflict.entity, [choice.key]);
				if (!target) throw new Error(`Conflict ${id}: golden record ${choice.key} does not exist`);
				await batch.load([], [choice.key]);
			}
			batch.apply(item, 0, {}, { key: choice.key });
		} else if (choice.action === 'create') {
			batch.apply(item, 0, {}, { create: true });
		} else if (choice.action === 'apply') {
			batch.apply(item, 0, {}, item.op === 'delete' ? { deleteApproved: true } : { key: key as string, reviveApproved: true });
		} else if (key) {
			// Dismissed: the golden record wins. A deleting system loses its link, so the record is written
			// back there; an edit of a deleted record gets the delete sent again.
			// Only the link of the record the conflict is about: the system may hold another record of this
			// golden record by now (created again meanwhile), whose link stays.
			const link = batch.links.get(key)?.get(item.system);
			if (item.op === 'delete' && link && (item.id === null || link.externalId === String(item.id))) batch.removeLink(link, item.changedAt ?? null);
			// The edit the reviewer saw is the version the delete is sent against (it waited outside the base,
			// see waitsForReview in resolve.ts): a later edit there still comes back stale, and to review.
			if (conflict.kind === 'edit-delete' && item.op !== 'delete' && link && link.externalId === String(item.id) && item.changedAt !== undefined) {
				if (link.sourceAt === null || isNewer(item.changedAt, link.sourceAt)) batch.saveLink({ ...link, sourceAt: item.changedAt, partial: null });
			}
			batch.auditEntry(item, { key, action: 'resolve', outcome: 'ok', error: 'dismissed: the golden record stays' });
			// A duplicate link is left as it is: planning the golden record again would only find the same
			// record, linked to the other golden record, again.
			if (conflict.kind !== 'duplicate-link') batch.touch(key, item, 0, {});
		}
		await tx.markConflictResolved(id, { by: 'review', choice }, competing);
		const changes = batch.plan();
		await batch.save(changes);
		await tx.addRunMetrics(options.runId, batch.options.sync, { planned: changes.length }, false);
		return { conflict: { ...conflict, competing, status: 'resolved', resolvedAt: tx.now, resolution: { by: 'review', choice } }, changes };
	});
}
