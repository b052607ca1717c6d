import { adminRouter } from "../modules/admin/admin.router.js";
import { dashboardRouter } from "../modules/dashboard/dashboard.router.js";
import { artifactsRouter } from "../modules/artifacts/artifacts.router.js";
import { factoriesRouter } from "../modules/factories/factories.router.js";
import { jobsRouter } from "../modules/jobs/jobs.router.js";
import { profilesRouter } from "../modules/profiles/profiles.router.js";
import { schedulesRouter } from "../modules/schedules/schedules.router.js";
import { trackerRouter } from "../modules/tracker/tracker.router.js";
import { router } from "./trpc.js";

export const appRouter = router({
  jobs: jobsRouter,
  factory: factoriesRouter,
  profiles: profilesRouter,
  artifacts: artifactsRouter,
  admin: adminRouter,
  schedules: schedulesRouter,
  dashboard: dashboardRouter,
  tracker: trackerRouter,
});

export type AppRouter = typeof appRouter;
