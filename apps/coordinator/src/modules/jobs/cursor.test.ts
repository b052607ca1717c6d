import { describe, expect, it } from "vitest";
import { newId } from "../../db/ids.js";
import { InvalidInputError } from "../../errors.js";
import { decodeCursor, encodeCursor } from "./cursor.js";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("list cursors", () => {
  it("give back the job id they were made from", () => {
    const id = newId("job");
    expect(decodeCursor(encodeCursor(id))).toBe(id);
  });

  it("are opaque base64url (no characters a URL would escape)", () => {
    expect(encodeCursor("job_0mb3c9k2x7ab12cd")).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ["not base64 JSON", "%%%"],
    ["JSON that is not an object", b64(42)],
    ["another version", b64({ v: 2, id: "job_1" })],
    ["no id", b64({ v: 1 })],
    ["an id that is no job id", b64({ v: 1, id: "job/../../x" })],
    ["a non-string id", b64({ v: 1, id: 7 })],
    ["null", b64(null)],
  ])("refuse %s as INVALID_INPUT on `cursor`", (_what, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(InvalidInputError);
    expect(() => decodeCursor(cursor)).toThrow(/malformed cursor/);
  });
});
