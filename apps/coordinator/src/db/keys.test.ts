import { describe, expect, it } from "vitest";
import { compoundKey, splitCompoundKey } from "./keys.js";

describe("compoundKey", () => {
  it("keeps plain parts readable", () => {
    expect(compoundKey("acme", "f1")).toBe("acme:f1");
    expect(compoundKey("acme", "reviewer", "3")).toBe("acme:reviewer:3");
  });

  it("parts that join to the same string with `:` make different keys", () => {
    expect(compoundKey("acme", "stg:f1")).not.toBe(compoundKey("acme:stg", "f1"));
    expect(compoundKey("a:b", "c", "1")).not.toBe(compoundKey("a", "b:c", "1"));
    // escapes in the input are escaped too, so they cannot fake a separator
    expect(compoundKey("acme%3Astg", "f1")).not.toBe(compoundKey("acme:stg", "f1"));
    expect(compoundKey("acme", "stg%3Af1")).not.toBe(compoundKey("acme", "stg:f1"));
  });

  it("is one-to-one: splitting a key gives back its parts", () => {
    const samples = [
      ["acme", "stg:f1"],
      ["acme:stg", "f1"],
      ["a%3Ab", "c"],
      ["a%", ":", "%25:"],
      ["x", "y@2", "3"],
    ];
    const keys = new Set(samples.map((parts) => compoundKey(...parts)));
    expect(keys.size).toBe(samples.length);
    for (const parts of samples) expect(splitCompoundKey(compoundKey(...parts))).toEqual(parts);
  });
});
