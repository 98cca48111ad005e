import { killRecordedInstances } from './harness';

/** Whatever a crashed or timed-out test file left running is killed here. */
export default async function globalTeardown(): Promise<void> {
	killRecordedInstances('mine');
}
