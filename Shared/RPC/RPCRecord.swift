import CRMKafka
import Foundation
import GRPCCore

/// How a call travels as Kafka records: one request record and one reply record, with
/// routing, deadline and gRPC metadata in headers and the messages framed in the value.
enum RPCRecord {
  static let method = "crm-rpc-method"
  static let correlationID = "crm-rpc-correlation-id"
  static let replyTo = "crm-rpc-reply-to"
  /// Milliseconds since 1970 (UTC): it crosses processes and machines.
  static let deadline = "crm-rpc-deadline"
  static let statusCode = "crm-rpc-status"
  static let statusMessage = "crm-rpc-message"
  static let requestMetadataPrefix = "crm-md:"
  static let initialMetadataPrefix = "crm-hd:"
  static let trailerPrefix = "crm-tr:"

  /// Metadata as headers: one header per value; `-bin` keys carry raw bytes (gRPC convention).
  static func headers(_ metadata: Metadata, prefix: String) -> [KafkaHeader] {
    metadata.map { element in
      switch element.value {
      case .string(let text): KafkaHeader(key: prefix + element.key, value: Array(text.utf8))
      case .binary(let bytes): KafkaHeader(key: prefix + element.key, value: bytes)
      }
    }
  }

  static func metadata(_ headers: [KafkaHeader], prefix: String) -> Metadata {
    var metadata = Metadata()
    for header in headers where header.key.hasPrefix(prefix) {
      let key = String(header.key.dropFirst(prefix.count))
      let bytes = header.value ?? []
      if key.hasSuffix("-bin") {
        metadata.addBinary(bytes, forKey: key)
      } else {
        metadata.addString(String(decoding: bytes, as: UTF8.self), forKey: key)
      }
    }
    return metadata
  }

  /// Messages as `[UInt32 big-endian length][bytes]…`.
  static func frame(_ messages: [[UInt8]]) -> [UInt8] {
    var value: [UInt8] = []
    value.reserveCapacity(messages.reduce(0) { $0 + $1.count + 4 })
    for message in messages {
      let length = UInt32(message.count)
      value += [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
      value += message
    }
    return value
  }

  struct MalformedFrames: Error, CustomStringConvertible {
    var description: String { "the record's value is not a sequence of length-prefixed messages" }
  }

  static func unframe(_ value: [UInt8]) throws(MalformedFrames) -> [[UInt8]] {
    var messages: [[UInt8]] = []
    var index = 0
    while index < value.count {
      guard value.count - index >= 4 else { throw MalformedFrames() }
      let length =
        Int(value[index]) << 24 | Int(value[index + 1]) << 16 | Int(value[index + 2]) << 8 | Int(value[index + 3])
      index += 4
      guard value.count - index >= length else { throw MalformedFrames() }
      messages.append(Array(value[index..<index + length]))
      index += length
    }
    return messages
  }

  static func epochMilliseconds(_ date: Date = Date()) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1000).rounded())
  }

  /// The wall-clock time, in epoch milliseconds, of a monotonic-clock deadline.
  static func epochMilliseconds(until deadline: ContinuousClock.Instant) -> Int64 {
    epochMilliseconds() + (deadline - ContinuousClock.now).wholeMilliseconds
  }
}
