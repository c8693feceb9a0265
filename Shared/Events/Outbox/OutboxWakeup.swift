import Synchronization

/// Ends an idle relay's wait early: `signal` (a NOTIFY that rows were appended) wakes the
/// waiter, or the next wait at once when nobody waits yet, so no append is slept through.
final class OutboxWakeup: Sendable {
  private struct State {
    /// A signal that came while nobody waited.
    var pending = false
    var waiter: (generation: Int, continuation: CheckedContinuation<Void, Never>)?
    var generation = 0
    /// The latest wait whose time ran out (or was cancelled) before its waiter was in place.
    var expired = 0
  }

  private let state = Mutex(State())

  func signal() {
    let waiter = state.withLock { state in
      guard let waiter = state.waiter else {
        state.pending = true
        return CheckedContinuation<Void, Never>?.none
      }
      state.waiter = nil
      return waiter.continuation
    }
    waiter?.resume()
  }

  /// Returns at a signal (also one given since the last wait), after `limit`, or when cancelled.
  func wait(upTo limit: Duration) async {
    let generation = state.withLock { state in
      state.generation += 1
      return state.generation
    }
    let timer = Task {
      try? await Task.sleep(for: limit)
      self.expire(generation)
    }
    defer { timer.cancel() }
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let now = state.withLock { state in
          if state.pending || state.expired >= generation {
            state.pending = false
            return true
          }
          state.waiter = (generation, continuation)
          return false
        }
        if now { continuation.resume() }
      }
    } onCancel: {
      expire(generation)
    }
  }

  private func expire(_ generation: Int) {
    let waiter = state.withLock { state in
      state.expired = max(state.expired, generation)
      guard let waiter = state.waiter, waiter.generation == generation else {
        return CheckedContinuation<Void, Never>?.none
      }
      state.waiter = nil
      return waiter.continuation
    }
    waiter?.resume()
  }
}
