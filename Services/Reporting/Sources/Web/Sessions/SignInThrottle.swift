/// How repeated failed sign-ins are slowed (README, "The web edge"): each login tried and each
/// client address counts its failures; from the `threshold`-th on, every further failure locks
/// that login (or address) for 1, 2, 4, … seconds, at most `cap`. A lock refuses sign-in without
/// looking at the password; a success clears the login's count; counts older than an hour
/// start again from one.
public struct SignInThrottle: Sendable, Equatable {
  public var threshold: Int
  public var capSeconds: Int
  /// The first lock, at the `threshold`-th failure in a row.
  public var firstLockSeconds = 30

  /// Per login: 5 free tries, then locks from 30 s doubling up to 15 minutes (a first lock of a
  /// second slowed a guesser hardly at all).
  public static let perLogin = SignInThrottle(threshold: 5, capSeconds: 900)
  /// Per address (one office behind one address signs in many people): 20 free tries.
  public static let perAddress = SignInThrottle(threshold: 20, capSeconds: 900)

  /// Seconds of lock after the `failures`-th failure in a row.
  public func lockSeconds(afterFailures failures: Int) -> Int {
    guard failures >= threshold else { return 0 }
    let doublings = failures - threshold
    return doublings >= 20 ? capSeconds : min(firstLockSeconds << doublings, capSeconds)
  }
}
