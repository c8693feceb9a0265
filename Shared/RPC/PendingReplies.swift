import CRMKafka
import Synchronization

/// Where one pending call's reply lands: the reply, or nil (deadline, cancellation, transport
/// closed, request not sent), whichever comes first.
typealias ReplySlot = OneShot<KafkaConsumerMessage?>

/// Pending calls by correlation id, each waiting for its reply (nil: no reply will come).
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
    slot.deliver(reply)
    return true
  }

  /// Fails every pending call (the transport is closing).
  func failAll() {
    let all = slots.withLock { slots in
      defer { slots.removeAll() }
      return Array(slots.values)
    }
    for slot in all { slot.deliver(nil) }
  }
}
