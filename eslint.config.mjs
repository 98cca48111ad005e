import tseslint from 'typescript-eslint';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

const community = n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport;

export default tseslint.config(
	{
		ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'gulpfile.js'],
	},
	...tseslint.configs.recommended,
	{
		files: ['**/*.ts'],
		rules: {
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
		},
	},
	{
		// The community-node rules apply to what ships: nodes, credentials, the engine and package.json.
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'lib/**/*.ts', 'package.json'],
		...community,
		rules: {
			...community.rules,
			// The one place where this package breaks community-node rules on purpose:
			// - no-runtime-dependencies: the SQL connectors need the pure-JS drivers `pg` and `mysql2`,
			//   which n8n does not provide to community packages by contract (n8n's own copies are private).
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
			// - node-usable-as-tool: these are logic and sync nodes driven by the sync engine (merge, store
			//   commit, loop guard), not actions an AI agent should call on its own.
			'@n8n/community-nodes/node-usable-as-tool': 'off',
			// - resource-operation-pattern: a node such as the Mapper or the Resolver has one job and no
			//   resource; the Database and Store nodes use operations without resources on purpose.
			'@n8n/community-nodes/resource-operation-pattern': 'off',
		},
	},
	{
		// - require-node-api-error: the engine under lib/ has no n8n import by design (the nodes are thin
		//   shells over it); it throws its own errors that name the record and field, and the nodes wrap
		//   them in NodeOperationError / NodeApiError.
		files: ['lib/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{
		files: ['package.json'],
		languageOptions: {
			parser: tseslint.parser,
			parserOptions: { extraFileExtensions: ['.json'] },
		},
		rules: {
			// Rules of typescript-eslint make no sense on JSON.
			...Object.fromEntries(
				Object.keys(tseslint.configs.recommended.reduce((all, c) => ({ ...all, ...(c.rules ?? {}) }), {})).map((r) => [r, 'off']),
			),
		},
	},
);
