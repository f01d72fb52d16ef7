import t from 'tap';
import { figures, fmtPct, fmtR2, fmtSeconds, fmtSpeed } from '../../../../src/scenario/reporters/format.js';
import { ladder } from '../fixtures/results.js';

t.test('figures are formatted the same everywhere', async (t) => {
  t.equal(fmtSpeed(59.98123456), '59.9812x');
  t.equal(fmtSpeed(undefined), '');
  t.equal(fmtPct(0.5), '+0.50%');
  t.equal(fmtPct(-0.031), '-0.03%');
  t.equal(fmtPct(undefined), '');
  t.equal(fmtR2(0.99998712), '0.999987');
  t.equal(fmtR2(undefined), '');
  t.equal(fmtSeconds(1234), '1.2 s');
  t.equal(figures(ladder.steps[1]!), '60x -> 59.9812x (-0.03%), R² 0.999987, 412 samples, backwards 0 ns');
  t.equal(figures(ladder.steps[0]!), '');
});
