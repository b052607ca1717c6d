import type {
  Artifact,
  Factory,
  Job,
  JobEvent,
  Lock,
  Policy,
  Profile,
  Run,
  Schedule,
  Token,
} from "@gigafactory/schema";
import type { DeliveryDoc, EchoDoc } from "../modules/tracker/tracker.repository.js";
import type { Collection, Db, ObjectId } from "mongodb";

export type EventDoc = JobEvent & { _id?: ObjectId };
export type ProfileDoc = Profile & { _id: string };

/** Every collection the coordinator uses, typed by the shared schema. */
export interface Collections {
  jobs: Collection<Job>;
  runs: Collection<Run>;
  events: Collection<EventDoc>;
  factories: Collection<Factory>;
  profiles: Collection<ProfileDoc>;
  artifacts: Collection<Artifact>;
  locks: Collection<Lock>;
  tokens: Collection<Token>;
  schedules: Collection<Schedule>;
  trackerDeliveries: Collection<DeliveryDoc>;
  trackerEchoes: Collection<EchoDoc>;
  policies: Collection<Policy & { _id: string }>;
}

export function collections(db: Db): Collections {
  return {
    jobs: db.collection<Job>("jobs"),
    runs: db.collection<Run>("runs"),
    events: db.collection<EventDoc>("events"),
    factories: db.collection<Factory>("factories"),
    profiles: db.collection<ProfileDoc>("profiles"),
    artifacts: db.collection<Artifact>("artifacts"),
    locks: db.collection<Lock>("locks"),
    tokens: db.collection<Token>("tokens"),
    schedules: db.collection<Schedule>("schedules"),
    trackerDeliveries: db.collection<DeliveryDoc>("tracker_deliveries"),
    trackerEchoes: db.collection<EchoDoc>("tracker_echoes"),
    policies: db.collection<Policy & { _id: string }>("policies"),
  };
}

export function isDuplicateKey(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === 11000;
}
