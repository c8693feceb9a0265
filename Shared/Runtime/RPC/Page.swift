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
///
/// A listing sorted on a changeable key (a due time) pages by a two-part position, the last
/// row's key and its seq, both carried in the token (version 2: key ‖ seq, 8 bytes each, under
/// the same code): looking the key up again by seq would skip or repeat rows when it changed
/// between pages.
public struct Page: Sendable {
  public static let sizeDefault = 50
  public static let sizeCap = 100
  static let version: UInt8 = 1
  static let keysetVersion: UInt8 = 2
  static let macLength = 16

  public var size: Int
  /// The position of a token of `token(_:)`.
  public var cursor: Int64?
  /// The position of a token of `token(key:seq:)`.
  public var keyset: Keyset?
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
      switch Self.open(request.pageToken, scope: scope, key: key) {
      case .cursor(let value): cursor = value
      case .keyset(let value): keyset = value
      case nil: throw InvalidField(field: "page.page_token", reason: "is not a token this method issued")
      }
    }
  }

  /// A two-part keyset position: the last row's sort key (any value) and its seq (not negative).
  public struct Keyset: Sendable, Equatable {
    public var key: Int64
    public var seq: Int64

    public init(key: Int64, seq: Int64) {
      self.key = key
      self.seq = seq
    }
  }

  enum Position: Equatable {
    case cursor(Int64)
    case keyset(Keyset)
  }

  /// The token of the page after `cursor`.
  public func token(_ cursor: Int64) -> String { Self.seal(cursor, scope: scope, key: key) }

  /// The token of the page after the row with sort key `key` and seq `seq`.
  public func token(key sortKey: Int64, seq: Int64) -> String {
    Self.seal(Keyset(key: sortKey, seq: seq), scope: scope, key: key)
  }

  static func seal(_ cursor: Int64, scope: String, key: PageTokenKey) -> String {
    seal(body: [version] + bytes(cursor), scope: scope, key: key)
  }

  static func seal(_ keyset: Keyset, scope: String, key: PageTokenKey) -> String {
    seal(body: [keysetVersion] + bytes(keyset.key) + bytes(keyset.seq), scope: scope, key: key)
  }

  static func bytes(_ value: Int64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

  static func seal(body: [UInt8], scope: String, key: PageTokenKey) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Array(scope.utf8) + [0] + body, using: key.key)
    let bytes = body + Array(mac).prefix(macLength)
    return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
  }

  static func open(_ token: String, scope: String, key: PageTokenKey) -> Position? {
    guard token.utf8.count <= 64 else { return nil }
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
    guard let data = Data(base64Encoded: base64), let tokenVersion = data.first else { return nil }
    let length =
      switch tokenVersion {
      case version: 1 + 8
      case keysetVersion: 1 + 16
      default: 0
      }
    guard length > 0, data.count == length + macLength else { return nil }
    let bytes = Array(data)
    let body = Array(bytes[0..<length])
    let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(scope.utf8) + [0] + body, using: key.key))
    // Compared in constant time: a timing difference would let a forger learn the code byte by byte.
    let difference = zip(expected.prefix(macLength), bytes[length...]).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) }
    guard difference == 0 else { return nil }
    func int64(at start: Int) -> Int64 { body[start..<start + 8].reduce(Int64(0)) { $0 << 8 | Int64($1) } }
    if tokenVersion == keysetVersion {
      let keyset = Keyset(key: int64(at: 1), seq: int64(at: 9))
      return keyset.seq >= 0 ? .keyset(keyset) : nil
    }
    let cursor = int64(at: 1)
    return cursor >= 0 ? .cursor(cursor) : nil
  }
}
