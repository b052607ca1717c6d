import { JobId } from "@gigafactory/schema";
import { InvalidInputError } from "../../errors.js";

/** List cursors are opaque: base64url of the last job id seen. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, id: lastId })).toString("base64url");
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof parsed === "object" && parsed !== null && "v" in parsed && parsed.v === 1 && "id" in parsed) {
      const id = JobId.safeParse(parsed.id);
      if (id.success) return id.data;
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError("cursor", "malformed cursor (pass back the nextCursor of a previous page)");
}
