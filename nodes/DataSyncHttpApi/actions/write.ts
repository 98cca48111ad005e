import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { HttpApiError, mapLimit, readPath, recordUrl, resolveUrl, sendWithRetry, type HttpMethod } from '../../../lib/connectors/http/client';
import { expectShape, parseSyncItem, SyncItemError, type SyncItem } from '../../../lib/item';
import { apiError, httpContext, type HttpContext } from './common';

export type WriteMode = 'create' | 'update' | 'delete' | 'upsert';

/** Parameters of the writing operations: where the answer's record is and the batch endpoint. */
export const writeProperties: INodeProperties[] = [
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
	const continueOnFail = fn.continueOnFail();
	const results = new Map<number, INodeExecutionData>();
	const fail = (index: number, error: unknown) => {
		if (!continueOnFail) throw apiError(fn, error, index);
		results.set(index, { json: { error: (error as Error).message }, pairedItem: { item: index } });
	};
	const done = (p: Pending, id: string | null) => {
		results.set(p.index, { json: { ...p.item, id } as unknown as INodeExecutionData['json'], pairedItem: { item: p.index } });
	};

	const pending: Pending[] = [];
	fn.getInputData().forEach((input, index) => {
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
			pending.push({ index, item, action });
		} catch (error) {
			fail(index, error);
		}
	});

	const single = batchPath ? pending.filter((p) => p.action === 'delete') : pending;
	const batched = batchPath ? pending.filter((p) => p.action !== 'delete') : [];

	const outcomes = await mapLimit(single, ctx.concurrency, async (p) => {
		const what = label(p.item, p.index);
		const request =
			p.action === 'create'
				? { method: 'POST' as const, url: resolveUrl(ctx.baseUrl, ctx.collection), body: p.item.data }
				: p.action === 'update'
					? { method: updateMethod, url: recordUrl(ctx.baseUrl, ctx.collection, p.item.id as string), body: p.item.data }
					: { method: 'DELETE' as const, url: recordUrl(ctx.baseUrl, ctx.collection, p.item.id as string) };
		return await sendWithRetry(ctx.send, { ...request, timeoutMs: ctx.policy.timeoutMs }, ctx.policy, what).then(
			(response) => ({ p, response }),
			(error: unknown) => ({ p, error }),
		);
	});
	for (const outcome of outcomes) {
		const p = outcome.p;
		if ('error' in outcome) {
			// Deleting what is already gone is what a retried delete looks like: success.
			if (p.action === 'delete' && outcome.error instanceof HttpApiError && outcome.error.status === 404) done(p, p.item.id);
			else fail(p.index, outcome.error);
			continue;
		}
		if (p.action !== 'create') {
			done(p, p.item.id);
			continue;
		}
		const id = idOf(readPath(outcome.response.body, recordPath), ctx);
		if (id === undefined) fail(p.index, new Error(`${label(p.item, p.index)}: the API created the record but its answer has no id at "${ctx.idField}"`));
		else done(p, id);
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
			else done(p, id);
		});
	}
	return [...results.keys()].sort((a, b) => a - b).map((i) => results.get(i)!);
}
