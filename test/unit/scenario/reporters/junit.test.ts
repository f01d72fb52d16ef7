import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { junitReporter, junitXml, xmlEscape } from '../../../../src/scenario/reporters/junit.js';
import { summary } from '../fixtures/results.js';

t.test('JUnit XML, exactly', async (t) => {
  t.equal(
    junitXml(summary),
    `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="tsx-hv test" tests="7" failures="1" errors="1" skipped="1" time="22.500">
  <testsuite name="ladder" tests="6" failures="1" errors="1" skipped="1" time="21.500">
    <properties><property name="source" value="scenarios/ladder.yaml"/><property name="status" value="timeout"/></properties>
    <testcase classname="ladder" name="0 boot (qemu, 512M)" time="9.000"/>
    <testcase classname="ladder" name="1 measure 60x" time="5.000">
      <system-out>60x -&gt; 59.9812x (-0.03%), R² 0.999987, 412 samples, backwards 0 ns</system-out>
    </testcase>
    <testcase classname="ladder" name="2 measure 1x" time="5.000">
      <failure message="speed 1.0500x is 5.00% off 1x (tolerance 2%)" type="check">speed 1.0500x is 5.00% off 1x (tolerance 2%)</failure>
      <system-out>1x -&gt; 1.05x (+5.00%), R² 0.990000, 300 samples, backwards 0 ns</system-out>
    </testcase>
    <testcase classname="ladder" name="3 sleep 3 s" time="2.500">
      <system-out>informational: sleep 3 at 60x took 0.100 s &lt;&amp;&gt; &quot;x&quot;</system-out>
    </testcase>
    <testcase classname="ladder" name="4 exec #1" time="1.000">
      <error message="step 4 (exec) did not finish within 1 s" type="timeout">step 4 (exec) did not finish within 1 s</error>
    </testcase>
    <testcase classname="ladder" name="5 power off" time="0.000">
      <skipped message="not run: step 4 (exec) timed out"/>
    </testcase>
  </testsuite>
  <testsuite name="ok" tests="1" failures="0" errors="0" skipped="0" time="1.000">
    <properties><property name="source" value="builtin:--speed 2"/><property name="status" value="pass"/></properties>
    <testcase classname="ok" name="0 boot (qemu, 512M)" time="1.000"/>
  </testsuite>
</testsuites>
`,
  );
});

t.test('XML escaping drops control characters', async (t) => {
  t.equal(xmlEscape('a\u0001b<"&">\n'), 'ab&lt;&quot;&amp;&quot;&gt;\n');
});

t.test('the reporter writes the file when the run ends', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'r.xml');
  await junitReporter(file).runEnd!(summary);
  t.equal(await readFile(file, 'utf8'), junitXml(summary));
});
