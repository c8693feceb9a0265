import Logging
import Synchronization

/// Group commit: writes that arrive together share one statement, so one commit (and its WAL
/// flush), one round trip and one plan instead of one each. A caller hands its item in and
/// waits; a writer takes everything waiting (up to `batchLimit`), writes it at once and answers
/// each caller after the commit; what arrives meanwhile waits for the next batch. An item alone
/// goes straight through, so an idle service adds no delay. When a batch fails, each of its
/// items is written alone (`alone`), so one bad item fails only its own caller.
final class GroupCommit<Item: Sendable, Outcome: Sendable>: Sendable {
  /// Writes the batch in one transaction; an outcome per item, in order.
  typealias Batch = @Sendable ([Item]) async throws -> [Outcome]
  /// Writes one item in its own transaction.
  typealias Alone = @Sendable (Item) async throws -> Outcome

  private struct Waiting {
    var item: Item
    var continuation: CheckedContinuation<Outcome, any Error>
  }

  private struct State {
    var waiting: [Waiting] = []
    var writers = 0
  }

  private let state = Mutex(State())
  /// How many batches may be written at once (each holds a connection).
  let writers: Int
  let batchLimit: Int

  init(writers: Int = 2, batchLimit: Int = 64) {
    self.writers = writers
    self.batchLimit = batchLimit
  }

  /// How many items wait for a writer.
  var waiting: Int { state.withLock { $0.waiting.count } }

  /// Writes `item`, with whatever else is waiting; its outcome once committed. `batch` and
  /// `alone` are the same functions for every caller of one group commit (as is the logger).
  func write(_ item: Item, logger: Logger, batch: @escaping Batch, alone: @escaping Alone) async throws -> Outcome {
    try await withCheckedThrowingContinuation { continuation in
      let starts = state.withLock { state in
        state.waiting.append(Waiting(item: item, continuation: continuation))
        guard state.writers < writers else { return false }
        state.writers += 1
        return true
      }
      // Detached: a writer serves every caller, so it must not carry the first one's task-local
      // values (request key, principal); each item carries what its write needs.
      if starts { Task.detached { await self.drain(logger: logger, batch: batch, alone: alone) } }
    }
  }

  /// Writes batches until nothing waits.
  private func drain(logger: Logger, batch: @escaping Batch, alone: @escaping Alone) async {
    while true {
      let taken = state.withLock { state in
        let count = min(state.waiting.count, batchLimit)
        if count == 0 { state.writers -= 1 }
        let taken = Array(state.waiting.prefix(count))
        state.waiting.removeFirst(count)
        return taken
      }
      guard !taken.isEmpty else { return }
      if taken.count > 1 {
        do {
          let outcomes = try await batch(taken.map(\.item))
          guard outcomes.count == taken.count else {
            throw BatchMiscounted(items: taken.count, outcomes: outcomes.count)
          }
          for (waiting, outcome) in zip(taken, outcomes) { waiting.continuation.resume(returning: outcome) }
          continue
        } catch {
          // A repeated request's key, a lost connection: the items alone say whose it was.
          logger.debug("a group commit failed; its items are written alone", metadata: ["error": "\(error)"])
        }
      }
      // One item, or a batch that failed (rolled back as a whole): each alone, at once.
      await withDiscardingTaskGroup { group in
        for waiting in taken {
          group.addTask {
            do {
              waiting.continuation.resume(returning: try await alone(waiting.item))
            } catch {
              waiting.continuation.resume(throwing: error)
            }
          }
        }
      }
    }
  }
}

/// A batch write that answered for a different number of items than it was given.
struct BatchMiscounted: Error {
  var items: Int
  var outcomes: Int
}
