import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOOLS, toolSpec, type ToolSpec } from '../../../src/doctor/catalog.js';
import { QEMU_BINARY } from '../../../src/engines/qemu-args.js';

t.test('lists every host tool the issue names, once', async (t) => {
  const names = TOOLS.map((x) => x.name);
  for (const required of ['qemu-system-x86_64', 'bochs', 'grub-mkrescue', 'grub-pc-bin', 'grub-efi-amd64-bin', 'xorriso', 'mtools', 'cmake', 'gcc', 'g++', 'make', 'busybox-static', 'cpio', 'debootstrap', 'ssh', 'sshd', 'valgrind']) {
    t.ok(names.includes(required), required);
  }
  t.equal(new Set(names).size, names.length, 'names are unique');
});

t.test('every tool says what needs it, how to find it and which Debian package has it', async (t) => {
  for (const spec of TOOLS) {
    t.ok(spec.neededBy.length > 0, `${spec.name} neededBy`);
    t.ok(spec.purpose.length > 10, `${spec.name} purpose`);
    t.ok(Boolean(spec.programs?.length) !== Boolean(spec.paths?.length), `${spec.name}: programs xor paths`);
    t.type(spec.packages.debian, 'string', `${spec.name} has a Debian package`);
    if (spec.versionArgs) t.ok(spec.programs, `${spec.name}: only programs have a version command`);
  }
});

t.test('every Debian package is in .ci/apt-packages.txt, so CI installs it', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const listed = new Set((await readFile('.ci/apt-packages.txt', 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean));
  for (const spec of TOOLS) t.ok(listed.has(spec.packages.debian!), `${spec.packages.debian} (${spec.name})`);
});

t.test('toolSpec looks a tool up by name', async (t) => {
  t.equal(toolSpec('xorriso')?.packages.arch, 'libisoburn');
  t.equal(toolSpec('no-such-tool'), undefined);
});

t.test('needs name only commands that exist (and developer steps)', async (t) => {
  const { buildProgram } = await import('../../../src/cli/main.js');
  const commands = buildProgram(() => { throw new Error('unused'); }).commands.map((c) => c.name());
  for (const spec of TOOLS as readonly ToolSpec[]) {
    for (const need of spec.neededBy) t.ok(need.startsWith('npm ') || commands.includes(need), `${spec.name}: ${need} is a command`);
  }
});

t.test('tools only developer steps need are optional: doctor does not fail without them', async (t) => {
  for (const spec of TOOLS as readonly ToolSpec[]) {
    if (spec.neededBy.every((n) => n.startsWith('npm '))) t.ok(spec.optional, `${spec.name} is optional`);
  }
  t.ok(toolSpec('valgrind')?.optional, 'valgrind (benchmark only) is optional');
  t.notOk(toolSpec('qemu-system-x86_64')?.optional, 'what commands run is required');
});

/** Every .ts file under src/, with its text. */
async function sources(dir = 'src'): Promise<Array<{ file: string; text: string }>> {
  const out: Array<{ file: string; text: string }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts')) out.push({ file: path, text: await readFile(path, 'utf8') });
  }
  return out;
}

/** The first argument of every call to one of `callees` (not their definitions), as source text. */
function firstArguments(text: string, callees: readonly string[]): string[] {
  const args: string[] = [];
  const call = new RegExp(`(?<![.\\w])(?<!function )(${callees.join('|')})\\(\\s*([^,)]+)`, 'g');
  for (const m of text.matchAll(call)) args.push(m[2]!.trim());
  return args;
}

t.test('every program src/ runs is named through the catalog, so doctor checks exactly those', async (t) => {
  const programs = new Set((TOOLS as readonly ToolSpec[]).filter((x) => x.programs).map((x) => x.name));
  const seen = new Set<string>();
  for (const { file, text } of await sources()) {
    if (file === join('src', 'util', 'run.ts') || file === join('src', 'doctor', 'locate.ts')) continue; // the runner and the lookup themselves
    for (const arg of firstArguments(text, ['run', 'locateTool', 'findTool', 'execa'])) {
      for (const literal of arg.match(/'[^']*'|"[^"]*"|`[^`]*`/g) ?? []) {
        const name = literal.slice(1, -1);
        seen.add(name);
        t.ok(programs.has(name), `${file}: ${name} is a program in the catalog`);
      }
      for (const ident of arg.replace(/'[^']*'|"[^"]*"|`[^`]*`/g, '').match(/[A-Za-z_$][\w$]*/g) ?? []) {
        if (ident === 'NODE') continue; // this Node.js itself, running the package's own scripts
        if (ident === 'QEMU_BINARY') {
          seen.add(QEMU_BINARY);
          t.ok(programs.has(QEMU_BINARY), `${file}: QEMU_BINARY (${QEMU_BINARY}) is in the catalog`);
          continue;
        }
        // Otherwise a path some catalog lookup returned: assigned from one in this file, or a ProgramPath parameter.
        const fromLookup = new RegExp(`\\b${ident}\\b[^;\\n]*=[^;\\n]*\\b(locateTool|findTool|findFirstProgram)\\(`).test(text) || new RegExp(`\\[[^\\]]*\\b${ident}\\b[^\\]]*\\]\\s*=\\s*\\[[^\\]]*\\b(locateTool|findTool)\\(`).test(text);
        const parameter = new RegExp(`\\b${ident}: ProgramPath\\b`).test(text);
        t.ok(fromLookup || parameter, `${file}: ${ident} comes from a catalog lookup`);
      }
    }
    // The emulators, the ssh session to a running machine and ansible-playbook (its events come on
    // a fourth pipe, fd 3) are long-lived children with streams.
    if (![join('src', 'engines', 'qemu.ts'), join('src', 'engines', 'bochs.ts'), join('src', 'engines', 'remote.ts'), join('src', 'fleet', 'ansible.ts')].includes(file)) t.notMatch(text, /from 'execa'/, `${file}: only run() (and the engines' long-lived children) use execa`);
    t.notMatch(text, /from 'node:child_process'/, `${file}: no child_process`);
    t.notMatch(text, /\brunProgram\(/, `${file}: runProgram is for test fixtures only`);
    if (file !== join('src', 'util', 'which.ts')) t.notMatch(text, /\bfindExecutable\(/, `${file}: programs are found through the catalog`);
  }
  // The scan really sees the calls (a broken pattern would pass vacuously).
  for (const name of ['qemu-system-x86_64', 'bochs', 'setpriv', 'qemu-img', 'qemu-storage-daemon', 'fuser', 'losetup', 'chroot', 'grub-mkrescue', 'dmesg', 'sudo']) t.ok(seen.has(name), `the scan found ${name}`);
});
