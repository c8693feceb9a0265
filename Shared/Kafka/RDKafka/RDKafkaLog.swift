import CRdKafka
import Logging

/// Carried through librdkafka's opaque pointer so its log lines reach swift-log.
final class RDKafkaLogContext: Sendable {
  let logger: Logger
  init(logger: Logger) { self.logger = logger }
}

/// librdkafka's log callback: a capture-free C function that finds its logger through the
/// client's opaque pointer. Levels are syslog's.
let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
  handle, level, facility, message in
  guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
  let context = Unmanaged<RDKafkaLogContext>.fromOpaque(opaque).takeUnretainedValue()
  let swiftLevel: Logger.Level =
    switch level {
    case ...2: .critical
    case 3: .error
    case 4: .warning
    case 5, 6: .info
    default: .debug
    }
  let text = message.map { String(cString: $0) } ?? ""
  let facilityText = facility.map { String(cString: $0) } ?? "rdkafka"
  context.logger.log(level: swiftLevel, "\(text)", metadata: ["rdkafka.facility": "\(facilityText)"])
}
