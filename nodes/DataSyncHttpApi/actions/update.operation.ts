import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { writeItems } from './write';

/** Sends each input item's data to {collection}/{id} with PUT or PATCH (or the batch endpoint). */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	return await writeItems(this, 'update');
}
