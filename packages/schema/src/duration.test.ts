import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Duration, formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["3h", 10_800_000],
    ["4h", 14_400_000],
    ["30m", 1_800_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["2d", 172_800_000],
    ["1.5h", 5_400_000],
    ["1m30s", 90_000],
    ["0s", 0],
    ["5000", 5_000],
  ])("reads %j as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("takes a number as milliseconds, rounded", () => {
    expect(parseDuration(1_500)).toBe(1_500);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(2.6)).toBe(3);
  });

  it.each(["4 hours", "h", "-1s", "", "   ", "1.5", "4x", "1h30", "ms", "1..5h", "four hours"])(
    "refuses %j",
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("refuses the number %d", (value) => {
    expect(parseDuration(value)).toBeUndefined();
  });
});

describe("formatDuration", () => {
  it.each([
    [250, "250ms"],
    [1_500, "1.5s"],
    [90_000, "1m30s"],
    [14_400_000, "4h"],
    [5_400_000, "1h30m"],
    [3_723_000, "1h2m3s"],
    [0, "0ms"],
  ])("formats %d as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([250, 1_500, 45_000, 90_000, 1_800_000, 5_400_000, 14_400_000, 3_723_000, 172_800_000])(
    "round-trips %d ms",
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    },
  );
});

describe("Duration (zod)", () => {
  it("yields milliseconds for a string or a number", () => {
    expect(Duration.parse("4h")).toBe(14_400_000);
    expect(Duration.parse("1h30m")).toBe(5_400_000);
    expect(Duration.parse(1_000)).toBe(1_000);
  });

  it.each(["4 hours", "h", "-1s", ""])("rejects %j with a message naming the value", (text) => {
    const result = Duration.safeParse(text);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain(`"${text}"`);
    expect(result.error?.issues[0]?.message).toMatch(/invalid duration/);
  });

  it("rejects a negative number and a non-duration type", () => {
    expect(Duration.safeParse(-5).success).toBe(false);
    expect(Duration.safeParse(true).success).toBe(false);
    expect(Duration.safeParse(null).success).toBe(false);
  });

  it("reports the field path when used inside an object", () => {
    const result = z.object({ timeout: Duration }).safeParse({ timeout: "4 hours" });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([["timeout"]]);
  });
});
