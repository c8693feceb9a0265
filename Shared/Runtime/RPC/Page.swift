import CRMContracts
import Foundation

/// A page request checked against the cap; its token is an opaque cursor.
public struct Page: Sendable {
  public static let sizeDefault = 50
  public static let sizeCap = 100

  public var size: Int
  public var cursor: Int64?

  public init(_ request: Crm_Common_V1_PageRequest) throws(InvalidField) {
    try request.requireKnownFields("page")
    guard request.pageSize >= 0, request.pageSize <= Self.sizeCap else {
      throw InvalidField(
        field: "page.page_size",
        reason: "is \(request.pageSize); expected 0 (default \(Self.sizeDefault)) to \(Self.sizeCap)")
    }
    size = request.pageSize == 0 ? Self.sizeDefault : Int(request.pageSize)
    if request.pageToken.isEmpty {
      cursor = nil
    } else {
      guard let data = Data(base64Encoded: request.pageToken), let text = String(data: data, encoding: .utf8),
        text.hasPrefix("c:"), let value = Int64(text.dropFirst(2)), value >= 0
      else { throw InvalidField(field: "page.page_token", reason: "is not a token this service issued") }
      cursor = value
    }
  }

  public static func token(_ cursor: Int64) -> String { Data("c:\(cursor)".utf8).base64EncodedString() }
}
