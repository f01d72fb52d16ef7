import t from 'tap';
import { RateMeter, formatDuration, renderProgress } from '../../../src/media/progress.js';

t.test('the rate meter measures over a sliding window and predicts the ETA', async (t) => {
  let now = 0;
  const meter = new RateMeter('write', 3000, () => now);
  const first = meter.sample(0, 100e6);
  t.equal(first.bytesPerSecond, 0);
  t.equal(first.etaSeconds, null);
  now = 1000;
  const s = meter.sample(10e6, 100e6);
  t.equal(s.bytesPerSecond, 10e6);
  t.equal(s.etaSeconds, 9);
  now = 5000;
  meter.sample(20e6, 100e6);
  now = 6000;
  const later = meter.sample(50e6, 100e6);
  t.equal(later.bytesPerSecond, 8e6, 'the sample at 0 s fell out of the window; the one at 1 s is the oldest kept');
  t.equal(later.phase, 'write');
  t.ok(new RateMeter('verify').sample(1, 2).phase === 'verify');
});

t.test('progress lines show bar, bytes, speed and ETA', async (t) => {
  t.equal(formatDuration(65), '1:05');
  t.equal(formatDuration(3725), '1:02:05');
  const line = renderProgress({ phase: 'write', bytes: 50 * 1048576, total: 100 * 1048576, bytesPerSecond: 10 * 1048576, etaSeconds: 5 }, 10);
  t.equal(line, 'write  [#####.....]  50%  50.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:05');
  t.match(renderProgress({ phase: 'verify', bytes: 0, total: 0, bytesPerSecond: 0, etaSeconds: null }), /verify \[#+\] 100%.* - {2}ETA -$/);
});
