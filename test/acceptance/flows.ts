/**
 * Builders for workflow JSON in acceptance tests: nodes in a row, connected by name, with our node types
 * as users get them (`n8n-nodes-datasync.*`).
 */
import { randomUUID } from 'node:crypto';

import { nodeType } from './harness';

export interface FlowNode {
	name: string;
	type: string;
	typeVersion?: number;
	parameters?: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	webhookId?: string;
	/** n8n's node setting: one empty item when the node returns none. */
	alwaysOutputData?: boolean;
}

export interface Workflow {
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }>;
	settings: Record<string, unknown>;
}

/** A DataSync node: `ds('dataSyncMapper', 'Mapper', {...})`. */
export function ds(name: string, label: string, parameters: Record<string, unknown>, credentials?: FlowNode['credentials']): FlowNode {
	return { name: label, type: nodeType(name), typeVersion: 1, parameters, credentials };
}

/** A workflow from nodes and edges `[from, to, fromOutput?, toInput?]`. */
export function workflow(name: string, nodes: FlowNode[], edges: Array<[string, string, number?, number?]>): Workflow {
	const connections: Workflow['connections'] = {};
	for (const [from, to, output = 0, input = 0] of edges) {
		const main = (connections[from] ??= { main: [] }).main;
		while (main.length <= output) main.push([]);
		main[output].push({ node: to, type: 'main', index: input });
	}
	return {
		name,
		nodes: nodes.map((n, i) => ({
			id: `node-${i}`,
			name: n.name,
			type: n.type,
			typeVersion: n.typeVersion ?? 1,
			position: [i * 220, 0],
			parameters: n.parameters ?? {},
			...(n.credentials ? { credentials: n.credentials } : {}),
			...(n.webhookId ? { webhookId: n.webhookId } : {}),
			...(n.alwaysOutputData ? { alwaysOutputData: true } : {}),
		})),
		connections,
		settings: { executionOrder: 'v1' },
	};
}

/** n8n's own Webhook node answering with the last node's output: runs a flow on demand (a "poll now"). */
export function webhookNode(name: string, path: string): FlowNode {
	return {
		name,
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', responseData: 'allEntries', options: {} },
	};
}
