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

extension PhoneNumber {
  /// Where `text` holds what could be a phone number in any spelling (`+7 (912) 345-67-89`,
  /// `8 912 3456789`, `89123456789`…), national forms read as numbers of `defaultRegion`.
  public static func ranges(in text: String, defaultRegion: String = "RU") -> [Range<String.Index>] {
    let utf8 = Array(text.utf8)
    guard !utf8.isEmpty, !utf8.contains(0) else { return [] }
    var capacity = 64
    while true {
      var starts = [Int32](repeating: 0, count: capacity)
      var ends = [Int32](repeating: 0, count: capacity)
      let found = Int(crm_phone_find(text, defaultRegion, &starts, &ends, Int32(capacity)))
      guard found > capacity else {
        return (0..<found).compactMap { i in
          let start = Int(starts[i])
          let end = Int(ends[i])
          guard 0 <= start, start < end, end <= utf8.count,
            let lower = text.utf8.index(text.utf8.startIndex, offsetBy: start, limitedBy: text.utf8.endIndex),
            let upper = text.utf8.index(text.utf8.startIndex, offsetBy: end, limitedBy: text.utf8.endIndex)
          else { return nil }
          return lower..<upper
        }
      }
      capacity = found
    }
  }
}
