import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { findDeletesPage } from '../../../lib/engine/reconcile';
import { storeOf } from '../../shared/engine-node';
import { asOutput, databaseContext, nodeError, unavailable } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'Every record the store links in this system is looked up in the table by ID, a page at a time; one the table no longer holds comes out as a delete. For the refresh page by page: no execution holds the whole table.',
		name: 'findDeletesNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Sync Name',
		name: 'sync',
		type: 'string',
		default: '',
		placeholder: 'contacts',
		description: 'The sync the deletes are for (carried in each item)',
	},
	{
		displayName: 'Page Size',
		name: 'pageSize',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100000 },
		default: 5000,
		description: 'Linked IDs looked up per query, and the most deletes one execution emits',
	},
	{
		displayName: 'After ID',
		name: 'afterId',
		type: 'string',
		default: '',
		description: 'Check the linked IDs after this one (the last delete of the previous page); empty = from the first',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['findDeletes'] } }, properties);

/**
 * The deletes a refresh finds, page by page (lib/engine/reconcile.ts findDeletesPage): the store's links
 * of this system in ID order after After ID, each page read back from the table in one query; at most
 * Page Size deletes, so the next execution continues after the last one's ID.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const ctx = await databaseContext(this);
	const pageSize = Number(this.getNodeParameter('pageSize', 0, 5000));
	const afterId = String(this.getNodeParameter('afterId', 0, '') ?? '').trim();
	const sync = String(this.getNodeParameter('sync', 0, '')).trim();
	if (!Number.isInteger(pageSize) || pageSize < 1) throw new NodeOperationError(this.getNode(), `"Page Size" must be a whole number of 1 or more, not ${pageSize}`);
	const store = await storeOf(this);
	try {
		const deletes = await findDeletesPage(store, { entity: ctx.entity, system: ctx.system, runId: ctx.runId, afterId, pageSize, ...(sync ? { sync } : {}) }, async (ids) => {
			try {
				return (await ctx.transport.readByIds(ctx.table, ids)).map((record) => record.id);
			} catch (error) {
				throw unavailable(ctx, error);
			}
		});
		return asOutput(deletes);
	} catch (error) {
		throw nodeError(this, error);
	}
}
