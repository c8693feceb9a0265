import Foundation
import Synchronization

/// The stages of each pipeline as of its version: a deal change reads the pipeline's version
/// with the deal and reloads the stages only when a revision changed it.
final class StageCache: Sendable {
  private let pipelines = Mutex<[UUID: (version: Int64, stages: [PipelineStage])]>([:])

  func stages(of pipeline: UUID, atVersion version: Int64) -> [PipelineStage]? {
    pipelines.withLock { $0[pipeline] }.flatMap { $0.version == version ? $0.stages : nil }
  }

  func store(_ stages: [PipelineStage], of pipeline: UUID, atVersion version: Int64) {
    pipelines.withLock { cached in
      if (cached[pipeline]?.version ?? .min) <= version { cached[pipeline] = (version, stages) }
    }
  }
}
