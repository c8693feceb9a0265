import CRMDomain
import Foundation

/// E-mail addresses, checked for a plausible shape and kept lower-case.
enum EmailAddress {
  /// `raw` trimmed and lower-cased, or nil when it is not an address: one `@`, a local part,
  /// a domain with a dot, no spaces, at most 254 bytes, none of the characters no text may hold.
  static func normalized(_ raw: String) -> String? {
    let address = raw.trimmingCharacters(in: .whitespaces).lowercased()
    guard address.utf8.count <= 254, !address.contains(where: { $0.isWhitespace }),
      address.unicodeScalars.allSatisfy({ Text.allowed($0, multiline: false) })
    else { return nil }
    let parts = address.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, let local = parts.first, let domain = parts.last else { return nil }
    guard !local.isEmpty, local.count <= 64, !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
    else { return nil }
    let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
    guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }),
      let top = labels.last, top.count >= 2, top.allSatisfy({ $0.isLetter || $0 == "-" || $0.isNumber })
    else { return nil }
    return address
  }
}
