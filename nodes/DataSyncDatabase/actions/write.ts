import { type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { expectShape, parseSyncItem, SyncItemError, type SyncItem } from '../../../lib/item';
import type { UpsertRecord, WriteOptions } from '../../../lib/connectors/sql';
import { databaseContext, nodeError, type DatabaseContext } from './common';

/** Options shared by Upsert and Delete. */
export const writeOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Batch Size',
			name: 'batchSize',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 50000 },
			default: 1000,
			description: 'Records per statement and transaction; a batch is written whole or not at all',
		},
		{
			displayName: 'Ignore Unknown Fields',
			name: 'ignoreUnknownFields',
			type: 'boolean',
			default: false,
			description: 'Whether to skip fields that are not columns of the table; off = refuse the record and name the field',
		},
		{
			displayName: 'Set Updated-At',
			name: 'touchUpdatedAt',
			type: 'boolean',
			default: true,
			description: 'Whether to set the updated-at column to the time of the write when the record does not carry it',
		},
		{
			displayName: 'Write Actor',
			name: 'actor',
			type: 'string',
			default: 'datasync',
			description: "Written to the actor column (if the table has one) so the Loop Guard recognises the sync's own writes; empty = leave the column alone",
		},
	],
};

interface Pending {
	index: number;
	item: SyncItem;
}

function label(item: SyncItem, index: number): string {
	return `item ${index} (${item.entity} / ${item.system} / ${item.id ?? 'new'})`;
}

/** A record to write; its label (for errors) is only spelled out when an error needs it. */
class PendingRecord implements UpsertRecord {
	readonly id: string | null;
	readonly values: Record<string, unknown>;
	readonly index: number;

	constructor(private readonly pending: Pending) {
		this.id = pending.item.id;
		this.values = pending.item.data;
		this.index = pending.index;
	}

	get label(): string {
		return label(this.pending.item, this.pending.index);
	}
}

/** Writes the input items: upserts (op 'upsert') and deletes (op 'delete', or every item for Delete). */
export async function writeItems(fn: IExecuteFunctions, mode: 'write' | 'delete'): Promise<INodeExecutionData[]> {
	const ctx = await databaseContext(fn);
	const options = fn.getNodeParameter('options', 0, {}) as {
		batchSize?: number;
		ignoreUnknownFields?: boolean;
		touchUpdatedAt?: boolean;
		actor?: string;
	};
	const deleteMode = fn.getNodeParameter('deleteMode', 0, 'hard') as 'hard' | 'soft';
	const batchSize = options.batchSize ?? 1000;
	const write: WriteOptions = {
		touchUpdatedAt: options.touchUpdatedAt ?? true,
		actor: options.actor ?? 'datasync',
		ignoreUnknownFields: options.ignoreUnknownFields ?? false,
		now: new Date().toISOString(),
	};
	const continueOnFail = fn.continueOnFail();
	const inputs = fn.getInputData();
	// One result per input item, in input order.
	const results: Array<INodeExecutionData | undefined> = new Array(inputs.length);
	const fail = (index: number, error: unknown) => {
		if (!continueOnFail) throw nodeError(fn, error, index);
		results[index] = { json: { error: (error as Error).message }, pairedItem: { item: index } };
	};

	const upserts: Pending[] = [];
	const deletes: Pending[] = [];
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
			if (mode === 'delete' || item.op === 'delete') {
				if (item.id === null) throw new SyncItemError(`${label(item, index)}: a delete needs the record's id`, index, 'id');
				deletes.push({ index, item });
			} else {
				upserts.push({ index, item });
			}
		} catch (error) {
			fail(index, error);
		}
	});

	for (let start = 0; start < upserts.length; start += batchSize) {
		await upsertBatch(ctx, upserts.slice(start, start + batchSize), write, results, fail);
	}
	for (let start = 0; start < deletes.length; start += batchSize) {
		const batch = deletes.slice(start, start + batchSize);
		try {
			await ctx.transport.delete(ctx.table, batch.map((p) => p.item.id as string), deleteMode, write);
			for (const p of batch) results[p.index] = { json: p.item as unknown as INodeExecutionData['json'], pairedItem: { item: p.index } };
		} catch (error) {
			for (const p of batch) fail(p.index, error);
		}
	}
	return results.filter((r): r is INodeExecutionData => r !== undefined);
}

/** One batch in one transaction; with Continue On Fail a refused record is set aside and the rest retried. */
async function upsertBatch(
	ctx: DatabaseContext,
	batch: Pending[],
	write: WriteOptions,
	results: Array<INodeExecutionData | undefined>,
	fail: (index: number, error: unknown) => void,
): Promise<void> {
	let pending = batch;
	while (pending.length) {
		const records: UpsertRecord[] = pending.map((p) => new PendingRecord(p));
		try {
			const ids = await ctx.transport.upsert(ctx.table, records, write);
			pending.forEach((p, k) => {
				const json: SyncItem = { ...p.item, id: ids[k] };
				results[p.index] = { json: json as unknown as INodeExecutionData['json'], pairedItem: { item: p.index } };
			});
			return;
		} catch (error) {
			const bad = error instanceof SyncItemError ? error.itemIndex : undefined;
			if (bad === undefined || !pending.some((p) => p.index === bad)) {
				for (const p of pending) fail(p.index, error);
				return;
			}
			fail(bad, error);
			pending = pending.filter((p) => p.index !== bad);
		}
	}
}
