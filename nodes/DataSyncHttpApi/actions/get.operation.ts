import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { HttpApiError, idPathProblem, mapLimit, readPath, recordUrl, sendWithRetry } from '../../../lib/connectors/http/client';
import { apiError, asOutput, httpContext, recordToItem } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'ID',
		name: 'id',
		type: 'string',
		default: '={{ $json.id }}',
		description: 'The record to read, per input item',
	},
	{
		displayName: 'Record Path',
		name: 'recordPath',
		type: 'string',
		default: '',
		placeholder: 'data',
		description: 'Dotted path to the record in the answer; empty = the answer is the record',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['get'] } }, properties);

/** GET {collection}/{id} per input item; a record that is not there (404) gives no item. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const ctx = await httpContext(this);
	const recordPath = String(this.getNodeParameter('recordPath', 0, '')).trim();
	const inputs = this.getInputData();
	const ids = inputs.map((_, i) => String(this.getNodeParameter('id', i, '') ?? '').trim());
	const continueOnFail = this.continueOnFail();
	const results = await mapLimit(ids, ctx.concurrency, async (id, i) => {
		if (!id) return { i, error: new Error(`item ${i}: parameter "ID" is empty`) };
		const problem = idPathProblem(id);
		if (problem) return { i, error: new Error(`item ${i}: parameter "ID": ${problem}`) };
		const what = `${ctx.entity} ${id}`;
		const answer = await sendWithRetry(ctx.send, { method: 'GET', url: recordUrl(ctx.baseUrl, ctx.collection, id), timeoutMs: ctx.policy.timeoutMs }, ctx.policy, what).then(
			(response) => ({ i, response }),
			(error: unknown) => ({ i, error }),
		);
		return answer;
	});
	const out: INodeExecutionData[] = [];
	for (const result of results) {
		if ('error' in result) {
			if (result.error instanceof HttpApiError && result.error.status === 404) continue;
			if (!continueOnFail) throw apiError(this, result.error, result.i);
			out.push({ json: { error: (result.error as Error).message }, pairedItem: { item: result.i } });
			continue;
		}
		const record = readPath(result.response.body, recordPath);
		const item = recordToItem(record, ctx);
		if (!item) {
			const error = new Error(`${ctx.entity} ${ids[result.i]}: the answer holds no record with an id at "${ctx.idField}"`);
			if (!continueOnFail) throw apiError(this, error, result.i);
			out.push({ json: { error: error.message }, pairedItem: { item: result.i } });
			continue;
		}
		out.push(...asOutput([item], result.i));
	}
	return out;
}
