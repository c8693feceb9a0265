import CRMReview

/// Rep codes mapped back to managers (DESIGN §6): reporting holds the review code key and codes
/// every manager id it knows; a code made from any other id stays a code. Without a key (a tool
/// hosting the service without one) nothing maps.
struct RepDirectory: Sendable {
  private let managers: [String: String]

  init(codes: ReviewCodes?, managerIDs: some Sequence<String>) {
    var managers: [String: String] = [:]
    if let codes {
      for id in managerIDs { managers[codes.code(.rep, id)] = id }
    }
    self.managers = managers
  }

  /// The manager whose code `code` is, nil when none known.
  func manager(of code: String) -> String? { managers[code] }
}
