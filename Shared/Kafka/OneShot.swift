import Synchronization

/// A mailbox for one value: delivered once (later deliveries are ignored), awaited once; the
/// waiter may come before or after the value, and is resumed exactly once.
public final class OneShot<Value: Sendable>: Sendable {
  private enum State {
    case empty
    case waiting(CheckedContinuation<Value?, Never>)
    case filled(Value)
    case done
  }

  private let state = Mutex(State.empty)

  public init() {}

  /// Delivers `value`, unless a value was delivered before.
  public func deliver(_ value: Value) {
    let waiter: CheckedContinuation<Value?, Never>? = state.withLock { state in
      switch state {
      case .empty:
        state = .filled(value)
        return nil
      case .waiting(let continuation):
        state = .done
        return continuation
      case .filled, .done:
        return nil
      }
    }
    waiter?.resume(returning: value)
  }

  /// The value, once delivered; nil when it was awaited before.
  public func value() async -> Value? {
    await withCheckedContinuation { continuation in
      let ready: Value?? = state.withLock { state in
        switch state {
        case .empty:
          state = .waiting(continuation)
          return nil
        case .filled(let value):
          state = .done
          return .some(value)
        case .waiting, .done:
          return .some(nil)
        }
      }
      if let ready { continuation.resume(returning: ready) }
    }
  }

  /// The value, or `fallback` (delivered in its place) when the deadline passes or the task is
  /// cancelled first.
  public func value(until deadline: ContinuousClock.Instant, orElse fallback: Value) async -> Value {
    await withTaskGroup(of: Value.self) { group in
      group.addTask {
        await withTaskCancellationHandler {
          await self.value() ?? fallback
        } onCancel: {
          self.deliver(fallback)
        }
      }
      group.addTask {
        do { try await Task.sleep(until: deadline) } catch { return fallback }  // cancelled: the value won
        self.deliver(fallback)
        return fallback
      }
      let first = await group.next()!
      group.cancelAll()
      return first
    }
  }
}
