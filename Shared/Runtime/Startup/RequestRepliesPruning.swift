import CRMEvents
import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes replies of create-like requests past their retention every few minutes, so
/// `request_replies` holds what a repeat could still ask for, not every create ever made.
struct RequestRepliesPruning: Service {
  let client: PostgresClient
  let logger: Logger
  var interval: Duration = .seconds(300)

  func run() async throws {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      do {
        let deleted = try await RequestReplies.prune(client: client, logger: logger)
        if deleted > 0 { logger.debug("pruned request replies", metadata: ["deleted": "\(deleted)"]) }
      } catch {
        logger.warning("pruning request replies failed (tried again later): \(error)")
      }
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
  }
}
