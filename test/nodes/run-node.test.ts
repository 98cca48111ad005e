import {
	NodeConnectionTypes,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { runNode } from '../helpers/run-node';

/** A two-output node used only to prove the in-process runner: splits items on a threshold parameter. */
class ThresholdSplit implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Threshold Split',
		name: 'thresholdSplit',
		group: ['transform'],
		version: 1,
		description: 'test node',
		defaults: { name: 'Threshold Split' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		properties: [
			{ displayName: 'Threshold', name: 'threshold', type: 'number', default: 10 },
			{ displayName: 'Label', name: 'label', type: 'string', default: '' },
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const threshold = this.getNodeParameter('threshold', 0) as number;
		const low: INodeExecutionData[] = [];
		const high: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const value = items[i].json.value;
				if (typeof value !== 'number') throw new Error(`item ${i}: field "value" must be a number`);
				const label = this.getNodeParameter('label', i) as string;
				(value < threshold ? low : high).push({ json: { value, label }, pairedItem: { item: i } });
			} catch (error) {
				if (this.continueOnFail()) {
					low.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
					continue;
				}
				throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			}
		}
		return [low, high];
	}
}

describe('runNode (in-process n8n-core runner)', () => {
	it('runs a node through WorkflowExecute: defaults, per-item expressions, several outputs', async () => {
		const { outputs, error } = await runNode(ThresholdSplit, {
			parameters: { label: '={{ "v" + $json.value }}' },
			input: [{ value: 3 }, { value: 12 }, { value: 9 }],
		});
		expect(error).toBeUndefined();
		expect(outputs[0].map((i) => i.json)).toEqual([
			{ value: 3, label: 'v3' },
			{ value: 9, label: 'v9' },
		]);
		expect(outputs[1].map((i) => i.json)).toEqual([{ value: 12, label: 'v12' }]);
		expect(outputs[1][0].pairedItem).toEqual({ item: 1 });
	});

	it('returns the error the node threw, with its item index', async () => {
		const { outputs, error } = await runNode(ThresholdSplit, {
			parameters: { threshold: 5 },
			input: [{ value: 1 }, { value: 'x' }],
		});
		expect(outputs).toEqual([]);
		expect(error?.message).toContain('item 1: field "value" must be a number');
	});

	it('honours continueOnFail', async () => {
		const { outputs, error } = await runNode(ThresholdSplit, {
			parameters: {},
			input: [{ value: 'x' }],
			continueOnFail: true,
		});
		expect(error).toBeUndefined();
		expect(outputs[0][0].json.error).toContain('must be a number');
	});
});
