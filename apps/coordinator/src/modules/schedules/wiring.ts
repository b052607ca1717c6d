import { hostname } from "node:os";
import type { Collections } from "../../db/collections.js";
import { newId } from "../../db/ids.js";
import type { Logger } from "../../logger.js";
import type { ScheduleOptions } from "../../options.js";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { JobsService } from "../jobs/jobs.service.js";
import { FiringService } from "./firing.service.js";
import { ScheduleLoop } from "./schedule-loop.js";
import { SchedulesRepository } from "./schedules.repository.js";
import { SchedulesService } from "./schedules.service.js";

/** The schedules part, wired once per coordinator: its service (for the router) and its firing loop. */
export function createSchedules(deps: {
  cols: Collections;
  jobRepo: JobsRepository;
  jobs: JobsService;
  options: ScheduleOptions;
  logger: Logger;
}) {
  const schedules = new SchedulesRepository(deps.cols);
  const firing = new FiringService({
    schedules,
    jobRepo: deps.jobRepo,
    jobs: deps.jobs,
    options: deps.options,
    // names this coordinator in the firings it holds: only the holder records a firing's action
    holder: newId(`${hostname()}:${process.pid}`),
    logger: deps.logger,
  });
  return {
    schedules: new SchedulesService({ schedules, jobs: deps.jobRepo, firing }),
    scheduleLoop: new ScheduleLoop({ firing, pollMs: deps.options.pollMs, logger: deps.logger }),
  };
}
