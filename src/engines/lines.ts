/**
 * Splits a byte stream into lines: "\n" ends a line, a "\r" before it is dropped, and a line
 * longer than `maxLine` characters is cut there (a serial line can carry binary noise).
 */
export class LineSplitter {
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 1 << 20,
  ) {}

  push(chunk: string): void {
    let rest = this.partial + chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      this.emit(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
    while (rest.length > this.maxLine) {
      this.emit(rest.slice(0, this.maxLine));
      rest = rest.slice(this.maxLine);
    }
    this.partial = rest;
  }

  /** The unterminated tail seen so far (a prompt, or a line still arriving). */
  get pending(): string {
    return this.partial;
  }

  private emit(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length <= this.maxLine) this.onLine(line);
    else for (let i = 0; i < line.length; i += this.maxLine) this.onLine(line.slice(i, i + this.maxLine));
  }
}
