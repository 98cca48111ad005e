// The test layers of shared/DESIGN.md, one jest project each. `npm test` runs all of them;
// `npm run test:fast` leaves out the acceptance layer (stock n8n).
const base = {
	preset: 'ts-jest',
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	setupFiles: ['<rootDir>/test/helpers/jest-setup.ts'],
	// Packed copies of this package and built output are not test sources.
	modulePathIgnorePatterns: ['<rootDir>/.test-artifacts/', '<rootDir>/dist/'],
};

module.exports = {
	projects: [
		{ ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
		{ ...base, displayName: 'nodes', testMatch: ['<rootDir>/test/nodes/**/*.test.ts'] },
		{ ...base, displayName: 'simulation', testMatch: ['<rootDir>/test/simulation/**/*.test.ts'] },
		{
			...base,
			displayName: 'acceptance',
			testMatch: ['<rootDir>/test/acceptance/**/*.test.ts'],
			globalSetup: '<rootDir>/test/acceptance/global-setup.ts',
			globalTeardown: '<rootDir>/test/acceptance/global-teardown.ts',
			setupFilesAfterEnv: ['<rootDir>/test/acceptance/jest-timeout.ts'],
		},
	],
};
