// Acceptance tests start stock n8n (about 10 s) and drive real databases: minutes, not seconds.
jest.setTimeout(180_000);
