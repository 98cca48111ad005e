import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { writeItems, writeOptions } from './write';

const properties: INodeProperties[] = [
	{
		displayName: 'Delete Mode',
		name: 'deleteMode',
		type: 'options',
		options: [
			{ name: 'Delete Rows', value: 'hard' },
			{ name: 'Soft Delete', value: 'soft', description: 'Set the soft-delete column (a time, or true)' },
		],
		default: 'hard',
	},
	writeOptions,
];

export const description = updateDisplayOptions({ show: { operation: ['delete'] } }, properties);

/** Deletes the records the input items name (any op), in batches; ids that are not there are no error. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	return await writeItems(this, 'delete');
}
