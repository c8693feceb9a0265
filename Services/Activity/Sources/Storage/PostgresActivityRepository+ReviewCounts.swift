import Foundation
import PostgresNIO

extension PostgresActivityRepository {
  func reviewItemCounts(from: Date?, to: Date?) async throws -> (made: Int64, withheldByReason: [String: Int64]) {
    let rows = try await client.query(
      """
      SELECT coalesce(withheld, ''), count(*) FROM review_items
      WHERE (\(from)::timestamptz IS NULL OR made_at >= \(from))
        AND (\(to)::timestamptz IS NULL OR made_at < \(to))
      GROUP BY 1
      """,
      logger: logger)
    var made: Int64 = 0
    var withheld: [String: Int64] = [:]
    for try await (reason, count) in rows.decode((String, Int64).self) {
      made += count
      if !reason.isEmpty { withheld[reason] = count }
    }
    return (made, withheld)
  }
}
