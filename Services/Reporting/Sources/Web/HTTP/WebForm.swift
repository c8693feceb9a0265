import CRMDomain
import Foundation
import Hummingbird

/// A posted form (`application/x-www-form-urlencoded`), read whole up to a limit and checked
/// field by field: an unknown, repeated or undecodable field is refused naming it.
public struct WebForm: Sendable, Equatable {
  public private(set) var fields: [String: String]

  /// `allowed`: the names the form has; `prefixes`: families of names (e.g. "score.").
  public init(_ body: String, allowed: Set<String>, prefixes: [String] = []) throws(WebError) {
    var fields: [String: String] = [:]
    for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count == 2 ? parts[1] : "") else {
        throw WebError(.badRequest, "Форма содержит поле с неверной кодировкой.")
      }
      guard allowed.contains(name) || prefixes.contains(where: { name.hasPrefix($0) }) else {
        throw WebError(.badRequest, "Форма содержит лишнее поле \(Text.quoted(name)).")
      }
      guard fields[name] == nil else { throw WebError(.badRequest, "Поле \(Text.quoted(name)) повторено.") }
      fields[name] = value
    }
    self.fields = fields
  }

  /// Reads the request's form: 415 for another content type, 413 past `limit` bytes.
  public static func read(
    _ request: Request, limit: Int, allowed: Set<String>, prefixes: [String] = []
  ) async throws -> WebForm {
    let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
    guard type?.lowercased() == "application/x-www-form-urlencoded" else {
      throw WebError(.unsupportedMediaType, "Ожидается форма (application/x-www-form-urlencoded).")
    }
    // Read in chunks, stopping at the limit (a huge body is never held whole).
    var body = ByteBuffer()
    for try await chunk in request.body {
      guard body.readableBytes + chunk.readableBytes <= limit else {
        throw WebError(.contentTooLarge, "Форма больше \(limit) байт.")
      }
      var chunk = chunk
      body.writeBuffer(&chunk)
    }
    guard let text = body.getString(at: body.readerIndex, length: body.readableBytes),
      text.utf8.elementsEqual(body.readableBytesView)
    else {
      throw WebError(.badRequest, "Форма не в UTF-8.")
    }
    return try WebForm(text, allowed: allowed, prefixes: prefixes)
  }

  /// A field that must be there.
  public func required(_ name: String) throws(WebError) -> String {
    guard let value = fields[name] else { throw WebError(.badRequest, "В форме нет поля «\(name)».") }
    return value
  }

  /// `+` is a space; percent escapes must make valid UTF-8.
  static func decode(_ raw: Substring) -> String? {
    String(raw).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
  }
}
