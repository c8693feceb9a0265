import NIOCore
import PostgresNIO

/// A funnel cell row's histogram (`bigint[]`, one dimension, no nulls) read straight from
/// PostgreSQL's binary array format. postgres-nio's `[Int64]` slices the buffer and decodes each
/// element generically; a funnel reply reads 64 of them on each of hundreds of rows, and that was
/// about a quarter of the service's CPU for a funnel at 1M deals (perf).
struct StayCounts: PostgresDecodable, Sendable, Equatable {
  var counts: [Int64]

  init(counts: [Int64]) {
    self.counts = counts
  }

  init<JSONDecoder: PostgresJSONDecoder>(
    from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
    context: PostgresDecodingContext<JSONDecoder>
  ) throws {
    guard format == .binary, type == .int8Array,
      let (dimensions, hasNulls, element) = buffer.readMultipleIntegers(as: (Int32, Int32, UInt32).self),
      hasNulls == 0, element == PostgresDataType.int8.rawValue
    else { throw PostgresDecodingError.Code.typeMismatch }
    guard dimensions == 1 else {
      guard dimensions == 0 else { throw PostgresDecodingError.Code.failure }
      counts = []
      return
    }
    guard let (length, _) = buffer.readMultipleIntegers(as: (Int32, Int32).self), length >= 0,
      buffer.readableBytes == Int(length) * 12
    else { throw PostgresDecodingError.Code.failure }
    var counts = [Int64]()
    counts.reserveCapacity(Int(length))
    for _ in 0..<length {
      guard let (size, value) = buffer.readMultipleIntegers(as: (Int32, Int64).self), size == 8 else {
        throw PostgresDecodingError.Code.failure
      }
      counts.append(value)
    }
    self.counts = counts
  }
}
