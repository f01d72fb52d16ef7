import t from 'tap';
import { DeviceRefusedError, FlashCancelledError, FlashError, FlashExitCode, VerificationFailedError, describeCause } from '../../../src/media/errors.js';

t.test('errors name the phase and carry the documented exit codes', async (t) => {
  const e = new FlashError('write', 'boom', { cause: new Error('x') });
  t.equal(e.message, 'write: boom');
  t.equal(e.phase, 'write');
  t.equal(e.exitCode, FlashExitCode.error);
  t.equal(e.code, 'FLASH_FAILED');
  const refused = new DeviceRefusedError('/dev/sda', ['a', 'b'], 'hint');
  t.equal(refused.message, 'discover: refusing to write to /dev/sda: a; b');
  t.same(refused.reasons, ['a', 'b']);
  const v = new VerificationFailedError('bad', 42);
  t.equal(v.exitCode, 4, 'verification failed has its own code, not the usage code 2');
  t.equal(v.firstDifferenceOffset, 42);
  const c = new FlashCancelledError('write', 'half done');
  t.equal(c.exitCode, 3);
  t.equal(c.state, 'half done');
});

t.test('describeCause explains errno codes', async (t) => {
  t.match(describeCause({ code: 'EBUSY', message: 'x' }), /^EBUSY: the device is busy/);
  t.equal(describeCause({ code: 'EWHATEVER', message: 'raw text' }), 'EWHATEVER: raw text');
  t.equal(describeCause(new Error('plain')), 'plain');
  t.equal(describeCause('text'), 'text');
});
