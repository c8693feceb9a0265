import CRMPhoneNumbers
import Synchronization

/// Webhooks' numbers in E.164, remembered: libphonenumber's parse (ICU regular expressions) was
/// the larger part of checking a call, and a telephony provider sends the same few lines of
/// ours and the same clients' numbers again and again. Bounded: forgotten all at once when
/// full (a lookup is only an optimisation; the answer is the same either way).
enum PhoneNumberCache {
  static let capacity = 20_000

  private struct Key: Hashable {
    var raw: String
    var region: String
  }

  /// nil (not a number) is remembered too.
  private static let known = Mutex<[Key: String?]>([:])

  static func e164(_ raw: String, region: String) -> String? {
    let key = Key(raw: raw, region: region)
    if let remembered = known.withLock({ $0[key] }) { return remembered }
    let number = PhoneNumber.e164(raw, defaultRegion: region)
    known.withLock { known in
      if known.count >= capacity { known.removeAll(keepingCapacity: true) }
      known[key] = .some(number)
    }
    return number
  }
}
