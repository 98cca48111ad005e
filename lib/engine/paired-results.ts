/**
 * Commit's "Any n8n Node" mode: n8n's own nodes (HTTP Request, Postgres, HubSpot, Airtable…) answer with
 * whatever their API returned, not a DataSync write result, and drop our fields (key, trace). n8n keeps
 * each output item's paired item, though: the node shell follows it back to the planned change the item
 * was written from (the "From canonical" Mapper's item), and this module turns each (answer, planned
 * change) pair into the WriteResult that `commit` takes. The planned change gives entity, system, key, op,
 * the id of an update or delete and the data written; the answer gives the id of a create (ID Field), the
 * target's new version (Updated-At Field, optional) and the error of a failed write (n8n's Continue On Fail
 * puts it in `error`). A result that cannot be paired is reported by index with the reason, never
 * committed; a create whose answer holds no id is an error naming the record and the field path.
 */
import { SyncItemError } from '../item';
import { parsePath, type FieldPath, getPath } from '../mapping/path';
import type { WriteResult } from './commit';

export interface PairedResultsOptions {
	/** Where the id of a created record is in the node's answer: `id`, `data.id`, `results[0].id`. */
	idField: string;
	/** Where the target's own version after the write is (ISO 8601 text or epoch seconds / milliseconds); empty = not read. */
	updatedAtField?: string;
	/** The node the planned changes come from, for the messages. */
	plannedFrom: string;
}

/** One output item of the write node and what its paired item led to: the planned change, or why there is none. */
export interface PairedOutput {
	json: unknown;
	planned: { json: unknown } | { missing: string };
}

export interface PairedResults {
	results: WriteResult[];
	/** For each result, the index of the input item it came from. */
	indexes: number[];
	/** Input items that are no write result of a planned change. */
	unpaired: Array<{ index: number; reason: string }>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fieldPath(text: string | undefined, name: string, required: boolean): FieldPath | undefined {
	if (text === undefined || text.trim() === '') {
		if (required) throw new SyncItemError(`Commit: "${name}" must name the field of the answer that holds it (e.g. id, data.id, results[0].id)`, undefined, name);
		return undefined;
	}
	const path = parsePath(text);
	if (!path) throw new SyncItemError(`Commit: "${name}" ${JSON.stringify(text)} is not a field name or path (e.g. id, data.id, results[0].id)`, undefined, name);
	return path;
}

/** The message of n8n's Continue On Fail item: `error` is a text, or the error object (HTTP Request). */
export function errorText(error: unknown): string | undefined {
	if (error === undefined || error === null || error === '' || error === false) return undefined;
	if (typeof error === 'string') return error;
	if (isObject(error)) {
		const parts = [error.message, error.description].filter((p): p is string => typeof p === 'string' && p !== '');
		if (parts.length) return parts.join(': ');
	}
	return JSON.stringify(error);
}

/** Epoch numbers below this are seconds, above it milliseconds (as the Mapper's Changed At Field reads them). */
const MILLIS_THRESHOLD = 1e11;

function isoTime(value: unknown): string | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return new Date(Math.abs(value) < MILLIS_THRESHOLD ? value * 1000 : value).toISOString();
	if (typeof value === 'string' && value.trim() !== '') {
		if (/^\d+$/.test(value.trim())) return isoTime(Number(value));
		const ms = Date.parse(value);
		if (!Number.isNaN(ms)) return new Date(ms).toISOString();
	}
	return undefined;
}

/** Pairs the write node's output items with the planned changes they were written from. */
export function pairWriteResults(outputs: PairedOutput[], options: PairedResultsOptions): PairedResults {
	const idPath = fieldPath(options.idField, 'ID Field', true)!;
	const updatedAtPath = fieldPath(options.updatedAtField, 'Updated-At Field', false);
	const out: PairedResults = { results: [], indexes: [], unpaired: [] };
	outputs.forEach((output, index) => {
		if ('missing' in output.planned) {
			out.unpaired.push({ index, reason: `not paired to a planned change of "${options.plannedFrom}": ${output.planned.missing}` });
			return;
		}
		const plan = output.planned.json;
		const p = isObject(plan) ? plan : {};
		if (!['entity', 'system', 'key'].every((f) => typeof p[f] === 'string' && p[f] !== '') || (p.op !== 'upsert' && p.op !== 'delete')) {
			out.unpaired.push({
				index,
				reason: `its paired item in "${options.plannedFrom}" is not a planned change (entity, system, key and op of the Conflict Resolver's change); "Planned Changes Node" must name the From canonical Mapper`,
			});
			return;
		}
		const ref = `${p.entity as string} / ${p.system as string} / ${p.key as string}`;
		const answer = isObject(output.json) ? output.json : {};
		const op = p.op as 'upsert' | 'delete';
		const plannedId = typeof p.id === 'string' || typeof p.id === 'number' ? p.id : null;
		const result: WriteResult = {
			entity: p.entity as string,
			system: p.system as string,
			key: p.key as string,
			id: plannedId,
			op,
			...(isObject(p.data) ? { data: p.data } : {}),
		};
		const error = errorText(answer.error);
		if (error !== undefined) {
			result.error = error;
		} else {
			if (op === 'upsert' && plannedId === null) {
				const id = getPath(answer, idPath.segments);
				if ((typeof id !== 'string' && typeof id !== 'number') || String(id).trim() === '') {
					throw new SyncItemError(
						`result ${index} (${ref}): the create's answer has no record id at "${idPath.text}" (ID Field), got ${JSON.stringify(id) ?? 'nothing'}; fields of the answer: ${Object.keys(answer).slice(0, 20).join(', ') || 'none'}`,
						index,
						idPath.text,
					);
				}
				result.id = typeof id === 'number' ? id : id.trim();
			}
			if (updatedAtPath && op === 'upsert') {
				const raw = getPath(answer, updatedAtPath.segments);
				if (raw !== undefined && raw !== null && raw !== '') {
					const at = isoTime(raw);
					if (!at) throw new SyncItemError(`result ${index} (${ref}): "${updatedAtPath.text}" (Updated-At Field) must be an ISO 8601 time or epoch seconds / milliseconds, got ${JSON.stringify(raw)}`, index, updatedAtPath.text);
					result.changedAt = at;
				}
			}
		}
		out.results.push(result);
		out.indexes.push(index);
	});
	return out;
}
