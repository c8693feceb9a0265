import Foundation
import Logging
import Synchronization
import Testing

@testable import ActivityService

/// The group commit's rules (the writes themselves are the storage tests'): what waits goes in
/// one batch, each caller gets its own outcome, and a failed batch fails only its bad items.
@Suite("Activity group commit")
struct GroupCommitTests {
  static let logger = Logger(label: "group-commit-test")

  struct Bad: Error {}

  /// Opens once: the first write alone waits on it while the others queue up.
  final class Gate: Sendable {
    private let opened = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// How many wait at it.
    var waiting: Int { opened.withLock { $0.waiters.count } }

    func wait() async {
      await withCheckedContinuation { continuation in
        let now = opened.withLock { state in
          if state.open { return true }
          state.waiters.append(continuation)
          return false
        }
        if now { continuation.resume() }
      }
    }

    func open() {
      let waiters = opened.withLock { state in
        state.open = true
        defer { state.waiters = [] }
        return state.waiters
      }
      for waiter in waiters { waiter.resume() }
    }
  }

  @Test("what waits while a write runs goes in one batch; each caller gets its own outcome")
  func batches() async throws {
    let commit = GroupCommit<Int, String>(writers: 1, batchLimit: 64)
    let gate = Gate()
    let batches = Mutex<[[Int]]>([])
    let batch: GroupCommit<Int, String>.Batch = { items in
      batches.withLock { $0.append(items) }
      return items.map { "batch \($0)" }
    }
    let alone: GroupCommit<Int, String>.Alone = { item in
      await gate.wait()
      return "alone \(item)"
    }
    try await withThrowingTaskGroup(of: (Int, String).self) { group in
      group.addTask { (1, try await commit.write(1, logger: Self.logger, batch: batch, alone: alone)) }
      while gate.waiting < 1 { await Task.yield() }  // the writer took 1 alone and waits at the gate
      for item in 2...5 {
        group.addTask { (item, try await commit.write(item, logger: Self.logger, batch: batch, alone: alone)) }
      }
      while commit.waiting < 4 { await Task.yield() }
      gate.open()
      var outcomes: [Int: String] = [:]
      for try await (item, outcome) in group { outcomes[item] = outcome }
      #expect(outcomes == [1: "alone 1", 2: "batch 2", 3: "batch 3", 4: "batch 4", 5: "batch 5"])
    }
    #expect(batches.withLock { $0.map { $0.sorted() } } == [[2, 3, 4, 5]])
  }

  @Test("a failed batch is written item by item: only the bad item's caller fails")
  func failedBatch() async throws {
    let commit = GroupCommit<Int, String>(writers: 1, batchLimit: 64)
    let gate = Gate()
    let batch: GroupCommit<Int, String>.Batch = { items in
      if items.contains(3) { throw Bad() }
      return items.map { "batch \($0)" }
    }
    let alone: GroupCommit<Int, String>.Alone = { item in
      await gate.wait()
      if item == 3 { throw Bad() }
      return "alone \(item)"
    }
    await withTaskGroup(of: (Int, String?).self) { group in
      group.addTask { (1, try? await commit.write(1, logger: Self.logger, batch: batch, alone: alone)) }
      while gate.waiting < 1 { await Task.yield() }
      for item in 2...4 {
        group.addTask { (item, try? await commit.write(item, logger: Self.logger, batch: batch, alone: alone)) }
      }
      while commit.waiting < 3 { await Task.yield() }
      gate.open()
      var outcomes: [Int: String?] = [:]
      for await (item, outcome) in group { outcomes[item] = outcome }
      #expect(outcomes == [1: "alone 1", 2: "alone 2", 3: nil, 4: "alone 4"])
    }
  }

  @Test("the webhooks' JSON objects read back as JSONEncoder's, whatever the strings hold")
  func jsonText() throws {
    let tricky = [
      "plain": "abc", "quote": "say \"hi\"", "slash": "a/b\\c", "controls": "line\nnext\ttab\r\u{01}\u{1F}\u{08}\u{0C}",
      "unicode": "Иван Петров ☎ 😀", "": "empty key",
    ]
    #expect(try JSONDecoder().decode([String: String].self, from: Data(JSONText.object(tricky).utf8)) == tricky)
    // Byte for byte as JSONEncoder writes it (control characters aside: spelt either way).
    let printable = tricky.filter { $0.key != "controls" }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    #expect(JSONText.object(printable) == String(decoding: try encoder.encode(printable), as: UTF8.self))
    let reply = WebhookReply(status: "logged", id: "a", contactID: "b", activityID: nil, leadID: "lead/1")
    #expect(reply.json == String(decoding: try encoder.encode(reply), as: UTF8.self))
  }
}
