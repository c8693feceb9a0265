import CRMDomain
import Foundation
import Testing

/// `Hex.lowercase` writes what `String(format: "%02x")` wrote for every byte (idempotency keys,
/// request digests and webhook signatures are stored and compared as this text).
@Suite("Hexadecimal text of bytes")
struct HexTests {
  @Test func everyByteIsTwoLowerCaseDigitsAsFormatWritesThem() {
    let bytes = (0...255).map { UInt8($0) }
    #expect(Hex.lowercase(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
    #expect(Hex.lowercase([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
    #expect(Hex.lowercase([UInt8]()) == "")
  }
}
