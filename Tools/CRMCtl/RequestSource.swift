import Foundation

/// Where a call's request comes from.
enum RequestSource: Equatable {
  /// `--json`.
  case option(String)
  /// Standard input, read to its end: a pipe or a file (empty: the empty request).
  case standardInput
  /// Neither: no `--json`, and standard input is a terminal, where nobody pipes a request. The
  /// empty request `{}` (every field at its default), which is the whole request of a method
  /// without required fields (`deals ListPipelines`); a method that needs fields answers
  /// INVALID_ARGUMENT naming what is missing, and crmctl adds `emptyRequestHint`.
  case empty

  static func choose(json: String?, standardInputIsTerminal: Bool) -> RequestSource {
    if let json { return .option(json) }
    return standardInputIsTerminal ? .empty : .standardInput
  }

  /// The request's JSON.
  func read() -> String {
    switch self {
    case .option(let json): json
    case .standardInput: String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    case .empty: "{}"
    }
  }

  static let emptyRequestHint =
    "hint: no request was given (no --json, and standard input is a terminal), so the empty request {} was sent; "
    + "give the method's fields with --json '{…}' or on standard input"
}
