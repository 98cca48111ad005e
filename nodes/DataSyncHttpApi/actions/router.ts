import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import * as create from './create.operation';
import * as deleteOp from './delete.operation';
import * as get from './get.operation';
import * as list from './list.operation';
import * as update from './update.operation';
import * as upsert from './upsert.operation';
import { writeProperties } from './write';
import { requestOptions } from './common';

const operations = { create, delete: deleteOp, get, list, update, upsert };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as keyof typeof operations;
	const handler = operations[operation];
	if (!handler) throw new NodeOperationError(this.getNode(), `The operation "${String(operation)}" is not supported`);
	return [await handler.execute.call(this)];
}

export const operationDescriptions = [...list.description, ...get.description, ...writeProperties, requestOptions];
