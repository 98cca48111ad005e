import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { header, HttpApiError, idPathProblem, mapLimit, readPath, recordUrl, resolveUrl, sendWithRetry, type HttpMethod, type HttpResponse } from '../../../lib/connectors/http/client';
import { expectShape, parseSyncItem, SyncItemError, type SyncItem } from '../../../lib/item';
import { matchValue, parseMatchKeys, type MatchKey } from '../../../lib/engine/identity';
import { apiError, httpContext, toIso, type HttpContext } from './common';

export type WriteMode = 'create' | 'update' | 'delete' | 'upsert';

/** Parameters of the writing operations: where the answer's record is and the batch endpoint. */
export const writeProperties: INodeProperties[] = [
	{
		displayName: 'Conditional Writes',
		name: 'conditional',
		type: 'boolean',
		default: true,
		description:
			'Whether an update or delete is sent only if the record is still at the version the sync last read or wrote: the record is read first and its Updated-At Field compared, and the write carries the ETag the API gave (If-Match; 412 = moved). A record that moved is not overwritten (outcome "stale"); one that is gone is not re-created (outcome "target-deleted"). Needs the Updated-At Field; writes through a Batch Endpoint are not conditional.',
		displayOptions: { show: { operation: ['update', 'upsert', 'delete'] } },
	},
	{
		displayName: 'Update Method',
		name: 'updateMethod',
		type: 'options',
		options: [
			{ name: 'PATCH (Send the Fields Given)', value: 'PATCH' },
			{ name: 'PUT (Replace the Record)', value: 'PUT' },
		],
		default: 'PATCH',
		displayOptions: { show: { operation: ['update', 'upsert'] } },
	},
	{
		displayName: 'Record Path',
		name: 'recordPath',
		type: 'string',
		default: '',
		placeholder: 'data',
		description: 'Dotted path to the written record in the answer (its id is read there for creates); empty = the answer is the record',
		displayOptions: { show: { operation: ['create', 'update', 'upsert'] } },
	},
	{
		displayName: 'Match Fields',
		name: 'matchFields',
		type: 'string',
		default: '',
		placeholder: 'email',
		description:
			'Fields that identify a record (the match keys, e.g. email), comma-separated. Before a create, the collection is asked for records holding the same value (GET <collection>?<field>=<value>, the records read at Record Path, compared trimmed, any case, Unicode NFC; add ":trim" to keep case or ":exact"): one found is linked instead of creating a duplicate (outcome "matched"), two are an ambiguous match. Makes a create exactly-once when its answer was lost (a timeout) or its Commit was. The API must filter by that query parameter. Not used with a Batch Endpoint.',
		displayOptions: { show: { operation: ['create', 'upsert'] } },
	},
	{
		displayName: 'Batch Endpoint',
		name: 'batchPath',
		type: 'string',
		default: '',
		placeholder: '/contacts/batch',
		description: 'If the API takes many records in one POST, its path; empty = one request per record',
		displayOptions: { show: { operation: ['create', 'update', 'upsert'] } },
	},
	{
		displayName: 'Batch Options',
		name: 'batch',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['create', 'update', 'upsert'] } },
		options: [
			{
				displayName: 'Batch Size',
				name: 'size',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 100,
			},
			{
				displayName: 'Records Key',
				name: 'bodyKey',
				type: 'string',
				default: 'records',
				description: 'The key that holds the records in the request body; empty = the body is the list',
			},
			{
				displayName: 'Results Path',
				name: 'resultsPath',
				type: 'string',
				default: 'records',
				description: 'Dotted path to the written records in the answer, in the order sent; empty = the answer is the list',
			},
		],
	},
];

interface Pending {
	index: number;
	item: SyncItem;
	action: 'create' | 'update' | 'delete';
}

function label(item: SyncItem, index: number): string {
	return `item ${index} (${item.entity} / ${item.system} / ${item.id ?? 'new'})`;
}

function idOf(record: unknown, ctx: HttpContext): string | undefined {
	const id = readPath(record, ctx.idField);
	return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : undefined;
}

/** Sends the input items to the API and emits each with its final id, in input order. */
export async function writeItems(fn: IExecuteFunctions, mode: WriteMode): Promise<INodeExecutionData[]> {
	const ctx = await httpContext(fn);
	const updateMethod = fn.getNodeParameter('updateMethod', 0, 'PATCH') as HttpMethod;
	const recordPath = mode === 'delete' ? '' : String(fn.getNodeParameter('recordPath', 0, '')).trim();
	const batchPath = mode === 'delete' ? '' : String(fn.getNodeParameter('batchPath', 0, '')).trim();
	const batch = (mode === 'delete' ? {} : fn.getNodeParameter('batch', 0, {})) as { size?: number; bodyKey?: string; resultsPath?: string };
	let match: MatchKey[] = [];
	if (mode === 'create' || mode === 'upsert') {
		try {
			match = parseMatchKeys(
				String(fn.getNodeParameter('matchFields', 0, ''))
					.split(',')
					.map((f) => f.trim())
					.filter((f) => f !== ''),
			);
		} catch (error) {
			throw new NodeOperationError(fn.getNode(), `Parameter "Match Fields": ${(error as Error).message}`);
		}
	}
	const continueOnFail = fn.continueOnFail();
	const results = new Map<number, INodeExecutionData>();
	const inputs = fn.getInputData();
	const fail = (index: number, error: unknown) => {
		if (!continueOnFail) throw apiError(fn, error, index);
		// The failed change keeps what Store Commit pairs it by, so the failure is recorded against it.
		const json: Record<string, unknown> = { error: (error as Error).message };
		const input = inputs[index]?.json as Record<string, unknown> | undefined;
		for (const field of ['entity', 'system', 'key', 'id', 'op'] as const) if (input && input[field] !== undefined) json[field] = input[field];
		results.set(index, { json: json as INodeExecutionData['json'], pairedItem: { item: index } });
	};
	const conditional = (fn.getNodeParameter('conditional', 0, true) as boolean) && ctx.updatedAtField !== '';
	/** The written record's version as the API answered it (its updated-at), or none. */
	const versionIn = (record: unknown): string | undefined => (record !== undefined && ctx.updatedAtField ? toIso(readPath(record, ctx.updatedAtField)) : undefined);
	const done = (p: Pending, id: string | null, extra: Record<string, unknown> = {}, record?: unknown) => {
		const json: Record<string, unknown> = { ...p.item, id, ...extra };
		if (!('outcome' in extra)) {
			json.outcome = 'written';
			const version = versionIn(record);
			if (version) json.changedAt = version;
			else delete json.changedAt;
		}
		results.set(p.index, { json: json as INodeExecutionData['json'], pairedItem: { item: p.index } });
	};
	const what = (p: Pending) => label(p.item, p.index);
	/**
	 * Reads the record before an update or delete planned against a known version: gone → target-deleted
	 * (a delete is then done), moved → stale; else the ETag to send with If-Match, if the API gives one.
	 */
	const precheck = async (p: Pending): Promise<{ etag?: string } | { settled: true } | { error: unknown }> => {
		const version = p.item.trace.version;
		if (!conditional || version === undefined || p.action === 'create') return {};
		const url = recordUrl(ctx.baseUrl, ctx.collection, p.item.id as string);
		const got = await sendWithRetry(ctx.send, { method: 'GET', url, timeoutMs: ctx.policy.timeoutMs }, ctx.policy, what(p)).then(
			(response: HttpResponse) => ({ response }),
			(error: unknown) => ({ error }),
		);
		if ('error' in got) {
			const error = got.error;
			if (error instanceof HttpApiError && (error.status === 404 || error.status === 410)) {
				if (p.action === 'delete') done(p, p.item.id, { outcome: 'written' });
				else done(p, p.item.id, { outcome: 'target-deleted', changedAt: undefined, detail: `${ctx.system} record ${p.item.id} is gone (${error.status}); not re-created` });
				return { settled: true };
			}
			return { error };
		}
		const response = got.response;
		const current = toIso(readPath(readPath(response.body, recordPath), ctx.updatedAtField));
		if (current !== undefined && Date.parse(current) !== Date.parse(version)) {
			done(p, p.item.id, { outcome: 'stale', changedAt: current, detail: `${ctx.system} record ${p.item.id} changed since version ${version} (now ${current}); not overwritten` });
			return { settled: true };
		}
		const etag = header(response.headers, 'etag');
		return etag ? { etag } : {};
	};

	/**
	 * Before a create: the records of the collection that hold the create's match values. One is linked
	 * (outcome "matched", nothing created), several are an ambiguous match, none lets the create go on.
	 */
	const findMatch = async (p: Pending): Promise<{ settled: true } | { error: unknown } | Record<string, never>> => {
		for (const key of match) {
			const raw = p.item.data[key.field];
			const value = matchValue(raw, key.mode);
			if (value === null) continue;
			const request = { method: 'GET' as const, url: resolveUrl(ctx.baseUrl, ctx.collection), qs: { [key.field]: typeof raw === 'number' ? raw : String(raw) }, timeoutMs: ctx.policy.timeoutMs };
			const got = await sendWithRetry(ctx.send, request, ctx.policy, `${what(p)}: match by ${key.field}`).then(
				(response: HttpResponse) => ({ response }),
				(error: unknown) => ({ error }),
			);
			if ('error' in got) return { error: got.error };
			const listed = readPath(got.response.body, recordPath);
			const records = Array.isArray(listed) ? listed : Array.isArray(got.response.body) ? (got.response.body as unknown[]) : undefined;
			if (records === undefined) {
				return { error: new Error(`${what(p)}: match by ${key.field}: the answer of GET ${request.url} has no list of records at "${recordPath || '(the body)'}"`) };
			}
			// The API's filter is not trusted to compare as the sync does: the values are compared here.
			const found = records.filter((r) => matchValue(readPath(r, key.field), key.mode) === value);
			if (found.length === 1) {
				const id = idOf(found[0], ctx);
				if (id === undefined) return { error: new Error(`${what(p)}: match by ${key.field}: the record found has no id at "${ctx.idField}"`) };
				const version = versionIn(found[0]);
				done(p, id, { outcome: 'matched', changedAt: version, detail: `found ${ctx.system} record ${id} by ${key.field}; linked, nothing created` });
				return { settled: true };
			}
			if (found.length > 1) {
				const ids = found.map((r) => idOf(r, ctx) ?? '?');
				done(p, null, { outcome: 'ambiguous', changedAt: undefined, detail: `${ctx.system} records ${ids.join(', ')} all match by ${key.field}; nothing created` });
				return { settled: true };
			}
		}
		return {};
	};

	const pending: Pending[] = [];
	inputs.forEach((input, index) => {
		try {
			const item = parseSyncItem(input.json, index);
			expectShape(item, 'system', index);
			if (item.system !== ctx.system) {
				throw new SyncItemError(`${label(item, index)}: field "system" is "${item.system}", but this node writes to "${ctx.system}"`, index, 'system');
			}
			if (item.entity !== ctx.entity) {
				throw new SyncItemError(`${label(item, index)}: field "entity" is "${item.entity}", but this node writes "${ctx.entity}"`, index, 'entity');
			}
			const action =
				mode === 'upsert' ? (item.op === 'delete' ? 'delete' : item.id === null ? 'create' : 'update') : mode;
			if (action !== 'create' && item.id === null) throw new SyncItemError(`${label(item, index)}: ${action} needs the record's id`, index, 'id');
			const problem = action !== 'create' && item.id !== null ? idPathProblem(item.id) : undefined;
			if (problem) throw new SyncItemError(`${label(item, index)}: ${problem}`, index, 'id');
			pending.push({ index, item, action });
		} catch (error) {
			fail(index, error);
		}
	});

	const single = batchPath ? pending.filter((p) => p.action === 'delete') : pending;
	const batched = batchPath ? pending.filter((p) => p.action !== 'delete') : [];

	const outcomes = await mapLimit(single, ctx.concurrency, async (p) => {
		const check = p.action === 'create' ? await findMatch(p) : await precheck(p);
		if ('error' in check) return { p, error: check.error };
		if ('settled' in check) return { p, settled: true as const };
		const request =
			p.action === 'create'
				? { method: 'POST' as const, url: resolveUrl(ctx.baseUrl, ctx.collection), body: p.item.data }
				: p.action === 'update'
					? { method: updateMethod, url: recordUrl(ctx.baseUrl, ctx.collection, p.item.id as string), body: p.item.data }
					: { method: 'DELETE' as const, url: recordUrl(ctx.baseUrl, ctx.collection, p.item.id as string) };
		const headers = 'etag' in check && check.etag ? { 'If-Match': check.etag } : undefined;
		return await sendWithRetry(ctx.send, { ...request, headers, timeoutMs: ctx.policy.timeoutMs }, ctx.policy, what(p)).then(
			(response) => ({ p, response }),
			(error: unknown) => ({ p, error }),
		);
	});
	for (const outcome of outcomes) {
		const p = outcome.p;
		if ('settled' in outcome) continue;
		if ('error' in outcome) {
			// Deleting what is already gone is what a retried delete looks like: success.
			if (p.action === 'delete' && outcome.error instanceof HttpApiError && outcome.error.status === 404) done(p, p.item.id);
			// If-Match refused: the record moved between the read and the write.
			else if (outcome.error instanceof HttpApiError && outcome.error.status === 412) {
				done(p, p.item.id, { outcome: 'stale', changedAt: undefined, detail: `${ctx.system} record ${p.item.id} changed before the write (412); not overwritten` });
			} else fail(p.index, outcome.error);
			continue;
		}
		if (p.action !== 'create') {
			done(p, p.item.id, {}, readPath(outcome.response.body, recordPath));
			continue;
		}
		const id = idOf(readPath(outcome.response.body, recordPath), ctx);
		if (id === undefined) fail(p.index, new Error(`${label(p.item, p.index)}: the API created the record but its answer has no id at "${ctx.idField}"`));
		else done(p, id, {}, readPath(outcome.response.body, recordPath));
	}

	const size = batch.size ?? 100;
	for (let start = 0; start < batched.length; start += size) {
		const chunk = batched.slice(start, start + size);
		const records = chunk.map((p) =>
			p.item.id !== null && !ctx.idField.includes('.') ? { ...p.item.data, [ctx.idField]: p.item.id } : p.item.data,
		);
		const bodyKey = batch.bodyKey ?? 'records';
		const what = `batch of ${chunk.length} ${ctx.entity} records (items ${chunk[0].index}–${chunk[chunk.length - 1].index})`;
		const answer = await sendWithRetry(
			ctx.send,
			{ method: 'POST', url: resolveUrl(ctx.baseUrl, batchPath), body: bodyKey ? { [bodyKey]: records } : records, timeoutMs: ctx.policy.timeoutMs },
			ctx.policy,
			what,
		).then(
			(response) => ({ response }),
			(error: unknown) => ({ error }),
		);
		if ('error' in answer) {
			for (const p of chunk) fail(p.index, answer.error);
			continue;
		}
		const written = readPath(answer.response.body, batch.resultsPath ?? 'records');
		if (!Array.isArray(written) || written.length !== chunk.length) {
			const error = new Error(`${what}: the answer must list ${chunk.length} written records at "${batch.resultsPath ?? 'records'}"`);
			for (const p of chunk) fail(p.index, error);
			continue;
		}
		chunk.forEach((p, k) => {
			const id = idOf(written[k], ctx) ?? p.item.id;
			if (id === null) fail(p.index, new Error(`${label(p.item, p.index)}: the batch answer has no id at "${ctx.idField}" for this record`));
			else done(p, id, {}, written[k]);
		});
	}
	return [...results.keys()].sort((a, b) => a - b).map((i) => results.get(i)!);
}
