/**
 * Preloaded (`node --import`) into every process `gf` starts. `gf` keeps the child's stdin as
 * an open pipe it never writes to; when `gf` goes away, even by SIGKILL, the pipe closes and
 * the child stops itself the graceful way (SIGTERM), instead of running on as an orphan.
 */
const stdin = process.stdin;
stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
stdin.on("error", () => process.kill(process.pid, "SIGTERM"));
stdin.resume();
// watching must not keep an app alive that is done
stdin.unref();
