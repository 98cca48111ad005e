import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { writeItems } from './write';

/** Routes each input item: id null creates, an id updates, op "delete" deletes. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	return await writeItems(this, 'upsert');
}
