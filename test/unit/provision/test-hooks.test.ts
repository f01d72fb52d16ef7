import t from 'tap';
import { pauseAfterFromEnv } from '../../../src/provision/test-hooks.js';

t.test('TSX_HV_PROVISION_TEST_PAUSE_AFTER: unset or empty means no pause, else a positive count', async (t) => {
  t.equal(pauseAfterFromEnv({}), undefined);
  t.equal(pauseAfterFromEnv({ TSX_HV_PROVISION_TEST_PAUSE_AFTER: '' }), undefined);
  t.equal(pauseAfterFromEnv({ TSX_HV_PROVISION_TEST_PAUSE_AFTER: '3' }), 3);
  for (const bad of ['0', '-1', 'x', '1.5', '03']) {
    t.throws(() => pauseAfterFromEnv({ TSX_HV_PROVISION_TEST_PAUSE_AFTER: bad }), { exitCode: 2, message: /must be a positive integer/ }, bad);
  }
});
