export { type JobFileError, JobFileParseError, formatJobFileError } from "./job-file-error.js";
export {
  type ParseJobFileOptions,
  type ParseJobFileResult,
  parseJobFile,
  parseJobFileOrThrow,
} from "./parse-job-file.js";
export { type SplitJobFile, splitFrontmatter } from "./split-frontmatter.js";
