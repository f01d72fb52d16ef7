// tap coverage map: which source files a test file is responsible for covering.
// - test/unit/<path>/<name>.test.ts covers src/<path>/<name>.ts (the module it is named after);
//   test/unit/<dir>/index.test.ts-style names may cover a whole directory: src/<dir>/.
// - test/e2e/** covers nothing: those tests boot real machines, flash real loop devices and
//   debootstrap real roots; they prove behaviour, and must not pad line coverage.
import { existsSync } from 'node:fs';

export default function coverageMap(testFile) {
  const f = testFile.replace(/\\/g, '/');
  if (!f.startsWith('test/unit/')) return null;
  const rel = f.slice('test/unit/'.length).replace(/\.test\.ts$/, '');
  const file = `src/${rel}.ts`;
  if (existsSync(file)) return file;
  const dir = `src/${rel}/`;
  if (existsSync(dir)) return dir;
  return null;
}
