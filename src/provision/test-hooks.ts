import { UsageError } from '../errors.js';

/**
 * A switch for the test suite only (docs/provision.md, "Test switch"), an environment variable so
 * no user sees it in --help: TSX_HV_PROVISION_TEST_PAUSE_AFTER=N makes provision stop after it has
 * applied (and recorded) N operations, say so on stderr, and wait for SIGINT/SIGTERM. A test then
 * interrupts a run that is provably half-way, without racing a timer.
 */
export function pauseAfterFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.TSX_HV_PROVISION_TEST_PAUSE_AFTER;
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`TSX_HV_PROVISION_TEST_PAUSE_AFTER must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}
