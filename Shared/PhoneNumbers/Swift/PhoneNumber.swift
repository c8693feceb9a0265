import CPhoneNumber
import Foundation

/// Phone numbers in one form, E.164 (`+79123456789`), whatever form they were typed in.
public enum PhoneNumber {
  /// The E.164 form of `raw`, reading national forms (`8 (912) 345-67-89`) as numbers of
  /// `defaultRegion`; nil when it is not a valid phone number.
  public static func e164(_ raw: String, defaultRegion: String = "RU") -> String? {
    let trimmed = raw.trimmingCharacters(in: .whitespaces)
    guard !trimmed.isEmpty, trimmed.utf8.count <= 64 else { return nil }
    var buffer = [CChar](repeating: 0, count: 32)
    let length = crm_phone_e164(trimmed, defaultRegion, &buffer, Int32(buffer.count))
    guard length > 0 else { return nil }
    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
