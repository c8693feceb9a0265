import CRMContracts
import CRMDomain
import Crypto
import Foundation

/// The key that seals a service's page tokens. Every replica of a service must hold the same
/// one (a page may be asked of another replica than the one that issued its token).
public struct PageTokenKey: Sendable {
  let key: SymmetricKey

  public init(secret: some DataProtocol) {
    key = SymmetricKey(data: SHA256.hash(data: Array("crm-page-token:".utf8) + Array(secret)))
  }

  /// A key of its own, for a service hosted in one process (tests, benches).
  public static func random() -> PageTokenKey {
    PageTokenKey(secret: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
  }
}

/// A page request checked against the cap; its token is an opaque, sealed cursor.
///
/// A token is base64url(version ‖ cursor (8 bytes, big-endian) ‖ HMAC-SHA256(key, scope ‖ version ‖
/// cursor), first 16 bytes). The scope names the method that issued it, so a token of one list
/// is not accepted by another; a changed or forged token is INVALID_ARGUMENT, and only a cursor
/// this service issued (a keyset position: the last row's sort key) ever reaches a query.
public struct Page: Sendable {
  public static let sizeDefault = 50
  public static let sizeCap = 100
  static let version: UInt8 = 1
  static let macLength = 16

  public var size: Int
  public var cursor: Int64?
  let scope: String
  let key: PageTokenKey

  public init(_ request: Crm_Common_V1_PageRequest, scope: String, key: PageTokenKey) throws(InvalidField) {
    try request.requireKnownFields("page")
    guard request.pageSize >= 0, request.pageSize <= Self.sizeCap else {
      throw InvalidField(
        field: "page.page_size",
        reason: "is \(request.pageSize); expected 0 (default \(Self.sizeDefault)) to \(Self.sizeCap)")
    }
    self.scope = scope
    self.key = key
    size = request.pageSize == 0 ? Self.sizeDefault : Int(request.pageSize)
    if request.pageToken.isEmpty {
      cursor = nil
    } else {
      guard let value = Self.open(request.pageToken, scope: scope, key: key) else {
        throw InvalidField(field: "page.page_token", reason: "is not a token this method issued")
      }
      cursor = value
    }
  }

  /// The token of the page after `cursor`.
  public func token(_ cursor: Int64) -> String { Self.seal(cursor, scope: scope, key: key) }

  static func seal(_ cursor: Int64, scope: String, key: PageTokenKey) -> String {
    let body = [version] + withUnsafeBytes(of: cursor.bigEndian) { Array($0) }
    let mac = HMAC<SHA256>.authenticationCode(for: Array(scope.utf8) + [0] + body, using: key.key)
    let bytes = body + Array(mac).prefix(macLength)
    return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
  }

  static func open(_ token: String, scope: String, key: PageTokenKey) -> Int64? {
    guard token.utf8.count <= 64 else { return nil }
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
    guard let data = Data(base64Encoded: base64), data.count == 1 + 8 + macLength, data.first == version else {
      return nil
    }
    let bytes = Array(data)
    let body = Array(bytes[0..<9])
    let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(scope.utf8) + [0] + body, using: key.key))
    // Compared in constant time: a timing difference would let a forger learn the code byte by byte.
    let difference = zip(expected.prefix(macLength), bytes[9...]).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) }
    guard difference == 0 else { return nil }
    let cursor = body[1...].reduce(Int64(0)) { $0 << 8 | Int64($1) }
    return cursor >= 0 ? cursor : nil
  }
}
