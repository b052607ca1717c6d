/**
 * Document ids made of several parts, such as a product id and a factory id, a lock name or a
 * profile name and version. Ids and names may contain `:` (see `packages/schema/src/primitives.ts`),
 * so joining raw parts with `:` is not one-to-one: `acme` + `stg:f1` and `acme:stg` + `f1` would both
 * be `acme:stg:f1`, and one product would reach another's document. Each part is escaped first
 * (`%` → `%25`, `:` → `%3A`), so an escaped part never holds `:` and the split at `:` recovers every
 * part: different parts never make the same key. Parts without `%` or `:` read as before (`acme:f1`).
 */
export function compoundKey(...parts: readonly string[]): string {
  return parts.map(escapePart).join(":");
}

/** The parts of a {@link compoundKey}, for logs and tests. */
export function splitCompoundKey(key: string): string[] {
  return key.split(":").map(decodeURIComponent);
}

function escapePart(part: string): string {
  return part.replaceAll("%", "%25").replaceAll(":", "%3A");
}
