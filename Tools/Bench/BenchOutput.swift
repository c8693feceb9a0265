import Foundation
import Logging

/// Benches log warnings and worse only: their output is the figures.
func bootstrapBenchLogging() {
  LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
  }
}

/// Writes a bench's figures as pretty, sorted JSON to `path`, when one was asked for.
func writeFigures(_ document: [String: Any], to path: String?) throws {
  guard let path else { return }
  let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
  try data.write(to: URL(fileURLWithPath: path))
  print("wrote \(path)")
}
