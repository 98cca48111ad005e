import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { writeItems } from './write';

/** POSTs each input item's data to the collection (or the batch endpoint) and emits it with the id the API gave it. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	return await writeItems(this, 'create');
}
