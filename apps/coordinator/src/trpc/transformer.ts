import type { DataTransformer } from "@trpc/server";
import { TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { SuperJSONResult } from "superjson";

/** How deeply an input may nest (arrays and objects) before it is refused unread. */
export const MAX_INPUT_DEPTH = 64;

/**
 * Inputs as superjson without its references. superjson's `referentialEqualities` make several
 * paths share one object, so a 2 KB body can name a graph that stringifies to gigabytes (it froze
 * the coordinator); an input that carries them is refused, as is one nested deeper than
 * `MAX_INPUT_DEPTH`, both before superjson reads it. Outputs stay plain superjson.
 */
export const inputTransformer: DataTransformer = {
  serialize: (value: unknown) => serializeWithoutReferences(value),
  deserialize: (payload: unknown) => {
    if (payload === null || typeof payload !== "object") return payload;
    const { json, meta } = payload as Partial<SuperJSONResult>;
    if (meta !== undefined && (typeof meta !== "object" || meta === null))
      throw refused("the input's superjson meta is not an object");
    if (meta?.referentialEqualities !== undefined)
      throw refused("inputs may not carry superjson references (meta.referentialEqualities)");
    assertDepth(json, MAX_INPUT_DEPTH);
    assertDepth(meta, MAX_INPUT_DEPTH);
    return superjson.deserialize(payload as SuperJSONResult);
  },
};

/** The server's transformer: guarded inputs, superjson outputs. */
export const transformer = { input: inputTransformer, output: superjson };

/**
 * superjson's serialization with its reference annotations dropped: without `dedupe` every
 * repeated object is written out in full, so the annotations only restore identity, which no
 * input needs. Clients use this so they never send what the server refuses.
 */
export function serializeWithoutReferences(value: unknown): SuperJSONResult {
  const result = superjson.serialize(value);
  if (result.meta?.referentialEqualities === undefined) return result;
  const { referentialEqualities: _dropped, ...meta } = result.meta;
  return Object.keys(meta).length ? { json: result.json, meta } : { json: result.json };
}

function refused(message: string): TRPCError {
  return new TRPCError({ code: "BAD_REQUEST", message });
}

/** Throws when `value` nests deeper than `max`; iterative, so a deep input cannot overflow the stack. */
function assertDepth(value: unknown, max: number): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== "object") continue;
    if (depth >= max) throw refused(`the input nests deeper than ${max} levels`);
    for (const child of Object.values(node))
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
}
