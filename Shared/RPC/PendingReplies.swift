import CRMKafka
import Synchronization

/// Where one pending call's reply lands: filled by the reply reader, or expired at the deadline,
/// whichever comes first; the waiter is resumed exactly once.
final class ReplySlot: Sendable {
  private enum State {
    case empty
    case waiting(CheckedContinuation<KafkaConsumerMessage?, Never>)
    case filled(KafkaConsumerMessage?)
    case done
  }

  private let state = Mutex(State.empty)

  /// Delivers the reply (or nil: no reply will come). Later calls are ignored.
  func fill(_ reply: KafkaConsumerMessage?) {
    let waiter: CheckedContinuation<KafkaConsumerMessage?, Never>? = state.withLock { state in
      switch state {
      case .empty:
        state = .filled(reply)
        return nil
      case .waiting(let continuation):
        state = .done
        return continuation
      case .filled, .done:
        return nil
      }
    }
    waiter?.resume(returning: reply)
  }

  /// The reply, or nil when the deadline passed or the task was cancelled first.
  func wait(until deadline: ContinuousClock.Instant) async -> KafkaConsumerMessage? {
    await withTaskGroup(of: KafkaConsumerMessage?.self) { group in
      group.addTask { await self.reply() }
      group.addTask {
        do { try await Task.sleep(until: deadline) } catch { return nil }  // cancelled: the reply won
        self.fill(nil)
        return nil
      }
      let first = await group.next()!
      group.cancelAll()
      return first
    }
  }

  private func reply() async -> KafkaConsumerMessage? {
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let ready: KafkaConsumerMessage?? = state.withLock { state in
          switch state {
          case .empty:
            state = .waiting(continuation)
            return nil
          case .filled(let reply):
            state = .done
            return .some(reply)
          case .waiting, .done:
            return .some(nil)
          }
        }
        if let ready { continuation.resume(returning: ready) }
      }
    } onCancel: {
      fill(nil)
    }
  }
}

/// Pending calls by correlation id.
final class PendingReplies: Sendable {
  private let slots = Mutex([String: ReplySlot]())

  func register(_ id: String) -> ReplySlot {
    let slot = ReplySlot()
    slots.withLock { $0[id] = slot }
    return slot
  }

  func remove(_ id: String) {
    _ = slots.withLock { $0.removeValue(forKey: id) }
  }

  /// Hands a reply to its caller; false for an orphan (caller gone, e.g. past its deadline).
  func deliver(_ reply: KafkaConsumerMessage, to id: String) -> Bool {
    guard let slot = slots.withLock({ $0.removeValue(forKey: id) }) else { return false }
    slot.fill(reply)
    return true
  }

  /// Fails every pending call (the transport is closing).
  func failAll() {
    let all = slots.withLock { slots in
      defer { slots.removeAll() }
      return Array(slots.values)
    }
    for slot in all { slot.fill(nil) }
  }
}
