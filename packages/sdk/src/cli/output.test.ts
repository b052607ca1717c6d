import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Output, formatAge, formatMs, safeText, truncate } from "./output.js";

/** A fake stream that records what was written; `tty` decides how Output behaves. */
function sink(tty: boolean, columns = 60): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(stream, { isTTY: tty, columns, text: () => chunks.join("") });
  return stream;
}

const rows = [
  { id: "job_1", stage: "shipped", title: "A fairly long title that will not fit in a narrow terminal" },
  { id: "job_22", stage: "inbox", title: "Short" },
];
const columns = [
  { header: "ID", value: (row: (typeof rows)[number]) => row.id },
  { header: "STAGE", value: (row: (typeof rows)[number]) => row.stage },
  { header: "TITLE", value: (row: (typeof rows)[number]) => row.title },
];

describe("Output.table", () => {
  it("prints tab-separated rows without a header or colour when piped", () => {
    const stdout = sink(false);
    const out = new Output({ stdout, stderr: sink(false), env: { FORCE_COLOR: "1" } as Record<string, string> });
    // FORCE_COLOR forces colour even when piped; tables stay plain text either way
    out.table(rows, columns);
    expect(stdout.text()).toBe(`job_1\tshipped\t${rows[0]?.title}\njob_22\tinbox\tShort\n`);
  });

  it("aligns columns under a header on a TTY and cuts the last column to the terminal width", () => {
    const stdout = sink(true, 40);
    const out = new Output({ stdout, stderr: sink(true), env: { NO_COLOR: "1" } });
    out.table(rows, columns);
    const lines = stdout.text().trimEnd().split("\n");
    expect(lines[0]).toBe("ID      STAGE    TITLE");
    expect(lines[1]?.startsWith("job_1   shipped  A fairly")).toBe(true);
    expect(lines[1]?.endsWith("…")).toBe(true);
    expect(lines[1]?.length).toBeLessThanOrEqual(40);
    expect(lines[2]).toBe("job_22  inbox    Short");
  });

  it("uses colour on a TTY unless NO_COLOR is set", () => {
    const coloured = new Output({ stdout: sink(true), stderr: sink(true), env: {} });
    const plain = new Output({ stdout: sink(true), stderr: sink(true), env: { NO_COLOR: "1" } });
    expect(coloured.c.red("x")).not.toBe("x");
    expect(plain.c.red("x")).toBe("x");
    expect(new Output({ stdout: sink(false), stderr: sink(false), env: {} }).c.red("x")).toBe("x");
  });

  it("keeps the status line below printed lines on a TTY and prints nothing for it when piped", () => {
    const tty = sink(true);
    const out = new Output({ stdout: tty, stderr: sink(true), env: { NO_COLOR: "1" } });
    out.setStatus("working");
    out.line("done one");
    out.clearStatus();
    expect(tty.text()).toBe("\r\x1b[2Kworking\r\x1b[2Kdone one\nworking\r\x1b[2K");
    const piped = sink(false);
    const quiet = new Output({ stdout: piped, stderr: sink(false), env: {} });
    quiet.setStatus("working");
    quiet.line("done one");
    quiet.clearStatus();
    expect(piped.text()).toBe("done one\n");
  });
});

describe("formatting", () => {
  it("formats durations, ages and cuts", () => {
    expect([
      formatMs(850),
      formatMs(3_200),
      formatMs(300_000),
      formatMs(252_000),
      formatMs(3_780_000),
      formatMs(undefined),
    ]).toEqual(["850ms", "3.2s", "5m", "4m12s", "1h3m", "-"]);
    const now = new Date("2025-01-01T12:00:00Z");
    expect(formatAge(new Date("2025-01-01T11:59:30Z"), now)).toBe("30s ago");
    expect(formatAge(new Date("2025-01-01T10:00:00Z"), now)).toBe("2h ago");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
  });
});

describe("safeText", () => {
  it("shows a job's control characters as escapes instead of sending them to the terminal", () => {
    expect(safeText("red \x1b[31mX\x1b]0;pwned\x07 \x9b2J back\rover\x7f")).toBe(
      "red \\x1b[31mX\\x1b]0;pwned\\x07 \\x9b2J back\\x0dover\\x7f",
    );
  });

  it("keeps newlines, tabs and printable text (any script) as they are", () => {
    expect(safeText("a\tb\nc ünïcödé ✓")).toBe("a\tb\nc ünïcödé ✓");
  });
});
