import { describe, expect, it } from "vitest";
import { fieldsFromLabels, jobInputFromItem } from "./label-mapping.js";

describe("fieldsFromLabels", () => {
  it("maps every field label the seed names", () => {
    const { fields, problems } = fieldsFromLabels([
      "engine:claude-code",
      "engine-class:agentic-coder",
      "profile:backend-engineer",
      "priority:high",
      "cap:os:mac",
      "cap:gpu",
      "lock:devops-tools",
      "timeout:90m",
    ]);
    expect(problems).toEqual([]);
    expect(fields).toEqual({
      engine: "claude-code",
      engineClass: "agentic-coder",
      profile: { name: "backend-engineer" },
      priority: 10,
      capabilities: ["gpu", "os:mac"],
      lock: "devops-tools",
      timeoutMs: 90 * 60_000,
    });
  });

  it("takes a numeric priority and ignores the team's own labels and our echo labels", () => {
    const { fields, problems } = fieldsFromLabels(["priority:-5", "bug", "area:ui", "gigafactory:done", "gigafactory"]);
    expect(problems).toEqual([]);
    expect(fields).toEqual({ priority: -5 });
  });

  it("reports a mapped label with a bad value instead of dropping it", () => {
    const { problems } = fieldsFromLabels(["engine:Bad Engine", "timeout:soon", "priority:9999", "cap:-x"]);
    expect(problems.map((problem) => problem.label)).toEqual([
      "engine:Bad Engine",
      "timeout:soon",
      "priority:9999",
      "cap:-x",
    ]);
  });
});

describe("jobInputFromItem", () => {
  it("keeps title and body verbatim and derives the idempotency key from the reference", () => {
    const body = "ROLE: engineer.\n\n```sh\nmake\n```\n";
    const { input } = jobInputFromItem({
      ref: "github:acme/app#7",
      title: "Fix the build",
      body,
      labels: ["gigafactory", "engine-class:agentic-coder", "priority:high"],
      state: "open",
    });
    expect(input).toMatchObject({
      title: "Fix the build",
      bodyMd: body,
      trackerItemId: "github:acme/app#7",
      idempotencyKey: "tracker-github:acme/app#7",
      engineClass: "agentic-coder",
      priority: 10,
    });
  });
});
