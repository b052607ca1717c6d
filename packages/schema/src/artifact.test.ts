import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { Artifact } from "./artifact.js";

function rejectedAt(schema: z.ZodType, value: unknown): PropertyKey[][] {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  // an empty string can break two rules at the same path; one path per field is enough here
  const paths = result.error.issues.map((issue) => JSON.stringify(issue.path));
  return [...new Set(paths)].map((path) => JSON.parse(path) as PropertyKey[]);
}

const artifact = {
  _id: "art-1",
  productId: "acme",
  jobId: "job-1",
  runId: "run-1",
  name: "engine.log",
  contentType: "text/plain",
  size: 1_024,
  sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  uri: "file:///var/gigafactory/blobs/e3/b0c4",
  createdAt: new Date("2026-01-02T03:04:05Z"),
};

describe("Artifact", () => {
  it("parses a pointer", () => {
    expect(Artifact.parse(artifact)).toEqual(artifact);
  });

  it.each([
    ["not hex", "z".repeat(64)],
    ["too short", "e3b0c442"],
    ["upper case", artifact.sha256.toUpperCase()],
  ])("refuses a sha256 that is %s, at sha256", (_, sha256) => {
    expect(rejectedAt(Artifact, { ...artifact, sha256 })).toEqual([["sha256"]]);
  });

  it.each(["../etc/passwd", "a/b.log", ".hidden", ""])("refuses the name %j (not a plain file name)", (name) => {
    expect(rejectedAt(Artifact, { ...artifact, name })).toEqual([["name"]]);
  });

  it("refuses a negative size and a missing productId", () => {
    const { productId, ...rest } = artifact;
    expect(rejectedAt(Artifact, { ...rest, size: -1 })).toEqual([["productId"], ["size"]]);
  });
});
