export {
  type FindFleetConnectionOptions,
  type FleetConnection,
  FleetFile,
  FLEET_DIR,
  FLEET_FILE,
  findFleetConnection,
  findFleetFile,
  readFleetFile,
} from "./fleet-connection.js";
export { type StreamEventsOptions, streamEvents } from "./stream-events.js";
export {
  type JobFileSource,
  type SubmitJobFileOptions,
  type SubmitJobFileResult,
  submitJobFile,
} from "./submit-job-file.js";
export { type WaitForJobOptions, waitForJob } from "./wait-for-job.js";
