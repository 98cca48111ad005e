import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { writeItems } from './write';

/** DELETEs {collection}/{id} for each input item; a record already gone (404) counts as deleted. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	return await writeItems(this, 'delete');
}
