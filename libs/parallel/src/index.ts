/*
 * @tfleet/parallel: data-parallel ranks as worker threads or child processes, and the
 * collective operations between them. It loads no TensorFlow.js, so a rank entry (workers/)
 * and a test fixture rank start without it.
 */

// The parent side: start a group of ranks, relay their reports, learn why it failed.
export { RankGroup, type RankEntryPoints, type RankGroupOptions, type RankPoolInfo, type RankReportHandler, type RankTransport } from './rank-group';
export { RankGroupError, type GroupFailureLabel } from './collective-errors';

// What a rank body sees and is.
export { SoloCollective, type Collective, type CollectiveTimings } from './collective';
export type { RankBody, RankReportSink } from './rank-body';

// For the rank entries (workers/): the transports' rank ends and the messages they speak.
export { SharedGroupControl, SharedMemoryCollective } from './shared-memory-collective';
export { ProcessCollective } from './process-collective';
export {
  processParentMessageSchema,
  threadRankPayloadSchema,
  type ProcessParentMessage,
  type ProcessRankMessage,
  type ThreadRankMessage,
} from './rank-messages';
export { CollectiveAbortedError, CollectiveFailureError, errorMessage, GroupFailureReason } from './collective-errors';
