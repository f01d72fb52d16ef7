/**
 * POSIX sh quoting for the one place a command line must become a string: ssh hands the remote
 * command to the login shell. Every argument is single-quoted unless it is plainly safe.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
