import { xmlEscape } from '../scenario/reporters/junit.js';
import { table } from '../util/render.js';
import type { FleetReport, HostOutcome } from './fleet.js';

/**
 * The summary of a fleet command: an aligned table (host, wave, result, measured speed, boot
 * time, why) and a JUnit report with one test case per host, for the CI systems that labs
 * already read rollout results from.
 */
const fmtSpeed = (h: HostOutcome): string => (h.speed === undefined ? '-' : `${h.speed.toFixed(3)}x${h.requested === undefined ? '' : ` of ${h.requested}x`}`);
const fmtBoot = (h: HostOutcome): string => (h.bootS === undefined ? '-' : `${h.bootS.toFixed(0)} s`);

function why(h: HostOutcome): string {
  const parts = [h.step && h.result !== 'done' ? `at ${h.step}` : '', h.reason ?? ''].filter(Boolean);
  return parts.join(': ');
}

export function summaryRows(r: FleetReport): string[][] {
  if (r.command === 'plan') {
    const rows = [['host', 'wave', 'result', 'distribution', 'firmware', 'cpu', 'tsc', 'why']];
    for (const h of r.hosts) {
      const f = h.facts ?? {};
      const virt = f.svm ? 'svm' : f.vmx ? 'vmx' : 'no svm/vmx';
      const tsc = [f.constant_tsc ? 'constant' : '', f.nonstop_tsc ? 'nonstop' : ''].filter(Boolean).join(',') || (f.tsc ? 'tsc' : 'none');
      rows.push([h.host, h.wave === undefined ? '-' : String(h.wave), h.result, String(f.os_pretty ?? '-'), String(f.firmware ?? '-'), `${String(f.cpu_vendor ?? '-')} ${virt}, ${String(f.cpus ?? '?')} CPUs`, tsc, [why(h), ...(h.notes ?? [])].filter(Boolean).join('; ')]);
    }
    return rows;
  }
  if (r.command === 'status') {
    const rows = [['host', 'state', 'cpus', 'last run', 'last speed', 'why']];
    for (const h of r.hosts) {
      const f = h.facts ?? {};
      rows.push([h.host, h.result, String(f.cpus_check ?? '-'), h.journal ? `${h.journal.result} (${h.journal.run})` : '-', h.journal?.speed === undefined ? '-' : `${h.journal.speed.toFixed(3)}x`, why(h)]);
    }
    return rows;
  }
  const rows = [['host', 'wave', 'result', 'speed', 'boot', 'why']];
  for (const h of r.hosts) rows.push([h.host, h.wave === undefined ? '-' : String(h.wave), h.result, fmtSpeed(h), fmtBoot(h), why(h)]);
  return rows;
}

export function summaryTable(r: FleetReport): string {
  return table(summaryRows(r));
}

export function counts(r: FleetReport): string {
  const by = new Map<string, number>();
  for (const h of r.hosts) by.set(h.result, (by.get(h.result) ?? 0) + 1);
  return [...by].map(([k, n]) => `${n} ${k}`).join(', ');
}

/** One <testcase> per host: failed and unreachable hosts fail, refused and pending ones are skipped. */
export function fleetJunit(r: FleetReport): string {
  const failed = (h: HostOutcome): boolean => ['rolled-back', 'failed', 'unreachable'].includes(h.result) && r.command !== 'rollback' || (r.command === 'rollback' && h.result === 'failed');
  const skipped = (h: HostOutcome): boolean => ['refused', 'pending'].includes(h.result);
  const nFail = r.hosts.filter(failed).length;
  const nSkip = r.hosts.filter(skipped).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tsx-hv fleet ${r.command}" tests="${r.hosts.length}" failures="${nFail}" errors="0" skipped="${nSkip}" time="${r.durationS.toFixed(3)}">`,
    `  <testsuite name="tsx-hv fleet ${r.command} ${xmlEscape(r.inventory)}" tests="${r.hosts.length}" failures="${nFail}" errors="0" skipped="${nSkip}" time="${r.durationS.toFixed(3)}">`,
  ];
  for (const h of r.hosts) {
    const props = [
      ['result', h.result],
      ...(h.wave !== undefined ? [['wave', String(h.wave)]] : []),
      ...(h.speed !== undefined ? [['speed', String(h.speed)]] : []),
      ...(h.requested !== undefined ? [['requested', String(h.requested)]] : []),
      ...(h.bootS !== undefined ? [['boot_s', String(h.bootS)]] : []),
    ];
    const head = `    <testcase classname="${h.wave === undefined ? 'fleet' : `wave-${h.wave}`}" name="${xmlEscape(h.host)}" time="${(h.durationS ?? 0).toFixed(3)}">`;
    const body = [`      <properties>${props.map(([k, v]) => `<property name="${k}" value="${xmlEscape(v!)}"/>`).join('')}</properties>`];
    const msg = xmlEscape(why(h) || h.result);
    if (failed(h)) body.push(`      <failure message="${msg}" type="${h.result}">${msg}</failure>`);
    else if (skipped(h)) body.push(`      <skipped message="${msg}"/>`);
    lines.push(head, ...body, '    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return lines.join('\n') + '\n';
}
