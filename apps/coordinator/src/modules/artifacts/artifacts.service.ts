import type { Readable } from "node:stream";
import { type Artifact, ArtifactPutMeta } from "@gigafactory/schema";
import { newId } from "../../db/ids.js";
import { FencedError, InvalidInputError, NotFoundError } from "../../errors.js";
import type { EventLog } from "../events/event-log.js";
import type { JobsRepository } from "../jobs/jobs.repository.js";
import type { ArtifactsRepository } from "./artifacts.repository.js";
import type { BlobStore } from "./blob-store.js";

export class ArtifactsService {
  constructor(
    private readonly deps: {
      jobs: JobsRepository;
      artifacts: ArtifactsRepository;
      blobs: BlobStore;
      events: EventLog;
      maxBytes: number;
    },
  ) {}

  /**
   * A streamed upload under the job's fence: the fence is checked before and after the bytes
   * arrive. With a `requestId` it is idempotent: the artifact's id is kept on the lease with the
   * request id (`lease.applied`), and a retry of a stored upload is answered with that artifact.
   */
  async put(productId: string, meta: ArtifactPutMeta, body: Readable): Promise<Artifact> {
    const input = ArtifactPutMeta.parse(meta);
    const fence = { productId, jobId: input.jobId, epoch: input.epoch, factoryId: input.factoryId };
    const held = await this.deps.jobs.findHeld(fence);
    if (!held) throw new FencedError(input.jobId, input.epoch);
    if (held.lease.runId !== input.runId) throw new InvalidInputError("runId", "is not the job's current run");
    const known = input.requestId ? held.lease.applied?.find((write) => write.id === input.requestId) : undefined;
    const stored = known?.ref ? await this.deps.artifacts.find(productId, known.ref) : null;
    if (stored) {
      body.resume(); // the bytes came with the first try
      return stored;
    }
    const blob = await this.deps.blobs.put(body, this.deps.maxBytes);
    const artifact: Artifact = {
      // a first try that died between its event and its pointer named the artifact already
      _id: known?.ref ?? newId("art"),
      productId,
      jobId: input.jobId,
      runId: input.runId,
      name: input.name,
      contentType: input.contentType,
      ...blob,
      createdAt: new Date(),
    };
    // the event is the fenced write: it succeeds only while the uploader still holds the job
    const recorded = await this.deps.events.appendFenced(
      fence,
      [
        {
          type: "artifact",
          data: { artifactId: artifact._id, name: artifact.name, size: artifact.size, sha256: artifact.sha256 },
        },
      ],
      input.requestId ? { requestId: input.requestId, ref: artifact._id } : undefined,
    );
    if (!recorded) throw new FencedError(input.jobId, input.epoch);
    // a retry that raced its first try stores the first try's artifact, once
    const ref = recorded.applied?.ref ?? artifact._id;
    return this.deps.artifacts.insertOnce({ ...artifact, _id: ref });
  }

  async list(productId: string, jobId: string): Promise<Artifact[]> {
    // another product's job (or none) is NOT_FOUND, as everywhere else, rather than an empty list
    if (!(await this.deps.jobs.exists(productId, jobId))) throw new NotFoundError("job", jobId);
    return this.deps.artifacts.forJob(productId, jobId);
  }

  async get(productId: string, artifactId: string): Promise<Artifact> {
    const artifact = await this.deps.artifacts.find(productId, artifactId);
    if (!artifact) throw new NotFoundError("artifact", artifactId);
    return artifact;
  }

  async open(productId: string, artifactId: string): Promise<{ artifact: Artifact; stream: Readable; size: number }> {
    const artifact = await this.get(productId, artifactId);
    return { artifact, ...(await this.deps.blobs.open(artifact.uri)) };
  }
}
