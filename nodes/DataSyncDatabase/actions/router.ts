import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import * as deleteOp from './delete.operation';
import * as findDeletes from './findDeletes.operation';
import * as getByIds from './getByIds.operation';
import * as getChanges from './getChanges.operation';
import * as getMany from './getMany.operation';
import * as upsert from './upsert.operation';

const operations = { delete: deleteOp, findDeletes, getByIds, getChanges, getMany, upsert };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as keyof typeof operations;
	const handler = operations[operation];
	if (!handler) throw new NodeOperationError(this.getNode(), `The operation "${String(operation)}" is not supported`);
	return [await handler.execute.call(this)];
}

export const operationDescriptions = [
	...getChanges.description,
	...getMany.description,
	...getByIds.description,
	...findDeletes.description,
	...upsert.description,
	...deleteOp.description,
];
