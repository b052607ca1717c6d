import { spawn } from "node:child_process";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { globalsOf } from "../options.js";

/**
 * The dashboard's URL for the current fleet, with its token in the fragment (`#token=…`): a
 * browser never sends the fragment to the server, and the page removes it from the address bar
 * once read.
 */
export function dashboardUrl(coordinatorUrl: string, token: string): string {
  return `${coordinatorUrl.replace(/\/+$/, "")}/#token=${encodeURIComponent(token)}`;
}

export function registerDashboardCommands(program: Command, ctx: CliContext): void {
  program
    .command("dashboard")
    .description("print the web dashboard's URL for the current fleet, signed in with its token")
    .option("--open", "also open it in the desktop's browser (xdg-open, open)")
    .option("--json", "print {url, role} as JSON")
    .action(async (opts: { open?: boolean; json?: boolean }, command: Command) => {
      const client = await ctx.client(globalsOf(command));
      // proves the coordinator answers and the token is good before handing out a link
      const who = await client.trpc.dashboard.whoami.query();
      const token = client.authHeader().authorization.replace(/^Bearer /, "");
      const url = dashboardUrl(client.url, token);
      if (opts.json) ctx.out.json({ url, role: who.role });
      else {
        ctx.out.line(url);
        if (ctx.out.tty) ctx.out.warn(`the link carries a ${who.role} token: share it only as you would the token`);
      }
      if (opts.open) openInBrowser(url);
    });
}

/** Best effort: a machine with no desktop has no opener, and the printed URL is enough. */
function openInBrowser(url: string): void {
  const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(opener, [url], { stdio: "ignore", detached: true });
    child.on("error", () => undefined);
    child.unref();
  } catch {
    // no opener: the URL was printed
  }
}
