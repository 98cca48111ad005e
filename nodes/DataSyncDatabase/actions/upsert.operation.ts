import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { writeItems, writeOptions } from './write';

const properties: INodeProperties[] = [
	{
		displayName: 'Deletes',
		name: 'deleteMode',
		type: 'options',
		options: [
			{ name: 'Delete Rows', value: 'hard', description: 'Items with op "delete" remove their row' },
			{ name: 'Soft Delete', value: 'soft', description: 'Items with op "delete" set the soft-delete column' },
		],
		default: 'hard',
	},
	writeOptions,
];

export const description = updateDisplayOptions({ show: { operation: ['upsert'] } }, properties);

/**
 * Writes DataSync items (shape 'system'): op 'upsert' inserts or updates (id null = create), op 'delete'
 * deletes. Emits each item with its final id, in input order, so Store Commit can pair them.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	return await writeItems(this, 'write');
}
