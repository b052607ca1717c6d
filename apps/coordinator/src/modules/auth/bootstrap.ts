import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "../../logger.js";
import type { TokensService } from "./tokens.js";

/**
 * First start: with no admin token in the database, make one and write it to `file`,
 * readable only by the owner. The token itself never goes to the log.
 */
export async function bootstrapAdminToken(opts: {
  tokens: TokensService;
  file: string;
  productId: string;
  logger: Logger;
}): Promise<boolean> {
  if (await opts.tokens.hasAdmin()) return false;
  const { token } = await opts.tokens.create("admin", opts.productId, "bootstrap");
  await mkdir(dirname(opts.file), { recursive: true });
  await writeFile(opts.file, `${token}\n`, { mode: 0o600 });
  opts.logger.info({ file: opts.file }, "created the first admin token");
  return true;
}
