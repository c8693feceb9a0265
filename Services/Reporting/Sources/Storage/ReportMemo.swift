import Metrics
import Synchronization

/// Replies computed once per state of the projections: a report asked again at the same
/// `ProjectionVersion` is the same report, so it is kept and given again (many people watch the
/// same funnel; at 1M deals a funnel costs the service milliseconds of CPU, a kept one almost
/// nothing). Callers who ask for one while it is being computed wait for that computation
/// instead of starting their own. A failure is not kept. An entry also expires after
/// `lifetime`, so a change no writer counted (an operator's SQL, a replica of a version before
/// the counters during a rolling deploy) shows within it. A memo serves one repository: its
/// keys leave out what is the same on every call (the rep code key the leaderboard maps with).
public final class ReportMemo: Sendable {
  /// A report and its parameters, without the caller: the memo holds what everyone may be
  /// given, narrowed per caller afterwards.
  enum Key: Hashable, Sendable {
    case funnel(pipelineID: String, period: ReportPeriod, kind: String?, source: String?)
    case leadFunnel(period: ReportPeriod, businessLine: String?, source: String?)
    case losses(pipelineID: String?, period: ReportPeriod)
    case forecast(pipelineID: String?, currency: String?)
    case leaderboard(period: ReportPeriod, currency: String?)

    /// What the report reads: a change elsewhere leaves its replies kept.
    var areas: Set<ProjectionVersion.Area> {
      switch self {
      case .funnel, .losses, .forecast: [.deals]
      case .leadFunnel: [.leads]
      // Its managers are everyone with a lead, a deal, a card, an activity or a report.
      case .leaderboard: Set(ProjectionVersion.Area.allCases)
      }
    }
  }

  private struct Entry {
    var version: Int64
    var made: ContinuousClock.Instant
    var task: Task<any Sendable, any Error>
  }

  private struct State {
    var entries: [Key: Entry] = [:]
    var hits = 0
    var misses = 0
  }

  static let hits = Counter(label: "crm_reporting_memo_total", dimensions: [("result", "hit")])
  static let misses = Counter(label: "crm_reporting_memo_total", dimensions: [("result", "miss")])

  let capacity: Int
  let lifetime: Duration
  private let state = Mutex(State())

  public init(capacity: Int = 512, lifetime: Duration = .seconds(60)) {
    self.capacity = capacity
    self.lifetime = lifetime
  }

  /// Hits and misses since the start (the benches print the share of hits).
  public var tally: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

  /// The reply of `key` at `version` or later: kept, being computed, or computed now by `compute`.
  func value<Value: Sendable>(
    _ key: Key, at version: Int64, _ compute: @escaping @Sendable () async throws -> Value
  ) async throws -> Value {
    let now = ContinuousClock.now
    let (task, hit) = state.withLock { state -> (Task<any Sendable, any Error>, Bool) in
      // A later version's reply is newer than the caller asked for: good enough to give.
      if let entry = state.entries[key], entry.version >= version, now - entry.made < lifetime {
        state.hits += 1
        return (entry.task, true)
      }
      state.misses += 1
      if state.entries[key] == nil, state.entries.count >= capacity { evict(&state) }
      let task = Task<any Sendable, any Error> { try await compute() }
      state.entries[key] = Entry(version: version, made: now, task: task)
      return (task, false)
    }
    (hit ? Self.hits : Self.misses).increment()
    let value: any Sendable
    do {
      value = try await task.value
    } catch {
      state.withLock { state in
        if state.entries[key]?.task == task { state.entries[key] = nil }
      }
      throw error
    }
    // The key names the report, so the value is that report's reply; were it not, computed anew.
    guard let value = value as? Value else { return try await compute() }
    return value
  }

  /// Makes room: the entries made longest ago go. (A key asked again at a newer version has
  /// replaced its own entry; versions of different areas do not compare.)
  private func evict(_ state: inout State) {
    let oldest = state.entries.sorted { $0.value.made < $1.value.made }.prefix(state.entries.count - capacity + 1)
    for (key, _) in oldest { state.entries[key] = nil }
  }
}
