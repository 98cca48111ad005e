/**
 * Evaluates the DataSync Mapper's `outputs` expression the way an n8n process does, in an expression
 * engine started by n8n-workflow's own `Expression.initExpressionEngine` — which imports its runtime
 * dynamically, so it cannot run inside jest (no --experimental-vm-modules). mapper.test.ts runs this:
 *
 *   node -r scripts/register-ts.js mapper-outputs-worker.ts '{"engine":"vm","cases":[{"parameters":{},"onError":null}]}'
 *
 * and reads one JSON line: the outputs per case, as NodeHelpers.getNodeOutputs returns them.
 */
import { join } from 'node:path';
import { Expression, NodeHelpers, Workflow, type INode, type INodeParameters, type INodeTypes } from 'n8n-workflow';

interface Args {
	engine: 'legacy' | 'vm' | 'quickjs';
	cases: Array<{ parameters: INodeParameters; onError?: INode['onError'] }>;
}

async function main(): Promise<void> {
	const args = JSON.parse(process.argv[2]) as Args;
	// By its file name: "DataSyncMapper.node" alone resolves to the codex DataSyncMapper.node.json first.
	const { DataSyncMapper } = (await import(join(__dirname, '..', '..', '..', 'nodes', 'DataSyncMapper', 'DataSyncMapper.node.ts'))) as typeof import('../../../nodes/DataSyncMapper/DataSyncMapper.node');
	if (args.engine !== 'legacy') await Expression.initExpressionEngine({ engine: args.engine, poolSize: 1, maxCodeCacheSize: 16, bridgeTimeout: 5000, bridgeMemoryLimit: 64 });
	try {
		const type = new DataSyncMapper();
		const nodeTypes = { getByName: () => type, getByNameAndVersion: () => type, getKnownTypes: () => ({}) } as unknown as INodeTypes;
		const results = [];
		for (const { parameters, onError } of args.cases) {
			const node: INode = { id: 'm', name: 'Mapper', type: type.description.name, typeVersion: 1, position: [0, 0], parameters, onError: onError ?? undefined };
			const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
			// The VM engines evaluate in an isolate the caller holds, as n8n does around an execution.
			results.push(await workflow.expression.withIsolate(async () => NodeHelpers.getNodeOutputs(workflow, workflow.getNode('Mapper')!, type.description)));
		}
		process.stdout.write(`${JSON.stringify({ engine: Expression.getActiveImplementation(), results })}\n`);
	} finally {
		await Expression.disposeExpressionEngine();
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
