/**
 * Terminal output for the installer commands: aligned tables, colour only on a terminal
 * (and never with NO_COLOR), and a progress display that redraws one line on a terminal
 * and prints plain lines in a pipe or a log.
 */
export interface Out {
  readonly tty: boolean;
  write(text: string): void;
}

export function outOf(stream: NodeJS.WriteStream): Out {
  return { tty: stream.isTTY === true, write: (t) => void stream.write(t) };
}

export function colours(out: Out) {
  const on = out.tty && process.env.NO_COLOR === undefined;
  const wrap = (code: number) => (t: string) => (on ? `\x1b[${code}m${t}\x1b[0m` : t);
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2), bold: wrap(1) };
}

// eslint-disable-next-line no-control-regex -- matching the colour codes this module writes
const ANSI = /\x1b\[[0-9;]*m/g;

/** Columns padded to the widest cell (colour codes do not count). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const visible = (s: string) => s.replace(ANSI, "").length;
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c))))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** Long work: a spinner with elapsed time on a terminal, one plain line per step otherwise. */
export class ProgressDisplay {
  private timer: NodeJS.Timeout | undefined;
  private current = "";
  private frame = 0;
  private readonly started = Date.now();

  constructor(private readonly out: Out) {}

  step(text: string): void {
    if (!this.out.tty) {
      this.out.write(`${text}\n`);
      return;
    }
    if (this.current !== "") this.out.write(`\r\x1b[K✓ ${this.current}\n`);
    this.current = text;
    this.draw();
    this.timer ??= setInterval(() => this.draw(), 120);
  }

  private draw(): void {
    const frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
    this.frame = (this.frame + 1) % frames.length;
    const s = ((Date.now() - this.started) / 1000).toFixed(0);
    this.out.write(`\r\x1b[K${frames[this.frame]} ${this.current} (${s} s)`);
  }

  /** Ends the display; `ok` marks the last step done or failed. */
  done(ok: boolean): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.out.tty && this.current !== "") this.out.write(`\r\x1b[K${ok ? "✓" : "✗"} ${this.current}\n`);
    this.current = "";
  }
}

export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return "never";
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return "just now";
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
