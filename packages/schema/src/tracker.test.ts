import { describe, expect, it } from "vitest";
import { TrackerRef, parseTrackerRef, trackerIdempotencyKey } from "./tracker.js";

describe("tracker references", () => {
  it("parses GitHub issues and Items API ids", () => {
    expect(parseTrackerRef("github:acme/app.js#123")).toEqual({
      kind: "github",
      owner: "acme",
      repo: "app.js",
      number: 123,
    });
    expect(parseTrackerRef("items:T-1")).toEqual({ kind: "items", id: "T-1" });
  });

  it("refuses anything else", () => {
    for (const ref of [
      "github:acme/app",
      "github:acme/app#0",
      "github:-x/app#1",
      "items:",
      "jira:X-1",
      "items:../x",
      "T-1",
    ])
      expect(TrackerRef.safeParse(ref).success, ref).toBe(false);
  });

  it("derives one idempotency key per item", () => {
    expect(trackerIdempotencyKey("items:T-1")).toBe("tracker-items:T-1");
  });
});
