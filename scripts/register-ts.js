/**
 * Lets plain Node run this package's TypeScript (scripts, test child processes) without a build:
 * `node -r ./scripts/register-ts.js some.ts`. Each .ts file is transpiled on load with the project's
 * TypeScript (no type check; tsc does that), so extensionless imports resolve as they do under tsc.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a require hook is CommonJS by nature */
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
	const source = fs.readFileSync(filename, 'utf8');
	const { outputText } = ts.transpileModule(source, {
		fileName: filename,
		compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2023, esModuleInterop: true, sourceMap: false },
	});
	module._compile(outputText, filename);
};
