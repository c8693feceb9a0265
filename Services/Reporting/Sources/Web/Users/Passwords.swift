import CRMDomain
import Foundation
import HummingbirdBcrypt

/// Passwords as bcrypt hashes (hummingbird-auth's `Bcrypt`). Hashing takes a quarter of a
/// second on purpose, so it runs on a Dispatch thread, never on the server's event loops or
/// Swift's cooperative pool.
public enum Passwords {
  /// bcrypt's work factor: 2^12 rounds.
  public static let cost: UInt8 = 12
  /// A hash of no password anyone has, verified against when the login is unknown, so that an
  /// unknown login costs as long as a wrong password (no timing tells which logins exist).
  static let decoy = Bcrypt.hash("decoy password that is never accepted", cost: cost)

  /// 10 to 72 bytes (bcrypt reads no further than 72), no control characters.
  public static func checked(_ password: String) throws(InvalidField) -> String {
    let bytes = password.utf8.count
    guard bytes >= 10 else { throw InvalidField(field: "password", reason: "has \(bytes) bytes; at least 10") }
    guard bytes <= 72 else { throw InvalidField(field: "password", reason: "has \(bytes) bytes; at most 72 (bcrypt)") }
    guard password.unicodeScalars.allSatisfy({ Text.allowed($0, multiline: false) }) else {
      throw InvalidField(field: "password", reason: "holds a control character")
    }
    return password
  }

  /// `cost` below the default only where speed matters more than strength (tests).
  public static func hash(_ password: String, cost: UInt8 = Passwords.cost) async -> String {
    await offLoop { Bcrypt.hash(password, cost: max(cost, 4)) }
  }

  /// Whether `password` matches `hash` (the decoy when the login is unknown: always false).
  public static func verify(_ password: String, hash: String?) async -> Bool {
    let matches = await offLoop { Bcrypt.verify(password, hash: hash ?? decoy) }
    return hash != nil && matches
  }

  private static func offLoop<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(returning: work()) }
    }
  }
}
