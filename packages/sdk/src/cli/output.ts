import { stripVTControlCharacters } from "node:util";
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

export interface OutputStreams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Colours the padded cell on a TTY. */
  color?: (text: string, row: T) => string;
  align?: "left" | "right";
}

/**
 * Everything `gf` prints goes through here. On a TTY: aligned tables, colour (unless
 * NO_COLOR), a redrawn status line. Piped: no colour, tables as tab-separated lines without
 * a header (`cut -f1` gives the first column), and plain lines instead of a status line.
 */
export class Output {
  readonly tty: boolean;
  readonly c: Colors;
  private status = "";

  constructor(private readonly streams: OutputStreams) {
    this.tty = streams.stdout.isTTY === true;
    const { NO_COLOR, FORCE_COLOR } = streams.env;
    const color = NO_COLOR ? false : FORCE_COLOR !== undefined && FORCE_COLOR !== "0" ? true : this.tty;
    this.c = pc.createColors(color);
  }

  /** Terminal width, or a generous default when piped. */
  get columns(): number {
    return this.tty ? this.streams.stdout.columns || 100 : 10_000;
  }

  line(text = ""): void {
    this.withStatusHidden(() => this.streams.stdout.write(`${text}\n`));
  }

  /** Diagnostics and errors: stderr, so piped output stays clean. */
  warn(text: string): void {
    this.withStatusHidden(() => this.streams.stderr.write(`${text}\n`));
  }

  json(value: unknown): void {
    this.line(JSON.stringify(value, null, this.tty ? 2 : undefined));
  }

  /** One JSON value per line (NDJSON), for streams of events. */
  jsonLine(value: unknown): void {
    this.line(JSON.stringify(value));
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[], opts: { empty?: string } = {}): void {
    const cells = rows.map((row) => columns.map((column) => oneLine(column.value(row))));
    if (!this.tty) {
      for (const row of cells) this.line(row.join("\t"));
      return;
    }
    if (rows.length === 0) {
      if (opts.empty) this.line(this.c.dim(opts.empty));
      return;
    }
    const widths = columns.map((column, i) =>
      Math.max(column.header.length, ...cells.map((row) => width(row[i] ?? ""))),
    );
    // the last column gives way when the terminal is narrow
    const fixed = widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0);
    const last = widths.length - 1;
    widths[last] = Math.max(8, Math.min(widths[last] ?? 0, this.columns - fixed - 1));
    const render = (values: string[], style: (text: string, i: number) => string) =>
      values
        .map((value, i) => {
          const w = widths[i] ?? 0;
          const text = truncate(value, w);
          const padded = columns[i]?.align === "right" ? text.padStart(w) : i === last ? text : text.padEnd(w);
          return style(padded, i);
        })
        .join("  ");
    this.line(
      render(
        columns.map((column) => column.header),
        (text) => this.c.bold(text),
      ),
    );
    rows.forEach((row, r) => {
      this.line(render(cells[r] ?? [], (text, i) => columns[i]?.color?.(text, row) ?? text));
    });
  }

  /** `key  value` pairs, aligned. */
  fields(pairs: ReadonlyArray<readonly [string, string | undefined]>, indent = "  "): void {
    const shown = pairs.filter((pair): pair is readonly [string, string] => pair[1] !== undefined && pair[1] !== "");
    const w = Math.max(0, ...shown.map(([key]) => key.length));
    for (const [key, value] of shown)
      this.line(this.tty ? `${indent}${this.c.dim(key.padEnd(w))}  ${value}` : `${key}\t${value}`);
  }

  /** A status line redrawn in place on a TTY; ignored when piped. */
  setStatus(text: string): void {
    if (!this.tty) return;
    this.status = truncate(oneLine(text), Math.max(10, this.columns - 1));
    this.streams.stdout.write(`\r\x1b[2K${this.status}`);
  }

  clearStatus(): void {
    if (!this.tty || this.status === "") return;
    this.streams.stdout.write("\r\x1b[2K");
    this.status = "";
  }

  private withStatusHidden(write: () => void): void {
    if (!this.tty || this.status === "") {
      write();
      return;
    }
    const status = this.status;
    this.streams.stdout.write("\r\x1b[2K");
    write();
    this.streams.stdout.write(status);
  }
}

/** Visible width of a string that may hold colour codes. */
export function width(text: string): number {
  return stripVTControlCharacters(text).length;
}

export function truncate(text: string, max: number): string {
  if (width(text) <= max) return text;
  const plain = stripVTControlCharacters(text);
  return max <= 1 ? plain.slice(0, max) : `${plain.slice(0, max - 1)}…`;
}

/**
 * Text that came from a job (its output, its events' data) made safe for a terminal: every C0 and
 * C1 control character but newline and tab, and DEL, is shown as a visible `\xNN` escape, so a job
 * cannot move the cursor, retitle the window or hide lines. `--json` output keeps the text as is
 * (JSON escapes control characters itself).
 */
export function safeText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => {
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").replace(/\t/g, " ");
}

/** `3s ago`, `5m ago`, `2h ago`, `4d ago`. */
export function formatAge(date: Date | undefined, now: Date = new Date()): string {
  if (!date) return "-";
  const ms = Math.max(0, now.getTime() - date.getTime());
  if (ms < 1_000) return "just now";
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

/** `850ms`, `3.2s`, `4m12s`, `1h3m`. */
export function formatMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null) return "-";
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1_000);
  return h > 0 ? `${h}h${m ? `${m}m` : ""}` : `${m}m${s ? `${s}s` : ""}`;
}

export function formatTime(date: Date): string {
  return date.toTimeString().slice(0, 8);
}

export function formatCount(n: number | undefined): string {
  if (n === undefined) return "-";
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${(n / 1_000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function formatUsd(n: number | undefined): string {
  return n === undefined ? "-" : `$${n < 10 ? n.toFixed(4) : n.toFixed(2)}`;
}
