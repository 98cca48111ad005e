import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { asOutput, databaseContext, nodeError, recordToItem, unavailable } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'IDs',
		name: 'ids',
		type: 'string',
		default: '={{ $json.id }}',
		description: 'The IDs to read, per input item: one ID, a comma-separated list or an array',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['getByIds'] } }, properties);

/** Reads the rows whose ids the input items name, in one query; ids that are not there give no item. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const ctx = await databaseContext(this);
	const askedBy = new Map<string, number[]>();
	const inputs = this.getInputData();
	for (let i = 0; i < inputs.length; i++) {
		const raw = this.getNodeParameter('ids', i, '') as unknown;
		const list = Array.isArray(raw) ? raw : typeof raw === 'number' ? [raw] : String(raw ?? '').split(',');
		for (const value of list) {
			const id = String(value).trim();
			if (!id) continue;
			const by = askedBy.get(id);
			if (by) by.push(i);
			else askedBy.set(id, [i]);
		}
	}
	if (askedBy.size === 0) return [];
	try {
		const records = await ctx.transport.readByIds(ctx.table, [...askedBy.keys()]);
		const byId = new Map(records.map((r) => [r.id, r]));
		const out: INodeExecutionData[] = [];
		for (const [id, items] of askedBy) {
			const record = byId.get(id);
			if (record) out.push(...asOutput([recordToItem(record, ctx)], items));
		}
		return out;
	} catch (error) {
		throw nodeError(this, unavailable(ctx, error));
	}
}
