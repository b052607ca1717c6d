/** A job file cut at its frontmatter fences. Lines are 1-based in the whole file. */
export type SplitJobFile =
  | { kind: "none"; body: string }
  | { kind: "frontmatter"; yaml: string; yamlLine: number; body: string; bodyLine: number }
  | { kind: "unclosed" };

const FENCE = /^---[ \t]*$/;
const BOM = 0xfeff;

/**
 * Splits `---` YAML `---` from the body. The opening fence must be the first line; the
 * body is everything after the newline (`\n` or `\r\n`) that ends the closing fence,
 * untouched. A file that does not start with a fence is all body.
 */
export function splitFrontmatter(text: string): SplitJobFile {
  const start = text.charCodeAt(0) === BOM ? 1 : 0;
  const firstEnd = text.indexOf("\n", start);
  const firstLine = text.slice(start, firstEnd === -1 ? text.length : firstEnd);
  if (!FENCE.test(stripCr(firstLine))) return { kind: "none", body: text.slice(start) };
  if (firstEnd === -1) return { kind: "unclosed" };

  const yamlStart = firstEnd + 1;
  let lineStart = yamlStart;
  let line = 2;
  while (lineStart <= text.length) {
    const newline = text.indexOf("\n", lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    if (FENCE.test(stripCr(text.slice(lineStart, lineEnd)))) {
      return {
        kind: "frontmatter",
        yaml: text.slice(yamlStart, lineStart),
        yamlLine: 2,
        body: newline === -1 ? "" : text.slice(newline + 1),
        bodyLine: line + 1,
      };
    }
    if (newline === -1) break;
    lineStart = newline + 1;
    line += 1;
  }
  return { kind: "unclosed" };
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
