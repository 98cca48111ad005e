import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// n8n-core writes an encryption key under N8N_USER_FOLDER on first use: keep it out of $HOME.
if (!process.env.N8N_USER_FOLDER) {
	process.env.N8N_USER_FOLDER = mkdtempSync(join(tmpdir(), 'datasync-jest-n8n-'));
}
process.env.N8N_ENCRYPTION_KEY ??= 'datasync-test-encryption-key';
