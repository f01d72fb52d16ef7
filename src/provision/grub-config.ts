import { hasKernelArgs, mergeKernelArgs } from './kernel-args.js';

/**
 * Text edits of GRUB configuration on Debian-family systems: GRUB_CMDLINE_LINUX in
 * /etc/default/grub (a shell fragment sourced by grub-mkconfig), and the `linux` lines of a
 * generated grub.cfg (used when update-grub cannot run offline, so the very first boot already
 * carries the arguments).
 */
const ASSIGNMENT = /^(\s*(?:export\s+)?GRUB_CMDLINE_LINUX=)(.*)$/;

interface ShellValue {
  quote: '"' | "'" | '';
  value: string;
  rest: string;
}

function splitValue(raw: string): ShellValue {
  const q = raw[0];
  if (q === '"' || q === "'") {
    let i = 1;
    while (i < raw.length && raw[i] !== q) i += q === '"' && raw[i] === '\\' ? 2 : 1;
    return { quote: q, value: raw.slice(1, i), rest: raw.slice(i + 1) };
  }
  const m = /^(\S*)(.*)$/.exec(raw)!;
  return { quote: '', value: m[1]!, rest: m[2]! };
}

/** Index of the assignment the shell ends up using (the last uncommented one), or -1. */
function lastAssignment(lines: string[]): number {
  for (let i = lines.length - 1; i >= 0; i--) if (ASSIGNMENT.test(lines[i]!)) return i;
  return -1;
}

export function grubCmdlineLinux(text: string): string | null {
  const lines = text.split('\n');
  const i = lastAssignment(lines);
  if (i < 0) return null;
  return splitValue(ASSIGNMENT.exec(lines[i]!)![2]!).value;
}

/** /etc/default/grub with `args` merged into GRUB_CMDLINE_LINUX (added at the end if absent). */
export function withGrubCmdlineArgs(text: string, args: readonly string[]): string {
  const lines = text.split('\n');
  const i = lastAssignment(lines);
  if (i < 0) {
    const body = text.length === 0 || text.endsWith('\n') ? text : text + '\n';
    return `${body}GRUB_CMDLINE_LINUX="${args.join(' ')}"\n`;
  }
  const m = ASSIGNMENT.exec(lines[i]!)!;
  const v = splitValue(m[2]!);
  if (hasKernelArgs(v.value, args)) return text;
  const quote = v.quote || '"';
  lines[i] = `${m[1]}${quote}${mergeKernelArgs(v.value, args)}${quote}${v.rest}`;
  return lines.join('\n');
}

/**
 * Files in /etc/default/grub.d that set GRUB_CMDLINE_LINUX without building on the previous
 * value: they are sourced after /etc/default/grub and would discard what provision wrote.
 */
export function overridesCmdline(dropInText: string): boolean {
  const lines = dropInText.split('\n');
  const i = lastAssignment(lines);
  return i >= 0 && !/\$\{?GRUB_CMDLINE_LINUX\b/.test(lines[i]!);
}

const LINUX_LINE = /^(\s*linux(?:16|efi)?\s+)(.*)$/;

/** A grub.cfg with `args` merged into every `linux` line; null when it has no such line. */
export function withGrubCfgArgs(text: string, args: readonly string[]): string | null {
  let found = false;
  const out = text.split('\n').map((line) => {
    const m = LINUX_LINE.exec(line);
    if (!m) return line;
    found = true;
    const [kernel, ...params] = m[2]!.split(/\s+/).filter(Boolean);
    const merged = mergeKernelArgs(params.join(' '), args);
    return `${m[1]}${[kernel, merged].filter(Boolean).join(' ')}`;
  });
  return found ? out.join('\n') : null;
}

export function grubCfgHasArgs(text: string, args: readonly string[]): boolean {
  const lines = text.split('\n').filter((l) => LINUX_LINE.test(l));
  return lines.length > 0 && lines.every((l) => hasKernelArgs(LINUX_LINE.exec(l)![2]!, args));
}
