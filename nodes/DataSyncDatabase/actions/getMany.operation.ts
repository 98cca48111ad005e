import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { asOutput, databaseContext, nodeError, recordToItem, unavailable } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to read every page in this execution; off = one page, continued by the next run with After ID (memory stays bounded)',
	},
	{
		displayName: 'Page Size',
		name: 'pageSize',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100000 },
		default: 5000,
		description: 'Rows per query (keyset on the ID column)',
	},
	{
		displayName: 'After ID',
		name: 'afterId',
		type: 'string',
		default: '',
		description: 'Start after this ID (the last ID of the previous page); empty = from the first record',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['getMany'] } }, properties);

/** The snapshot of the table in ID order, for reconcile; soft-deleted rows come as op 'delete'. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const ctx = await databaseContext(this);
	const returnAll = this.getNodeParameter('returnAll', 0, false) as boolean;
	const pageSize = Number(this.getNodeParameter('pageSize', 0, 5000));
	let afterId: string | null = String(this.getNodeParameter('afterId', 0, '')).trim() || null;
	const out: INodeExecutionData[] = [];
	try {
		for (;;) {
			const records = await ctx.transport.readSnapshot(ctx.table, afterId, pageSize);
			out.push(...asOutput(records.map((r) => recordToItem(r, ctx))));
			if (!returnAll || records.length < pageSize) return out;
			afterId = records[records.length - 1].id;
		}
	} catch (error) {
		throw nodeError(this, unavailable(ctx, error));
	}
}
