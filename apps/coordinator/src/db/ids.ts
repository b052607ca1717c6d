import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Time-ordered ids (`job_0mb3c9k2x7ab12cd`): 10 characters of milliseconds in base 32,
 * then 8 random ones. Sorting by id sorts by creation time, which cursor pagination uses.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = "";
  let rest = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  const random = [...randomBytes(8)].map((byte) => ALPHABET[byte % 32]).join("");
  return `${prefix}_${time}${random}`;
}
