import { describe, expect, it } from "vitest";
import { ClaimedJob, TraceContext } from "./factory.js";
import { StatusInput } from "./status.js";

describe("TraceContext", () => {
  it("takes a W3C traceparent and refuses anything else", () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(TraceContext.parse({ traceparent })).toEqual({ traceparent });
    for (const bad of ["", "00-xyz-00f067aa0ba902b7-01", `${traceparent}\n`, "00-4bf92f35-00f067aa0ba902b7-01"])
      expect(TraceContext.safeParse({ traceparent: bad }).success, bad).toBe(false);
  });

  it("is optional in a claim answer", () => {
    expect(ClaimedJob.shape.trace.safeParse(undefined).success).toBe(true);
  });
});

describe("StatusInput", () => {
  it("is an empty object and nothing else", () => {
    expect(StatusInput.safeParse({}).success).toBe(true);
    expect(StatusInput.safeParse({ productId: "x" }).success).toBe(false);
  });
});
