/// Runs `call` from `callers` concurrent loops for `duration` and records each call's latency.
struct LoadResult: Sendable {
  var calls: Int
  var errors: Int
  var seconds: Double
  var latenciesNanoseconds: [UInt64]

  var callsPerSecond: Double { Double(calls) / seconds }

  func percentile(_ p: Double) -> Double {
    guard !latenciesNanoseconds.isEmpty else { return .nan }
    let sorted = latenciesNanoseconds.sorted()
    let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
    return Double(sorted[max(0, index)]) / 1_000_000
  }
}

enum LoadGenerator {
  static func run(
    callers: Int,
    duration: Duration,
    _ call: @escaping @Sendable () async throws -> Void
  ) async -> LoadResult {
    await run(callers: callers, duration: duration) { (_: Int) in try await call() }
  }

  /// The same, telling each call which caller (0..<callers) makes it: e.g. its own connection.
  static func run(
    callers: Int,
    duration: Duration,
    _ call: @escaping @Sendable (_ caller: Int) async throws -> Void
  ) async -> LoadResult {
    let clock = ContinuousClock()
    let started = clock.now
    let end = started + duration
    let perCaller = await withTaskGroup(of: (latencies: [UInt64], errors: Int).self) { group in
      for caller in 0..<callers {
        group.addTask {
          var latencies: [UInt64] = []
          var errors = 0
          while clock.now < end {
            let before = clock.now
            do {
              try await call(caller)
              let (seconds, attoseconds) = (clock.now - before).components
              latencies.append(UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
            } catch {
              errors += 1
            }
          }
          return (latencies, errors)
        }
      }
      var all: [(latencies: [UInt64], errors: Int)] = []
      for await result in group { all.append(result) }
      return all
    }
    let elapsed = clock.now - started
    let (seconds, attoseconds) = elapsed.components
    let latencies = perCaller.flatMap(\.latencies)
    return LoadResult(
      calls: latencies.count,
      errors: perCaller.reduce(0) { $0 + $1.errors },
      seconds: Double(seconds) + Double(attoseconds) / 1e18,
      latenciesNanoseconds: latencies
    )
  }
}
